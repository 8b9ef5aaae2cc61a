"""Bring a new document into the bank: clean it of web boilerplate, keep it under seeds/ and as
a Source, and propose draft questions (inactive, tagged draft) for an editor to review."""

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify

from . import bank, drafts
from .models import Choice, Deck, Kind, Question, Source

MAX_BYTES = 1_000_000
# A line that starts the page's tail (teasers, related links): it and all after it go.
TAIL = re.compile(r"^(must read|related stories|related articles|read more|you may also like"
                  r"|recommended|most popular)\b", re.I)  # fmt: skip
# Lines that are the page around the article, each with what it is.
BOILERPLATE = [
    (
        re.compile(
            r"^(leave a reply|be the first to comment|please enter your (comment|name)"
            r"|your email address will not be published|post a comment)",
            re.I,
        ),
        "comment form",
    ),
    (
        re.compile(r"^(\(?(photo|image|picture)s?\b.{0,40}(from|by|credit|:))|^\(photo", re.I),
        "photo credit",
    ),
    (re.compile(r"^this article was (originally )?published", re.I), "republication note"),
    (
        re.compile(r"^\(web editor:|^\(.*\bas an intern\b.*\)$|^for the latest on\b", re.I),
        "editor's note",
    ),
    (
        re.compile(r"^the (writer|author) (heads|is|writes)\b|tweets as @|can be reached at", re.I),
        "author bio",
    ),
]


class IngestError(Exception):
    pass


@dataclass
class Ingested:
    source: Source
    created: bool
    changed: bool
    removed: list[tuple[str, str]]  # (what it was, the line)
    drafts_created: int = 0
    drafts_kept: int = 0
    drafts_refused: list[str] = field(default_factory=list)


def clean(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The article without the page around it, and what was removed."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept, removed = [], []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if TAIL.match(stripped):
            removed += [("page tail", s.strip()) for s in lines[i:] if s.strip()]
            break
        what = next((what for pattern, what in BOILERPLATE if pattern.search(stripped)), None)
        # A short line repeated at once is an author's name block.
        if what is None and stripped and len(stripped) < 60 and not stripped.endswith("."):
            neighbours = [lines[j].strip() for j in (i - 1, i + 1) if 0 <= j < len(lines)]
            if stripped in neighbours:
                what = "author byline"
        if what:
            removed.append((what, stripped))
        else:
            kept.append(line)
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip() + "\n"
    return cleaned, removed


def ingest(
    *,
    name: str,
    content: bytes,
    slug: str = "",
    title: str = "",
    publisher: str = "",
    published_on: dt.date | None = None,
) -> Ingested:
    if len(content) > MAX_BYTES:
        raise IngestError(f"{name}: the document is larger than {MAX_BYTES} bytes")
    try:
        raw = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    text, removed = clean(raw)
    if not text.strip():
        raise IngestError(f"{name}: no text left once the page boilerplate is removed")
    slug = slugify(slug or Path(name).stem)[:100]
    if not slug:
        raise IngestError(f"{name}: give the document a slug (letters and digits)")
    with transaction.atomic():
        source = Source.objects.filter(slug=slug).first()
        created, changed = source is None, False
        if source is None:
            source = Source.objects.create(
                slug=slug, title=title, publisher=publisher, published_on=published_on,
                seed_file=f"{slug}.txt", text=text,
            )  # fmt: skip
        elif source.text != text:
            lost = [
                q.uid
                for q in source.questions.all()
                if bank.fold(q.source_quote) not in bank.fold(text)
            ]
            if lost:
                raise IngestError(
                    f"{name}: the new text of {slug!r} no longer holds the quotes of "
                    f"{', '.join(lost)}; edit those questions first"
                )
            source.text, changed = text, True
            source.save(update_fields=["text"])
        seed = Path(settings.SEEDS_DIR) / source.seed_file
        if not seed.is_file() or seed.read_text(encoding="utf-8") != text:
            seed.write_text(text, encoding="utf-8")
        result = Ingested(source, created, changed, removed)
        _add_drafts(source, result)
    return result


def _add_drafts(source: Source, result: Ingested) -> None:
    known = {"date": [], "figure": []}
    for other in Source.objects.exclude(id=source.id).only("text"):
        for rule, pattern in (("date", drafts.DATE), ("figure", drafts.FIGURE)):
            known[rule] += [m[0] for m in pattern.finditer(other.text)]
    proposed = drafts.propose(
        slug=source.slug, title=source.display_title, text=source.text, known=known
    )
    existing = set(
        Question.objects.filter(uid__in=[d.uid for d in proposed]).values_list("uid", flat=True)
    )
    decks = {d.slug: d for d in Deck.objects.all()}
    for draft in proposed:
        if draft.uid in existing:  # an editor may have changed it: leave it
            result.drafts_kept += 1
            continue
        problems = bank.question_problems(
            kind=draft.kind, prompt=draft.prompt, answer=draft.answer,
            source_quote=draft.source_quote, source_text=source.text,
        ) + bank.choice_problems(kind=draft.kind, answer=draft.answer, choices=draft.choices)  # fmt: skip
        if problems or len(draft.prompt) > 2000 or len(draft.answer) > 1000:
            result.drafts_refused.append(draft.uid)
            continue
        deck = decks.get(draft.deck) or decks.setdefault(
            "drafts",
            Deck.objects.get_or_create(slug="drafts", defaults={"name": "Drafts", "position": 99})[
                0
            ],
        )
        question = Question.objects.create(
            uid=draft.uid, deck=deck, kind=draft.kind, prompt=draft.prompt, answer=draft.answer,
            accepted_answers=[a for a in dict.fromkeys(draft.accepted_answers) if a != draft.answer],
            explanation="", source=source, source_quote=draft.source_quote, tags=draft.tags,
            is_active=False,
        )  # fmt: skip
        Choice.objects.bulk_create(
            Choice(question=question, position=i, text=text, is_correct=correct)
            for i, (text, correct) in enumerate(draft.choices, start=1)
        )
        result.drafts_created += 1


def approve(question: Question) -> list[str]:
    """Check a draft as load_bank would; if sound, activate it and drop its draft tag."""
    choices = [(c.text, c.is_correct) for c in question.choices.all()]
    problems = bank.question_problems(
        kind=question.kind, prompt=question.prompt, answer=question.answer,
        source_quote=question.source_quote, source_text=question.source.text,
    ) + bank.choice_problems(kind=question.kind, answer=question.answer, choices=choices)  # fmt: skip
    if question.kind == Kind.MULTIPLE_CHOICE and len(choices) < 2:
        problems.append(("choices", "a multiple choice needs choices"))
    if problems:
        return [f"{question.uid}: {field}: {message}" for field, message in problems]
    question.is_active = True
    question.tags = " ".join(t for t in question.tags.split() if t != "draft")
    question.save(update_fields=["is_active", "tags"])
    return []
