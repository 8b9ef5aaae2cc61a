"""The progress page's lists of cards as SQL built once: the cards of a list with what the
page shows of their question, the most lapsed cards, and the learner's kept least recalled
list, run prepared on PostgreSQL. Through the ORM, assembling each of these cost 1.2-3 ms of
Python, more than the database spent answering it: the hardest cards of 1,000 took 9-13 ms
on SQLite and 21-23 ms on PostgreSQL, and take 4-6 and 8-10 ms so. Rows are turned into
values through Django's own converters (studyapp.sql_rows)."""

import datetime as dt
import functools
from dataclasses import dataclass

from django.db import connection

from . import stats  # as a module: stats imports tally, which imports this
from .models import Card, LeastRecalled, Question, Source
from .sql_rows import Columns, adapt, execute


@dataclass(frozen=True)
class Listed:
    """A card of a list, with what the page shows of its question."""

    id: int
    lapses: int
    state: int
    stability: float | None
    last_review: dt.datetime | None
    uid: str
    prompt: str
    source_slug: str
    source_quote: str


def _only(model, alias: str, start: int, names: set[str]) -> Columns:
    skipped = frozenset(f.name for f in model._meta.concrete_fields) - names
    return Columns.of(model, alias, start, skipped=skipped)


CARD = _only(Card, "c", 0, {"id", "lapses", "state", "stability", "last_review"})
QUESTION = _only(Question, "q", CARD.end, {"uid", "prompt", "source_quote"})
SOURCE = _only(Source, "s", QUESTION.end, {"slug"})
LEAST = Columns.of(LeastRecalled, "l", 0)


def listed(ids: list[int]) -> list[Listed]:
    """The cards of `ids` that are of active questions, in no particular order."""
    if not ids:
        return []
    return _run(_sql("listed"), {"ids": _id_list(ids)})


def most_lapsed(user_id: int, at: dt.datetime, limit: int) -> list[Listed]:
    """The learner's cards (of active questions) forgotten at least once, most often first and,
    among equal lapses, least likely recalled at `at` first (the highest forgetting ratio,
    which orders them as recall does; never answered, no ratio: last), then in bank order.
    The (user, lapses) index hands them over most lapsed first: only the first few are read.
    In no particular order: the caller orders them."""
    sql = _sql("most_lapsed").format(limit=int(limit))
    return _run(sql, adapt({"user": user_id, "at": at}))


def kept_list(user_id: int, at: dt.datetime) -> LeastRecalled | None:
    """The learner's least recalled list when it is the one for `at`."""
    with connection.cursor() as cursor:
        execute(cursor, _sql("kept_list"), adapt({"user": user_id, "at": at}))
        row = cursor.fetchone()
    return None if row is None else LEAST.instance(row)


def _run(sql: str, params: dict) -> list[Listed]:
    with connection.cursor() as cursor:
        execute(cursor, sql, params)
        rows = cursor.fetchall()
    return [Listed(**_values(row)) for row in rows]


def _values(row: tuple) -> dict:
    card, question, source = (part.values(row) for part in (CARD, QUESTION, SOURCE))
    return card | {
        "uid": question["uid"],
        "prompt": question["prompt"],
        "source_quote": question["source_quote"],
        "source_slug": source["slug"],
    }


def _id_list(ids: list[int]):
    """The ids as one parameter: an array on PostgreSQL, JSON text on SQLite."""
    ids = [int(i) for i in ids]
    return ids if connection.vendor == "postgresql" else f"[{','.join(map(str, ids))}]"


@functools.cache
def _texts(vendor: str) -> dict[str, str]:
    """The statements of one backend (the vendor keys the cache for a process with two)."""
    q = connection.ops.quote_name
    card, question, source = (q(m._meta.db_table) for m in (Card, Question, Source))
    columns = ", ".join(part.sql() for part in (CARD, QUESTION, SOURCE))
    cards = (
        f"SELECT {columns} FROM {card} c JOIN {question} q ON q.id = c.question_id "
        f"JOIN {source} s ON s.id = q.source_id WHERE NOT c.is_retired AND c.id IN "
    )
    if vendor == "postgresql":
        ids = "(SELECT unnest(%(ids)s::bigint[]))"
        ratio = f"GREATEST({stats.WholeDays.text(vendor, 'm.last_review', '%(at)s')}, 0.0)"
        ratio = f"{ratio} / CAST(m.stability AS double precision)"
    else:
        ids = "(SELECT value FROM json_each(%(ids)s))"
        ratio = f"MAX({stats.WholeDays.text(vendor, 'm.last_review', '%(at)s')}, 0.0)"
        ratio = f"{ratio} / CAST(m.stability AS REAL)"
    answered = (
        f"m.state IN ({', '.join(str(int(s)) for s in stats.SCHEDULED)}) "
        "AND m.stability IS NOT NULL AND m.last_review IS NOT NULL"
    )
    # The chosen few are joined by a subquery in FROM, under a LIMIT written into the text:
    # PostgreSQL's generic plan for a LIMIT parameter guessed more rows and read every card
    # (a hash join); for these ten it looks up each card by its key.
    chosen = (
        f"SELECT {columns} FROM (SELECT m.id FROM {card} m WHERE m.user_id = %(user)s "
        f"AND NOT m.is_retired AND m.lapses > 0 ORDER BY m.lapses DESC, "
        f"CASE WHEN {answered} THEN {ratio} END DESC NULLS LAST, m.id LIMIT {{limit:d}}) chosen "
        f"JOIN {card} c ON c.id = chosen.id JOIN {question} q ON q.id = c.question_id "
        f"JOIN {source} s ON s.id = q.source_id"
    )
    return {
        "listed": cards + ids,
        "most_lapsed": chosen,
        "kept_list": (
            f"SELECT {LEAST.sql()} FROM {q(LeastRecalled._meta.db_table)} l "
            "WHERE l.user_id = %(user)s AND l.as_of = %(at)s"
        ),
    }


def _sql(name: str) -> str:
    return _texts(connection.vendor)[name]
