"""Validate, load and export the question bank.

The bank is Django fixtures with natural keys (fixtures/*.json): sources, decks, questions and
their choices. Loading checks everything first and reports every problem at once; then it writes
in one transaction, updating rows in place by natural key. Learners' cards and reviews are never
touched, and a question that left the bank is deactivated, not deleted.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import serializers
from django.db import transaction

from .models import CLOZE_BLANK, Choice, Deck, Kind, Question, Source

MAX_FILE_BYTES = 20 * 1024 * 1024
TRUE_FALSE_ANSWERS = ("True", "False")


@dataclass(frozen=True)
class Problem:
    file: str
    record: str  # the record's natural key (a uid or slug), or "-" for the file itself
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.record}: {self.field}: {self.message}"


class BankError(Exception):
    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# Field specs: name -> (check, required, max length). A check returns an error message or "".
def _storable(value: str) -> str:
    """Text every database can hold: JSON allows \\u0000 (PostgreSQL refuses NUL) and a lone
    surrogate such as \\ud83d (which no UTF-8 database can take)."""
    if "\x00" in value:
        return "must not contain a NUL character (\\u0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"must not contain a lone surrogate (\\u{ord(value[exc.start]):04x})"
    return ""


def _text(value: Any) -> str:
    if not isinstance(value, str):
        return f"must be text, not {type(value).__name__}"
    return _storable(value)


def _int(value: Any) -> str:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 32767
    return "" if ok else f"must be a whole number from 0 to 32767, not {value!r}"


def _bool(value: Any) -> str:
    return "" if isinstance(value, bool) else f"must be true or false, not {value!r}"


def _key(value: Any) -> str:
    ok = isinstance(value, list) and len(value) == 1 and isinstance(value[0], str)
    return _storable(value[0]) if ok else f'must be a natural key like ["slug"], not {value!r}'


def _text_list(value: Any) -> str:
    ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    if not ok:
        return f"must be a list of text, not {value!r}"
    return next((message for v in value if (message := _storable(v))), "")


def _date_or_null(value: Any) -> str:
    if value is None:
        return ""
    try:
        dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return f"must be a date like 2024-03-05 or null, not {value!r}"
    return ""


def _slug(value: Any) -> str:
    if not isinstance(value, str) or not value:
        return "must be a non-empty slug"
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in value):
        return f"must be a slug (letters, digits, - and _), not {value!r}"
    return ""


Spec = dict[str, tuple[Callable[[Any], str], bool, int | None]]

SPECS: dict[str, Spec] = {
    "studyapp.source": {
        "slug": (_slug, True, 100),
        "title": (_text, False, 300),
        "publisher": (_text, False, 200),
        "byline": (_text, False, 200),
        "published_on": (_date_or_null, False, None),
        "seed_file": (_text, True, 200),
        "text": (_text, True, 1_000_000),
    },
    "studyapp.deck": {
        "slug": (_slug, True, 100),
        "name": (_text, True, 100),
        "description": (_text, False, 2000),
        "position": (_int, False, None),
    },
    "studyapp.question": {
        "uid": (_slug, True, 120),
        "deck": (_key, True, None),
        "kind": (_text, True, 20),
        "prompt": (_text, True, 2000),
        "answer": (_text, True, 1000),
        "accepted_answers": (_text_list, False, None),
        "explanation": (_text, False, 5000),
        "source": (_key, True, None),
        "source_quote": (_text, True, 3000),
        "tags": (_text, False, 500),
        "is_active": (_bool, False, None),
    },
    "studyapp.choice": {
        "question": (_key, True, None),
        "position": (_int, True, None),
        "text": (_text, True, 500),
        "is_correct": (_bool, True, None),
    },
}
DEFAULTS = {
    "title": "",
    "publisher": "",
    "byline": "",
    "published_on": None,
    "description": "",
    "position": 0,
    "accepted_answers": [],
    "explanation": "",
    "tags": "",
    "is_active": True,
}
REQUIRED_TEXT = {"slug", "seed_file", "text", "name", "uid", "kind", "prompt", "answer",
                 "source_quote"}  # fmt: skip


@dataclass
class Record:
    file: str
    model: str
    fields: dict[str, Any]

    @property
    def key(self) -> str:
        f = self.fields
        if self.model == "studyapp.choice":
            return f"{f['question'][0]}#{f['position']}"
        return f.get("uid") or f.get("slug")


@dataclass
class Bank:
    sources: list[Record] = field(default_factory=list)
    decks: list[Record] = field(default_factory=list)
    questions: list[Record] = field(default_factory=list)
    choices: list[Record] = field(default_factory=list)

    def add(self, record: Record) -> None:
        getattr(self, record.model.split(".")[1] + "s").append(record)


def fold(text: str) -> str:
    """Whitespace folded, so a quote may wrap differently from its source."""
    return " ".join(text.split())


def default_paths() -> list[Path]:
    return [Path(settings.BASE_DIR) / "fixtures"]


def expand(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    return files


def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(path)


# Reading: each file on its own, every record's fields checked against its spec.
def read(paths: Iterable[Path]) -> tuple[Bank, list[Problem]]:
    bank, problems = Bank(), []
    for path in expand(paths):
        name = display(path)
        records = _read_file(path, name, problems)
        for index, raw in enumerate(records, start=1):
            record = _read_record(raw, name, index, problems)
            if record is not None:
                bank.add(record)
    return bank, problems


def _read_file(path: Path, name: str, problems: list[Problem]) -> list[Any]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            problems.append(Problem(name, "-", "-", f"file is larger than {MAX_FILE_BYTES} bytes"))
            return []
        content = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        problems.append(Problem(name, "-", "-", "no such file"))
        return []
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, "-", "-", f"not UTF-8 text (byte {exc.start})"))
        return []
    try:
        data = json.loads(content, object_pairs_hook=_unique_keys)
    except DuplicateKey as exc:
        record = exc.pairs.get("uid") or exc.pairs.get("slug") or "-"
        problems.append(Problem(name, str(record), exc.key, "named twice in one record"))
        return []
    except json.JSONDecodeError as exc:
        problems.append(
            Problem(
                name,
                "-",
                "-",
                f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            )
        )
        return []
    except RecursionError:
        problems.append(Problem(name, "-", "-", "not valid JSON: nested too deeply"))
        return []
    except ValueError:  # an integer longer than Python converts
        limit = sys.get_int_max_str_digits()
        problems.append(
            Problem(name, "-", "-", f"not valid JSON: a number with more than {limit} digits")
        )
        return []
    if not isinstance(data, list):
        problems.append(Problem(name, "-", "-", "must be a JSON list of records"))
        return []
    return data


class DuplicateKey(ValueError):
    def __init__(self, key: str, pairs: dict):
        super().__init__(key)
        self.key, self.pairs = key, pairs


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    """json.loads keeps the last of two equal keys without a word; a record that names a field
    twice (a bad merge, say) is refused instead."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKey(key, found)
        found[key] = value
    return found


def _read_record(raw: Any, name: str, index: int, problems: list[Problem]) -> Record | None:
    where = f"record {index}"
    if not isinstance(raw, dict) or not isinstance(raw.get("fields"), dict):
        problems.append(Problem(name, where, "-", 'must be an object with "model" and "fields"'))
        return None
    model = raw.get("model")
    spec = SPECS.get(model) if isinstance(model, str) else None
    if spec is None:
        known = ", ".join(SPECS)
        problems.append(Problem(name, where, "model", f"unknown model {model!r} (known: {known})"))
        return None
    fields = raw["fields"]
    ident = fields.get("uid") or fields.get("slug")
    if isinstance(ident, str) and ident:
        where = ident
    elif model == "studyapp.choice" and not _key(fields.get("question")):
        where = f"{fields['question'][0]}#{fields.get('position')}"
    ok = True
    for field_name in fields.keys() - spec.keys():
        problems.append(Problem(name, where, field_name, "unknown field"))
        ok = False
    for field_name, (check, required, max_length) in spec.items():
        if field_name not in fields:
            if required:
                problems.append(Problem(name, where, field_name, "missing"))
                ok = False
            continue
        value = fields[field_name]
        message = check(value)
        if not message and field_name in REQUIRED_TEXT and not value.strip():
            message = "must not be empty"
        if not message and max_length and len(value) > max_length:
            message = f"is {len(value)} characters long; the most is {max_length}"
        if message:
            problems.append(Problem(name, where, field_name, message))
            ok = False
    if not ok:
        return None
    full = {k: DEFAULTS[k] for k in spec if k not in fields and k in DEFAULTS} | fields
    return Record(name, model, full)


# Checks on one question, shared with the admin's forms.
def question_problems(
    *, kind: str, prompt: str, answer: str, source_quote: str, source_text: str | None
) -> list[tuple[str, str]]:
    """(field, message) for each rule the question's own fields break."""
    found: list[tuple[str, str]] = []
    if kind not in Kind.values:
        found.append(("kind", f"unknown kind {kind!r} (known: {', '.join(Kind.values)})"))
    if source_text is not None and fold(source_quote) not in fold(source_text):
        found.append(("source_quote", "not found in the source's text (whitespace folded)"))
    if kind == Kind.CLOZE and prompt.count(CLOZE_BLANK) != 1:
        found.append(("prompt", f"a cloze prompt needs exactly one blank {CLOZE_BLANK}"))
    if kind == Kind.TRUE_FALSE and answer not in TRUE_FALSE_ANSWERS:
        found.append(("answer", f'a true/false answer is "True" or "False", not {answer!r}'))
    return found


def choice_problems(
    *, kind: str, answer: str, choices: Sequence[tuple[str, bool]]
) -> list[tuple[str, str]]:
    """(field, message) for each rule a question's choices, as (text, is_correct), break."""
    if kind != Kind.MULTIPLE_CHOICE:
        return [("choices", f"only a multiple choice has choices, not a {kind}")] if choices else []
    found: list[tuple[str, str]] = []
    correct = [text for text, is_correct in choices if is_correct]
    if len(choices) < 2:
        found.append(("choices", f"a multiple choice needs at least 2 choices, has {len(choices)}"))
    if len(correct) != 1:
        found.append(
            ("choices", f"a multiple choice needs exactly one correct choice, has {len(correct)}")
        )
    elif correct[0] != answer:
        found.append(("answer", f"must equal the correct choice's text {correct[0]!r}"))
    texts = [text for text, _ in choices]
    if len(set(texts)) != len(texts):
        found.append(("choices", "two choices have the same text"))
    return found


def validate(bank: Bank) -> list[Problem]:
    """Every cross-record rule: duplicates, references, quotes, choices, seed files."""
    problems: list[Problem] = []

    def unique(records: list[Record], what: str) -> dict[str, Record]:
        seen: dict[str, Record] = {}
        for record in records:
            if record.key in seen:
                first = seen[record.key].file
                problems.append(
                    Problem(record.file, record.key, what, f"duplicate (also in {first})")
                )
            else:
                seen[record.key] = record
        return seen

    sources = unique(bank.sources, "slug")
    decks = unique(bank.decks, "slug")
    questions = unique(bank.questions, "uid")
    unique(bank.choices, "position")

    seeds_dir = Path(settings.SEEDS_DIR)
    for record in sources.values():
        seed = seeds_dir / record.fields["seed_file"]
        if not seed.is_file():
            problems.append(
                Problem(record.file, record.key, "seed_file", f"no file {display(seed)}")
            )
            continue
        try:
            seed_text = seed.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            message = f"{display(seed)} is not UTF-8 text (byte {exc.start})"
            problems.append(Problem(record.file, record.key, "seed_file", message))
            continue
        if seed_text != record.fields["text"]:
            problems.append(
                Problem(record.file, record.key, "text", f"differs from {display(seed)}")
            )

    # References may point at rows already in the database, not only at this load.
    known_decks = set(decks) | set(Deck.objects.values_list("slug", flat=True))
    source_texts = {slug: r.fields["text"] for slug, r in sources.items()}
    missing = {q.fields["source"][0] for q in questions.values()} - source_texts.keys()
    source_texts |= dict(Source.objects.filter(slug__in=missing).values_list("slug", "text"))

    choices_of: dict[str, list[Record]] = defaultdict(list)
    for record in bank.choices:
        uid = record.fields["question"][0]
        if uid not in questions:
            problems.append(
                Problem(record.file, record.key, "question", f"unknown question {uid!r}")
            )
        choices_of[uid].append(record)

    for uid, record in questions.items():
        f = record.fields
        if f["deck"][0] not in known_decks:
            problems.append(Problem(record.file, uid, "deck", f"unknown deck {f['deck'][0]!r}"))
        source_text = source_texts.get(f["source"][0])
        if source_text is None:
            problems.append(
                Problem(record.file, uid, "source", f"unknown source {f['source'][0]!r}")
            )
        choices = [(c.fields["text"], c.fields["is_correct"]) for c in choices_of[uid]]
        for field_name, message in question_problems(
            kind=f["kind"],
            prompt=f["prompt"],
            answer=f["answer"],
            source_quote=f["source_quote"],
            source_text=source_text,
        ) + choice_problems(kind=f["kind"], answer=f["answer"], choices=choices):
            problems.append(Problem(record.file, uid, field_name, message))
    return problems


def check(paths: Iterable[Path]) -> tuple[Bank, list[Problem]]:
    bank, problems = read(paths)
    return bank, problems + validate(bank)


@dataclass
class Counts:
    created: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    updated: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unchanged: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    deactivated: int = 0

    def lines(self) -> list[str]:
        return [
            f"{what}: {self.created[what]} created, {self.updated[what]} updated, "
            f"{self.unchanged[what]} unchanged"
            for what in ("sources", "decks", "questions")
        ] + [f"questions deactivated: {self.deactivated}"]


def load(paths: Iterable[Path], *, deactivate_missing: bool) -> Counts:
    """Check, then write everything in one transaction; raise BankError and write nothing
    when anything is wrong. deactivate_missing: the paths are the whole bank, so an active
    question not among them has left it."""
    bank, problems = check(paths)
    if problems:
        raise BankError(problems)
    return _write(bank, deactivate_missing=deactivate_missing)


def load_from(bank: Bank, *, deactivate_missing: bool) -> Counts:
    """load() for a bank already read (e.g. from a CSV file): validate, then write, or raise
    BankError and write nothing."""
    problems = validate(bank)
    if problems:
        raise BankError(problems)
    return _write(bank, deactivate_missing=deactivate_missing)


def _write(bank: Bank, *, deactivate_missing: bool) -> Counts:
    counts = Counts()
    with transaction.atomic():
        _upsert(Source, "slug", bank.sources, {}, counts, "sources")
        _upsert(Deck, "slug", bank.decks, {}, counts, "decks")
        refs = {
            "deck": dict(Deck.objects.values_list("slug", "id")),
            "source": dict(Source.objects.values_list("slug", "id")),
        }
        changed = _upsert(Question, "uid", bank.questions, refs, counts, "questions")
        ids = dict(Question.objects.values_list("uid", "id"))
        # A question whose only change is its choices counts as updated too.
        choices_only = len(_replace_choices(bank, ids) - changed)
        counts.unchanged["questions"] -= choices_only
        counts.updated["questions"] += choices_only
        if deactivate_missing:
            loaded = {ids[r.key] for r in bank.questions}
            gone = [i for i in Question.objects.filter(is_active=True).values_list("id", flat=True)
                    if i not in loaded]  # fmt: skip
            counts.deactivated = Question.objects.filter(id__in=gone).update(is_active=False)
    return counts


def _row_values(record: Record, refs: dict[str, dict[str, int]]) -> dict[str, Any]:
    values = {}
    for name, value in record.fields.items():
        if name in refs:
            values[name + "_id"] = refs[name][value[0]]
        elif name == "published_on" and value is not None:
            values[name] = dt.date.fromisoformat(value)
        else:
            values[name] = value
    return values


def _upsert(model, key: str, records: list[Record], refs, counts: Counts, what: str) -> set[str]:
    """Create or update rows by natural key; returns the keys created or changed."""
    existing = {getattr(row, key): row for row in model.objects.all()}
    to_create, to_update, changed_fields = [], [], set()
    for record in records:
        values = _row_values(record, refs)
        row = existing.get(record.key)
        if row is None:
            to_create.append(model(**values))
            continue
        diff = {name for name, value in values.items() if getattr(row, name) != value}
        if diff:
            for name in diff:
                setattr(row, name, values[name])
            to_update.append(row)
            changed_fields |= diff
    model.objects.bulk_create(to_create, batch_size=500)
    if to_update:
        model.objects.bulk_update(to_update, sorted(changed_fields), batch_size=500)
    counts.created[what] += len(to_create)
    counts.updated[what] += len(to_update)
    counts.unchanged[what] += len(records) - len(to_create) - len(to_update)
    return {getattr(row, key) for row in to_create + to_update}


def _replace_choices(bank: Bank, ids: dict[str, int]) -> set[str]:
    """Make each loaded question's choices exactly the bank's; returns the uids that changed."""
    wanted: dict[str, dict[int, tuple[str, bool]]] = {r.key: {} for r in bank.questions}
    for record in bank.choices:
        f = record.fields
        wanted[f["question"][0]][f["position"]] = (f["text"], f["is_correct"])
    uid_of = {ids[uid]: uid for uid in wanted}
    have: dict[str, dict[int, tuple[int, str, bool]]] = defaultdict(dict)
    for choice_id, question_id, position, text, is_correct in Choice.objects.values_list(
        "id", "question_id", "position", "text", "is_correct"
    ):
        if question_id in uid_of:
            have[uid_of[question_id]][position] = (choice_id, text, is_correct)
    stale, to_create, to_update, changed = [], [], [], set()
    for uid, positions in wanted.items():
        current = have.get(uid, {})
        for position, (choice_id, text, is_correct) in current.items():
            if position not in positions:
                stale.append(choice_id)
                changed.add(uid)
            elif positions[position] != (text, is_correct):
                new_text, new_correct = positions[position]
                to_update.append(Choice(id=choice_id, text=new_text, is_correct=new_correct))
                changed.add(uid)
        for position, (text, is_correct) in positions.items():
            if position not in current:
                to_create.append(
                    Choice(
                        question_id=ids[uid], position=position, text=text, is_correct=is_correct
                    )
                )
                changed.add(uid)
    Choice.objects.filter(id__in=stale).delete()
    Choice.objects.bulk_update(to_update, ["text", "is_correct"], batch_size=500)
    Choice.objects.bulk_create(to_create, batch_size=500)
    return changed


def export(directory: Path) -> list[Path]:
    """Write the database's bank as fixtures: sources, decks and one file of questions (each
    followed by its choices) per deck. Loading what it writes changes nothing."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        directory / "sources.json": list(Source.objects.order_by("slug")),
        directory / "decks.json": list(Deck.objects.order_by("position", "slug")),
    }
    questions = Question.objects.select_related("deck").prefetch_related("choices").order_by("id")
    for deck in Deck.objects.all():
        rows = []
        for question in questions.filter(deck=deck):
            rows.append(question)
            rows.extend(question.choices.all())
        if rows:
            files[directory / f"questions-{deck.slug}.json"] = rows
    for path, rows in files.items():
        text = serializers.serialize(
            "json", rows, indent=2, ensure_ascii=False,
            use_natural_foreign_keys=True, use_natural_primary_keys=True,
        )  # fmt: skip
        path.write_text(text + "\n", encoding="utf-8")
    return list(files)
