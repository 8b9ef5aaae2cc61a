"""Restore learners' progress written by backup_progress, in one transaction.

Every account in the file is created, or updated when its username exists, and its settings,
cards and reviews are replaced by the file's. Accounts not in the file are left alone. The
questions must be in the bank already (load_bank first): a file naming a question the bank
lacks is refused, as is anything else wrong with it, and then nothing is written.
"""

import json
from collections import Counter
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, IntegrityError, transaction

from studyapp import history, tally
from studyapp.models import Card, LearnerSettings, Question, Review

from .backup_progress import FORMAT, VERSION, from_json, sections

MAX_LISTED = 10
BATCH = 2000


def listed(items) -> str:
    items = sorted(items)
    shown = ", ".join(map(str, items[:MAX_LISTED]))
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


class Refused(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems


def read(path: Path) -> dict:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise Refused([f"{path}: no such file"]) from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Refused([f"{path}: not a JSON progress backup ({exc})"]) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise Refused([f'{path}: not a progress backup (no "format": "{FORMAT}")'])
    if data.get("version") != VERSION:
        raise Refused([f"{path}: backup version {data.get('version')!r}; this app reads {VERSION}"])
    return data


def parse(data: dict) -> tuple[dict[str, list[dict]], list[str]]:
    """Each section's rows as model values (links left as natural keys), and the problems."""
    problems: list[str] = []
    parsed: dict[str, list[dict]] = {}
    for section, (_, fields, links) in sections().items():
        rows = data.get(section)
        if not isinstance(rows, list):
            problems.append(f'"{section}" must be a list')
            parsed[section] = []
            continue
        names = {f.name for f in fields} | set(links)
        out = []
        for index, row in enumerate(rows):
            where = f"{section}[{index}]"
            if not isinstance(row, dict):
                problems.append(f"{where}: must be an object")
                continue
            missing, unknown = names - row.keys(), row.keys() - names
            if missing or unknown:
                problems.append(
                    f"{where}: "
                    + "; ".join(
                        ([f"missing {listed(missing)}"] if missing else [])
                        + ([f"unknown {listed(unknown)}"] if unknown else [])
                    )
                )
                continue
            values: dict[str, Any] = {link: row[link] for link in links}
            for link in links:
                value = row[link]
                pair = isinstance(value, list) and len(value) == 2
                if link == "card" and not (pair and all(isinstance(x, str) for x in value)):
                    problems.append(
                        f"{where}: card: must be [username, question uid], not {value!r}"
                    )
                elif link != "card" and not (isinstance(value, str) and value):
                    problems.append(f"{where}: {link}: must be a name, not {value!r}")
            for f in fields:
                try:
                    values[f.attname] = from_json(f, row[f.name])
                except (TypeError, ValueError) as exc:
                    problems.append(f"{where}: {f.name}: {exc}")
            out.append(values)
        parsed[section] = out
    return parsed, problems


def check_links(parsed: dict[str, list[dict]], username: str) -> tuple[dict[str, int], list[str]]:
    """Links between the sections and to the bank; returns the question ids by uid."""
    problems: list[str] = []
    names = [row[username] for row in parsed["users"]]
    counted = Counter(names)
    if dupes := [n for n, c in counted.items() if c > 1]:
        problems.append(f"users: an account appears twice: {listed(dupes)}")
    accounts = set(names)
    for section in ("settings", "cards", "reviews"):
        strangers = {row["user"] for row in parsed[section]} - accounts
        if strangers:
            problems.append(f"{section}: rows of accounts not in the backup: {listed(strangers)}")
    if dupes := [u for u, c in Counter(r["user"] for r in parsed["settings"]).items() if c > 1]:
        problems.append(f"settings: an account has two: {listed(dupes)}")
    cards = Counter((row["user"], row["question"]) for row in parsed["cards"])
    if dupes := [f"{u}/{q}" for (u, q), c in cards.items() if c > 1]:
        problems.append(f"cards: an account has two cards for one question: {listed(dupes)}")
    orphans = {"/".join(r["card"]) for r in parsed["reviews"] if tuple(r["card"]) not in cards}
    if orphans:
        problems.append(f"reviews: of cards not in the backup: {listed(orphans)}")
    tokens = Counter(row["token"] for row in parsed["reviews"])
    if dupes := [t for t, c in tokens.items() if c > 1]:
        problems.append(f"reviews: a token appears twice: {listed(dupes)}")

    uids = {row["question"] for row in parsed["cards"]}
    known = dict(Question.objects.filter(uid__in=uids).values_list("uid", "id"))
    if unknown := uids - known.keys():
        problems.append(
            f"the backup names {len(unknown)} question(s) this bank does not have: "
            f"{listed(unknown)}. Load the bank they belong to first (manage.py load_bank)"
        )
    # A review token is unique: one held by an account the restore leaves alone would clash.
    token_list = list(tokens)
    for start in range(0, len(token_list), BATCH):
        taken = (
            Review.objects.filter(token__in=token_list[start : start + BATCH])
            .exclude(**{f"user__{username}__in": accounts})
            .values_list("token", flat=True)
        )
        if taken := list(taken):
            problems.append(
                f"reviews: tokens already used by accounts not in the backup: {listed(taken)}"
            )
            break
    return known, problems


def restore(parsed: dict[str, list[dict]], question_ids: dict[str, int]) -> dict[str, int]:
    user_model = get_user_model()
    username = user_model.USERNAME_FIELD
    existing = {
        getattr(u, username): u
        for u in user_model.objects.filter(
            **{f"{username}__in": [row[username] for row in parsed["users"]]}
        )
    }
    created = 0
    for values in parsed["users"]:
        account = existing.get(values[username])
        if account is None:
            account = user_model()
            created += 1
        for name, value in values.items():
            setattr(account, name, value)
        account.save()
        existing[values[username]] = account
    user_ids = {name: account.pk for name, account in existing.items()}
    ids = list(user_ids.values())
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        Review.objects.filter(user_id__in=chunk).delete()
        Review.objects.filter(card__user_id__in=chunk).delete()
        Card.objects.filter(user_id__in=chunk).delete()
        LearnerSettings.objects.filter(user_id__in=chunk).delete()
        # The history summary and the tallies were counted from the rows just deleted.
        history.forget(chunk)
        tally.forget(chunk)

    def rows(model, section, **links):
        made = []
        for values in parsed[section]:
            plain = {k: v for k, v in values.items() if k not in ("user", "question", "card")}
            made.append(model(**plain, **{k: fn(values) for k, fn in links.items()}))
        return made

    LearnerSettings.objects.bulk_create(
        rows(LearnerSettings, "settings", user_id=lambda v: user_ids[v["user"]]), batch_size=BATCH
    )
    # A card's copies of its question's deck, retirement and source come from the bank.
    questions = Question.objects.filter(id__in=question_ids.values())
    bank = {
        qid: (deck, not active, source)
        for qid, deck, active, source in questions.values_list(
            "id", "deck_id", "is_active", "source_id"
        )
    }
    Card.objects.bulk_create(
        rows(
            Card, "cards",
            user_id=lambda v: user_ids[v["user"]],
            question_id=lambda v: question_ids[v["question"]],
            deck_id=lambda v: bank[question_ids[v["question"]]][0],
            is_retired=lambda v: bank[question_ids[v["question"]]][1],
            source_id=lambda v: bank[question_ids[v["question"]]][2],
        ),
        batch_size=BATCH,
    )  # fmt: skip
    tally.add_pairs(
        Card.objects.filter(user_id__in=ids)
        .order_by()
        .values_list("user_id", "deck_id", "source_id")
        .distinct()
    )
    card_ids = {
        (user, qid): card_id
        for card_id, user, qid in Card.objects.filter(user_id__in=ids).values_list(
            "id", f"user__{username}", "question_id"
        )
    }
    Review.objects.bulk_create(
        rows(
            Review, "reviews",
            user_id=lambda v: user_ids[v["user"]],
            card_id=lambda v: card_ids[(v["card"][0], question_ids[v["card"][1]])],
        ),
        batch_size=BATCH,
    )  # fmt: skip
    return {
        "accounts": len(parsed["users"]),
        "created": created,
        "settings": len(parsed["settings"]),
        "cards": len(parsed["cards"]),
        "reviews": len(parsed["reviews"]),
    }


class Command(BaseCommand):
    help = (
        "Restore learners' progress from a backup_progress FILE in one transaction: its "
        "accounts are created or updated and their settings, cards and reviews replaced. "
        "The bank must be loaded first; a file naming unknown questions is refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="a file written by backup_progress")

    def handle(self, *args, file: Path, **options):
        username = get_user_model().USERNAME_FIELD
        try:
            data = read(file)
            parsed, problems = parse(data)
            if problems:
                raise Refused(problems)
            with transaction.atomic():
                question_ids, problems = check_links(parsed, username)
                if problems:
                    raise Refused(problems)
                counts = restore(parsed, question_ids)
        except Refused as refused:
            raise CommandError(
                f"Nothing was restored from {file}; {len(refused.problems)} problem(s):\n"
                + "\n".join(refused.problems)
            ) from None
        except (IntegrityError, DatabaseError) as exc:
            raise CommandError(
                f"Nothing was restored from {file}: the database refused a row: {exc}"
            ) from None
        self.stdout.write(
            f"Restored {counts['accounts']} account(s) ({counts['created']} created), "
            f"{counts['settings']} settings, {counts['cards']} card(s) and "
            f"{counts['reviews']} review(s) from {file}."
        )
