"""backup_progress and restore_progress: every learner's progress survives a wipe, even onto a
freshly loaded bank whose questions have other ids; a bad backup is refused whole."""

import datetime as dt
import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from studyapp import queue, reviews, tally
from studyapp.models import Card, Choice, LearnerSettings, Question, Review, Tally

from .factories import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def columns(model, row, skip=("id",)) -> tuple:
    return tuple((f.attname, repr(getattr(row, f.attname))) for f in model._meta.concrete_fields
                 if f.attname not in skip)  # fmt: skip


def progress() -> dict[str, list]:
    """Every field of every account, setting, card and review, with row ids replaced by the
    natural keys (username, question uid) and values at full precision (repr)."""
    name = {u.id: u.username for u in User.objects.all()}
    uid = dict(Question.objects.values_list("id", "uid"))
    card_key = {c.id: (name[c.user_id], uid[c.question_id]) for c in Card.objects.all()}
    return {
        "users": sorted(columns(User, u) for u in User.objects.all()),
        "settings": sorted(
            # The bank revision the cards were made at is bookkeeping: a restore leaves it
            # empty, so the next page looks for missing cards again.
            (name[s.user_id], columns(LearnerSettings, s, ("id", "user_id", "cards_for_revision")))
            for s in LearnerSettings.objects.all()
        ),
        "cards": sorted(
            (*card_key[c.id], columns(Card, c, ("id", "user_id", "question_id")))
            for c in Card.objects.all()
        ),
        "reviews": sorted(
            (name[r.user_id], card_key[r.card_id], columns(Review, r, ("id", "user_id", "card_id")))
            for r in Review.objects.all()
        ),
    }


def every_row() -> dict[str, list]:
    """Every row of the learners' tables and the accounts, ids included (for "unchanged")."""
    rows = {}
    with connection.cursor() as cursor:
        for model in (User, LearnerSettings, Card, Review):
            cursor.execute(
                f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)} ORDER BY 1"
            )
            rows[model._meta.db_table] = [tuple(map(repr, r)) for r in cursor.fetchall()]
    return rows


def grade(user, card, rating, *, when, practice=False, response=""):
    return reviews.grade(
        card.id, user=user, settings=queue.settings_of(user), rating=rating,
        token=uuid.uuid4(), response=response, now=when, duration_ms=1234, practice=practice,
    )  # fmt: skip


@pytest.fixture
def studied():
    """The real bank, and three learners with varied progress (and one account with none)."""
    call_command("load_bank", verbosity=0)
    now = timezone.now().replace(microsecond=123457)
    ana = UserFactory(username="ana", email="ana@example.org", first_name="Ana", last_name="Lí")
    bo = UserFactory(username="bo.learner+1", last_login=now - dt.timedelta(hours=3))
    cy = UserFactory(username="cy", is_staff=True)
    UserFactory(username="newcomer")  # signed up, never studied
    settings = queue.settings_of(ana)
    settings.desired_retention, settings.new_per_day, settings.learning_steps = 0.85, 7, "2m 20m"
    settings.time_zone, settings.day_starts_at = "Asia/Shanghai", 5
    settings.save()
    queue.settings_of(bo)
    for learner in (ana, bo, cy):
        queue.ensure_cards(learner)
    flash = Card.objects.filter(user=ana, question__kind="flashcard")
    # Ana: a card through learning into review over days, a lapse, practice, a leech, a bury.
    first = flash[0]
    for days, rating in [(0, 3), (0, 3), (1, 3), (6, 1), (6, 3), (7, 4)]:
        grade(ana, first, rating, when=now + dt.timedelta(days=days, seconds=days * 37))
    grade(ana, flash[1], 2, when=now + dt.timedelta(minutes=5), practice=True)
    grade(ana, flash[2], 1, when=now + dt.timedelta(minutes=6))
    Card.objects.filter(id=flash[3].id).update(is_leech=True, is_suspended=True, lapses=8)
    reviews.bury(flash[4], settings=settings, now=now)
    typed = Card.objects.filter(user=bo, question__kind="typed").first()
    grade(bo, typed, 1, when=now + dt.timedelta(seconds=1), response="a wrong answer, typed")
    assert Review.objects.count() == 9
    return [ana, bo, cy]


def test_a_backup_wiped_and_restored_gives_back_every_field(studied, tmp_path, capsys):
    before = progress()
    path = tmp_path / "progress.json"
    call_command("backup_progress", str(path))
    assert (
        "Backed up 4 account(s), 2 settings, 432 card(s) and 9 review(s)" in capsys.readouterr().out
    )

    Review.objects.all().delete()
    Card.objects.all().delete()
    LearnerSettings.objects.all().delete()
    User.objects.all().delete()
    assert progress() == {"users": [], "settings": [], "cards": [], "reviews": []}

    call_command("restore_progress", str(path))
    assert "Restored 4 account(s) (4 created), 2 settings, 432 card(s) and 9 review(s)" in (
        capsys.readouterr().out
    )
    assert progress() == before


def test_a_backup_restores_onto_a_freshly_loaded_bank_with_other_ids(studied, tmp_path):
    before = progress()
    path = tmp_path / "progress.json"
    call_command("backup_progress", str(path))
    old_ids = dict(Question.objects.values_list("uid", "id"))
    Review.objects.all().delete()
    Card.objects.all().delete()
    LearnerSettings.objects.all().delete()
    User.objects.all().delete()
    Choice.objects.all().delete()
    Question.objects.all().delete()
    call_command("load_bank", verbosity=0)  # a new bank: the same uids under new ids
    assert not set(old_ids.values()) & set(Question.objects.values_list("id", flat=True))

    call_command("restore_progress", str(path))
    assert progress() == before


def test_the_backup_keeps_microseconds_and_names_questions_by_uid(studied, tmp_path):
    path = tmp_path / "progress.json"
    call_command("backup_progress", str(path))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert (data["format"], data["version"]) == ("studyapp-progress", 1)
    review = next(r for r in data["reviews"] if r["response"] == "a wrong answer, typed")
    assert review["user"] == "bo.learner+1" and review["card"][0] == "bo.learner+1"
    assert Question.objects.filter(uid=review["card"][1], kind="typed").exists()
    assert review["reviewed_at"].endswith(".123457+00:00")
    assert "id" not in review and "card_id" not in review


def test_restoring_twice_changes_nothing(studied, tmp_path):
    path = tmp_path / "progress.json"
    call_command("backup_progress", str(path))
    call_command("restore_progress", str(path))
    once = progress()
    call_command("restore_progress", str(path))
    assert progress() == once


def test_a_restore_replaces_the_progress_of_the_accounts_in_it_and_no_other(studied, tmp_path):
    ana, bo, _ = studied
    path = tmp_path / "progress.json"
    call_command("backup_progress", str(path))
    before = progress()
    # After the backup: ana studies on, bo changes settings, someone new signs up and studies.
    first = Card.objects.filter(user=ana, question__kind="flashcard").first()
    grade(ana, first, 3, when=timezone.now() + dt.timedelta(days=30))
    LearnerSettings.objects.filter(user=bo).update(new_per_day=99)
    later = UserFactory(username="later")
    queue.ensure_cards(later)
    grade(later, Card.objects.filter(user=later, question__kind="flashcard").first(), 3,
          when=timezone.now())  # fmt: skip
    later_rows = [row for row in progress()["reviews"] if row[0] == "later"]

    call_command("restore_progress", str(path))
    after = progress()
    assert [row for row in after["reviews"] if row[0] != "later"] == before["reviews"]
    assert [row for row in after["reviews"] if row[0] == "later"] == later_rows
    assert LearnerSettings.objects.get(user=bo).new_per_day == 20


def edited_backup(tmp_path, edit) -> str:
    path = tmp_path / "progress.json"
    call_command("backup_progress", str(path))
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def rename_question(data, old, new):
    for card in data["cards"]:
        if card["question"] == old:
            card["question"] = new
    for review in data["reviews"]:
        if review["card"][1] == old:
            review["card"][1] = new


BAD_BACKUPS = {
    "unknown question": (
        lambda d: rename_question(d, d["reviews"][0]["card"][1], "no-such-question"),
        "the backup names 1 question(s) this bank does not have: no-such-question. Load the "
        "bank they belong to first (manage.py load_bank)",
    ),
    "a review of a card not in the file": (
        lambda d: d["reviews"][0]["card"].__setitem__(0, "nobody"),
        "reviews: of cards not in the backup: nobody/",
    ),
    "a card of an account not in the file": (
        lambda d: d["cards"][0].__setitem__("user", "nobody"),
        "cards: rows of accounts not in the backup: nobody",
    ),
    "a bad date-time": (
        lambda d: d["reviews"][0].__setitem__("reviewed_at", "yesterday"),
        "reviews[0]: reviewed_at: Invalid isoformat string: 'yesterday'",
    ),
    "a date-time without its offset": (
        lambda d: d["reviews"][0].__setitem__("reviewed_at", "2024-03-05T08:00:00"),
        "reviews[0]: reviewed_at: must carry its UTC offset",
    ),
    "a field of the wrong type": (
        lambda d: d["cards"][0].__setitem__("reps", "3"),
        "cards[0]: reps: must be integer, not '3'",
    ),
    "a missing field": (
        lambda d: d["cards"][0].pop("due"),
        "cards[0]: missing due",
    ),
    "an unknown field": (
        lambda d: d["settings"][0].__setitem__("theme", "dark"),
        "settings[0]: unknown theme",
    ),
    "a token twice": (
        lambda d: d["reviews"][1].__setitem__("token", d["reviews"][0]["token"]),
        "reviews: a token appears twice",
    ),
    "a rating the database refuses (late in the file)": (
        lambda d: d["reviews"][-1].__setitem__("rating", 9),
        "the database refused a row",
    ),
    "another format": (lambda d: d.__setitem__("format", "anki"), "not a progress backup"),
    "another version": (
        lambda d: d.__setitem__("version", 2),
        "backup version 2; this app reads 1",
    ),
}


@pytest.mark.parametrize("case", BAD_BACKUPS)
def test_a_bad_backup_is_refused_whole_with_a_clear_message(studied, tmp_path, case):
    edit, message = BAD_BACKUPS[case]
    path = edited_backup(tmp_path, edit)
    # The database has moved on since the backup: a refused restore must leave it as it is.
    grade(studied[0], Card.objects.filter(user=studied[0], question__kind="flashcard")[5], 3,
          when=timezone.now())  # fmt: skip
    before = every_row()
    with pytest.raises(CommandError) as refused:
        call_command("restore_progress", path)
    assert message in str(refused.value)
    assert str(refused.value).startswith(f"Nothing was restored from {path}")
    assert every_row() == before


def test_a_file_that_is_not_json_is_refused(studied, tmp_path):
    path = tmp_path / "progress.json"
    path.write_bytes(b"\xff\xfe not json")
    before = every_row()
    with pytest.raises(CommandError, match="not a JSON progress backup"):
        call_command("restore_progress", str(path))
    with pytest.raises(CommandError, match="no such file"):
        call_command("restore_progress", str(tmp_path / "missing.json"))
    assert every_row() == before


def test_a_token_held_by_an_account_not_in_the_backup_is_refused(studied, tmp_path):
    path = tmp_path / "progress.json"
    call_command("backup_progress", str(path))
    data = json.loads(path.read_text(encoding="utf-8"))
    # The same review token now belongs to someone the restore would not touch.
    token = data["reviews"][0]["token"]
    Review.objects.filter(token=token).delete()  # (taken back, say, and then...)
    other = UserFactory(username="someone-else")
    queue.ensure_cards(other)
    card = Card.objects.filter(user=other).first()
    Review.objects.create(
        card=card, user=other, rating=3, reviewed_at=timezone.now(), token=token,
        state=0, card_before={},
    )  # fmt: skip
    before = every_row()
    with pytest.raises(CommandError, match="tokens already used by accounts not in the backup"):
        call_command("restore_progress", str(path))
    assert every_row() == before


def test_a_restore_has_the_learners_figures_counted_afresh(studied, tmp_path):
    """The progress page's kept figures (studyapp.tally) follow the cards a restore puts back."""
    ana = studied[0]
    settings, now = queue.settings_of(ana), timezone.now()
    before = tally.tallies(ana, settings, now)
    path = tmp_path / "progress.json"
    call_command("backup_progress", str(path))
    for card in Card.objects.filter(user=ana, state=Card.State.NEW, question__kind="flashcard")[:3]:
        grade(ana, card, 3, when=now)  # kept figures move with each grade
    assert tally.tallies(ana, settings, now) != before
    call_command("restore_progress", str(path))
    kept = tally.tallies(ana, settings, now)
    Tally.objects.filter(user=ana).delete()
    assert kept == tally.tallies(ana, settings, now) == before
