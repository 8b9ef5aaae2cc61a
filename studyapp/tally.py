"""The figures that read every card a learner has, kept ready so that the dashboard and the
progress page read a few rows however large the collection: mastery per deck and document and
the work due by the end of the day (Tally rows), and the cards least likely to be recalled
(LeastRecalled).

Recall is reckoned at the end of the current study day, so counting elapsed time by study
days, as Anki does: a card answered yesterday has gone a day without review all of today.
The figures then hold for the whole day. Each grade updates its card's tally in its own
transaction, with one UPDATE (run by studyapp.grade_writes), and so leaves the least recalled
list alone: a card answered today has a chance of recall of 1 at the end of the day.
Everything is counted again from the cards on the first read of a new day (or under new day
settings), when missing, and after any other change to the learner's cards, which calls
`forget`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Case, Count, F, FloatField, Q, Sum, When
from django.db.models.lookups import LessThan

from . import card_lists, sql_rows, stats
from .card_lists import Listed
from .days import day_bounds, study_day
from .models import Card, LearnerSettings, LeastRecalled, Tally

FIGURES = ("new", "learning", "young", "mature", "recall_sum", "recall_n", "due", "buried")
# The least recalled list keeps this many cards beyond the page's, so that the cards answered
# during a day drop out of it without a full pass.
LISTED = 60


def as_of(settings: LearnerSettings, now: dt.datetime) -> dt.datetime:
    """The end of the study day `now` falls in: the instant the figures are reckoned at."""
    return _day(settings, now)[1]


def _day(settings: LearnerSettings, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    tz, starts_at = settings.time_zone, settings.day_starts_at
    return day_bounds(study_day(now, tz=tz, starts_at=starts_at), tz=tz, starts_at=starts_at)


# --- one card ------------------------------------------------------------------------------


def _answered(card: Card | Listed) -> bool:
    return (
        card.state in stats.SCHEDULED
        and card.stability is not None
        and card.last_review is not None
    )


def ratio(card: Card | Listed, at: dt.datetime) -> float:
    """Whole days without review at `at` per day of stability (stats.forgetting_ratio)."""
    return max(0, (at - card.last_review).days) / card.stability


def recall(card: Card | Listed, at: dt.datetime) -> float | None:
    """The card's chance of recall at `at` (stats.retrievability_now); None if never answered."""
    if not _answered(card):
        return None
    decay, factor = stats.retrievability_params()
    return (1.0 + factor * ratio(card, at)) ** decay


def share(card: Card, at: dt.datetime) -> dict[str, float]:
    """The card's part in its tally's figures, as the full count reckons it."""
    figures = dict.fromkeys(FIGURES, 0)
    if card.state == Card.State.NEW:
        figures["new"] = 1
    elif card.state in stats.LEARNING:
        figures["learning"] = 1
    elif card.due is not None and card.last_review is not None:  # a review card
        young = (card.due - card.last_review).days < stats.MATURE_DAYS
        figures["young" if young else "mature"] = 1
    chance = recall(card, at)
    if chance is not None:
        figures["recall_sum"], figures["recall_n"] = chance, 1
    if _due(card, at):
        figures["due"] = 1
        figures["buried"] = int(card.buried_until is not None and card.buried_until >= at)
    return figures


def _due(card: Card, at: dt.datetime) -> bool:
    return (
        card.state in stats.SCHEDULED
        and not card.is_suspended
        and card.due is not None
        and card.due < at
    )


def due_today(kept: dict[tuple[int, int], dict]) -> int:
    """The learning and review cards the queue can still show before the day ends: due by
    then, neither suspended nor buried (tallies() gives `kept`)."""
    return sum(row["due"] - row["buried"] for row in kept.values())


def change(card: Card, before: dict[str, float], at: dt.datetime) -> dict | None:
    """The parameters of graded_sql() that move the card's part in its tally from `before`
    (share() ahead of the grade) to what it is now, when the tally is for `at`'s day (else it
    is recounted anyway); None for a retired card, which no tally counts. The caller runs the
    UPDATE (studyapp.grade_writes), which locks the tally row whatever its day, so a recount in
    progress (_recount) and this grade take their turns."""
    if card.is_retired:
        return None
    after = share(card, at)
    params = {"at": at, "user": card.user_id, "deck": card.deck_id, "source": card.source_id}
    params |= {name: after[name] - before[name] for name in FIGURES}
    return sql_rows.adapt(params)


@functools.cache
def graded_sql() -> str:
    # Written as SQL, built once (and prepared on PostgreSQL): the ORM took over a millisecond
    # to assemble its CASEs, a third of a grade.
    q = connection.ops.quote_name
    sets = ", ".join(
        f"{q(name)} = CASE WHEN {q('as_of')} = %(at)s THEN {q(name)} + %({name})s "
        f"ELSE {q(name)} END"
        for name in FIGURES
    )
    return (
        f"UPDATE {q(Tally._meta.db_table)} SET {sets} WHERE {q('user_id')} = %(user)s "
        f"AND {q('deck_id')} = %(deck)s AND {q('source_id')} = %(source)s"
    )


def add_pairs(pairs: Iterable[tuple[int, int, int]]) -> None:
    """Make the tallies of (learner, deck, source) pairs that have cards now, to be counted:
    a tally row exists before any grade can reach its cards, so every grade has a row to lock.
    Called wherever the app makes cards or moves them to another deck or document."""
    Tally.objects.bulk_create(
        [Tally(user_id=u, deck_id=d, source_id=s) for u, d, s in set(pairs)],
        ignore_conflicts=True,
        batch_size=500,
    )


def forget(user_ids: Iterable[int] | None = None) -> None:
    """Have the learners' figures (everyone's, for None) counted again when next read: their
    cards changed otherwise than by a grade."""
    tallies, lists = Tally.objects.all(), LeastRecalled.objects.all()
    if user_ids is not None:
        user_ids = list(user_ids)
        tallies, lists = tallies.filter(user_id__in=user_ids), lists.filter(user_id__in=user_ids)
    tallies.update(as_of=None)
    lists.update(as_of=None)


# --- mastery -------------------------------------------------------------------------------


def tallies(
    user: AbstractBaseUser, settings: LearnerSettings, now: dt.datetime
) -> dict[tuple[int, int], dict]:
    """{(deck id, source id): figures} of the learner's cards, reckoned at as_of(now), for the
    pairs that have cards of active questions. One query when they are up to date."""
    at = as_of(settings, now)
    rows = list(Tally.objects.filter(user=user).values("deck", "source", "as_of", *FIGURES))
    if not rows or any(row["as_of"] != at for row in rows):
        rows = _recount(user, at)
    # A pair whose cards were all retired keeps its row, counting nothing.
    return {(r["deck"], r["source"]): r for r in rows if any(r[name] for name in FIGURES)}


@transaction.atomic
def _recount(user: AbstractBaseUser, at: dt.datetime) -> list[dict]:
    # The learner's tallies are locked first. A grade that has updated its tally already has
    # committed, then, and is counted; one that has not waits, and adds its change to the new
    # figures (PostgreSQL; SQLite runs one writer at a time). A pair without a row yet (cards
    # made behind the app's back, as the benchmark does) is counted and made here.
    kept = {
        (t.deck_id, t.source_id): t for t in Tally.objects.select_for_update().filter(user=user)
    }
    dated = Q(state=Card.State.REVIEW, due__isnull=False, last_review__isnull=False)
    due = Q(state__in=stats.SCHEDULED, is_suspended=False, due__lt=at)
    counted = (
        stats.every_card(user)
        .filter(is_retired=False)
        .values("deck", "source")
        .annotate(
            new=Count("id", filter=Q(state=Card.State.NEW)),
            learning=Count("id", filter=Q(state__in=stats.LEARNING)),
            # The days between a review card's dates, the costliest figure here, are worked
            # out once, for young; the rest of the dated review cards are mature.
            reviews=Count("id", filter=dated),
            young=Count(
                "id",
                filter=dated
                & LessThan(stats.WholeDays(F("last_review"), F("due")), stats.MATURE_DAYS),
            ),
            recall_sum=Sum(stats.retrievability_now(at), filter=stats.ANSWERED),
            recall_n=Count("id", filter=stats.ANSWERED),
            # Named apart from the cards' own due field, which the filters read.
            due_n=Count("id", filter=due),
            # A card buried by the app is buried until the end of the day it was buried on.
            buried_n=Count("id", filter=due & Q(buried_until__gte=at)),
        )
        .order_by()
    )
    found = {}
    for row in counted:
        row["mature"] = row.pop("reviews") - row["young"]
        row["due"], row["buried"] = row.pop("due_n"), row.pop("buried_n")
        row["recall_sum"] = row["recall_sum"] or 0.0
        found[row["deck"], row["source"]] = row
    changed, added = [], []
    for key in kept.keys() | found.keys():
        tally = kept.get(key) or Tally(user=user, deck_id=key[0], source_id=key[1])
        figures = found.get(key, dict.fromkeys(FIGURES, 0))
        for name in FIGURES:
            setattr(tally, name, figures[name])
        tally.as_of = at
        (changed if tally.pk else added).append(tally)
    Tally.objects.bulk_update(changed, ["as_of", *FIGURES], batch_size=500)
    Tally.objects.bulk_create(added, batch_size=500, ignore_conflicts=True)
    return [
        {"deck": t.deck_id, "source": t.source_id, "as_of": at}
        | {name: getattr(t, name) for name in FIGURES}
        for t in changed + added
    ]


# --- the least recalled cards --------------------------------------------------------------

# The list's order: the highest forgetting ratio first (the lowest recall), then the most
# lapses, then the bank's order of cards.
LEAST_ORDER = [F("ratio").desc(), "-lapses", "id"]


def _key(ratio: float, lapses: int, card_id: int) -> tuple:
    return (-ratio, -lapses, card_id)


def least_recalled(
    user: AbstractBaseUser,
    settings: LearnerSettings,
    now: dt.datetime,
    limit: int,
    kept: dict[tuple[int, int], dict] | None = None,
) -> list[Listed]:
    """The learner's answered cards (of active questions) with the lowest chance of recall at
    as_of(now), lowest first, at most `limit`, with what the page shows of their question.
    Three queries (the list, the tallies unless `kept` holds them, the listed cards) while the
    day's list holds."""
    start, at = _day(settings, now)
    # A day longer than 24 hours (a clock change) is listed afresh on every read: a card
    # answered in its first hour is a day old at its end, and may rank anywhere.
    listed = card_lists.kept_list(user.pk, at)
    kept = tallies(user, settings, now) if kept is None else kept
    answered = sum(row["recall_n"] for row in kept.values())
    if at - start > dt.timedelta(days=1):
        listed = None
    if listed is not None and (cards := _still_least(listed, at, limit, answered)) is not None:
        return cards
    ids = _relist(user, at)[:limit]
    found = {card.id: card for card in card_lists.listed(ids)}
    return [found[i] for i in ids]


def _still_least(
    listed: LeastRecalled, at: dt.datetime, limit: int, answered: int
) -> list[Listed] | None:
    """The first `limit` cards of the list as they rank now, or None when that takes a full
    pass. While the list holds, the learner's cards change only by grades (anything else
    forgets it), and a card answered today has a ratio of 0 at the day's end: it ranks behind
    every card with a ratio above 0, and the rest rank as they did. So a listed card with a
    ratio above 0, ahead of the list's last card (which every card left off was behind), is
    where it was. A list of every answered card stays whole while no other card has been
    answered (`answered`, the learner's answered cards now, says so)."""
    ranked = sorted(
        (_key(ratio(card, at), card.lapses, card.id), card)
        for card in card_lists.listed(listed.card_ids)
        if _answered(card)
    )
    last = tuple(listed.last) if listed.last is not None else None
    if last is None and answered == len(ranked):
        return [card for _, card in ranked[:limit]]
    kept = [card for key, card in ranked if key[0] < 0 and (last is None or key <= last)]
    return kept[:limit] if len(kept) >= limit else None


def _relist(user: AbstractBaseUser, at: dt.datetime) -> list[int]:
    """List the least recalled cards afresh, with a full pass; their ids, lowest recall first."""
    forgetting = Case(
        When(stats.ANSWERED, then=stats.forgetting_ratio(at)),
        default=None,
        output_field=FloatField(),
    )
    rows = list(
        stats.every_card(user)
        .filter(stats.ANSWERED, is_retired=False)
        .annotate(ratio=forgetting)
        .order_by(*LEAST_ORDER)
        .values_list("id", "ratio", "lapses")[:LISTED]
    )
    last = list(_key(rows[-1][1], rows[-1][2], rows[-1][0])) if len(rows) == LISTED else None
    ids = [row[0] for row in rows]
    LeastRecalled.objects.update_or_create(
        user=user, defaults={"as_of": at, "card_ids": ids, "last": last}
    )
    return ids
