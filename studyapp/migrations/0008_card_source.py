import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_from_questions(apps, schema_editor):
    Card = apps.get_model("studyapp", "Card")
    Question = apps.get_model("studyapp", "Question")
    question = Question.objects.filter(pk=OuterRef("question_id"))
    Card.objects.update(source_id=Subquery(question.values("source_id")[:1]))


class Migration(migrations.Migration):
    dependencies = [
        ("studyapp", "0007_learner_session"),
    ]

    operations = [
        migrations.AddField(
            model_name="card",
            name="source",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="studyapp.source",
            ),
        ),
        migrations.RunPython(copy_from_questions, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="card",
            name="source",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="studyapp.source",
            ),
        ),
    ]
