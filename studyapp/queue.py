"""Which card comes next, and how much is left today.

Order, as in Anki: learning and relearning cards due now; then review cards due by the end of
the study day mixed with new cards (up to the day's new-card limit); then learning cards due in
the next few minutes, rather than leave the learner waiting.
"""

import datetime as dt
import json
from dataclasses import dataclass
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Func, IntegerField, Q, QuerySet, Subquery, TextField

from .days import day_bounds, study_day
from .models import Card, Choice, LearnerSettings, Question, Review

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


class CountOf(Subquery):
    """(SELECT COUNT(*) FROM (subquery)): a count as an expression, so the counters and the
    next card come back in one query. Each count is an index range scan of its own."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) counted)"
    output_field = IntegerField()


class ChoiceList(Func):
    """The question's choices as a JSON text [[position, text, is_correct], ...], fetched with
    the card instead of by a query of their own."""

    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra):
        template = (
            "(SELECT json_group_array(json_array(c.position, c.text, c.is_correct)) FROM "
            f"(SELECT position, text, is_correct FROM {Choice._meta.db_table} "
            "WHERE question_id = %(expressions)s ORDER BY position) c)"
        )
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        template = (
            "(SELECT COALESCE(json_agg(json_build_array(position, text, is_correct) "
            f"ORDER BY position), '[]')::text FROM {Choice._meta.db_table} "
            "WHERE question_id = %(expressions)s)"
        )
        return self.as_sql(compiler, connection, template=template, **extra)


def with_choices(cards: QuerySet[Card]) -> QuerySet[Card]:
    return cards.select_related("question__deck", "question__source").annotate(
        choice_list=ChoiceList(F("question_id"))
    )


def choices_of(card: Card) -> list[ChoiceRow]:
    """The choices a card was fetched with (see with_choices), in order."""
    return [ChoiceRow(p, t, bool(c)) for p, t, c in json.loads(card.choice_list or "[]")]


@dataclass(frozen=True)
class Snapshot:
    day: Today
    counts: Counts
    card: Card | None


def _first(cards: QuerySet[Card], order: str) -> Subquery:
    return Subquery(cards.order_by(order, "id").values("id")[:1])


def snapshot(
    user, settings: LearnerSettings, *, now: dt.datetime, only: Q = ALL, practice_since=None
) -> Snapshot:
    """Today's counts and the next card, in one query.

    The query returns the first card of each kind of work (learning due now, review due today,
    new, learning due soon), each row carrying the counts; the choice between them, which
    depends on the counts, is made here. practice_since: the start of a practice sitting, whose
    cards come once each in bank order, ignoring the schedule."""
    start, end = day_bounds(
        study_day(now, tz=settings.time_zone, starts_at=settings.day_starts_at),
        tz=settings.time_zone,
        starts_at=settings.day_starts_at,
    )
    cards = studiable(user, now=now, only=only).order_by()
    answers = Review.objects.filter(
        user=user, reviewed_at__gte=start, reviewed_at__lt=end
    ).order_by()
    figures = {
        "n_answered": CountOf(answers.values("id")),
        "n_introduced": CountOf(
            answers.filter(state=Card.State.NEW, is_practice=False).values("id")
        ),
    }
    if practice_since is not None:
        practised = Review.objects.filter(
            user=user, is_practice=True, reviewed_at__gte=practice_since
        )
        left = cards.exclude(id__in=practised.values("card_id"))
        figures["n_new"] = CountOf(left.values("id"))
        candidates = {"practice": _first(left, "id")}
    else:
        learning = cards.filter(state__in=LEARNING)
        figures |= {
            "n_learning": CountOf(learning.filter(due__lt=end).values("id")),
            "n_review": CountOf(cards.filter(state=Card.State.REVIEW, due__lt=end).values("id")),
            # Only up to the daily limit matters, so the count stops there.
            "n_new": CountOf(
                cards.filter(state=Card.State.NEW).values("id")[: settings.new_per_day]
            ),
        }
        candidates = {
            "learning": _first(learning.filter(due__lte=now), "due"),
            "review": _first(cards.filter(state=Card.State.REVIEW, due__lt=end), "due"),
            # New cards have no due date: ordering by it too lets one index serve every kind.
            "new": _first(cards.filter(state=Card.State.NEW), "due"),
            "ahead": _first(learning.filter(due__lte=now + LEARN_AHEAD), "due"),
        }
    which = Q()
    for candidate in candidates.values():
        which |= Q(id=candidate)
    rows = list(
        with_choices(Card.objects.filter(which, user=user)).annotate(
            **figures, **{f"{name}_id": c for name, c in candidates.items()}
        )
    )
    if rows:
        first = rows[0]
        found = {name: getattr(first, name) for name in figures}
    else:  # nothing to show, but the counters still need their figures
        first = None
        found = (
            get_user_model().objects.filter(pk=user.pk).annotate(**figures).values(*figures).get()
        )
    day = Today(start, end, found["n_answered"], found["n_introduced"])
    if practice_since is not None:
        counts = Counts(0, 0, found["n_new"])
        chosen = first.practice_id if first else None
    else:
        counts = Counts(
            learning=found["n_learning"],
            review=found["n_review"],
            new=min(found["n_new"], new_left(settings, day)),
        )
        chosen = first and _choose(first, counts, day)
    card = next((row for row in rows if row.id == chosen), None)
    return Snapshot(day=day, counts=counts, card=card)


def _choose(row: Card, counts: Counts, day: Today) -> int | None:
    """Learning cards due now first; then new cards mixed in among the reviews: one new card,
    then as many reviews as there are reviews per new card left, so both run out together;
    then learning cards due soon."""
    if row.learning_id:
        return row.learning_id
    if counts.new and (not counts.review or day.answered % (counts.review // counts.new + 1) == 0):
        return row.new_id
    return row.review_id or (row.new_id if counts.new else None) or row.ahead_id


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
