"""A grade's writes, as SQL built once: the card's new schedule, its move in its tally and the
review. Through the ORM, the card's save and the review's insert cost more Python than the
database spent on them (on SQLite, the card's save 1.09 ms, the same UPDATE as SQL 0.32 ms).

On PostgreSQL the three are one statement (data-modifying WITH clauses), prepared: one round
trip instead of three. SQLite writes one table per statement, so it runs them in turn. Either
way the caller's transaction holds them together."""

import functools

from django.db import connection

from . import sql_rows, tally
from .models import Card, Review
from .scheduler import REVIEWED

CARD_FIELDS = tuple(Card._meta.get_field(name) for name in REVIEWED)
REVIEW_FIELDS = tuple(f for f in Review._meta.concrete_fields if not f.primary_key)


def write(card: Card | None, tally_change: dict | None, review: Review) -> None:
    """Save the card's REVIEWED fields (unless None: practice leaves the schedule), add the
    tally change (unless None: tally.change() found none to make) and insert the review, whose
    id is set. The field values go through the fields' own preparation, as a save would."""
    params = {f"review_{f.attname}": _prepared(f, review, add=True) for f in REVIEW_FIELDS}
    if card is not None:
        params |= {f"card_{f.attname}": _prepared(f, card) for f in CARD_FIELDS}
        params["card_id"] = card.pk
    if tally_change is not None:
        params |= tally_change
    with connection.cursor() as cursor:
        for sql in statements(card=card is not None, tallied=tally_change is not None):
            sql_rows.execute(cursor, sql, params)
        review.pk = cursor.fetchone()[0]
    review._state.adding, review._state.db = False, connection.alias


def _prepared(field, obj, *, add: bool = False):
    return field.get_db_prep_save(field.pre_save(obj, add), connection)


def statements(*, card: bool, tallied: bool) -> tuple[str, ...]:
    """The statements to run, the review's INSERT (which returns its id) last."""
    return _statements(connection.vendor, card, tallied)


@functools.cache
def _statements(vendor: str, card: bool, tallied: bool) -> tuple[str, ...]:
    # The vendor keys the cache for a process that talks to both backends.
    parts = [_card_sql()] if card else []
    parts += [tally.graded_sql()] if tallied else []
    if vendor != "postgresql":
        return (*parts, _review_sql())
    withs = ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(parts))
    return (f"WITH {withs} {_review_sql()}" if withs else _review_sql(),)


def _card_sql() -> str:
    q = connection.ops.quote_name
    sets = ", ".join(f"{q(f.column)} = %(card_{f.attname})s" for f in CARD_FIELDS)
    return f"UPDATE {q(Card._meta.db_table)} SET {sets} WHERE {q('id')} = %(card_id)s"


def _review_sql() -> str:
    q = connection.ops.quote_name
    columns = ", ".join(q(f.column) for f in REVIEW_FIELDS)
    values = ", ".join(f"%(review_{f.attname})s" for f in REVIEW_FIELDS)
    return (
        f"INSERT INTO {q(Review._meta.db_table)} ({columns}) VALUES ({values}) RETURNING {q('id')}"
    )
