import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Exists, OuterRef, Subquery


def copy_from_questions(apps, schema_editor):
    Card = apps.get_model("studyapp", "Card")
    Question = apps.get_model("studyapp", "Question")
    question = Question.objects.filter(pk=OuterRef("question_id"))
    Card.objects.update(
        deck_id=Subquery(question.values("deck_id")[:1]),
        is_retired=~Exists(question.filter(is_active=True)),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("studyapp", "0004_studyday"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="card",
            name="deck",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="studyapp.deck",
            ),
        ),
        migrations.AddField(
            model_name="card",
            name="is_retired",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(copy_from_questions, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="card",
            name="deck",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="studyapp.deck",
            ),
        ),
        migrations.RemoveIndex(model_name="card", name="card_user_state_due"),
        migrations.AddIndex(
            model_name="card",
            index=models.Index(
                fields=["user", "state", "due", "id", "is_retired", "is_suspended", "buried_until"],
                name="card_queue",
            ),
        ),
        migrations.AddIndex(
            model_name="card",
            index=models.Index(
                fields=[
                    "user",
                    "deck",
                    "state",
                    "due",
                    "id",
                    "is_retired",
                    "is_suspended",
                    "buried_until",
                ],
                name="card_deck_queue",
            ),
        ),
    ]
