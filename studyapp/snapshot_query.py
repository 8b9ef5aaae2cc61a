"""The study queue's one query, written as SQL.

Every study request runs it. Built through the ORM, its dozen subqueries cost about 4 ms of
Python per request to assemble and compile, several times what the database needs to answer
it, so its text is built once per shape (backend, scope, practice) and then only executed with
new parameters. Rows become model instances through Django's own converters, as a QuerySet's
would.

Each count and each candidate is a range of the card_queue index (card_deck_queue within a deck),
which also holds what decides whether a card may be shown, so no table is read; counts that only
matter up to a daily limit stop there (LIMIT inside the count), and each candidate is the first
row of one state, so no plan has to merge two states' ranges.
"""

import functools
import re
import weakref
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Model
from django.db.models.expressions import Col

from .models import Card, Choice, Deck, Question, Review, Source

NEW, LEARNING, REVIEW, RELEARNING = (int(s) for s in Card.State)
# Fields a study page never shows; left out, they stay deferred on the instance.
SKIPPED = {Source: {"text"}}


@dataclass(frozen=True)
class _Columns:
    """One model's columns in the select list, and how to turn them back into an instance."""

    model: type[Model]
    alias: str
    cols: tuple[Col, ...]
    start: int

    @classmethod
    def of(cls, model: type[Model], alias: str, start: int) -> "_Columns":
        skipped = SKIPPED.get(model, set())
        fields = [f for f in model._meta.concrete_fields if f.name not in skipped]
        return cls(model, alias, tuple(f.get_col(alias) for f in fields), start)

    @property
    def end(self) -> int:
        return self.start + len(self.cols)

    def sql(self) -> str:
        q = connection.ops.quote_name
        return ", ".join(f"{self.alias}.{q(col.target.column)}" for col in self.cols)

    @functools.cached_property
    def converters(self) -> list[tuple[int, list, Col]]:
        found = []
        for i, col in enumerate(self.cols):
            funcs = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if funcs:
                found.append((i, funcs, col))
        return found

    def instance(self, row: tuple) -> Model | None:
        values = list(row[self.start : self.end])
        if values[0] is None:  # the primary key: no row was joined
            return None
        for i, funcs, col in self.converters:
            for func in funcs:
                values[i] = func(values[i], col, connection)
        names = [col.target.attname for col in self.cols]
        return self.model.from_db(connection.alias, names, values)


@dataclass(frozen=True)
class Shape:
    """The query's text for one shape, the names of its figures and candidates, and the
    columns of the card, question, deck and source."""

    sql: str
    figures: tuple[str, ...]
    candidates: tuple[str, ...]
    card: _Columns
    question: _Columns
    deck: _Columns
    source: _Columns


def _tables() -> dict[str, str]:
    q = connection.ops.quote_name
    return {
        "card": q(Card._meta.db_table),
        "question": q(Question._meta.db_table),
        "review": q(Review._meta.db_table),
        "choice": q(Choice._meta.db_table),
        "deck": q(Deck._meta.db_table),
        "source": q(Source._meta.db_table),
    }


def _choice_list(t: dict[str, str]) -> str:
    """The question's choices as JSON text [[position, text, is_correct], ...]."""
    if connection.vendor == "postgresql":
        return (
            "(SELECT COALESCE(json_agg(json_build_array(ch.position, ch.text, ch.is_correct) "
            f"ORDER BY ch.position), '[]')::text FROM {t['choice']} ch "
            "WHERE ch.question_id = q.id)"
        )
    return (
        "(SELECT json_group_array(json_array(ch.position, ch.text, ch.is_correct)) FROM "
        f"(SELECT position, text, is_correct FROM {t['choice']} WHERE question_id = q.id "
        "ORDER BY position) ch)"
    )


@functools.cache
def shape(vendor: str, scope: str | None, practice: bool) -> Shape:
    """scope: None, "deck" or "source" (a %(scope)s parameter then names it). The vendor is
    part of the key only so a process that talks to two backends keeps one text for each."""
    t = _tables()
    studiable = (
        f"FROM {t['card']} c WHERE c.user_id = %(user)s AND NOT c.is_retired "
        "AND NOT c.is_suspended AND (c.buried_until IS NULL OR c.buried_until <= %(now)s)"
    )
    if scope == "deck":
        studiable += " AND c.deck_id = %(scope)s"
    elif scope == "source":
        studiable = studiable.replace(
            " WHERE ", f" JOIN {t['question']} sq ON sq.id = c.question_id WHERE ", 1
        )
        studiable += " AND sq.source_id = %(scope)s"

    def count(condition: str, cap: str | None = None) -> str:
        if cap is None:
            return f"(SELECT COUNT(*) {studiable} AND {condition})"
        return f"(SELECT COUNT(*) FROM (SELECT 1 {studiable} AND {condition} LIMIT {cap}) n)"

    def first(condition: str, order: str = "c.due, c.id") -> str:
        return f"(SELECT c.id {studiable} AND {condition} ORDER BY {order} LIMIT 1)"

    if practice:
        left = (
            f"c.id NOT IN (SELECT r.card_id FROM {t['review']} r WHERE r.user_id = %(user)s "
            "AND r.is_practice AND r.reviewed_at >= %(since)s)"
        )
        figures = {"n_left": count(left)}
        candidates = {"practice": first(left, order="c.id")}
    else:
        figures = {
            "n_learning": count(f"c.state IN ({LEARNING}, {RELEARNING}) AND c.due < %(end)s"),
            "n_review": count(f"c.state = {REVIEW} AND c.due < %(end)s", "%(review_cap)s"),
            "n_new": count(f"c.state = {NEW}", "%(new_cap)s"),
        }
        candidates = {
            # The first learning card due within the look-ahead is also the first due now, if
            # any is: one candidate serves both.
            "learning": first(f"c.state = {LEARNING} AND c.due <= %(ahead)s"),
            "relearning": first(f"c.state = {RELEARNING} AND c.due <= %(ahead)s"),
            "review": first(f"c.state = {REVIEW} AND c.due < %(end)s"),
            # New cards have no due date: ordering by it too lets the one index serve.
            "new": first(f"c.state = {NEW}"),
        }
    today = (
        "SELECT COUNT(*) AS n_answered, "
        f"COALESCE(SUM(CASE WHEN r.state = {NEW} AND NOT r.is_practice THEN 1 ELSE 0 END), 0) "
        "AS n_introduced, "
        f"COALESCE(SUM(CASE WHEN r.state = {REVIEW} AND NOT r.is_practice THEN 1 ELSE 0 END), 0) "
        f"AS n_reviewed FROM {t['review']} r WHERE r.user_id = %(user)s "
        "AND r.reviewed_at >= %(start)s AND r.reviewed_at < %(end)s"
    )
    names = ("n_answered", "n_introduced", "n_reviewed", *figures)
    inner = ", ".join(f"{sql} AS {name}" for name, sql in (figures | candidates).items())
    card = _Columns.of(Card, "c", len(names) + len(candidates))
    question = _Columns.of(Question, "q", card.end)
    deck = _Columns.of(Deck, "d", question.end)
    source = _Columns.of(Source, "s", deck.end)
    ids = ", ".join(f"f.{name}" for name in candidates)
    # MATERIALIZED: the candidates are named twice below (in the select list and the join),
    # and each must be found once, not once per mention.
    sql = (
        f"WITH f AS MATERIALIZED (SELECT {inner}) "
        f"SELECT t.n_answered, t.n_introduced, t.n_reviewed, "
        f"{', '.join(f'f.{n}' for n in figures)}, {ids}, "
        f"{card.sql()}, {question.sql()}, {deck.sql()}, {source.sql()}, {_choice_list(t)} "
        f"FROM ({today}) t CROSS JOIN f "
        f"LEFT JOIN {t['card']} c ON c.id IN ({ids}) "
        f"LEFT JOIN {t['question']} q ON q.id = c.question_id "
        f"LEFT JOIN {t['deck']} d ON d.id = q.deck_id "
        f"LEFT JOIN {t['source']} s ON s.id = q.source_id"
    )
    return Shape(sql, names, tuple(candidates), card, question, deck, source)


@dataclass(frozen=True)
class Result:
    figures: dict[str, int]
    candidates: dict[str, int | None]
    cards: dict[int, Card]  # the candidates' cards, with question, deck, source and choices


# PostgreSQL spends longer planning the query than running it, so each connection prepares
# it once (PREPARE) and then only executes it. Keyed by the driver's connection, which goes
# (with its prepared statements) when Django reconnects.
_prepared: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()
_PARAM = re.compile(r"%\((\w+)\)s")


def _execute(cursor, shape: Shape, params: dict[str, Any]) -> None:
    if connection.vendor != "postgresql":
        cursor.execute(shape.sql, params)
        return
    names = list(dict.fromkeys(_PARAM.findall(shape.sql)))
    statement = f"studyapp_snapshot_{abs(hash(shape.sql)):x}"
    done = _prepared.setdefault(connection.connection, set())
    if statement not in done:
        numbered = _PARAM.sub(lambda m: f"${names.index(m[1]) + 1}", shape.sql)
        cursor.execute(f"PREPARE {statement} AS {numbered}")
        done.add(statement)
    cursor.execute(
        f"EXECUTE {statement} ({', '.join(['%s'] * len(names))})", [params[n] for n in names]
    )


def run(shape: Shape, params: dict[str, Any]) -> Result:
    adapt = connection.ops.adapt_datetimefield_value
    params = {k: adapt(v) if hasattr(v, "tzinfo") else v for k, v in params.items()}
    with connection.cursor() as cursor:
        _execute(cursor, shape, params)
        rows = cursor.fetchall()
    first = rows[0]  # the figures come back on every row, and there is always one
    n = len(shape.figures)
    figures = {name: int(first[i]) for i, name in enumerate(shape.figures)}
    candidates = dict(zip(shape.candidates, first[n : n + len(shape.candidates)], strict=True))
    cards = {}
    for row in rows:
        card = shape.card.instance(row)
        if card is None:
            continue
        question = shape.question.instance(row)
        Question.deck.field.set_cached_value(question, shape.deck.instance(row))
        Question.source.field.set_cached_value(question, shape.source.instance(row))
        Card.question.field.set_cached_value(card, question)
        card.choice_list = row[-1]
        cards[card.id] = card
    return Result(figures, candidates, cards)
