"""A learner's statistics: today's work, reviews per day, a year's heatmap, true retention, a
forecast, mastery per deck or document, and the hardest cards.

Every figure is one aggregate query (or a few) whatever the size of the history; Python only
reshapes the grouped rows (at most one per study day, deck, document or listed card).

Study days are grouped in SQL with the same rule as days.study_day: take the learner's local
wall-clock time, step back `day_starts_at` hours on that clock, keep the date. Subtracting the
hours from the UTC instant before converting would be an hour off on the day of a DST change.

Practice answers leave the schedule, so they are left out of retention, of new cards introduced
and of due work; they are still study, so they count in reviews per day, the heatmap, time
studied and streaks.

Every query filters by the learner: no one sees another learner's data.
"""

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import (
    Avg,
    Case,
    Count,
    DateField,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, Greatest, Power, RowNumber, TruncHour

from .days import day_bounds, study_day
from .models import Card, Deck, LearnerSettings, Question, Review, Source
from .scheduler import forgetting_curve

# Anki's line between young and mature cards, in days of interval.
MATURE_DAYS = 21
LEARNING = (Card.State.LEARNING, Card.State.RELEARNING)
SCHEDULED = (Card.State.LEARNING, Card.State.REVIEW, Card.State.RELEARNING)
PERIODS = {"today": 1, "week": 7, "month": 30, "year": 365}
HEATMAP_DAYS = 365
HEATMAP_LEVELS = 4


# --- shared pieces -------------------------------------------------------------------------


def retrievability_params() -> tuple[float, float]:
    """(DECAY, FACTOR) of FSRS-6's default parameters: R = (1 + FACTOR * days / S) ** DECAY."""
    return forgetting_curve()


class WholeDays(Func):
    """Whole days in a duration, rounded down as timedelta.days is (fsrs counts elapsed days
    so). Each backend holds durations differently, so each gets its own SQL; only the
    project's two backends, SQLite and PostgreSQL, are provided for."""

    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra_context):
        # A duration is integer microseconds here; integer division rounds toward zero, and
        # callers clamp negative durations to 0, so this is floor for the values that matter.
        return self.as_sql(
            compiler, connection, template="(%(expressions)s / 86400000000)", **extra_context
        )

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="FLOOR(EXTRACT(EPOCH FROM %(expressions)s) / 86400)",
            **extra_context,
        )


def retrievability_now(now: dt.datetime, prefix: str = "") -> Combinable:
    """FSRS-6 retrievability of a card at `now`, in SQL. `prefix` reaches the card through a
    relation (e.g. "mine__"). Only meaningful for cards with a last review and a stability."""
    decay, factor = retrievability_params()
    elapsed = WholeDays(
        ExpressionWrapper(Value(now) - F(f"{prefix}last_review"), output_field=DurationField())
    )
    # A last review after `now` (clock skew) counts as 0 days, as in fsrs.
    elapsed = Greatest(elapsed, Value(0.0), output_field=FloatField())
    base = Value(1.0) + Value(factor) * elapsed / Cast(F(f"{prefix}stability"), FloatField())
    return Power(base, Value(decay), output_field=FloatField())


def study_day_of(field: str, settings: LearnerSettings) -> Combinable:
    """The study day of a datetime column, in SQL, as days.study_day computes it in Python.

    TruncHour with tzinfo yields the local wall-clock time (naive) in SQL on both backends;
    the hours are subtracted on that clock, then the date is kept. Whole hours suffice since
    day_starts_at is a whole hour."""
    local = TruncHour(field, tzinfo=ZoneInfo(settings.time_zone))
    shifted = ExpressionWrapper(
        local - Value(dt.timedelta(hours=settings.day_starts_at)), output_field=DateTimeField()
    )
    return Cast(shifted, DateField())


def _today(settings: LearnerSettings, now: dt.datetime) -> dt.date:
    return study_day(now, tz=settings.time_zone, starts_at=settings.day_starts_at)


def _bounds(
    settings: LearnerSettings, first: dt.date, last: dt.date
) -> tuple[dt.datetime, dt.datetime]:
    """[start of `first`, end of `last`) in UTC."""
    tz, starts_at = settings.time_zone, settings.day_starts_at
    start = day_bounds(first, tz=tz, starts_at=starts_at)[0]
    return start, day_bounds(last, tz=tz, starts_at=starts_at)[1]


def _days_ago(day: dt.date, n: int) -> dt.date:
    return day - dt.timedelta(days=n)


def _reviews_by_day(
    user: AbstractBaseUser, settings: LearnerSettings, first: dt.date, last: dt.date
) -> QuerySet[Review]:
    """The learner's reviews in study days first..last, annotated with their study day."""
    start, end = _bounds(settings, first, last)
    # Filtering on the UTC bounds keeps the (user, reviewed_at) index usable.
    return Review.objects.filter(user=user, reviewed_at__gte=start, reviewed_at__lt=end).annotate(
        day=study_day_of("reviewed_at", settings)
    )


# --- 1. today ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Today:
    day: dt.date
    due_today: int  # learning and review cards due before the study day ends
    new_left: int  # new cards that may still be introduced today
    reviewed_today: int  # answers given today, practice included
    seconds_today: float  # time spent answering today, practice included
    streak: int  # study days in a row with an answer, ending today or yesterday
    longest_streak: int


def today(*, user: AbstractBaseUser, settings: LearnerSettings, now: dt.datetime) -> Today:
    """Today's figures. Due work counts what the queue can still show today: cards of retired
    questions, suspended cards and cards buried for the day are left out."""
    day = _today(settings, now)
    start, end = _bounds(settings, day, day)
    done = Review.objects.filter(user=user, reviewed_at__gte=start, reviewed_at__lt=end).aggregate(
        reviewed=Count("id"),
        ms=Sum("duration_ms"),
        introduced=Count("id", filter=Q(state=Card.State.NEW, is_practice=False)),
    )
    shown = Card.objects.filter(user=user, question__is_active=True, is_suspended=False).exclude(
        buried_until__gt=now
    )
    due = shown.filter(state__in=SCHEDULED, due__lt=end).count()
    # New cards on offer: the learner's available new cards, plus active questions they have
    # no card for yet (cards are created lazily when the bank grows).
    taken = Card.objects.filter(user=user, question=OuterRef("pk")).exclude(
        Q(state=Card.State.NEW, is_suspended=False)
        & (Q(buried_until__isnull=True) | Q(buried_until__lte=now))
    )
    available = Question.objects.filter(is_active=True).exclude(Exists(taken)).count()
    new_left = min(max(0, settings.new_per_day - done["introduced"]), available)
    streak, longest = _streaks(user, settings, day)
    return Today(
        day=day,
        due_today=due,
        new_left=new_left,
        reviewed_today=done["reviewed"],
        seconds_today=(done["ms"] or 0) / 1000,
        streak=streak,
        longest_streak=longest,
    )


def _streaks(user: AbstractBaseUser, settings: LearnerSettings, day: dt.date) -> tuple[int, int]:
    """(current, longest) runs of study days with an answer. One row per study day studied
    comes back from the database; the runs are counted over those rows."""
    days = (
        Review.objects.filter(user=user, reviewed_at__lt=_bounds(settings, day, day)[1])
        .annotate(day=study_day_of("reviewed_at", settings))
        .values_list("day", flat=True)
        .distinct()
        .order_by("day")
    )
    longest = run = 0
    previous = None
    for studied in days:
        run = run + 1 if previous and studied - previous == dt.timedelta(days=1) else 1
        longest = max(longest, run)
        previous = studied
    # The current streak survives until today is over: it may end yesterday.
    current = run if previous and (day - previous).days <= 1 else 0
    return current, longest


# --- 2. reviews per day --------------------------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    day: dt.date
    new: int  # answers to cards that were new
    learning: int  # answers to learning and relearning cards
    review: int  # answers to review cards

    @property
    def total(self) -> int:
        return self.new + self.learning + self.review


def reviews_per_day(
    *, user: AbstractBaseUser, settings: LearnerSettings, now: dt.datetime, days: int
) -> list[DayCount]:
    """Answers on each of the last `days` study days (today last), every day present, split
    by the card's state before the answer. Practice answers count."""
    if days < 1:
        raise ValueError("days must be at least 1")
    last = _today(settings, now)
    first = _days_ago(last, days - 1)
    rows = (
        _reviews_by_day(user, settings, first, last)
        .values("day")
        .annotate(
            new=Count("id", filter=Q(state=Card.State.NEW)),
            learning=Count("id", filter=Q(state__in=LEARNING)),
            review=Count("id", filter=Q(state=Card.State.REVIEW)),
        )
        .order_by()
    )
    found = {row["day"]: row for row in rows}
    result = []
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        row = found.get(day, {"new": 0, "learning": 0, "review": 0})
        result.append(DayCount(day, row["new"], row["learning"], row["review"]))
    return result


# --- 3. heatmap ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HeatCell:
    day: dt.date
    count: int
    level: int  # 0 (none) to HEATMAP_LEVELS (the busiest days), for the cell's shade


def heatmap(
    *, user: AbstractBaseUser, settings: LearnerSettings, now: dt.datetime
) -> list[list[HeatCell | None]]:
    """Answers per study day over the last 365 study days, as calendar columns: a list of
    weeks, Monday first, each seven cells; cells outside the year (before its first day, after
    today) are None. Practice answers count."""
    last = _today(settings, now)
    first = _days_ago(last, HEATMAP_DAYS - 1)
    rows = (
        _reviews_by_day(user, settings, first, last)
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {row["day"]: row["n"] for row in rows}
    busiest = max(counts.values(), default=0)

    def level(count: int) -> int:
        return math.ceil(HEATMAP_LEVELS * count / busiest) if count else 0

    monday = first - dt.timedelta(days=first.weekday())
    weeks: list[list[HeatCell | None]] = []
    while monday <= last:
        week: list[HeatCell | None] = []
        for offset in range(7):
            day = monday + dt.timedelta(days=offset)
            if first <= day <= last:
                count = counts.get(day, 0)
                week.append(HeatCell(day, count, level(count)))
            else:
                week.append(None)
        weeks.append(week)
        monday += dt.timedelta(days=7)
    return weeks


# --- 4. retention --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    passed: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.passed / self.total if self.total else None


def retention(
    *, user: AbstractBaseUser, settings: LearnerSettings, now: dt.datetime
) -> dict[str, dict[str, Rate]]:
    """True retention, as Anki defines it: of the answers to cards in review state (practice
    left out), only the first answer to each card in each study day counts; it passed unless
    rated Again. Returns {period: {"young" | "mature" | "all": Rate}} for the periods "today",
    "week" (last 7 study days), "month" (30) and "year" (365). Young means the card had been
    scheduled for under 21 days (an unknown interval counts as young)."""
    last = _today(settings, now)
    first_of_year = _days_ago(last, PERIODS["year"] - 1)
    firsts = (
        _reviews_by_day(user, settings, first_of_year, last)
        .filter(state=Card.State.REVIEW, is_practice=False)
        .annotate(
            nth=Window(
                RowNumber(),
                partition_by=[F("card_id"), F("day")],
                order_by=[F("reviewed_at").asc(), F("id").asc()],
            )
        )
        .filter(nth=1)
    )
    mature = Q(last_interval__gte=MATURE_DAYS)
    groups = {"young": ~mature | Q(last_interval__isnull=True), "mature": mature, "all": Q()}
    passed = Q(rating__gt=Review.Rating.AGAIN)
    aggregates = {}
    for period, length in PERIODS.items():
        since = Q(day__gte=_days_ago(last, length - 1))
        for group, condition in groups.items():
            aggregates[f"{period}_{group}_total"] = Count("id", filter=since & condition)
            aggregates[f"{period}_{group}_passed"] = Count("id", filter=since & condition & passed)
    found = firsts.aggregate(**aggregates)
    return {
        period: {
            group: Rate(found[f"{period}_{group}_passed"], found[f"{period}_{group}_total"])
            for group in groups
        }
        for period in PERIODS
    }


# --- 5. forecast ---------------------------------------------------------------------------


def forecast(
    *, user: AbstractBaseUser, settings: LearnerSettings, now: dt.datetime, days: int = 30
) -> list[tuple[dt.date, int]]:
    """Learning and review cards due on each of the next `days` study days, today first; today
    includes everything overdue. Suspended cards and retired questions are left out; buried
    cards count on the day they are due (the schedule, not today's queue)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    first = _today(settings, now)
    last = first + dt.timedelta(days=days - 1)
    start, end = _bounds(settings, first, last)
    rows = (
        Card.objects.filter(
            user=user,
            question__is_active=True,
            is_suspended=False,
            state__in=SCHEDULED,
            due__lt=end,
        )
        .annotate(
            day=Case(
                When(due__lt=start, then=Value(first)),
                default=study_day_of("due", settings),
                output_field=DateField(),
            )
        )
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {row["day"]: row["n"] for row in rows}
    return [
        (day, counts.get(day, 0))
        for day in (first + dt.timedelta(days=offset) for offset in range(days))
    ]


# --- 6. mastery ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mastery:
    slug: str
    name: str
    unseen: int  # no card yet, or a card never answered
    learning: int  # learning and relearning
    young: int  # review cards scheduled for under 21 days
    mature: int  # review cards scheduled for 21 days or more
    retrievability: float | None  # average chance of recall now, of the cards answered

    @property
    def total(self) -> int:
        return self.unseen + self.learning + self.young + self.mature

    def _share(self, count: int) -> float:
        return count / self.total if self.total else 0.0

    @property
    def unseen_share(self) -> float:
        return self._share(self.unseen)

    @property
    def learning_share(self) -> float:
        return self._share(self.learning)

    @property
    def young_share(self) -> float:
        return self._share(self.young)

    @property
    def mature_share(self) -> float:
        return self._share(self.mature)


def mastery(
    *,
    user: AbstractBaseUser,
    settings: LearnerSettings,
    now: dt.datetime,
    by: Literal["deck", "source"],
) -> list[Mastery]:
    """Cards of active questions by state, per deck or per document (in the bank's order).
    Suspended cards count by their state: suspending a card doesn't erase what is known."""
    if by not in ("deck", "source"):
        raise ValueError("by must be 'deck' or 'source'")
    # One card per learner per question, so the filtered join keeps one row per question.
    questions = Question.objects.filter(is_active=True).annotate(
        mine=FilteredRelation("cards", condition=Q(cards__user=user))
    )
    mature_due = F("mine__last_review") + dt.timedelta(days=MATURE_DAYS)
    review = Q(mine__state=Card.State.REVIEW)
    answered = Q(
        mine__state__in=SCHEDULED,
        mine__stability__isnull=False,
        mine__last_review__isnull=False,
    )
    rows = (
        questions.values(by)
        .annotate(
            unseen=Count("id", filter=Q(mine__isnull=True) | Q(mine__state=Card.State.NEW)),
            learning=Count("id", filter=Q(mine__state__in=LEARNING)),
            young=Count("id", filter=review & Q(mine__due__lt=mature_due)),
            mature=Count("id", filter=review & Q(mine__due__gte=mature_due)),
            retrievability=Avg(retrievability_now(now, "mine__"), filter=answered),
        )
        .order_by()
    )
    found = {row[by]: row for row in rows}
    model = Deck if by == "deck" else Source
    groups = model.objects.filter(pk__in=found)
    return [
        Mastery(
            slug=group.slug,
            name=group.name if by == "deck" else group.display_title,
            unseen=found[group.pk]["unseen"],
            learning=found[group.pk]["learning"],
            young=found[group.pk]["young"],
            mature=found[group.pk]["mature"],
            retrievability=found[group.pk]["retrievability"],
        )
        for group in groups
    ]


# --- 7. hardest cards ----------------------------------------------------------------------


@dataclass(frozen=True)
class HardCard:
    card_id: int
    uid: str
    prompt: str
    source_slug: str
    source_quote: str
    lapses: int
    retrievability: float | None  # None for a card never answered


@dataclass(frozen=True)
class Hardest:
    most_lapses: list[HardCard]
    least_retrievable: list[HardCard]


def hardest(
    *, user: AbstractBaseUser, settings: LearnerSettings, now: dt.datetime, limit: int = 10
) -> Hardest:
    """The learner's cards forgotten most often (at least once), and those least likely to be
    recalled now. Suspended cards (leeches among them) are included: they are the hardest."""
    answered = Q(state__in=SCHEDULED, stability__isnull=False, last_review__isnull=False)
    cards = (
        Card.objects.filter(user=user, question__is_active=True)
        .annotate(
            recall=Case(
                When(answered, then=retrievability_now(now)),
                default=None,
                output_field=FloatField(),
            )
        )
        .values(
            "id",
            "question__uid",
            "question__prompt",
            "question__source__slug",
            "question__source_quote",
            "lapses",
            "recall",
        )
    )
    most = cards.filter(lapses__gt=0).order_by("-lapses", F("recall").asc(nulls_last=True), "id")
    least = cards.filter(answered).order_by("recall", "-lapses", "id")
    return Hardest(
        most_lapses=[_hard(row) for row in most[:limit]],
        least_retrievable=[_hard(row) for row in least[:limit]],
    )


def _hard(row: dict) -> HardCard:
    return HardCard(
        card_id=row["id"],
        uid=row["question__uid"],
        prompt=row["question__prompt"],
        source_slug=row["question__source__slug"],
        source_quote=row["question__source_quote"],
        lapses=row["lapses"],
        retrievability=row["recall"],
    )
