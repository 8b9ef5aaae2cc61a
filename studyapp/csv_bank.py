"""The bank's questions as CSV, for editing in a spreadsheet.

One row per question: uid, deck, kind, prompt, answer, accepted_answers, choices, source, quote,
tags, explanation, is_active. `deck` and `source` are slugs of rows already in the database;
`accepted_answers` are separated by " | "; `choices` are too, the right one marked with a
leading "*" ("A | *B | C | D").

Importing turns each row into the records the fixtures would hold (bank.Record) and loads them
with bank.load_from, so a CSV meets exactly the checks and messages of load_bank, reported per
row (`file: row N (uid X): field: message`). Nothing is written unless every row is sound;
questions are updated in place by uid, and a question missing from the file is left alone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from . import bank
from .bank import Bank, BankError, Problem
from .models import Deck, Question

COLUMNS = ["uid", "deck", "kind", "prompt", "answer", "accepted_answers", "choices", "source",
           "quote", "tags", "explanation", "is_active"]  # fmt: skip
SEPARATOR = " | "
CORRECT = "*"
TRUE_WORDS, FALSE_WORDS = {"true", "1", "yes", ""}, {"false", "0", "no"}
# The CSV names a few of the bank's fields differently.
COLUMN_OF = {"source_quote": "quote", "question": "choices", "position": "choices",
             "text": "choices", "is_correct": "choices"}  # fmt: skip


class Rows:
    """Which row each uid came from, to name rows in problems."""

    def __init__(self) -> None:
        self.number: dict[str, int] = {}
        self.label: dict[str, str] = {}

    def add(self, uid: str, number: int, label: str) -> None:
        self.number[uid], self.label[uid] = number, label

    def relabel(self, problem: Problem) -> tuple[int, Problem]:
        """A problem bank.validate found, named by row and CSV column."""
        uid = problem.record.split("#")[0]
        field = COLUMN_OF.get(problem.field, problem.field)
        return self.number.get(uid, 0), Problem(
            problem.file, self.label.get(uid, problem.record), field, problem.message
        )


def label(number: int, uid: str) -> str:
    return f"row {number} (uid {uid})" if uid else f"row {number}"


def parse(data: bytes, name: str) -> tuple[Bank, list[tuple[int, Problem]], Rows]:
    """The CSV's rows as bank records, with the problems found reading them (each with its row
    number, for sorting) and the row of each uid."""
    result, rows, problems = Bank(), Rows(), []

    def fail(number: int, where: str, field: str, message: str) -> None:
        problems.append((number, Problem(name, where, field, message)))

    try:
        text = data.decode("utf-8-sig")  # Excel starts its UTF-8 files with a byte-order mark
    except UnicodeDecodeError as exc:
        fail(0, "-", "-", f"not UTF-8 text (byte {exc.start})")
        return result, problems, rows
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        table = list(reader)
    except csv.Error as exc:
        fail(0, "-", "-", f"not valid CSV: {exc} (line {reader.line_num})")
        return result, problems, rows
    expected = f"expected: {', '.join(COLUMNS)}"
    if not table:
        fail(0, "-", "-", f"empty: no header row ({expected})")
        return result, problems, rows
    header = [cell.strip() for cell in table[0]]
    if sorted(header) != sorted(COLUMNS):
        missing = [c for c in COLUMNS if c not in header]
        unknown = [c for c in header if c not in COLUMNS]
        repeated = sorted({c for c in header if c in COLUMNS and header.count(c) > 1})
        found = [
            f"{what}: {', '.join(map(repr, names))}"
            for what, names in [("missing", missing), ("unknown", unknown), ("repeated", repeated)]
            if names
        ]
        fail(1, "row 1", "header", f"wrong columns ({'; '.join(found)}); {expected}")
        return result, problems, rows

    for number, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, or a spreadsheet's empty row
        row = dict(zip(header, cells, strict=False))
        uid = row.get("uid", "").strip()
        where = label(number, uid)
        if len(cells) != len(header):
            fail(number, where, "-", f"has {len(cells)} cells; the header has {len(header)}")
            continue
        if uid in rows.label:
            fail(number, where, "uid", f"duplicate (also in {rows.label[uid]})")
            continue
        rows.add(uid, number, where)
        for problem in _read_row(row, number, name, result):
            problems.append((number, Problem(name, where, problem.field, problem.message)))
    return result, problems, rows


def _delimiter(text: str) -> str:
    """ "," as written by export_csv; ";" or a tab when the header is separated by one, as
    spreadsheets in some locales save CSV."""
    first = text.partition("\n")[0]
    for delimiter in (";", "\t"):
        if "," not in first and sorted(c.strip() for c in first.split(delimiter)) == sorted(
            COLUMNS
        ):
            return delimiter
    return ","


def _read_row(row: dict[str, str], number: int, name: str, result: Bank) -> list[Problem]:
    """Add the row's question and choices to `result`; the problems found instead."""
    problems: list[Problem] = []
    active = row["is_active"].strip().lower()
    if active not in TRUE_WORDS | FALSE_WORDS:
        problems.append(
            Problem(name, "", "is_active", f"must be true or false, not {row['is_active']!r}")
        )
    choices = _split(row["choices"])
    for position, item in enumerate(choices, start=1):
        if not item.removeprefix(CORRECT).strip():
            problems.append(Problem(name, "", "choices", f"choice {position} is empty"))
    fields = {
        "uid": row["uid"].strip(),
        "deck": [row["deck"].strip()],
        "kind": row["kind"].strip(),
        "prompt": row["prompt"],
        "answer": row["answer"],
        "accepted_answers": [a for a in _split(row["accepted_answers"]) if a],
        "explanation": row["explanation"],
        "source": [row["source"].strip()],
        "source_quote": row["quote"],
        "tags": row["tags"],
        "is_active": active in TRUE_WORDS,
    }
    found: list[Problem] = []
    record = bank._read_record(
        {"model": "studyapp.question", "fields": fields}, name, number, found
    )
    problems += [Problem(name, "", COLUMN_OF.get(p.field, p.field), p.message) for p in found]
    if problems or record is None:
        return problems
    records = [record]
    for position, item in enumerate(choices, start=1):
        choice = {
            "question": [record.key],
            "position": position,
            "text": item.removeprefix(CORRECT).strip(),
            "is_correct": item.startswith(CORRECT),
        }
        found = []
        records.append(
            bank._read_record({"model": "studyapp.choice", "fields": choice}, name, number, found)
        )
        problems += [Problem(name, "", "choices", f"choice {position} {p.message}") for p in found]
    if not problems:
        for each in records:
            result.add(each)
    return problems


def _split(cell: str) -> list[str]:
    return [item.strip() for item in cell.split("|")] if cell.strip() else []


def read(path: Path) -> tuple[Bank, list[Problem], Rows]:
    """The file's bank and every problem in it: its rows', then the bank's own checks."""
    name = bank.display(path)
    try:
        if path.stat().st_size > bank.MAX_FILE_BYTES:
            problem = Problem(name, "-", "-", f"file is larger than {bank.MAX_FILE_BYTES} bytes")
            return Bank(), [problem], Rows()
        data = path.read_bytes()
    except FileNotFoundError:
        return Bank(), [Problem(name, "-", "-", "no such file")], Rows()
    result, found, rows = parse(data, name)
    # Every problem at once: the rows read soundly get the bank's own checks too.
    found += [rows.relabel(p) for p in bank.validate(result)]
    return result, [p for _, p in sorted(found, key=lambda pair: pair[0])], rows


def import_csv(path: Path) -> bank.Counts:
    """Check the file, then load it in one transaction (updating questions in place by uid);
    raise BankError and write nothing if any row is wrong."""
    result, problems, rows = read(path)
    if problems:
        raise BankError(problems)
    try:
        return bank.load_from(result, deactivate_missing=False)  # checks again, then writes
    except BankError as exc:  # only if the database changed in between
        raise BankError([rows.relabel(p)[1] for p in exc.problems]) from None


def export_csv(out: TextIO, deck: Deck | None = None) -> int:
    """Write the questions (active or not) of one deck, or of the bank, as CSV; returns how
    many. Importing what it writes changes nothing, so a text the format can't carry (a "|"
    in a choice or an accepted answer, say) raises BankError before anything is written."""
    questions = Question.objects.select_related("deck", "source").prefetch_related("choices")
    if deck is not None:
        questions = questions.filter(deck=deck)
    rows, problems = [], []
    for question in questions.order_by("deck__position", "deck__slug", "id"):
        choices = list(question.choices.all())
        problems += _unwritable(question.uid, "choices", [c.text for c in choices], choice=True)
        problems += _unwritable(question.uid, "accepted_answers", question.accepted_answers)
        rows.append(_row(question, choices))
    if problems:
        raise BankError(problems)
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return len(rows)


def _row(question: Question, choices) -> list[Any]:
    return [
        question.uid,
        question.deck.slug,
        question.kind,
        question.prompt,
        question.answer,
        SEPARATOR.join(question.accepted_answers),
        SEPARATOR.join((CORRECT if c.is_correct else "") + c.text for c in choices),
        question.source.slug,
        question.source_quote,
        question.tags,
        question.explanation,
        "true" if question.is_active else "false",
    ]


def _unwritable(uid: str, column: str, items: Iterable[str], *, choice=False) -> list[Problem]:
    problems = []
    for position, item in enumerate(items, start=1):
        if "|" in item:
            message = 'contains "|", which separates items'
        elif item != item.strip() or not item:
            message = "is empty or starts or ends with spaces, which the format drops"
        elif choice and item.startswith(CORRECT):
            message = f'starts with "{CORRECT}", which marks the right choice'
        else:
            continue
        problems.append(Problem("export", uid, column, f"item {position} {item!r} {message}"))
    return problems
