"""The Anki export, read back by Anki itself: each package is imported into a fresh collection
with the `anki` package (Anki's own library) and its notes are looked at field by field."""

import html
import io
import re
import sqlite3
import tempfile
import zipfile
from pathlib import Path

import genanki
import pytest
from anki.collection import (
    Collection,
    ImportAnkiPackageOptions,
    ImportAnkiPackageRequest,
)
from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition
from django.core.management import CommandError, call_command
from django.urls import reverse

from studyapp import anki, bank
from studyapp.models import Deck, Kind, Question

from .factories import DeckFactory, QuestionFactory, SourceFactory, multiple_choice

pytestmark = pytest.mark.django_db

QUOTE = "Jiangsu's GDP reached 12.82 trillion yuan ($1.78 trillion) last year"
TITLE_LINE = "A report, Test Daily"


@pytest.fixture
def small_bank():
    """One deck with a question of every kind (and an inactive one), and a second deck."""
    deck = DeckFactory(slug="provinces", name="Provinces", position=1)
    source = SourceFactory(slug="report", title="A report", publisher="Test Daily")
    common = {"deck": deck, "source": source, "source_quote": QUOTE}
    questions = {
        "flashcard": QuestionFactory(
            uid="gdp-flash",
            kind=Kind.FLASHCARD,
            prompt="How large was Jiangsu's economy in 2023?",
            accepted_answers=[],
            explanation="",
            **common,
        ),
        "typed": QuestionFactory(uid="gdp-typed", kind=Kind.TYPED, **common),
        "cloze": QuestionFactory(
            uid="gdp-cloze",
            kind=Kind.CLOZE,
            prompt="Jiangsu's GDP reached ____ last year.",
            accepted_answers=[],
            **common,
        ),
        "multiple_choice": multiple_choice(
            uid="gdp-mc", prompt="Which place did Jiangsu take?", accepted_answers=[], **common
        ),
        "true_false": QuestionFactory(
            uid="gdp-tf",
            kind=Kind.TRUE_FALSE,
            prompt="Jiangsu ranked second in China.",
            answer="True",
            accepted_answers=[],
            tags="province::jiangsu",
            **common,
        ),
    }
    QuestionFactory(uid="gdp-retired", is_active=False, **common)
    other_deck = DeckFactory(slug="definitions", name="Definitions", position=2)
    QuestionFactory(uid="def-typed", deck=other_deck, source=source, source_quote=QUOTE)
    return deck, questions


def import_into(collection_path: Path, data: bytes):
    """Import the package into the collection (created if new) as Anki's import dialog does
    by default: notes and note types updated when the package's are newer."""
    package = collection_path.parent / f"package-{len(data)}-{hash(data)}.apkg"
    package.write_bytes(data)
    col = Collection(str(collection_path))
    newer = ImportAnkiPackageUpdateCondition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER
    log = col.import_anki_package(
        ImportAnkiPackageRequest(
            package_path=str(package),
            options=ImportAnkiPackageOptions(
                merge_notetypes=False,
                update_notes=newer,
                update_notetypes=newer,
                with_scheduling=False,
                with_deck_configs=False,
            ),
        )
    )
    return col, log.log


def notes_by_uid(col, uids) -> dict:
    """Each note of the collection, keyed by the uid whose guid it carries."""
    uid_of = {genanki.guid_for(uid): uid for uid in uids}
    notes = [col.get_note(note_id) for note_id in col.find_notes("")]
    assert all(note.guid in uid_of for note in notes), [n.guid for n in notes]
    return {uid_of[note.guid]: note for note in notes}


@pytest.fixture
def collection_path(tmp_path):
    return tmp_path / "anki" / "collection.anki2"


@pytest.fixture(autouse=True)
def _collection_folder(collection_path):
    collection_path.parent.mkdir()


def test_every_kind_becomes_the_right_anki_note(small_bank, collection_path):
    deck, q = small_bank
    col, log = import_into(collection_path, anki.build(deck).data)
    try:
        notes = notes_by_uid(col, [question.uid for question in q.values()])
        assert len(log.new) == 5 and set(notes) == {question.uid for question in q.values()}

        flash = notes["gdp-flash"]
        assert flash.note_type()["name"] == "NQPF Study: basic"
        assert flash["Front"] == "How large was Jiangsu&#x27;s economy in 2023?"
        assert flash["Back"] == "12.82 trillion yuan"
        assert flash["Explanation"] == "" and flash["Also accepted"] == ""

        typed = notes["gdp-typed"]
        assert typed.note_type()["name"] == "NQPF Study: type in the answer"
        assert "{{type:Back}}" in typed.note_type()["tmpls"][0]["qfmt"]
        assert typed["Back"] == "12.82 trillion yuan"  # exactly what Anki compares the typing to
        assert typed["Also accepted"] == "12.82 trillion; RMB 12.82 trillion"
        assert "12.82 trillion yuan" in typed["Explanation"]
        assert "[[type:Back]]" in typed.cards()[0].question()  # Anki puts its input box here

        cloze = notes["gdp-cloze"]
        assert cloze.note_type()["name"] == "NQPF Study: cloze"
        assert cloze["Text"] == "Jiangsu&#x27;s GDP reached {{c1::12.82 trillion yuan}} last year."
        [card] = cloze.cards()
        assert "[...]" in card.question() and "12.82 trillion yuan" not in card.question()
        assert "12.82 trillion yuan" in card.answer()

        mc = notes["gdp-mc"]
        assert mc.note_type()["name"] == "NQPF Study: basic"
        assert mc["Front"] == (
            "Which place did Jiangsu take?"
            '<ol class="choices" type="A"><li>first</li><li>second</li><li>third</li>'
            "<li>fourth</li></ol>"
        )
        assert mc["Back"] == "B. second"

        tf = notes["gdp-tf"]
        assert tf.note_type()["name"] == "NQPF Study: basic"
        assert tf["Front"].endswith("<li>True</li><li>False</li></ol>")
        assert tf["Back"] == "True"
        assert tf.tags == ["province::jiangsu"]

        for uid, note in notes.items():
            # The source on the back: the exact sentence and its document.
            assert html.unescape(note["Source"]).startswith(f"<blockquote>{QUOTE}</blockquote>")
            assert TITLE_LINE in note["Source"]
            [card] = note.cards()
            back = html.unescape(card.answer())
            assert QUOTE in back and TITLE_LINE in back, uid
            assert col.decks.name(card.did) == "NQPF Study::Provinces"
            if uid != "gdp-tf":
                assert sorted(note.tags) == ["figure", "province::jiangsu"]
    finally:
        col.close()


def test_a_newer_package_updates_the_notes_in_anki_instead_of_adding_copies(
    small_bank, collection_path
):
    deck, q = small_bank
    col, log = import_into(collection_path, anki.build(deck, timestamp=1_700_000_000).data)
    first_ids = set(col.find_notes(""))
    col.close()
    q["typed"].prompt = "What was Jiangsu's GDP last year?"
    q["typed"].save()
    q["true_false"].is_active = False  # retired: the export leaves it out, Anki keeps its copy
    q["true_false"].save()
    QuestionFactory(uid="gdp-new", deck=deck, source=q["typed"].source, source_quote=QUOTE)

    col, log = import_into(collection_path, anki.build(deck, timestamp=1_700_000_600).data)
    try:
        assert (len(log.new), len(log.updated)) == (1, 4)
        assert len(col.find_notes("")) == 6 and first_ids <= set(col.find_notes(""))
        notes = notes_by_uid(col, [*(question.uid for question in q.values()), "gdp-new"])
        assert notes["gdp-typed"]["Front"] == "What was Jiangsu&#x27;s GDP last year?"
        ours = [(m.id, m.name) for m in col.models.all_names_and_ids() if "NQPF" in m.name]
        assert sorted(ours) == sorted((m.model_id, m.name) for m in anki.MODELS)  # once each
        assert len([d for d in col.decks.all_names_and_ids() if "Provinces" in d.name]) == 1
    finally:
        col.close()


def test_ids_are_stable_constants_and_hashes(small_bank):
    deck, q = small_bank
    # Changing any of these makes Anki see new note types or decks: they must never move.
    assert [m.model_id for m in anki.MODELS] == [1364200338, 1180948915, 1225881009]
    assert anki.deck_id("provinces") == anki.deck_id("provinces") == 1665953027
    assert (1 << 30) <= anki.deck_id("definitions") < (1 << 31)

    packages = [anki.build(deck).data, anki.build(deck).data, anki.build(None).data]
    seen = [read_package(data) for data in packages]
    assert seen[0] == seen[1]
    guids, models, decks = seen[0]
    assert guids == {genanki.guid_for(question.uid) for question in q.values()}
    assert models == {m.model_id for m in anki.MODELS}
    assert anki.deck_id("provinces") in decks
    assert anki.deck_id("provinces") in seen[2][2] and anki.deck_id("definitions") in seen[2][2]


def read_package(data: bytes) -> tuple[set, set, set]:
    """(note guids, note type ids used, deck ids) straight from the package's database."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "collection.anki2"
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            path.write_bytes(archive.read("collection.anki2"))
        db = sqlite3.connect(path)
        try:
            guids = {guid for (guid,) in db.execute("select guid from notes")}
            models = {mid for (mid,) in db.execute("select distinct mid from notes")}
            decks = {did for (did,) in db.execute("select distinct did from cards")}
        finally:
            db.close()
    return guids, models, decks


def test_the_whole_bank_has_every_deck_and_only_active_questions(small_bank, collection_path):
    _, q = small_bank
    export = anki.build(None)
    assert (export.notes, export.decks) == (6, 2)
    col, _ = import_into(collection_path, export.data)
    try:
        notes = notes_by_uid(col, [*(question.uid for question in q.values()), "def-typed"])
        assert "gdp-retired" not in notes and len(notes) == 6
        [card] = notes["def-typed"].cards()
        assert col.decks.name(card.did) == "NQPF Study::Definitions"
    finally:
        col.close()


def test_bank_text_is_escaped_never_injected(collection_path):
    source = SourceFactory(title="R&D <weekly>", publisher="")
    deck = DeckFactory(slug="tricky", name="A::B")
    QuestionFactory(
        uid="tricky-flash",
        deck=deck,
        source=source,
        kind=Kind.FLASHCARD,
        prompt='<script>alert("x")</script> R&D',
        answer="<b>bold</b>",
        accepted_answers=[],
        explanation="line one\nline two",
        source_quote="a < b & c",
    )
    QuestionFactory(
        uid="tricky-cloze",
        deck=deck,
        source=source,
        kind=Kind.CLOZE,
        prompt="{{c2::not a cloze}} and ____ here",
        answer="x::y}}",
        accepted_answers=[],
    )
    col, _ = import_into(collection_path, anki.build(deck).data)
    try:
        notes = notes_by_uid(col, ["tricky-flash", "tricky-cloze"])
        flash = notes["tricky-flash"]
        assert flash["Front"] == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; R&amp;D"
        assert flash["Back"] == "&lt;b&gt;bold&lt;/b&gt;"
        assert flash["Explanation"] == "line one<br>line two"
        assert "<blockquote>a &lt; b &amp; c</blockquote>" in flash["Source"]
        assert "R&amp;D &lt;weekly&gt;" in flash["Source"]
        [card] = flash.cards()
        assert "<script>" not in card.question() and "<b>bold" not in card.answer()
        assert col.decks.name(card.did) == "NQPF Study::A:B"  # one level, not two

        cloze = notes["tricky-cloze"]
        [card] = cloze.cards()  # only c1: the prompt's own braces open nothing
        question, answer = shown(card.question()), shown(card.answer())
        assert "{{c2::not a cloze}} and [...] here" in question
        assert "x::y}}" in answer and "x::y}}" not in question
    finally:
        col.close()


def shown(rendered: str) -> str:
    """The text a rendered card shows: no style sheet, no tags, entities decoded."""
    body = re.sub(r"<style>.*?</style>", "", rendered, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", body))


def test_export_anki_command(small_bank, tmp_path):
    output = tmp_path / "out.apkg"
    call_command("export_anki", "--deck", "provinces", "--output", str(output))
    assert read_package(output.read_bytes())[0] == {
        genanki.guid_for(q.uid) for q in small_bank[1].values()
    }
    call_command("export_anki", "--output", str(output))
    assert len(read_package(output.read_bytes())[0]) == 6
    with pytest.raises(CommandError, match="No deck 'nope' \\(known: provinces, definitions\\)"):
        call_command("export_anki", "--deck", "nope", "--output", str(output))


def test_learners_download_a_deck_or_the_whole_bank(small_bank, learner_client):
    response = learner_client.get(reverse("anki_deck", args=["provinces"]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="provinces.apkg"'
    assert len(read_package(response.content)[0]) == 5

    response = learner_client.get(reverse("anki_bank"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="nqpf-study.apkg"'
    assert len(read_package(response.content)[0]) == 6

    assert learner_client.get("/decks/no-such-deck/anki.apkg").status_code == 404
    assert learner_client.post(reverse("anki_bank")).status_code == 405


def test_anonymous_visitors_are_sent_to_log_in(small_bank, client):
    response = client.get(reverse("anki_bank"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_dashboard_links_each_deck_and_the_whole_bank_below_the_table(
    small_bank, learner_client
):
    page = learner_client.get(reverse("dashboard")).content.decode()
    links = [
        f'href="{reverse("anki_bank")}"',
        f'href="{reverse("anki_deck", args=["provinces"])}"',
        f'href="{reverse("anki_deck", args=["definitions"])}"',
    ]
    for link in links:
        assert page.index("</table>") < page.index(link)
    assert "Download for Anki" in page


def test_the_real_bank_imports_into_anki_note_for_question(collection_path):
    bank.load(bank.default_paths(), deactivate_missing=True)
    active = {q.uid: q.kind for q in Question.objects.filter(is_active=True)}
    col, log = import_into(collection_path, anki.build(None).data)
    try:
        notes = notes_by_uid(col, active)
        assert len(log.new) == len(active) and set(notes) == set(active)
        model_of = {Kind.CLOZE: "NQPF Study: cloze", Kind.TYPED: "NQPF Study: type in the answer"}
        for uid, note in notes.items():
            assert note.note_type()["name"] == model_of.get(active[uid], "NQPF Study: basic")
            assert len(note.cards()) == 1, uid
        decks = {col.decks.name(card.did) for note in notes.values() for card in note.cards()}
        assert decks == {f"NQPF Study::{d.name}" for d in Deck.objects.all()}
    finally:
        col.close()
