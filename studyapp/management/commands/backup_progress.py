"""Write every learner's progress to one JSON file: the accounts, their settings, cards and
reviews, every field at full precision. Questions are named by uid (their natural key) and
accounts by username, so the file restores onto a freshly loaded bank whatever its row ids
(restore_progress). The file holds password hashes: keep it as private as the database.

Format (version 1): {"format": "studyapp-progress", "version": 1, "created": ISO time,
"users": [{field: value}], "settings": [{"user": username, ...}], "cards": [{"user": username,
"question": uid, ...}], "reviews": [{"user": username, "card": [username, uid], ...}]}.
Date-times are ISO 8601 with microseconds (dumpdata's encoder would round them to
milliseconds), UUIDs are text.
"""

import datetime as dt
import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.utils import timezone

from studyapp.models import Card, LearnerSettings, Review

FORMAT = "studyapp-progress"
VERSION = 1


def plain_fields(model, *links: str) -> list[models.Field]:
    """The model's own columns: not its id, not the links given (written as natural keys), not
    the copies kept for speed (not editable: a card's deck and retirement come from the bank)."""
    return [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and f.editable and f.name not in links
    ]


def sections() -> dict[str, tuple[type[models.Model], list[models.Field], tuple[str, ...]]]:
    """Each section of the file: its model, its plain fields and its natural-key links."""
    user = get_user_model()
    return {
        "users": (user, plain_fields(user), ()),
        "settings": (LearnerSettings, plain_fields(LearnerSettings, "user"), ("user",)),
        "cards": (Card, plain_fields(Card, "user", "question"), ("user", "question")),
        "reviews": (Review, plain_fields(Review, "user", "card"), ("user", "card")),
    }


def to_json(field: models.Field, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(field, models.DateTimeField | models.DateField):
        return value.isoformat()
    if isinstance(field, models.UUIDField):
        return str(value)
    return value


def from_json(field: models.Field, value: Any) -> Any:
    """The value as the model field holds it; ValueError (with a reason) when it cannot be."""
    if value is None:
        if not field.null:
            raise ValueError("may not be null")
        return None
    if isinstance(field, models.DateTimeField):
        if not isinstance(value, str):
            raise ValueError(f"must be a date-time like 2024-03-05T08:00:00+00:00, not {value!r}")
        parsed = dt.datetime.fromisoformat(value)
        if timezone.is_naive(parsed):
            raise ValueError(f"must carry its UTC offset, not {value!r}")
        return parsed
    if isinstance(field, models.DateField):
        return dt.date.fromisoformat(value)
    if isinstance(field, models.UUIDField):
        return uuid.UUID(value)
    if isinstance(field, models.JSONField):
        return value
    kinds = {
        models.BooleanField: (bool,),
        models.IntegerField: (int,),
        models.FloatField: (int, float),
        models.CharField: (str,),
        models.TextField: (str,),
    }
    for kind, types in kinds.items():
        if isinstance(field, kind):
            ok = isinstance(value, types) and not (
                kind is not models.BooleanField and isinstance(value, bool)
            )
            if not ok:
                raise ValueError(
                    f"must be {kind.__name__.removesuffix('Field').lower()}, not {value!r}"
                )
            return value
    return value


def dump() -> dict:
    """The whole progress of every account, as plain JSON data."""
    user_model = get_user_model()
    key = user_model.USERNAME_FIELD
    parts = sections()
    users = dict(user_model.objects.values_list("id", key))
    out: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "created": timezone.now().isoformat(),
    }

    def rows(section: str, queryset, links) -> list[dict]:
        _, fields, _ = parts[section]
        return [
            links(row) | {f.name: to_json(f, getattr(row, f.attname)) for f in fields}
            for row in queryset.iterator(chunk_size=2000)
        ]

    out["users"] = rows("users", user_model.objects.order_by(key), lambda u: {})
    out["settings"] = rows(
        "settings",
        LearnerSettings.objects.order_by("user_id"),
        lambda s: {"user": users[s.user_id]},
    )
    out["cards"] = rows(
        "cards",
        Card.objects.select_related("question").order_by("user_id", "question__uid"),
        lambda c: {"user": users[c.user_id], "question": c.question.uid},
    )
    out["reviews"] = rows(
        "reviews",
        Review.objects.select_related("card__question").order_by("user_id", "reviewed_at", "id"),
        lambda r: {"user": users[r.user_id], "card": [users[r.card.user_id], r.card.question.uid]},
    )
    return out


class Command(BaseCommand):
    help = (
        "Back up all learners' progress (accounts, settings, cards, reviews) to FILE as JSON, "
        "questions named by uid. Restore it with restore_progress."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="where to write the backup (replaced)")

    def handle(self, *args, file: Path, **options):
        folder = file.resolve().parent
        if not folder.is_dir():
            raise CommandError(f"{file}: there is no folder {folder}")
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if outermost and connection.vendor == "postgresql":  # one snapshot for all tables
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            data = dump()
        # Written beside the target, then renamed: a failed backup never leaves half a file.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{file.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False, indent=1)
                out.write("\n")
            os.replace(tmp, file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.stdout.write(
            f"Backed up {len(data['users'])} account(s), {len(data['settings'])} settings, "
            f"{len(data['cards'])} card(s) and {len(data['reviews'])} review(s) to {file}."
        )
