"""Malformed bank files (tests/data) are refused by `manage.py load_bank FILE` with a message
naming the file, the record and the field, and the database stays exactly as it was.

Each case is a file (or a folder, when the problem needs two files) in tests/data; the problems
expected for it are listed in tests/data/expected.json, next to the files. Every record refers
to the real sources and decks, so the one intended problem is the only one: the expected list is
the whole list of problems reported. tests/data/sound holds the same base records without the
defects and loads cleanly.
"""

import json
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from studyapp import bank, queue, reviews
from studyapp.models import Card, Question

from .factories import UserFactory

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parent / "data"
EXPECTED = json.loads((DATA / "expected.json").read_text(encoding="utf-8"))
HEADER = "The bank was not loaded; {} problem(s):"


def every_row() -> dict[str, list[tuple]]:
    """Every row of every table of every installed app, read with plain SQL: a datetime that
    lost its microseconds or a float that moved would show here (dumpdata's JSON encoder
    rounds datetimes to milliseconds, so this is stricter than comparing dumps)."""
    rows = {}
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            table = connection.ops.quote_name(model._meta.db_table)
            pk = connection.ops.quote_name(model._meta.pk.column)
            cursor.execute(f"SELECT * FROM {table} ORDER BY {pk}")
            rows[model._meta.db_table] = [tuple(map(repr, row)) for row in cursor.fetchall()]
    return rows


def dumpdata() -> str:
    from io import StringIO

    out = StringIO()
    call_command("dumpdata", "studyapp", "auth", "sessions", stdout=out)
    return out.getvalue()


@pytest.fixture
def real_bank_with_a_learner():
    """The shipped bank, loaded; a learner with cards and one graded review, so the database
    holds learners' data as well as the bank."""
    call_command("load_bank", verbosity=0)
    learner = UserFactory()
    queue.ensure_cards(learner)
    card = Card.objects.filter(user=learner, question__kind="flashcard").first()
    reviews.grade(
        card.id, user=learner, settings=queue.settings_of(learner), rating=3,
        token="7d1d7a56-0000-4000-8000-000000000001", response="", now=timezone.now(),
        duration_ms=4200, practice=False,
    )  # fmt: skip
    return learner


def refusal(path: Path) -> list[str]:
    """load_bank's CommandError for path, as its problem lines (after checking its header)."""
    with pytest.raises(CommandError) as refused:
        call_command("load_bank", str(path))
    header, *problems = str(refused.value).splitlines()
    assert header == HEADER.format(len(problems))
    return problems


def test_every_case_in_the_data_folder_has_its_expected_problems():
    on_disk = {p.name for p in DATA.iterdir()} - {"expected.json", "sound"}
    assert on_disk == set(EXPECTED)
    assert len(EXPECTED) >= 20
    for name, case in EXPECTED.items():
        assert case["problems"], name
        assert case["about"], name


def test_the_sound_control_file_loads(real_bank_with_a_learner, capsys):
    call_command("load_bank", str(DATA / "sound"))
    assert "questions: 5 created, 0 updated, 0 unchanged" in capsys.readouterr().out
    assert Question.objects.get(uid="rel-sound-mc").choices.count() == 4


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_malformed_file_is_refused_naming_file_record_and_field(real_bank_with_a_learner, name):
    before, dump_before = every_row(), dumpdata()
    problems = refusal(DATA / name)
    assert problems == EXPECTED[name]["problems"]
    for problem in problems:
        file, record, field, message = problem.split(": ", 3)
        assert file.startswith(f"tests/data/{name}")
        assert record and field and message
    assert every_row() == before
    assert dumpdata() == dump_before


def test_a_file_over_the_size_cap_is_refused_unread(real_bank_with_a_learner, tmp_path):
    huge = tmp_path / "huge.json"
    with huge.open("wb") as out:  # a sound list, padded with blanks to one byte over the cap
        out.write(b"[")
        out.write(b" " * bank.MAX_FILE_BYTES)
        out.write(b"]")
    assert huge.stat().st_size == bank.MAX_FILE_BYTES + 2
    before = every_row()
    assert refusal(huge) == [f"{huge}: -: -: file is larger than {bank.MAX_FILE_BYTES} bytes"]
    assert every_row() == before


def test_a_field_of_a_megabyte_is_refused_by_its_limit(real_bank_with_a_learner, tmp_path):
    record = json.loads((DATA / "sound" / "questions.json").read_text(encoding="utf-8"))[0]
    record["fields"]["explanation"] = "x" * 1_000_000
    path = tmp_path / "big-explanation.json"
    path.write_text(json.dumps([record]), encoding="utf-8")
    before = every_row()
    assert refusal(path) == [
        f"{path}: rel-sound-typed: explanation: is 1000000 characters long; the most is 5000"
    ]
    assert every_row() == before


def test_all_the_malformed_files_at_once_report_every_problem(real_bank_with_a_learner):
    """One load of every case: nothing is loaded and every case's problems are reported, save
    that three cases redefine the same real source: after the first, the other two are reported
    as duplicates of it (and are then not checked further)."""
    before = every_row()
    with pytest.raises(CommandError) as refused:
        call_command("load_bank", *(str(DATA / name) for name in sorted(EXPECTED)))
    header, *reported = str(refused.value).splitlines()
    first = "tests/data/source-seed-missing.json"
    expected = [
        line for name, case in EXPECTED.items() for line in case["problems"]
        if name not in {"source-seed-not-text.json", "source-text-differs.json"}
    ] + [
        f"tests/data/{name}: pakistan-today-xi-jiangsu-deliberation: slug: duplicate (also in {first})"
        for name in ("source-seed-not-text.json", "source-text-differs.json")
    ]  # fmt: skip
    assert header == HEADER.format(len(expected))
    assert sorted(reported) == sorted(expected)
    assert every_row() == before


def test_a_record_naming_a_field_twice_is_refused(real_bank_with_a_learner, tmp_path):
    text = (DATA / "sound" / "questions.json").read_text(encoding="utf-8")
    path = tmp_path / "answer-twice.json"
    path.write_text(
        text.replace('"answer": "revolutionary",', '"answer": "revolutionary", "answer": "x",', 1),
        encoding="utf-8",
    )
    before = every_row()
    assert any("answer" in line for line in refusal(path))
    assert every_row() == before
