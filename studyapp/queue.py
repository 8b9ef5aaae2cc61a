"""Which card comes next, and how much is left today.

Order, as in Anki: learning and relearning cards due now; then review cards due by the end of
the study day mixed with new cards (up to the day's new-card limit); then learning cards due in
the next few minutes, rather than leave the learner waiting.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from .days import day_bounds, study_day
from .models import Card, LearnerSettings, Question, Review

LEARN_AHEAD = dt.timedelta(minutes=20)
LEARNING = (Card.State.LEARNING, Card.State.RELEARNING)
ALL = Q()


@dataclass(frozen=True)
class Today:
    """The learner's study day so far: its bounds, answers given and new cards introduced."""

    start: dt.datetime
    end: dt.datetime
    answered: int
    introduced: int


@dataclass(frozen=True)
class Counts:
    learning: int  # learning and relearning cards due today
    review: int  # review cards due today
    new: int  # new cards that may still be introduced today

    @property
    def total(self) -> int:
        return self.learning + self.review + self.new


def settings_of(user) -> LearnerSettings:
    return LearnerSettings.objects.get_or_create(user=user)[0]


def ensure_cards(user) -> int:
    """Give the learner a card for each active question they have none for (bank additions)."""
    missing = Question.objects.filter(is_active=True).exclude(cards__user=user).order_by("id")
    cards = [Card(user=user, question_id=qid) for qid in missing.values_list("id", flat=True)]
    Card.objects.bulk_create(cards, ignore_conflicts=True)
    return len(cards)


def studiable(user, *, now: dt.datetime, only: Q = ALL) -> QuerySet[Card]:
    """The learner's cards that may be shown now; `only` narrows them (a deck, a document)."""
    cards = Card.objects.filter(only, user=user, question__is_active=True, is_suspended=False)
    return cards.exclude(buried_until__gt=now)


def today(user, settings: LearnerSettings, *, now: dt.datetime) -> Today:
    day = study_day(now, tz=settings.time_zone, starts_at=settings.day_starts_at)
    start, end = day_bounds(day, tz=settings.time_zone, starts_at=settings.day_starts_at)
    done = Review.objects.filter(user=user, reviewed_at__gte=start, reviewed_at__lt=end).aggregate(
        answered=Count("id"),
        introduced=Count("id", filter=Q(state=Card.State.NEW, is_practice=False)),
    )
    return Today(start=start, end=end, **done)


def new_left(settings: LearnerSettings, day: Today) -> int:
    return max(0, settings.new_per_day - day.introduced)


def counts(
    user, settings: LearnerSettings, *, now: dt.datetime, day: Today, only: Q = ALL
) -> Counts:
    found = studiable(user, now=now, only=only).aggregate(**_count_filters(day))
    return Counts(
        learning=found["learning"],
        review=found["review"],
        new=min(found["new"], new_left(settings, day)),
    )


def deck_counts(
    user, settings: LearnerSettings, *, now: dt.datetime, day: Today
) -> dict[int, Counts]:
    """Counts for every deck in one grouped query. The new-card limit is the learner's, shared
    by all decks, so each deck shows at most what is left of it."""
    limit = new_left(settings, day)
    rows = (
        studiable(user, now=now).values("question__deck").annotate(**_count_filters(day)).order_by()
    )
    return {
        row["question__deck"]: Counts(row["learning"], row["review"], min(row["new"], limit))
        for row in rows
    }


def _count_filters(day: Today) -> dict:
    return {
        "learning": Count("id", filter=Q(state__in=LEARNING, due__lt=day.end)),
        "review": Count("id", filter=Q(state=Card.State.REVIEW, due__lt=day.end)),
        "new": Count("id", filter=Q(state=Card.State.NEW)),
    }


def next_card(
    user, settings: LearnerSettings, *, now: dt.datetime, day: Today, only: Q = ALL
) -> Card | None:
    cards = studiable(user, now=now, only=only).select_related("question__source")
    learning = cards.filter(state__in=LEARNING, due__lte=now).order_by("due", "id").first()
    if learning:
        return learning
    review = cards.filter(state=Card.State.REVIEW, due__lt=day.end).order_by("due", "id")
    new = cards.filter(state=Card.State.NEW).order_by("id") if new_left(settings, day) else None
    # Mix new cards in among the reviews: one new card, then as many reviews as there are
    # reviews per new card left, so both run out together.
    found = counts(user, settings, now=now, day=day, only=only) if new is not None else None
    if (
        found
        and found.new
        and (not found.review or day.answered % (found.review // found.new + 1) == 0)
    ):
        return new.first()
    return (
        review.first()
        or (new.first() if new is not None else None)
        or cards.filter(state__in=LEARNING, due__lte=now + LEARN_AHEAD)
        .order_by("due", "id")
        .first()
    )


def next_due(user, *, now: dt.datetime, only: Q = ALL) -> dt.datetime | None:
    """When the next scheduled card comes due, for the 'nothing due' page."""
    cards = studiable(user, now=now, only=only).exclude(state=Card.State.NEW)
    return cards.order_by("due").values_list("due", flat=True).first()


def next_practice(user, *, now: dt.datetime, only: Q, seen: list[int]) -> Card | None:
    """Practice goes through every card of the scope once, in bank order."""
    cards = studiable(user, now=now, only=only).exclude(id__in=seen)
    return cards.select_related("question__source").order_by("id").first()
