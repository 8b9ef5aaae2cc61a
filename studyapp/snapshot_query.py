"""The study loop's queries, written as SQL: the queue's snapshot (every study request runs
it) and the card being answered or graded.

The snapshot is the costlier. Built through the ORM, its dozen subqueries cost about 4 ms of
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
from dataclasses import dataclass
from typing import Any

from django.db import connection

from .models import Card, Choice, Deck, Question, Review, Source
from .sql_rows import Columns, adapt, execute

NEW, LEARNING, REVIEW, RELEARNING = (int(s) for s in Card.State)
# A source's text, which a study page never shows, stays deferred on the instance.
SKIPPED = frozenset({"text"})


@dataclass(frozen=True)
class CardColumns:
    """A card's columns with its question's, deck's and source's, from position `start`, then
    the question's choices as JSON text; how to turn them into the card."""

    card: Columns
    question: Columns
    deck: Columns
    source: Columns

    @classmethod
    def at(cls, start: int) -> "CardColumns":
        card = Columns.of(Card, "c", start)
        question = Columns.of(Question, "q", card.end)
        deck = Columns.of(Deck, "d", question.end)
        return cls(card, question, deck, Columns.of(Source, "s", deck.end, skipped=SKIPPED))

    @property
    def end(self) -> int:
        return self.source.end + 1

    def sql(self, t: dict[str, str]) -> str:
        parts = (self.card, self.question, self.deck, self.source)
        return f"{', '.join(part.sql() for part in parts)}, {_choice_list(t)}"

    @staticmethod
    def joins(t: dict[str, str]) -> str:
        return (
            f"LEFT JOIN {t['question']} q ON q.id = c.question_id "
            f"LEFT JOIN {t['deck']} d ON d.id = q.deck_id "
            f"LEFT JOIN {t['source']} s ON s.id = q.source_id"
        )

    def instance(self, row: tuple) -> Card | None:
        card = self.card.instance(row)
        if card is None:
            return None
        question = self.question.instance(row)
        Question.deck.field.set_cached_value(question, self.deck.instance(row))
        Question.source.field.set_cached_value(question, self.source.instance(row))
        Card.question.field.set_cached_value(card, question)
        card.choice_list = row[self.source.end]  # read by queue.choices_of
        return card


@dataclass(frozen=True)
class Shape:
    """The query's text for one shape, the names of its figures and candidates, and the
    columns of the cards."""

    sql: str
    figures: tuple[str, ...]
    candidates: tuple[str, ...]
    cards: CardColumns


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
    cards = CardColumns.at(len(names) + len(candidates))
    ids = ", ".join(f"f.{name}" for name in candidates)
    # MATERIALIZED: the candidates are named twice below (in the select list and the join),
    # and each must be found once, not once per mention.
    sql = (
        f"WITH f AS MATERIALIZED (SELECT {inner}) "
        f"SELECT t.n_answered, t.n_introduced, t.n_reviewed, "
        f"{', '.join(f'f.{n}' for n in figures)}, {ids}, "
        f"{cards.sql(t)} FROM ({today}) t CROSS JOIN f "
        f"LEFT JOIN {t['card']} c ON c.id IN ({ids}) {cards.joins(t)}"
    )
    return Shape(sql, names, tuple(candidates), cards)


@dataclass(frozen=True)
class Result:
    figures: dict[str, int]
    candidates: dict[str, int | None]
    rows: dict[int, tuple]  # the candidates' rows, by card id
    cards: CardColumns

    def card(self, card_id: int | None) -> Card | None:
        """The candidate's card with question, deck, source and choices. Only the card shown
        is made: the others are only compared by their due date."""
        row = self.rows.get(card_id)
        return None if row is None else self.cards.instance(row)

    def due(self, card_id: int | None):
        row = self.rows.get(card_id)
        return None if row is None else self.cards.card.value(row, "due")


def run(shape: Shape, params: dict[str, Any]) -> Result:
    params = adapt(params)
    with connection.cursor() as cursor:
        execute(cursor, shape.sql, params)
        rows = cursor.fetchall()
    first = rows[0]  # the figures come back on every row, and there is always one
    n = len(shape.figures)
    figures = {name: int(first[i]) for i, name in enumerate(shape.figures)}
    candidates = dict(zip(shape.candidates, first[n : n + len(shape.candidates)], strict=True))
    start = shape.cards.card.start  # the card's id
    rows_by_card = {row[start]: row for row in rows if row[start] is not None}
    return Result(figures, candidates, rows_by_card, shape.cards)


# --- the card being answered or graded --------------------------------------------------------


@functools.cache
def card_sql(vendor: str, lock: bool) -> tuple[str, CardColumns]:
    """One of the learner's cards with its question, deck, source and choices, and which card
    (if any) a review with the given token belongs to. lock: the card's row is locked for the
    transaction (PostgreSQL; SQLite's IMMEDIATE transaction holds the whole database)."""
    t = _tables()
    cards = CardColumns.at(0)
    sql = (
        f"SELECT {cards.sql(t)}, "
        f"(SELECT r.card_id FROM {t['review']} r WHERE r.token = %(token)s) "
        f"FROM {t['card']} c {cards.joins(t)} WHERE c.id = %(card)s AND c.user_id = %(user)s"
    )
    if lock and vendor == "postgresql":
        sql += " FOR UPDATE OF c"
    return sql, cards


def card(card_id: int, user_id: int, *, lock: bool = False, token=None) -> Card:
    """The learner's card (see card_sql), with `token_card`: the id of the card a review with
    `token` was recorded for, or None. Raises Card.DoesNotExist for another learner's card."""
    if not -(2**63) <= card_id < 2**63:  # beyond the column, as the ORM's lookup: no card
        raise Card.DoesNotExist(f"The learner has no card {card_id}.")
    sql, cards = card_sql(connection.vendor, lock)
    token = Review._meta.get_field("token").get_db_prep_value(token, connection)
    with connection.cursor() as cursor:
        execute(cursor, sql, {"card": card_id, "user": user_id, "token": token})
        row = cursor.fetchone()
    if row is None:
        raise Card.DoesNotExist(f"The learner has no card {card_id}.")
    found = cards.instance(row)
    found.token_card = row[cards.end]
    return found
