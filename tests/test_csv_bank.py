"""import_csv and export_csv: the bank's questions as CSV, checked by load_bank's rules."""

import csv
import io

import pytest
from django.core import serializers
from django.core.management import CommandError, call_command

from studyapp import bank, csv_bank
from studyapp.csv_bank import COLUMNS
from studyapp.models import Card, Choice, Deck, Kind, Question, Review, Source

from .factories import (
    CardFactory,
    DeckFactory,
    QuestionFactory,
    ReviewFactory,
    SourceFactory,
    multiple_choice,
)

pytestmark = pytest.mark.django_db

QUOTE = "Jiangsu's GDP reached 12.82 trillion yuan ($1.78 trillion) last year"


@pytest.fixture
def small_bank():
    """A deck and a source, a question of every kind and an inactive one; a learner's card."""
    deck = DeckFactory(slug="provinces", name="Provinces")
    source = SourceFactory(slug="report")
    common = {"deck": deck, "source": source, "source_quote": QUOTE}
    questions = [
        QuestionFactory(uid="gdp-flash", kind=Kind.FLASHCARD, accepted_answers=[], **common),
        QuestionFactory(uid="gdp-typed", kind=Kind.TYPED, **common),
        QuestionFactory(
            uid="gdp-cloze",
            kind=Kind.CLOZE,
            prompt="Jiangsu's GDP reached ____ last year.",
            explanation="Two lines:\nthe figure, then the year.",
            **common,
        ),
        multiple_choice(uid="gdp-mc", accepted_answers=[], **common),
        QuestionFactory(
            uid="gdp-tf",
            kind=Kind.TRUE_FALSE,
            prompt="Jiangsu ranked second, with a 12.82 trillion yuan GDP.",
            answer="True",
            accepted_answers=[],
            tags="",
            **common,
        ),
        QuestionFactory(uid="gdp-retired", is_active=False, **common),
    ]
    ReviewFactory(card=CardFactory(question=questions[1]))
    return questions


def dump():
    """Every row of the app, as text: equal dumps mean an unchanged database."""
    rows = [*Source.objects.all(), *Deck.objects.all(), *Question.objects.all(),
            *Choice.objects.all(), *Card.objects.all(), *Review.objects.all()]  # fmt: skip
    return serializers.serialize("json", rows)


def exported(deck=None) -> str:
    out = io.StringIO(newline="")
    csv_bank.export_csv(out, deck)
    return out.getvalue()


def exported_rows() -> dict[str, dict]:
    return {row["uid"]: row for row in csv.DictReader(io.StringIO(exported(), newline=""))}


def write(path, rows, header=COLUMNS, *, encoding="utf-8", delimiter=","):
    """A CSV of `rows` (dicts by column, or lists of cells as they are)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header] if isinstance(row, dict) else row)
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def new_row(uid="gdp-new", **cells) -> dict:
    """A sound typed question that isn't in the database yet."""
    return {
        "uid": uid,
        "deck": "provinces",
        "kind": "typed",
        "prompt": f"What was Jiangsu's GDP? ({uid})",
        "answer": "12.82 trillion yuan",
        "accepted_answers": "",
        "choices": "",
        "source": "report",
        "quote": QUOTE,
        "tags": "",
        "explanation": "",
        "is_active": "true",
    } | cells


def import_problems(path) -> list[str]:
    with pytest.raises(bank.BankError) as caught:
        csv_bank.import_csv(path)
    return [str(p) for p in caught.value.problems]


# --- Round trips --------------------------------------------------------------------------------


def test_export_then_import_changes_nothing(small_bank, tmp_path):
    path = tmp_path / "bank.csv"
    path.write_text(exported(), encoding="utf-8", newline="")
    before = dump()
    counts = csv_bank.import_csv(path)
    assert (counts.created["questions"], counts.updated["questions"]) == (0, 0)
    assert counts.unchanged["questions"] == 6
    assert dump() == before


def test_the_real_bank_round_trips_through_the_commands(tmp_path, capsys):
    bank.load(bank.default_paths(), deactivate_missing=True)
    before = dump()
    path = tmp_path / "bank.csv"
    call_command("export_csv", "--output", str(path))
    n = Question.objects.count()
    assert f"wrote {n} questions" in capsys.readouterr().out
    call_command("import_csv", str(path))
    assert f"questions: 0 created, 0 updated, {n} unchanged" in capsys.readouterr().out
    assert dump() == before


def test_each_kind_is_written_as_the_readme_says(small_bank):
    rows = exported_rows()
    assert list(rows) == ["gdp-flash", "gdp-typed", "gdp-cloze", "gdp-mc", "gdp-tf", "gdp-retired"]
    assert rows["gdp-mc"]["choices"] == "first | *second | third | fourth"
    assert rows["gdp-mc"]["answer"] == "second"
    assert rows["gdp-typed"]["accepted_answers"] == "12.82 trillion | RMB 12.82 trillion"
    assert rows["gdp-cloze"]["prompt"] == "Jiangsu's GDP reached ____ last year."
    assert rows["gdp-cloze"]["explanation"] == "Two lines:\nthe figure, then the year."
    assert rows["gdp-tf"] | {"prompt": ""} == new_row(
        "gdp-tf",
        kind="true_false",
        prompt="",
        answer="True",
        explanation=rows["gdp-tf"]["explanation"],
    )
    assert rows["gdp-typed"]["tags"] == "province::jiangsu figure"
    assert rows["gdp-retired"]["is_active"] == "false"
    assert all(row["choices"] == "" for uid, row in rows.items() if uid != "gdp-mc")


def test_each_kind_is_read_into_the_bank(small_bank, tmp_path):
    rows = [
        new_row("n-flash", kind="flashcard", answer="12.82 trillion yuan"),
        new_row("n-typed", accepted_answers="12.82 trillion |RMB 12.82 trillion| ", tags="a::b c"),
        new_row("n-cloze", kind="cloze", prompt="GDP reached ____ last year."),
        new_row("n-mc", kind="multiple_choice", answer="second", choices="first|*second | third"),
        new_row("n-tf", kind="true_false", answer="False", is_active="FALSE"),
    ]
    counts = csv_bank.import_csv(write(tmp_path / "new.csv", rows))
    assert counts.created["questions"] == 5
    typed = Question.objects.get(uid="n-typed")
    assert typed.accepted_answers == ["12.82 trillion", "RMB 12.82 trillion"]
    assert (typed.tags, typed.deck.slug, typed.source.slug) == ("a::b c", "provinces", "report")
    assert typed.source_quote == QUOTE and typed.is_active
    mc = Question.objects.get(uid="n-mc")
    assert [(c.position, c.text, c.is_correct) for c in mc.choices.all()] == [
        (1, "first", False), (2, "second", True), (3, "third", False)
    ]  # fmt: skip
    assert not Question.objects.get(uid="n-tf").is_active  # Excel writes FALSE
    assert {q.uid: q.kind for q in Question.objects.filter(uid__startswith="n-")} == {
        "n-flash": "flashcard", "n-typed": "typed", "n-cloze": "cloze",
        "n-mc": "multiple_choice", "n-tf": "true_false",
    }  # fmt: skip


def test_importing_updates_questions_in_place_by_uid(small_bank, tmp_path):
    rows = exported_rows()
    rows["gdp-mc"] |= {"prompt": "Where does Jiangsu rank?", "choices": "first | *second | third"}
    ids = dict(Question.objects.values_list("uid", "id"))
    cards = list(Card.objects.values())
    counts = csv_bank.import_csv(write(tmp_path / "edit.csv", [rows["gdp-mc"], new_row()]))
    assert (counts.created["questions"], counts.updated["questions"]) == (1, 1)
    mc = Question.objects.get(uid="gdp-mc")
    assert mc.id == ids["gdp-mc"] and mc.prompt == "Where does Jiangsu rank?"
    assert [c.text for c in mc.choices.all()] == ["first", "second", "third"]
    # Questions left out of the file are left alone (not deactivated); cards are untouched.
    assert Question.objects.filter(is_active=True).count() == 6
    assert list(Card.objects.values()) == cards


# --- Refused files ------------------------------------------------------------------------------


def mc_row(**cells):
    return new_row("new-mc", kind="multiple_choice", answer="B", choices="A | *B | C") | cells


BAD_ROWS = {
    "unknown kind": (
        new_row("new-x", kind="essay"),
        "row 3 (uid new-x): kind: unknown kind 'essay' (known: flashcard, multiple_choice, "
        "true_false, typed, cloze)",
    ),
    "missing column": (
        list(new_row("new-x").values())[:-1],
        "row 3 (uid new-x): -: has 11 cells; the header has 12",
    ),
    "MCQ with two stars": (
        mc_row(choices="A | *B | *C"),
        "row 3 (uid new-mc): choices: a multiple choice needs exactly one correct choice, has 2",
    ),
    "MCQ with no star": (
        mc_row(choices="A | B | C"),
        "row 3 (uid new-mc): choices: a multiple choice needs exactly one correct choice, has 0",
    ),
    "MCQ answer not the starred choice": (
        mc_row(answer="C"),
        "row 3 (uid new-mc): answer: must equal the correct choice's text 'B'",
    ),
    "empty choice": (mc_row(choices="A | *B | "), "row 3 (uid new-mc): choices: choice 3 is empty"),
    "choices on a typed question": (
        new_row("new-x", choices="A | *B"),
        "row 3 (uid new-x): choices: only a multiple choice has choices, not a typed",
    ),
    "quote not in the source": (
        new_row("new-x", quote="Jiangsu's GDP reached 99 trillion yuan"),
        "row 3 (uid new-x): quote: not found in the source's text (whitespace folded)",
    ),
    "unknown deck": (
        new_row("new-x", deck="nope"),
        "row 3 (uid new-x): deck: unknown deck 'nope'",
    ),
    "unknown source": (
        new_row("new-x", source="nope"),
        "row 3 (uid new-x): source: unknown source 'nope'",
    ),
    "cloze without a blank": (
        new_row("new-x", kind="cloze"),
        "row 3 (uid new-x): prompt: a cloze prompt needs exactly one blank ____",
    ),
    "true/false answered Yes": (
        new_row("new-x", kind="true_false", answer="Yes"),
        'row 3 (uid new-x): answer: a true/false answer is "True" or "False", not \'Yes\'',
    ),
    "no uid": (new_row(""), "row 3: uid: must be a non-empty slug"),
    "uid not a slug": (
        new_row("new x"),
        "row 3 (uid new x): uid: must be a slug (letters, digits, - and _), not 'new x'",
    ),
    "empty prompt": (new_row("new-x", prompt="  "), "row 3 (uid new-x): prompt: must not be empty"),
    "is_active neither": (
        new_row("new-x", is_active="maybe"),
        "row 3 (uid new-x): is_active: must be true or false, not 'maybe'",
    ),
    "duplicate uid": (
        new_row("gdp-new"),
        "row 3 (uid gdp-new): uid: duplicate (also in row 2 (uid gdp-new))",
    ),
    "answer too long": (
        new_row("new-x", answer="x" * 1001),
        "row 3 (uid new-x): answer: is 1001 characters long; the most is 1000",
    ),
}


@pytest.mark.parametrize("case", BAD_ROWS, ids=str)
def test_a_bad_row_is_refused_with_its_message_and_nothing_is_written(case, small_bank, tmp_path):
    bad, message = BAD_ROWS[case]
    path = write(tmp_path / "bad.csv", [new_row("gdp-new"), bad])  # row 2 sound, row 3 not
    before = dump()
    assert import_problems(path) == [f"{path}: {message}"]
    assert dump() == before


def test_every_problem_is_reported_at_once_in_row_order(small_bank, tmp_path):
    rows = [new_row("a", deck="nope"), new_row("b"), new_row("c", kind="essay", quote="nowhere")]
    path = write(tmp_path / "bad.csv", rows)
    problems = import_problems(path)
    assert [p.split(": ")[1:3] for p in problems] == [
        ["row 2 (uid a)", "deck"], ["row 4 (uid c)", "kind"], ["row 4 (uid c)", "quote"]
    ]  # fmt: skip


def test_utf8_with_a_byte_order_mark_is_read(small_bank, tmp_path):
    path = write(
        tmp_path / "excel.csv", [new_row(prompt="新质生产力 — what is it?")], encoding="utf-8-sig"
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    csv_bank.import_csv(path)
    assert Question.objects.get(uid="gdp-new").prompt == "新质生产力 — what is it?"


def test_semicolons_as_some_spreadsheets_save_csv_are_read(small_bank, tmp_path):
    path = write(tmp_path / "semi.csv", [new_row(prompt="GDP; in 2023?")], delimiter=";")
    csv_bank.import_csv(path)
    assert Question.objects.get(uid="gdp-new").prompt == "GDP; in 2023?"


def test_blank_lines_are_skipped_and_rows_keep_their_numbers(small_bank, tmp_path):
    path = write(tmp_path / "gaps.csv", [new_row("a"), [""] * 12, [], new_row("b", deck="nope")])
    assert import_problems(path) == [f"{path}: row 5 (uid b): deck: unknown deck 'nope'"]


@pytest.mark.parametrize(
    ("header", "found"),
    [
        (
            [("source_quote" if c == "quote" else c) for c in COLUMNS],
            "missing: 'quote'; unknown: 'source_quote'",
        ),
        ([c for c in COLUMNS if c != "tags"], "missing: 'tags'"),
        ([*COLUMNS, "uid"], "repeated: 'uid'"),
    ],
    ids=["renamed", "missing", "repeated"],
)
def test_a_wrong_header_is_named(header, found, small_bank, tmp_path):
    path = write(tmp_path / "header.csv", [], header=header)
    expected = ", ".join(COLUMNS)
    assert import_problems(path) == [
        f"{path}: row 1: header: wrong columns ({found}); expected: {expected}"
    ]


def test_columns_may_come_in_any_order(small_bank, tmp_path):
    path = write(tmp_path / "order.csv", [new_row()], header=list(reversed(COLUMNS)))
    assert csv_bank.import_csv(path).created["questions"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "-: -: empty: no header row"),
        (b"uid,deck\r\n\xff\xfe", "-: -: not UTF-8 text (byte 10)"),
    ],
)
def test_files_that_are_not_a_csv_of_questions(content, message, small_bank, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(content)
    assert import_problems(path)[0].startswith(f"{path}: {message}")


# --- Export's refusals, the commands and bank.load_from -----------------------------------------


def test_export_refuses_text_the_format_cannot_carry(small_bank):
    Choice.objects.filter(question__uid="gdp-mc", position=3).update(text="third | fourth")
    Question.objects.filter(uid="gdp-typed").update(accepted_answers=["ok", " padded"])
    with pytest.raises(bank.BankError) as caught:
        exported()
    assert [str(p) for p in caught.value.problems] == [
        "export: gdp-typed: accepted_answers: item 2 ' padded' is empty or starts or ends with "
        "spaces, which the format drops",
        "export: gdp-mc: choices: item 3 'third | fourth' contains \"|\", which separates items",
    ]


def test_export_csv_command_writes_one_deck_to_standard_output(small_bank, capsys):
    other = DeckFactory(slug="other")
    QuestionFactory(uid="elsewhere", deck=other, source=small_bank[0].source, source_quote=QUOTE)
    call_command("export_csv", "--deck", "other")
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out, newline="")))
    assert rows[0] == COLUMNS and [r[0] for r in rows[1:]] == ["elsewhere"]
    with pytest.raises(CommandError, match="No deck 'nope'"):
        call_command("export_csv", "--deck", "nope")


def test_import_csv_command_reports_problems_and_writes_nothing(small_bank, tmp_path):
    path = write(tmp_path / "bad.csv", [new_row("x", deck="nope"), new_row("y", kind="essay")])
    before = dump()
    with pytest.raises(CommandError) as caught:
        call_command("import_csv", str(path))
    assert str(caught.value).startswith("Nothing was imported; 2 problem(s):\n")
    assert f"{path}: row 2 (uid x): deck: unknown deck 'nope'" in str(caught.value)
    assert dump() == before


def question_record(**fields) -> bank.Record:
    sound = {
        "uid": "gdp-new", "deck": ["provinces"], "kind": "typed",
        "prompt": "What was Jiangsu's GDP?", "answer": "12.82 trillion yuan",
        "accepted_answers": [], "explanation": "", "source": ["report"],
        "source_quote": QUOTE, "tags": "", "is_active": True,
    }  # fmt: skip
    return bank.Record("memory", "studyapp.question", sound | fields)


def test_load_from_loads_an_already_read_bank_or_nothing(small_bank):
    before = dump()
    with pytest.raises(bank.BankError, match="memory: gdp-new: deck: unknown deck 'nope'"):
        bank.load_from(
            bank.Bank(questions=[question_record(deck=["nope"])]), deactivate_missing=False
        )
    assert dump() == before
    counts = bank.load_from(bank.Bank(questions=[question_record()]), deactivate_missing=False)
    assert counts.created["questions"] == 1 and Question.objects.get(uid="gdp-new").is_active
    assert Question.objects.filter(is_active=True).count() == 6  # nothing else deactivated
