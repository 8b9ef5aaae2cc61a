"""A learner's statistics: today's work, reviews per day, a year's heatmap, true retention, a
forecast, mastery per deck or document, and the hardest cards.

Every figure is one aggregate query (or a few) whatever the size of the history; Python only
reshapes the grouped rows (at most one per study day, deck, document or listed card). The
review history's figures (sections 1-4) read past study days from studyapp.history's summary,
one row per day, and count only the current day from its reviews.

Study days are grouped in SQL with the same rule as days.study_day: take the learner's local
wall-clock time, step back `day_starts_at` hours on that clock, keep the date. Subtracting the
hours from the UTC instant before converting would be an hour off on the day of a DST change.

Practice answers leave the schedule, so they are left out of retention, of new cards introduced
and of due work; they are still study, so they count in reviews per day, the heatmap, time
studied and streaks.

Every query filters by the learner: no one sees another learner's data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection
from django.db.models import (
    Count,
    DateField,
    DateTimeField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    Value,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, Greatest, Power, TruncHour
from django.urls import get_script_prefix, reverse

from . import card_lists, history, queue, sql_rows, tally
from .days import day_bounds, study_day
from .models import BankRevision, Card, Deck, LearnerSettings, Question, Source
from .scheduler import forgetting_curve

# Anki's line between young and mature cards, in days of interval.
MATURE_DAYS = 21
LEARNING = (Card.State.LEARNING, Card.State.RELEARNING)
SCHEDULED = (Card.State.LEARNING, Card.State.REVIEW, Card.State.RELEARNING)
# A card with a recall to reckon: answered at least once, and not reset since.
ANSWERED = Q(state__in=SCHEDULED, stability__isnull=False, last_review__isnull=False)
PERIODS = {"today": 1, "week": 7, "month": 30, "year": 365}
HEATMAP_DAYS = 365
HEATMAP_LEVELS = 4
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --- shared pieces -------------------------------------------------------------------------


def retrievability_params() -> tuple[float, float]:
    """(DECAY, FACTOR) of FSRS-6's default parameters: R = (1 + FACTOR * days / S) ** DECAY."""
    return forgetting_curve()


class WholeDays(Func):
    """Whole days from the first datetime to the second, as timedelta.days counts them for a
    span of zero or more (fsrs counts elapsed days so). A negative span comes out below 0 (0
    or less on PostgreSQL, which rounds it toward zero): callers clamp it or compare it with a
    positive number of days. Each backend gets its own SQL, built from its native date
    functions: Django's datetime arithmetic on SQLite calls back into Python for every row,
    and PostgreSQL's numeric EXTRACT(EPOCH) costs several times date_part. Only the project's
    two backends, SQLite and PostgreSQL, are provided for."""

    arity = 2
    output_field = FloatField()

    def _compiled(self, compiler):
        return [compiler.compile(expression) for expression in self.get_source_expressions()]

    @staticmethod
    def text(vendor: str, start: str, end: str) -> str:
        """The SQL for two SQL expressions; `end` comes first, then `start` twice, then `end`
        again on SQLite, and `end` then `start` on PostgreSQL."""
        if vendor == "postgresql":
            # The difference of two timestamps is whole days plus a time under a day (the
            # session is in UTC, so every day is 24 hours).
            return f"date_part('day', {end} - {start})"
        # Datetimes are stored as "YYYY-MM-DD HH:MM:SS[.ffffff]" text in UTC. The whole days
        # are the days between the two dates, one fewer when the start's time of day is later
        # than the end's (text order is time order here, as in Django's own lookups).
        # julianday() is exact on a bare date; on a timestamp it rounds to the millisecond.
        return (
            f"(CAST(julianday(substr({end}, 1, 10)) - julianday(substr({start}, 1, 10)) AS "
            f"INTEGER) - (substr({start}, 12) > substr({end}, 12)))"
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        (start, start_params), (end, end_params) = self._compiled(compiler)
        sql = self.text("sqlite", start, end)
        return sql, (*end_params, *start_params, *start_params, *end_params)

    def as_postgresql(self, compiler, connection, **extra_context):
        (start, start_params), (end, end_params) = self._compiled(compiler)
        return self.text("postgresql", start, end), (*end_params, *start_params)


def _sqlite_has_pow() -> bool:
    """Whether the SQLite library has its math functions (most builds since 3.35 do)."""
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        try:
            db.execute("SELECT pow(2, 2)")
        except sqlite3.OperationalError:
            return False
    return True


class Pow(Power):
    """Power, through SQLite's own pow() where the library has it: Django's POWER on SQLite
    calls back into Python for every row."""

    native_on_sqlite = _sqlite_has_pow()

    def as_sqlite(self, compiler, connection, **extra_context):
        if self.native_on_sqlite:
            extra_context["function"] = "pow"
        return self.as_sql(compiler, connection, **extra_context)


def forgetting_ratio(now: dt.datetime) -> Combinable:
    """Whole days since the card's last review per day of its stability, in SQL. Recall falls
    as it grows (R = (1 + FACTOR * ratio) ** DECAY), so ordering by it orders by recall without
    a power per row. Only meaningful for cards with a last review and a stability."""
    elapsed = WholeDays(F("last_review"), Value(now, output_field=DateTimeField()))
    # A last review after `now` (clock skew) counts as 0 days, as in fsrs.
    elapsed = Greatest(elapsed, Value(0.0), output_field=FloatField())
    return ExpressionWrapper(elapsed / Cast(F("stability"), FloatField()), FloatField())


def retrievability_now(now: dt.datetime) -> Combinable:
    """FSRS-6 retrievability of a card at `now`, in SQL. Only meaningful for cards with a last
    review and a stability."""
    decay, factor = retrievability_params()
    base = Value(1.0) + Value(factor) * forgetting_ratio(now)
    return Pow(base, Value(decay), output_field=FloatField())


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


def _history(user, settings, now, studied, **kwargs) -> dict[dt.date, history.Figures]:
    """The figures per study day: `studied` when the caller read them already (one read of
    history.days(..., retention=True) serves a whole page), else read now."""
    return studied if studied is not None else history.days(user, settings, now, **kwargs)


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


def today(
    *,
    user: AbstractBaseUser,
    settings: LearnerSettings,
    now: dt.datetime,
    without_card: int | None = None,
    studied: dict[dt.date, history.Figures] | None = None,
    kept: dict[tuple[int, int], dict] | None = None,
    new_left: int | None = None,
) -> Today:
    """Today's figures. Due work counts what the queue can still show today: cards of retired
    questions, suspended cards and cards buried for the day are left out. without_card: how
    many active questions the learner has no card for, when the caller knows (0 right after
    queue.ensure_cards); counted here otherwise. kept: the learner's tallies, when the caller
    read them already (tally.tallies). new_left: the new cards left for today, when the caller
    has the queue's counts at `now` after queue.ensure_cards (queue.snapshot's `new`, which
    counts them alike); counted here otherwise."""
    day = _today(settings, now)
    # Every study day with answers, for the streaks: past days from the summary, today live.
    studied = _history(user, settings, now, studied)
    figures = studied.get(day, history.Figures())
    done = {
        "reviewed": figures.answers,
        "ms": figures.duration_ms,
        "introduced": figures.introduced,
    }
    if new_left is None:
        new_left = _new_left(user, settings, now, done["introduced"], without_card)
    # The due work is kept counted (tally.py): counting it here read every overdue card.
    due = tally.due_today(tally.tallies(user, settings, now) if kept is None else kept)
    streak, longest = _streaks(sorted(d for d, f in studied.items() if f.answers), day)
    return Today(
        day=day,
        due_today=due,
        new_left=new_left,
        reviewed_today=done["reviewed"],
        seconds_today=(done["ms"] or 0) / 1000,
        streak=streak,
        longest_streak=longest,
    )


def _new_left(
    user: AbstractBaseUser,
    settings: LearnerSettings,
    now: dt.datetime,
    introduced: int,
    without_card: int | None,
) -> int:
    """The new cards on offer, counted only as far as the limit: the learner's available new
    cards, plus active questions they have no card for yet (cards are created lazily when the
    bank grows; one per question, so those are the difference of two counts). One query."""
    limit = max(0, settings.new_per_day - introduced)
    shown = queue.studiable(user, now=now).order_by().values("id")
    counts = {"new": queue.CountOf(shown.filter(state=Card.State.NEW)[:limit])}
    if without_card is None:
        counts |= {
            "active": queue.CountOf(
                Question.objects.filter(is_active=True).order_by().values("id")
            ),
            "kept": queue.CountOf(Card.objects.filter(user=user, is_retired=False).values("id")),
        }
    found = get_user_model().objects.filter(pk=user.pk).values(**counts).get()
    if without_card is None:
        without_card = found["active"] - found["kept"]
    # A limit of 0 leaves nothing to count: the ORM then gives NULL for that count.
    return min(limit, (found["new"] or 0) + without_card)


def _streaks(days: list[dt.date], day: dt.date) -> tuple[int, int]:
    """(current, longest) runs of study days with an answer, given those days (in order,
    through `day`, today)."""
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
    *,
    user: AbstractBaseUser,
    settings: LearnerSettings,
    now: dt.datetime,
    days: int,
    studied: dict[dt.date, history.Figures] | None = None,
) -> list[DayCount]:
    """Answers on each of the last `days` study days (today last), every day present, split
    by the card's state before the answer. Practice answers count."""
    if days < 1:
        raise ValueError("days must be at least 1")
    last = _today(settings, now)
    first = _days_ago(last, days - 1)
    found = _history(user, settings, now, studied, first=first)
    result = []
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        figures = found.get(day, history.Figures())
        result.append(DayCount(day, figures.new, figures.learning, figures.review))
    return result


# --- 3. heatmap ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HeatCell:
    day: dt.date
    count: int
    level: int  # 0 (none) to HEATMAP_LEVELS (the busiest days), for the cell's shade
    title: str  # "3 Mar 2024: 12", made here: a date filter per cell was much of the page's time


def heatmap(
    *,
    user: AbstractBaseUser,
    settings: LearnerSettings,
    now: dt.datetime,
    studied: dict[dt.date, history.Figures] | None = None,
) -> list[list[HeatCell | None]]:
    """Answers per study day over the last 365 study days, as calendar columns: a list of
    weeks, Monday first, each seven cells; cells outside the year (before its first day, after
    today) are None. Practice answers count."""
    last = _today(settings, now)
    first = _days_ago(last, HEATMAP_DAYS - 1)
    found = _history(user, settings, now, studied, first=first)
    counts = {day: figures.answers for day, figures in found.items() if day >= first}
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
                title = f"{day.day} {MONTHS[day.month - 1]} {day.year}: {count}"
                week.append(HeatCell(day, count, level(count), title))
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
    *,
    user: AbstractBaseUser,
    settings: LearnerSettings,
    now: dt.datetime,
    studied: dict[dt.date, history.Figures] | None = None,
) -> dict[str, dict[str, Rate]]:
    """True retention, as Anki defines it: of the answers to cards in review state (practice
    left out), only the first answer to each card in each study day counts; it passed unless
    rated Again. Returns {period: {"young" | "mature" | "all": Rate}} for the periods "today",
    "week" (last 7 study days), "month" (30) and "year" (365). Young means the card had been
    scheduled for under 21 days (an unknown interval counts as young)."""
    last = _today(settings, now)
    first_of_year = _days_ago(last, PERIODS["year"] - 1)
    # Each study day's first answers (the summary's, today's live) are summed per period.
    found = _history(
        user, settings, now, studied, first=first_of_year, counts=False, retention=True
    ).items()
    result = {}
    for period, length in PERIODS.items():
        since = _days_ago(last, length - 1)
        young = Rate(
            sum(f.young_passed for day, f in found if day >= since),
            sum(f.young_total for day, f in found if day >= since),
        )
        mature = Rate(
            sum(f.mature_passed for day, f in found if day >= since),
            sum(f.mature_total for day, f in found if day >= since),
        )
        result[period] = {
            "young": young,
            "mature": mature,
            "all": Rate(young.passed + mature.passed, young.total + mature.total),
        }
    return result


# --- 5. forecast ---------------------------------------------------------------------------


def forecast(
    *,
    user: AbstractBaseUser,
    settings: LearnerSettings,
    now: dt.datetime,
    days: int = 30,
    kept: dict[tuple[int, int], dict] | None = None,
) -> list[tuple[dt.date, int]]:
    """Learning and review cards due on each of the next `days` study days, today first; today
    includes everything overdue. Suspended cards and retired questions are left out; buried
    cards count on the day they are due (the schedule, not today's queue). kept: as for
    today()."""
    if days < 1:
        raise ValueError("days must be at least 1")
    first = _today(settings, now)
    tz, starts_at = settings.time_zone, settings.day_starts_at
    ends = [
        connection.ops.adapt_datetimefield_value(
            day_bounds(first + dt.timedelta(days=i), tz=tz, starts_at=starts_at)[1]
        )
        for i in range(days)
    ]
    # Today's count, every overdue card, is kept counted (tally.py). A later card falls on the
    # first study day that ends after it is due: each day is a range of the queue index's due
    # dates, computed here in UTC, so no card's time zone is converted in SQL. Counting each
    # range reads only index entries; grouping the month's cards by day cost four times as
    # much on SQLite (11 against 2.7 ms at 100k).
    kept = tally.tallies(user, settings, now) if kept is None else kept
    counts = [sum(row["due"] for row in kept.values())]
    if days > 1:
        params = {"user": user.pk} | {f"end{i}": end for i, end in enumerate(ends)}
        with connection.cursor() as cursor:
            sql_rows.execute(cursor, _forecast_sql(days), params)
            counts += cursor.fetchone()
    return [(first + dt.timedelta(days=i), counts[i]) for i in range(days)]


@functools.cache
def _forecast_sql(days: int) -> str:
    """The counts of days 1 to `days` - 1, each a range of due dates between two study days'
    ends (parameters end0 to end{days - 1}). Prepared on PostgreSQL, where planning its 29
    subqueries took as long as running them."""
    q = connection.ops.quote_name
    card, due = q(Card._meta.db_table), q("due")
    scheduled = ", ".join(str(int(state)) for state in SCHEDULED)
    shown = (
        f"{q('user_id')} = %(user)s AND {q('state')} IN ({scheduled}) "
        f"AND NOT {q('is_retired')} AND NOT {q('is_suspended')}"
    )
    return "SELECT " + ", ".join(
        f"(SELECT COUNT(*) FROM {card} WHERE {shown} AND {due} >= %(end{i - 1})s AND {due} < %(end{i})s)"
        for i in range(1, days)
    )


# --- 6. mastery ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mastery:
    slug: str
    name: str
    unseen: int  # no card yet, or a card never answered
    learning: int  # learning and relearning
    young: int  # review cards scheduled for under 21 days
    mature: int  # review cards scheduled for 21 days or more
    retrievability: (
        float | None
    )  # average chance of recall at the end of the study day, of the cards answered

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
    return _mastery(user, settings, now, [by])[by]


def masteries(
    *,
    user: AbstractBaseUser,
    settings: LearnerSettings,
    now: dt.datetime,
    without_card: int | None = None,
    kept: dict[tuple[int, int], dict] | None = None,
) -> dict[str, list[Mastery]]:
    """mastery() per deck and per document at once, {"deck": [...], "source": [...]}: the
    learner's tallies serve both. without_card: 0 when the caller has just run
    queue.ensure_cards (as for today()); looked for otherwise. kept: as for today()."""
    return _mastery(user, settings, now, ["deck", "source"], without_card, kept)


def every_card(user: AbstractBaseUser) -> QuerySet[Card]:
    """The learner's cards, for a figure that reads every one of them. SQLite reaches them
    through one of the indexes that start with the learner, often a queue index, and so
    visits the table in that index's order, at random; asked for the learner's card ids, it
    reads the table in id order, in half the time at 100k cards. PostgreSQL plans the plain
    filter well and the id list badly."""
    cards = Card.objects.filter(user=user)
    if connection.vendor == "sqlite":
        return Card.objects.filter(pk__in=cards.values("pk"))
    return cards


def _mastery(
    user: AbstractBaseUser,
    settings: LearnerSettings,
    now: dt.datetime,
    groupings: list[str],
    without_card: int | None = None,
    kept: dict[tuple[int, int], dict] | None = None,
) -> dict[str, list[Mastery]]:
    # The figures are kept per (deck, document) pair, of which there are few (tally.py), and
    # summed per grouping here. Recall is reckoned at the end of the study day.
    kept = tally.tallies(user, settings, now) if kept is None else kept
    pairs = {key: dict(row) for key, row in kept.items()}  # added to below
    # Active questions the learner has no card for yet (cards are made lazily) are unseen.
    # Once queue.ensure_cards has run at the bank's revision there are none, and the bank is
    # not read.
    if without_card is None and settings.cards_for_revision != BankRevision.current():
        without_card = (
            Question.objects.filter(is_active=True)
            .exclude(cards__user=user)
            .values("deck", "source")
            .annotate(n=Count("id"))
            .order_by()
        )
        for pair in without_card:
            key = (pair["deck"], pair["source"])
            pairs.setdefault(key, {"deck": key[0], "source": key[1]})
            pairs[key]["without_card"] = pair["n"]
    sums: dict[str, dict[int, Counter]] = {by: defaultdict(Counter) for by in groupings}
    for row in pairs.values():
        figures = {
            "unseen": row.get("new", 0) + row.get("without_card", 0),
            "learning": row.get("learning", 0),
            "young": row.get("young", 0),
            "mature": row.get("mature", 0),
            "recall_sum": row.get("recall_sum") or 0.0,
            "recall_n": row.get("recall_n", 0),
        }
        for by in groupings:
            sums[by][row[by]].update(figures)
    groups = {"deck": Deck.objects.all(), "source": Source.objects.defer("text")}
    return {
        by: [
            Mastery(
                slug=group.slug,
                name=group.name if by == "deck" else group.display_title,
                unseen=found["unseen"],
                learning=found["learning"],
                young=found["young"],
                mature=found["mature"],
                retrievability=(
                    found["recall_sum"] / found["recall_n"] if found["recall_n"] else None
                ),
            )
            for group in groups[by].filter(pk__in=sums[by])
            for found in [sums[by][group.pk]]
        ]
        for by in groupings
    }


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
    url: str  # the question in its document's page


@dataclass(frozen=True)
class Hardest:
    most_lapses: list[HardCard]
    least_retrievable: list[HardCard]


def hardest(
    *,
    user: AbstractBaseUser,
    settings: LearnerSettings,
    now: dt.datetime,
    limit: int = 10,
    kept: dict[tuple[int, int], dict] | None = None,
) -> Hardest:
    """The learner's cards forgotten most often (at least once), and those least likely to be
    recalled today (tally.least_recalled), recall reckoned at the end of the study day.
    Suspended cards (leeches among them) are included: they are the hardest. kept: as for
    today()."""
    at = tally.as_of(settings, now)
    most = _hard_cards(card_lists.most_lapsed(user.pk, at, limit), at)
    most.sort(key=lambda c: (-c.lapses, c.retrievability is None, c.retrievability or 0, c.card_id))
    least = tally.least_recalled(user, settings, now, limit, kept=kept)
    return Hardest(most_lapses=most, least_retrievable=_hard_cards(least, at))


def _hard_cards(cards: list[card_lists.Listed], at: dt.datetime) -> list[HardCard]:
    return [
        HardCard(
            card_id=card.id,
            uid=card.uid,
            prompt=card.prompt,
            source_slug=card.source_slug,
            source_quote=card.source_quote,
            lapses=card.lapses,
            retrievability=tally.recall(card, at),
            url=f"{_source_url(get_script_prefix(), card.source_slug)}#q-{card.uid}",
        )
        for card in cards
    ]


@functools.lru_cache(maxsize=1024)
def _source_url(prefix: str, slug: str) -> str:
    # Reversed once per document (under the script prefix the server gives): a reverse() per
    # listed card was a quarter of the progress page's rendering.
    return reverse("source", args=[slug])
