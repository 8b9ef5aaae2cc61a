"""load_bank, check_bank and export_bank on small banks written to a temporary folder."""

import copy
import json

import pytest
from django.core import serializers
from django.core.management import CommandError, call_command

from studyapp import bank
from studyapp.models import Card, Choice, Deck, Question, Review, Source

from .factories import SOURCE_TEXT, CardFactory, ReviewFactory

pytestmark = pytest.mark.django_db

QUOTE = (
    "Jiangsu's GDP reached 12.82 trillion yuan ($1.78 trillion) last year, ranking second in China."
)


def question(uid, kind="typed", **fields):
    base = {
        "uid": uid,
        "deck": ["provinces"],
        "kind": kind,
        "prompt": f"What was Jiangsu's GDP in 2023? ({uid})",
        "answer": "12.82 trillion yuan",
        "accepted_answers": ["12.82 trillion"],
        "explanation": "The report says so.",
        "source": ["report"],
        "source_quote": QUOTE,
        "tags": "province::jiangsu",
        "is_active": True,
    }
    return {"model": "studyapp.question", "fields": base | fields}


def choice(uid, position, text, is_correct=False):
    return {
        "model": "studyapp.choice",
        "fields": {"question": [uid], "position": position, "text": text, "is_correct": is_correct},
    }


def starter_bank():
    """A valid bank: one source, one deck, a question of every kind."""
    return {
        "sources.json": [
            {
                "model": "studyapp.source",
                "fields": {
                    "slug": "report",
                    "title": "A report",
                    "publisher": "Test Daily",
                    "published_on": "2024-03-07",
                    "seed_file": "report.txt",
                    "text": SOURCE_TEXT,
                },
            }
        ],
        "decks.json": [
            {"model": "studyapp.deck", "fields": {"slug": "provinces", "name": "Provinces"}}
        ],
        "questions.json": [
            question("gdp-typed"),
            question("gdp-flash", "flashcard", prompt="How large was Jiangsu's economy in 2023?"),
            question(
                "gdp-tf", "true_false", prompt="Jiangsu ranked second in China.", answer="True"
            ),
            question(
                "gdp-cloze",
                "cloze",
                prompt="Jiangsu's GDP reached ____ last year.",
                answer="12.82 trillion yuan",
            ),
            question("gdp-mc", "multiple_choice", answer="second"),
            choice("gdp-mc", 1, "first"),
            choice("gdp-mc", 2, "second", True),
            choice("gdp-mc", 3, "third"),
            choice("gdp-mc", 4, "fifth"),
        ],
    }


@pytest.fixture
def bank_dir(tmp_path, settings):
    """Writes a bank (dict of file name -> records or raw bytes) and its seed file."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "report.txt").write_text(SOURCE_TEXT, encoding="utf-8")
    settings.SEEDS_DIR = seeds
    folder = tmp_path / "fixtures"

    def write(files):
        folder.mkdir(exist_ok=True)
        for old in folder.glob("*.json"):
            old.unlink()
        for name, content in files.items():
            data = content if isinstance(content, bytes) else json.dumps(content).encode()
            (folder / name).write_bytes(data)
        return folder

    return write


def dump():
    """Every row of the app, as text: equal dumps mean an unchanged database."""
    rows = [*Source.objects.all(), *Deck.objects.all(), *Question.objects.all(),
            *Choice.objects.all(), *Card.objects.all(), *Review.objects.all()]  # fmt: skip
    return serializers.serialize("json", rows)


def load(folder):
    call_command("load_bank", str(folder))


def test_loading_a_sound_bank_creates_every_row(bank_dir, capsys):
    call_command("load_bank", str(bank_dir(starter_bank())))
    out = capsys.readouterr().out
    assert "questions: 5 created, 0 updated, 0 unchanged" in out
    assert Question.objects.count() == 5
    mc = Question.objects.get(uid="gdp-mc")
    assert [(c.position, c.text, c.is_correct) for c in mc.choices.all()] == [
        (1, "first", False), (2, "second", True), (3, "third", False), (4, "fifth", False)
    ]  # fmt: skip
    assert Source.objects.get(slug="report").published_on.isoformat() == "2024-03-07"


def test_loading_twice_changes_nothing(bank_dir, capsys):
    folder = bank_dir(starter_bank())
    load(folder)
    before = dump()
    capsys.readouterr()
    load(folder)
    out = capsys.readouterr().out
    assert "questions: 0 created, 0 updated, 5 unchanged" in out
    assert "sources: 0 created, 0 updated, 1 unchanged" in out
    assert dump() == before


def test_an_edit_replaces_text_and_choices_without_stale_choices(bank_dir, capsys):
    files = starter_bank()
    load(bank_dir(files))
    mc_id = Question.objects.get(uid="gdp-mc").id
    edited = copy.deepcopy(files)
    records = edited["questions.json"]
    records[0]["fields"]["prompt"] = "How large was Jiangsu's GDP in 2023?"
    # The multiple choice loses its fourth choice and its third changes.
    records[:] = [r for r in records if r["fields"].get("position") != 4]
    records[-1]["fields"]["text"] = "tenth"
    capsys.readouterr()
    load(bank_dir(edited))
    assert "questions: 0 created, 2 updated, 3 unchanged" in capsys.readouterr().out
    assert Question.objects.get(uid="gdp-typed").prompt == "How large was Jiangsu's GDP in 2023?"
    mc = Question.objects.get(uid="gdp-mc")
    assert mc.id == mc_id
    assert [c.text for c in mc.choices.all()] == ["first", "second", "tenth"]
    assert Choice.objects.count() == 3


def test_a_question_that_left_the_bank_is_deactivated_and_keeps_its_cards(
    bank_dir, settings, capsys
):
    files = starter_bank()
    load(bank_dir(files))
    gone = Question.objects.get(uid="gdp-flash")
    card = CardFactory(question=gone, reps=3)
    ReviewFactory(card=card)
    files["questions.json"] = [
        r for r in files["questions.json"] if r["fields"].get("uid") != "gdp-flash"
    ]
    settings.BASE_DIR = bank_dir(files).parent  # the default paths are BASE_DIR/fixtures
    capsys.readouterr()
    call_command("load_bank")
    assert "questions deactivated: 1" in capsys.readouterr().out
    gone.refresh_from_db()
    assert gone.is_active is False
    assert Card.objects.get(id=card.id).reps == 3
    assert Review.objects.filter(card=card).count() == 1


def test_loading_chosen_files_deactivates_nothing(bank_dir):
    files = starter_bank()
    load(bank_dir(files))
    files["questions.json"] = files["questions.json"][:1]
    load(bank_dir(files))
    assert Question.objects.filter(is_active=False).count() == 0


def test_cards_and_reviews_are_never_touched_by_a_reload(bank_dir):
    files = starter_bank()
    load(bank_dir(files))
    card = CardFactory(question=Question.objects.get(uid="gdp-typed"), reps=7, lapses=2)
    ReviewFactory(card=card)
    files["questions.json"][0]["fields"]["answer"] = "12.82 trillion"
    cards_before = serializers.serialize("json", Card.objects.all())
    reviews_before = serializers.serialize("json", Review.objects.all())
    load(bank_dir(files))
    assert serializers.serialize("json", Card.objects.all()) == cards_before
    assert serializers.serialize("json", Review.objects.all()) == reviews_before


def broken(edit):
    files = starter_bank()
    edit(files)
    return files


def set_field(uid, name, value):
    def edit(files):
        for record in files["questions.json"]:
            if record["fields"].get("uid") == uid:
                record["fields"][name] = value

    return edit


def drop_field(uid, name):
    def edit(files):
        for record in files["questions.json"]:
            if record["fields"].get("uid") == uid:
                del record["fields"][name]

    return edit


def set_choice(position, **fields):
    def edit(files):
        for record in files["questions.json"]:
            if record["fields"].get("position") == position:
                record["fields"].update(fields)

    return edit


def add_records(*records):
    def edit(files):
        files["questions.json"].extend(records)

    return edit


BAD_BANKS = {
    "unknown kind": (
        set_field("gdp-typed", "kind", "essay"),
        "questions.json: gdp-typed: kind: unknown kind 'essay'",
    ),
    "missing field": (
        drop_field("gdp-typed", "answer"),
        "questions.json: gdp-typed: answer: missing",
    ),
    "empty prompt": (
        set_field("gdp-typed", "prompt", "  "),
        "questions.json: gdp-typed: prompt: must not be empty",
    ),
    "wrong type": (
        set_field("gdp-typed", "accepted_answers", "12.82 trillion"),
        "questions.json: gdp-typed: accepted_answers: must be a list of text",
    ),
    "multiple choice with no correct choice": (
        set_choice(2, is_correct=False),
        "questions.json: gdp-mc: choices: a multiple choice needs exactly one correct choice, has 0",
    ),
    "multiple choice with two correct choices": (
        set_choice(3, is_correct=True),
        "questions.json: gdp-mc: choices: a multiple choice needs exactly one correct choice, has 2",
    ),
    "multiple choice answer not its correct choice": (
        set_field("gdp-mc", "answer", "third"),
        "questions.json: gdp-mc: answer: must equal the correct choice's text 'second'",
    ),
    "quote not in source": (
        set_field("gdp-typed", "source_quote", "Jiangsu's GDP reached 13 trillion yuan"),
        "questions.json: gdp-typed: source_quote: not found in the source's text",
    ),
    "unknown deck": (
        set_field("gdp-typed", "deck", ["nowhere"]),
        "questions.json: gdp-typed: deck: unknown deck 'nowhere'",
    ),
    "unknown source": (
        set_field("gdp-typed", "source", ["nobody"]),
        "questions.json: gdp-typed: source: unknown source 'nobody'",
    ),
    "duplicate uid": (
        add_records(question("gdp-typed", prompt="Another prompt")),
        "questions.json: gdp-typed: uid: duplicate",
    ),
    "cloze without a blank": (
        set_field("gdp-cloze", "prompt", "Jiangsu's GDP reached a lot."),
        "questions.json: gdp-cloze: prompt: a cloze prompt needs exactly one blank ____",
    ),
    "true/false answer not True or False": (
        set_field("gdp-tf", "answer", "Yes"),
        'questions.json: gdp-tf: answer: a true/false answer is "True" or "False"',
    ),
    "choices on a typed question": (
        add_records(choice("gdp-typed", 1, "twelve")),
        "questions.json: gdp-typed: choices: only a multiple choice has choices, not a typed",
    ),
    "choice of an unknown question": (
        add_records(choice("ghost", 1, "boo", True)),
        "questions.json: ghost#1: question: unknown question 'ghost'",
    ),
    "unknown model": (
        add_records({"model": "auth.user", "fields": {"username": "root"}}),
        "questions.json: record 10: model: unknown model 'auth.user'",
    ),
    "unknown field": (
        set_field("gdp-typed", "hint", "think"),
        "questions.json: gdp-typed: hint: unknown field",
    ),
    "text too long": (
        set_field("gdp-typed", "prompt", "x" * 5000),
        "questions.json: gdp-typed: prompt: is 5000 characters long; the most is 2000",
    ),
    "source text differs from its seed file": (
        lambda files: files["sources.json"][0]["fields"].update(text=SOURCE_TEXT + " More."),
        "sources.json: report: text: differs from",
    ),
}


@pytest.mark.parametrize("case", BAD_BANKS, ids=list(BAD_BANKS))
def test_a_bad_bank_is_refused_with_a_message_naming_file_record_and_field(bank_dir, case):
    load(bank_dir(starter_bank()))
    before = dump()
    edit, expected = BAD_BANKS[case]
    with pytest.raises(CommandError) as refused:
        load(bank_dir(broken(edit)))
    assert expected in str(refused.value)
    assert "The bank was not loaded" in str(refused.value)
    assert dump() == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'[{"model": "studyapp.deck", ', "questions.json: -: -: not valid JSON"),
        (b"\xff\xfe[]", "questions.json: -: -: not UTF-8 text"),
        (b'{"model": "studyapp.deck"}', "questions.json: -: -: must be a JSON list of records"),
    ],
    ids=["bad json", "wrong encoding", "not a list"],
)
def test_an_unreadable_file_is_refused_and_nothing_loads(bank_dir, content, expected):
    files = starter_bank()
    files["questions.json"] = content
    with pytest.raises(CommandError, match="not loaded") as refused:
        load(bank_dir(files))
    assert expected in str(refused.value)
    assert Source.objects.count() == 0 and Deck.objects.count() == 0


def test_every_problem_is_reported_at_once(bank_dir):
    files = broken(set_field("gdp-typed", "kind", "essay"))
    set_field("gdp-flash", "deck", ["nowhere"])(files)
    with pytest.raises(CommandError) as refused:
        load(bank_dir(files))
    message = str(refused.value)
    assert "2 problem(s)" in message
    assert "gdp-typed: kind" in message and "gdp-flash: deck" in message


def test_check_bank_reports_problems_and_loads_nothing(bank_dir, capsys):
    with pytest.raises(CommandError, match="gdp-typed: kind: unknown kind"):
        call_command("check_bank", str(bank_dir(broken(set_field("gdp-typed", "kind", "essay")))))
    assert Question.objects.count() == 0
    call_command("check_bank", str(bank_dir(starter_bank())))
    assert (
        "The bank is sound: 1 sources, 1 decks, 5 questions, 4 choices." in capsys.readouterr().out
    )
    assert Question.objects.count() == 0


def test_export_then_load_changes_nothing(bank_dir, tmp_path, capsys):
    load(bank_dir(starter_bank()))
    before = dump()
    out_dir = tmp_path / "exported"
    call_command("export_bank", "--to", str(out_dir))
    assert sorted(p.name for p in out_dir.glob("*.json")) == [
        "decks.json", "questions-provinces.json", "sources.json"
    ]  # fmt: skip
    capsys.readouterr()
    call_command("load_bank", str(out_dir))
    out = capsys.readouterr().out
    assert "questions: 0 created, 0 updated, 5 unchanged" in out
    assert dump() == before


def test_exported_bank_loads_into_an_empty_database(bank_dir, tmp_path):
    load(bank_dir(starter_bank()))
    expected = {(q.uid, q.prompt, q.answer) for q in Question.objects.all()}
    bank.export(tmp_path / "exported")
    Choice.objects.all().delete()
    Question.objects.all().delete()
    load(tmp_path / "exported")
    assert {(q.uid, q.prompt, q.answer) for q in Question.objects.all()} == expected
    assert Choice.objects.filter(question__uid="gdp-mc", is_correct=True).get().text == "second"


def test_plain_loaddata_loads_the_same_files(bank_dir):
    folder = bank_dir(starter_bank())
    call_command(
        "loaddata", str(folder / "sources.json"), str(folder / "decks.json"),
        str(folder / "questions.json"), verbosity=0,
    )  # fmt: skip
    assert Question.objects.count() == 5
    assert Question.objects.get(uid="gdp-mc").choices.get(is_correct=True).text == "second"
    # Natural keys: loading again updates in place instead of duplicating.
    call_command("loaddata", str(folder / "questions.json"), verbosity=0)
    assert Question.objects.count() == 5 and Choice.objects.count() == 4


def test_the_shipped_bank_is_sound():
    _, problems = bank.check(bank.default_paths())
    assert problems == []
