"""Export the bank's active questions as an Anki package (.apkg), with genanki.

Flashcards and multiple choice and true/false questions become basic notes (the options listed
on the front), typed questions "type in the answer" notes, cloze questions cloze notes (the
`____` blank becomes `{{c1::answer}}`). The back carries the explanation and the source: the
document and the exact sentence quoted.

Everything is stable from one export to the next, so importing a newer package updates the notes
already in Anki instead of adding copies: the note types have fixed ids, each deck's id comes
from its slug, each note's guid from its question's uid. Anki fields are HTML, so all bank text
is escaped.
"""

from __future__ import annotations

import hashlib
import html
import io
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import genanki

from .models import CLOZE_BLANK, Deck, Kind, Question

APP_NAME = "NQPF Study"  # the parent deck in Anki
PARENT_DECK_ID = 1110634396
BANK_FILENAME = "nqpf-study.apkg"

CSS = """\
.card { font-family: system-ui, sans-serif; font-size: 20px; line-height: 1.45;
        text-align: left; color: black; background-color: white; max-width: 40em;
        margin: 0 auto; }
.nightMode.card, .night_mode .card { color: #eee; background-color: #222; }
.choices { margin: .5em 0; }
.also, .explanation, .source { margin-top: 1em; font-size: .85em; }
.source blockquote { margin: .3em 0; padding-left: .8em; border-left: 3px solid #999;
                     font-style: italic; }
.source .document { color: #666; }
.nightMode .source .document { color: #aaa; }
.cloze { font-weight: bold; color: blue; }
.nightMode .cloze { color: lightblue; }
"""

# Shown on the back of every note type, after the answer.
BACK_EXTRAS = (
    '{{#Also accepted}}<div class="also">Also accepted: {{Also accepted}}</div>{{/Also accepted}}'
    '{{#Explanation}}<div class="explanation">{{Explanation}}</div>{{/Explanation}}'
    '{{#Source}}<div class="source">{{Source}}</div>{{/Source}}'
)
EXTRA_FIELDS = [{"name": "Also accepted"}, {"name": "Explanation"}, {"name": "Source"}]

# The note types' ids are constants: changing one makes Anki see a new note type.
BASIC_MODEL = genanki.Model(
    1364200338,
    f"{APP_NAME}: basic",
    fields=[{"name": "Front"}, {"name": "Back"}, *EXTRA_FIELDS],
    templates=[
        {
            "name": "Card 1",
            "qfmt": "{{Front}}",
            "afmt": "{{FrontSide}}\n\n<hr id=answer>\n\n{{Back}}\n" + BACK_EXTRAS,
        }
    ],
    css=CSS,
)
TYPED_MODEL = genanki.Model(
    1180948915,
    f"{APP_NAME}: type in the answer",
    fields=[{"name": "Front"}, {"name": "Back"}, *EXTRA_FIELDS],
    templates=[
        {
            "name": "Card 1",
            "qfmt": "{{Front}}\n\n{{type:Back}}",
            "afmt": "{{Front}}\n\n<hr id=answer>\n\n{{type:Back}}\n" + BACK_EXTRAS,
        }
    ],
    css=CSS,
)
CLOZE_MODEL = genanki.Model(
    1225881009,
    f"{APP_NAME}: cloze",
    model_type=genanki.Model.CLOZE,
    fields=[{"name": "Text"}, *EXTRA_FIELDS],
    templates=[
        {
            "name": "Cloze",
            "qfmt": "{{cloze:Text}}",
            "afmt": "{{cloze:Text}}\n" + BACK_EXTRAS,
        }
    ],
    css=CSS,
)
MODELS = (BASIC_MODEL, TYPED_MODEL, CLOZE_MODEL)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def deck_id(slug: str) -> int:
    """The Anki deck id of a deck: a stable hash of its slug, in the range genanki advises."""
    digest = hashlib.sha256(f"{APP_NAME} deck {slug}".encode()).digest()
    return (1 << 30) + int.from_bytes(digest[:8], "big") % (1 << 30)


def deck_name(deck: Deck) -> str:
    # "::" separates levels of Anki's deck tree; a deck's own name stays one level.
    return f"{APP_NAME}::{deck.name.replace('::', ':')}"


def text(value: str) -> str:
    """Bank text as HTML: escaped, its line breaks kept."""
    return html.escape(value).replace("\r\n", "\n").replace("\n", "<br>")


def cloze_text(value: str) -> str:
    """Escaped, with braces as entities so bank text can't open or close a cloze deletion."""
    return text(value).replace("{", "&#123;").replace("}", "&#125;")


def cloze(prompt: str, answer: str) -> str:
    """The cloze note's text: the prompt with its blank as deletion c1 holding the answer
    (whose colons are entities too, since "::" would start a hint)."""
    before, _, after = prompt.partition(CLOZE_BLANK)
    deletion = "{{c1::" + cloze_text(answer).replace(":", "&#58;") + "}}"
    return cloze_text(before) + deletion + cloze_text(after)


def options(labels: Iterable[str]) -> str:
    items = "".join(f"<li>{text(label)}</li>" for label in labels)
    return f'<ol class="choices" type="A">{items}</ol>'


def source_html(question: Question) -> str:
    source = question.source
    document = source.display_title
    if source.title and source.publisher:
        document = f"{source.title}, {source.publisher}"
    return (
        f"<blockquote>{text(question.source_quote)}</blockquote>"
        f'<div class="document">{text(document)}</div>'
    )


def note_for(question: Question, position: int = 0) -> genanki.Note:
    """The Anki note of one question. `position` orders the new cards as the bank does."""
    extras = [
        "; ".join(text(a) for a in question.accepted_answers),
        text(question.explanation),
        source_html(question),
    ]
    if question.kind == Kind.CLOZE:
        model, fields = CLOZE_MODEL, [cloze(question.prompt, question.answer)]
    elif question.kind == Kind.MULTIPLE_CHOICE:
        choices = list(question.choices.all())
        right = next((i for i, c in enumerate(choices) if c.is_correct), None)
        back = text(question.answer)
        if right is not None:
            back = f"{LETTERS[right % len(LETTERS)]}. {back}"
        model = BASIC_MODEL
        fields = [text(question.prompt) + options(c.text for c in choices), back]
    elif question.kind == Kind.TRUE_FALSE:
        model = BASIC_MODEL
        fields = [text(question.prompt) + options(["True", "False"]), text(question.answer)]
    elif question.kind == Kind.TYPED:
        model, fields = TYPED_MODEL, [text(question.prompt), text(question.answer)]
    else:
        model, fields = BASIC_MODEL, [text(question.prompt), text(question.answer)]
    return genanki.Note(
        model=model,
        fields=fields + extras,
        tags=question.tag_list,
        guid=genanki.guid_for(question.uid),
        due=position,
    )


@dataclass
class Export:
    data: bytes
    notes: int
    decks: int


def questions_of(deck: Deck | None):
    questions = Question.objects.filter(is_active=True)
    if deck is not None:
        questions = questions.filter(deck=deck)
    return questions.select_related("deck", "source").prefetch_related("choices")


def build(deck: Deck | None = None, *, timestamp: float | None = None) -> Export:
    """The .apkg of one deck, or of the whole bank when `deck` is None: active questions only.
    `timestamp` is the notes' modification time (now by default); Anki updates a note it
    already has only from a newer one."""
    decks = [deck] if deck is not None else list(Deck.objects.all())
    anki_decks = {d.id: genanki.Deck(deck_id(d.slug), deck_name(d)) for d in decks}
    notes = 0
    for position, question in enumerate(questions_of(deck).order_by("deck__position", "id")):
        anki_decks[question.deck_id].add_note(note_for(question, position))
        notes += 1
    package = genanki.Package(list(anki_decks.values()))
    return Export(_write(package, timestamp), notes, len(anki_decks))


def _write(package: genanki.Package, timestamp: float | None) -> bytes:
    """The package's bytes. genanki's own write_to_file leaves its temporary database behind in
    the temp folder; this one removes it."""
    timestamp = time.time() if timestamp is None else timestamp
    with tempfile.TemporaryDirectory(prefix="anki-export-") as tmp:
        db_path = Path(tmp) / "collection.anki2"
        connection = sqlite3.connect(db_path)
        try:
            package.write_to_db(connection.cursor(), timestamp, count(int(timestamp * 1000)))
            connection.commit()
        finally:
            connection.close()
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(db_path, "collection.anki2")
            archive.writestr("media", "{}")
    return out.getvalue()


def filename(deck: Deck | None) -> str:
    return f"{deck.slug}.apkg" if deck is not None else BANK_FILENAME
