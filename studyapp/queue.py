"""Which card comes next, and how much is left today.

Order, as in Anki: learning and relearning cards due now; then review cards due by the end of
the study day mixed with new cards (up to the day's new-card limit); then learning cards due in
the next few minutes, rather than leave the learner waiting.
"""

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection
from django.db.models import IntegerField, OuterRef, Q, QuerySet, Subquery

from . import snapshot_query, tally
from .days import day_bounds, study_day
from .models import BankRevision, Card, Deck, LearnerSettings, Question

LEARN_AHEAD = dt.timedelta(minutes=20)
LEARNING = (Card.State.LEARNING, Card.State.RELEARNING)
ALL = Q()


@dataclass(frozen=True)
class Today:
    """The learner's study day so far: its bounds, answers given, new cards introduced and
    review cards answered (the last two count against the daily limits)."""

    start: dt.datetime
    end: dt.datetime
    answered: int
    introduced: int
    reviewed: int


class ChoiceRow(NamedTuple):
    position: int
    text: str
    is_correct: bool


@dataclass(frozen=True)
class Counts:
    learning: int  # learning and relearning cards due today
    review: int  # review cards due today
    new: int  # new cards that may still be introduced today

    @property
    def total(self) -> int:
        return self.learning + self.review + self.new


def settings_of(user) -> LearnerSettings:
    """The learner's settings, usually loaded with the user (studyapp.auth.StudyBackend)."""
    try:
        return user.study_settings
    except LearnerSettings.DoesNotExist:
        user.study_settings = LearnerSettings.objects.get_or_create(user=user)[0]
        return user.study_settings


def ensure_cards(user) -> int:
    """Give the learner a card for each active question they have none for (bank additions).
    Looking for them reads the whole bank, so it is done once per bank revision."""
    try:
        settings = user.study_settings
    except LearnerSettings.DoesNotExist:  # not made yet: look every time until it is
        settings = None
    revision = BankRevision.current()  # before looking: a later change is looked at next time
    if settings and settings.cards_for_revision == revision:
        return 0
    missing = Question.objects.filter(is_active=True).exclude(cards__user=user).order_by("id")
    cards = [
        Card(user=user, question_id=qid, deck_id=deck, source_id=source)
        for qid, deck, source in missing.values_list("id", "deck_id", "source_id")
    ]
    Card.objects.bulk_create(cards, ignore_conflicts=True)
    if cards:
        tally.add_pairs((user.pk, card.deck_id, card.source_id) for card in cards)
        tally.forget([user.pk])
    if settings:
        LearnerSettings.objects.filter(pk=settings.pk).update(cards_for_revision=revision)
        settings.cards_for_revision = revision
    return len(cards)


def studiable(user, *, now: dt.datetime, only: Q = ALL) -> QuerySet[Card]:
    """The learner's cards that may be shown now; `only` narrows them (a deck, a document)."""
    cards = Card.objects.filter(only, user=user, is_retired=False, is_suspended=False)
    return cards.exclude(buried_until__gt=now)


def new_left(settings: LearnerSettings, day: Today) -> int:
    return max(0, settings.new_per_day - day.introduced)


def reviews_left(settings: LearnerSettings, day: Today) -> int:
    return max(0, settings.reviews_per_day - day.reviewed)


class CountOf(Subquery):
    """(SELECT COUNT(*) FROM (subquery) counted): a count as an expression, which stops at the
    subquery's LIMIT when it has one."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) counted)"
    output_field = IntegerField()


def deck_counts(
    user, settings: LearnerSettings, *, now: dt.datetime, day: Today
) -> dict[int, Counts]:
    """Each deck's counts as its own study would show them, in one query. The daily limits are
    the learner's, shared by all decks, so each deck shows at most what is left of them, and
    each count stops there: a range of the card_deck_queue index per count."""
    cards = studiable(user, now=now).filter(deck=OuterRef("pk")).order_by().values("id")
    rows = (
        Deck.objects.order_by()
        .values_list("pk")
        .annotate(
            learning=CountOf(cards.filter(state__in=LEARNING, due__lt=day.end)),
            review=CountOf(
                cards.filter(state=Card.State.REVIEW, due__lt=day.end)[: settings.reviews_per_day]
            ),
            new=CountOf(cards.filter(state=Card.State.NEW)[: settings.new_per_day]),
        )
    )
    reviews, new = reviews_left(settings, day), new_left(settings, day)
    return {
        deck: Counts(learning, min(review, reviews), min(fresh, new))
        for deck, learning, review, fresh in rows
    }


def choices_of(card: Card) -> list[ChoiceRow]:
    """The choices a card was fetched with (snapshot_query reads them with it), in order."""
    return [ChoiceRow(p, t, bool(c)) for p, t, c in json.loads(card.choice_list or "[]")]


@dataclass(frozen=True)
class Snapshot:
    day: Today
    counts: Counts
    card: Card | None


def _scope(only: Q) -> tuple[str | None, int | None]:
    """A study scope (ALL, Q(deck=...) or Q(question__source=...)) as the query's scope column
    and value."""
    if not only:
        return None, None
    ((lookup, value),) = only.children
    kind = {"deck": "deck", "question__source": "source"}.get(lookup)
    if kind is None:
        raise ValueError(f"A study scope is a deck or a document, not {lookup}.")
    return kind, getattr(value, "pk", value)


def snapshot(
    user, settings: LearnerSettings, *, now: dt.datetime, only: Q = ALL, practice_since=None
) -> Snapshot:
    """Today's counts and the next card, in one query (see snapshot_query).

    The query returns the first card of each kind of work (learning and relearning due within
    the look-ahead, review due today, new) and the counts; the choice between
    them, which depends on the counts, is made here. practice_since: the start of a practice
    sitting, whose cards come once each in bank order, ignoring the schedule."""
    start, end = day_bounds(
        study_day(now, tz=settings.time_zone, starts_at=settings.day_starts_at),
        tz=settings.time_zone,
        starts_at=settings.day_starts_at,
    )
    scope, scope_id = _scope(only)
    practice = practice_since is not None
    shape = snapshot_query.shape(connection.vendor, scope, practice)
    found = snapshot_query.run(
        shape,
        {
            "user": user.pk,
            "now": now,
            "start": start,
            "end": end,
            "ahead": now + LEARN_AHEAD,
            "since": practice_since,
            "scope": scope_id,
            "new_cap": settings.new_per_day,
            "review_cap": settings.reviews_per_day,
        },
    )
    figures, ids = found.figures, found.candidates
    day = Today(start, end, figures["n_answered"], figures["n_introduced"], figures["n_reviewed"])
    if practice:
        counts = Counts(0, 0, figures["n_left"])
        chosen = ids["practice"]
    else:
        counts = Counts(
            learning=figures["n_learning"],
            review=min(figures["n_review"], reviews_left(settings, day)),
            new=min(figures["n_new"], new_left(settings, day)),
        )
        chosen = _choose(ids, found.due, counts, day, now)
    return Snapshot(day=day, counts=counts, card=found.card(chosen))


def _choose(
    ids: dict,
    due: Callable[[int | None], dt.datetime | None],
    counts: Counts,
    day: Today,
    now: dt.datetime,
) -> int | None:
    """Learning cards due now first, the earliest due of either learning state; then new cards
    mixed in among the reviews: one new card, then as many reviews as there are reviews per new
    card left, so both run out together; then learning cards due soon."""
    found = [(d, ids[n]) for n in ("learning", "relearning") if (d := due(ids[n])) is not None]
    learning = min(found) if found else None
    if learning and learning[0] <= now:
        return learning[1]
    new = ids["new"] if counts.new else None
    review = ids["review"] if counts.review else None
    if new and (not review or day.answered % (counts.review // counts.new + 1) == 0):
        return new
    return review or new or (learning and learning[1])


def next_card(user, settings: LearnerSettings, *, now: dt.datetime, only: Q = ALL) -> Card | None:
    return snapshot(user, settings, now=now, only=only).card


def next_due(user, *, now: dt.datetime, only: Q = ALL) -> dt.datetime | None:
    """When the next scheduled card comes due, for the 'nothing due' page."""
    cards = studiable(user, now=now, only=only).exclude(state=Card.State.NEW)
    return cards.order_by("due").values_list("due", flat=True).first()


def next_practice(user, *, now: dt.datetime, only: Q, seen: list[int]) -> Card | None:
    """Practice goes through every card of the scope once, in bank order."""
    cards = studiable(user, now=now, only=only).exclude(id__in=seen)
    return cards.select_related("question__source").order_by("id").first()
