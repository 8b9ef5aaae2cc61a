"""A learner's past study days, summed up once into StudyDay rows, so the history figures
(streaks, reviews per day, the heatmap, true retention) read one row per day instead of every
answer ever given.

Rows are kept for the days before the current study day, counted under the learner's current
time zone and day start; rows counted under other settings are ignored, and dropped when the
summary is next counted from the beginning. `days()` fills them lazily: it counts the reviews
from the day after the latest row through the last settled day, and always writes a row for
that day, answers or not, so the latest row says how far the summary goes. The current day
(and the one before it, for GRACE after it ended) is counted live from its own reviews.

A grade is stamped when it is applied, never before the card's last answer, so it always falls
in the current day and leaves the rows alone. What does write reviews into past days, undo
(the last answer may be yesterday's) and restore_progress, calls `forget`.
"""

import datetime as dt
import functools
from dataclasses import asdict, dataclass, fields
from zoneinfo import ZoneInfo

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, connections, router, transaction
from django.db.models import (
    Case,
    Count,
    DateField,
    F,
    Func,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import RowNumber

from . import sql_rows, stats
from .days import day_bounds, study_day
from .models import Card, LearnerSettings, Review, StudyDay

# A grade stamped just before a day ends may commit just after it: a day is summed up only
# once this much time has passed since it ended, longer than any request runs.
GRACE = dt.timedelta(minutes=10)
# The study day of an instant under any setting lies within two days before its UTC date and
# one after (UTC offsets run from -12 to +14 hours, day starts from 0 to 23 hours).
ANY_SETTINGS_DAYS_BEFORE = 2


@dataclass
class Figures:
    """One study day's answers, as StudyDay holds them (plus `introduced`, counted live)."""

    answers: int = 0  # practice included
    new: int = 0  # answers by the card's state before the answer
    learning: int = 0
    review: int = 0
    duration_ms: int = 0
    # The first non-practice answer of the day to each card in review state.
    young_total: int = 0
    young_passed: int = 0
    mature_total: int = 0
    mature_passed: int = 0
    introduced: int = 0  # new cards answered, practice left out; today's only

    def add(self, other: "Figures") -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


STORED = [f.name for f in fields(Figures) if f.name != "introduced"]


def days(
    user: AbstractBaseUser,
    settings: LearnerSettings,
    now: dt.datetime,
    *,
    first: dt.date | None = None,
    counts: bool = True,
    retention: bool = False,
) -> dict[dt.date, Figures]:
    """The learner's figures per study day, from `first` (None: from the first answer) through
    today; a day may be missing when nothing was answered on it. The live days get only the
    figures asked for: the answer counts, or true retention's, or both."""
    tz, starts_at = settings.time_zone, settings.day_starts_at
    today = study_day(now, tz=tz, starts_at=starts_at)
    settled = study_day(now - GRACE, tz=tz, starts_at=starts_at)
    through = settled - dt.timedelta(days=1)
    found = _read(user, settings, first=first, before=settled)
    latest = max(found, default=None)
    if latest is None or latest < through:
        filled = _fill(user, settings, latest=latest, through=through)
        if filled is None:
            # It gave way to a concurrent fill or change: the rows as they are now.
            found = _read(user, settings, first=first, before=settled)
            latest = max(found, default=None)
        else:
            found.update(filled)
            latest = through
    # The days after the summary are counted live: today, and yesterday for GRACE after it
    # ended (more only when a fill gave way).
    start = None if latest is None else _start(settings, latest + dt.timedelta(days=1))
    if first is not None:
        since = _start(settings, first)
        start = since if start is None else max(start, since)
    end = _start(settings, today + dt.timedelta(days=1))
    for day, figures in _count(
        user, settings, start, end, counts=counts, retention=retention
    ).items():
        found.setdefault(day, Figures()).add(figures)
    if first is not None:
        # The latest row came along (it marks how far the summary goes); it may be older.
        found = {day: figures for day, figures in found.items() if day >= first}
    return found


@transaction.atomic
def forget(user_ids: list[int], *, since: dt.datetime | None = None) -> None:
    """Drop the summarized days that reviews at or after `since` may fall in (all of them when
    `since` is None), under any settings: for whoever deletes or adds past reviews, in the
    same transaction."""
    _lock(LearnerSettings.objects.filter(user_id__in=user_ids))
    rows = StudyDay.objects.filter(user_id__in=user_ids)
    if since is not None:
        earliest = since.astimezone(dt.UTC).date() - dt.timedelta(days=ANY_SETTINGS_DAYS_BEFORE)
        rows = rows.filter(day__gte=earliest)
    rows.delete()


# --- reading and filling the summary -------------------------------------------------------


def _key(user: AbstractBaseUser, settings: LearnerSettings) -> dict:
    return {"user": user, "time_zone": settings.time_zone, "day_starts_at": settings.day_starts_at}


def _read(
    user: AbstractBaseUser, settings: LearnerSettings, *, first: dt.date | None, before: dt.date
) -> dict[dt.date, Figures]:
    """The summary's rows from `first` up to `before`, and the latest row before `before`."""
    rows = StudyDay.objects.filter(**_key(user, settings), day__lt=before)
    if first is not None:
        latest = rows.order_by("-day").values("day")[:1]
        rows = rows.filter(Q(day__gte=first) | Q(day=Subquery(latest)))
    return {day: Figures(*values) for day, *values in rows.values_list("day", *STORED)}


def _lock(settings: QuerySet[LearnerSettings]) -> None:
    """Lock learners' settings rows, so writing a learner's summary and forgetting it take
    turns. (SQLite's transactions take the database's write lock when they begin, which
    serializes them anyway.)"""
    list(settings.select_for_update().values_list("pk", flat=True))


def _fill(
    user: AbstractBaseUser, settings: LearnerSettings, *, latest: dt.date | None, through: dt.date
) -> dict[dt.date, Figures] | None:
    """Sum up the days after `latest` (the latest row; None: from the first answer) through
    `through`, whose row is always written, and return them; None when it gave way.

    The reviews are counted outside any transaction: on SQLite a transaction holds the
    database's write lock, and counting a long history from nothing takes seconds. The rows
    are written under the learner's lock only if nothing changed meanwhile: no other fill or
    forget (the latest row is the same) and no review of those days deleted or added (their
    count and the sum of their ids are the same; ids only grow, and reviews are never edited)."""
    tz, starts_at = settings.time_zone, settings.day_starts_at
    start = None if latest is None else _start(settings, latest + dt.timedelta(days=1))
    end = _start(settings, through + dt.timedelta(days=1))
    fingerprint = _fingerprint(user, start, end)
    found = {
        day: figures
        for day, figures in _count(user, settings, start, end, counts=True, retention=True).items()
        if (latest is None or day > latest) and day <= through
    }
    found.setdefault(through, Figures())
    key = _key(user, settings)
    with transaction.atomic():
        _lock(LearnerSettings.objects.filter(user=user))
        now_latest = StudyDay.objects.filter(**key, day__lte=through).aggregate(latest=Max("day"))
        if now_latest["latest"] != latest or _fingerprint(user, start, end) != fingerprint:
            return None
        if latest is None:
            # Counted from the beginning: rows under the learner's former settings are dead.
            StudyDay.objects.filter(user=user).exclude(
                time_zone=tz, day_starts_at=starts_at
            ).delete()
        StudyDay.objects.bulk_create(
            [
                StudyDay(**key, day=day, **{name: getattr(figures, name) for name in STORED})
                for day, figures in sorted(found.items())
            ],
            ignore_conflicts=True,  # belt and braces: the check above makes conflicts unlikely
        )
    return found


def _fingerprint(
    user: AbstractBaseUser, start: dt.datetime | None, end: dt.datetime
) -> dict[str, int | None]:
    """How many reviews the learner has in [start, end), and the sum of their ids (read from
    the (user, reviewed_at) index on SQLite)."""
    reviews = Review.objects.filter(user=user, reviewed_at__lt=end)
    if start is not None:
        reviews = reviews.filter(reviewed_at__gte=start)
    return reviews.aggregate(n=Count("id"), ids=Sum("id"))


def _start(settings: LearnerSettings, day: dt.date) -> dt.datetime:
    return day_bounds(day, tz=settings.time_zone, starts_at=settings.day_starts_at)[0]


# --- counting reviews ----------------------------------------------------------------------


def _count(
    user: AbstractBaseUser,
    settings: LearnerSettings,
    start: dt.datetime | None,
    end: dt.datetime,
    *,
    counts: bool,
    retention: bool,
) -> dict[dt.date, Figures]:
    """The figures of the learner's reviews in [start, end) (from the first when start is None)
    per study day: one query for the answer counts, one for true retention."""
    reviews = Review.objects.filter(user=user, reviewed_at__lt=end)
    if start is not None:
        # Bounded by UTC instants, so the (user, reviewed_at) index serves the range.
        reviews = reviews.filter(reviewed_at__gte=start)
    tz, starts_at = settings.time_zone, settings.day_starts_at
    last = study_day(end - dt.timedelta(microseconds=1), tz=tz, starts_at=starts_at)
    if start is not None and study_day(start, tz=tz, starts_at=starts_at) == last:
        return _count_one_day(user, start, end, last, counts=counts, retention=retention)
    reviews = reviews.annotate(day=_day_of(reviews, settings, start, end))
    found: dict[dt.date, Figures] = {}
    if counts:
        for row in (
            reviews.values("day")
            .order_by()
            .annotate(
                answers=Count("id"),
                new=Count("id", filter=Q(state=Card.State.NEW)),
                learning=Count("id", filter=Q(state__in=stats.LEARNING)),
                review=Count("id", filter=Q(state=Card.State.REVIEW)),
                # duration_ms would clash with the model's field.
                ms=Sum("duration_ms"),
                introduced=Count("id", filter=Q(state=Card.State.NEW, is_practice=False)),
            )
        ):
            figures = found.setdefault(row["day"], Figures())
            figures.answers, figures.new = row["answers"], row["new"]
            figures.learning, figures.review = row["learning"], row["review"]
            figures.duration_ms, figures.introduced = row["ms"] or 0, row["introduced"]
    if retention:
        firsts = _firsts(reviews, [F("card_id"), F("day")])
        for day_, *values in _retention_by_day(firsts):
            figures = found.setdefault(day_, Figures())
            (
                figures.young_total,
                figures.young_passed,
                figures.mature_total,
                figures.mature_passed,
            ) = (value or 0 for value in values)
    return found


def _firsts(reviews: QuerySet[Review], partition: list) -> QuerySet[Review]:
    """The answers true retention may count, each numbered (nth) among the answers to its card
    on its study day (the partition), and marked mature or not, passed or not (1 or 0)."""
    return reviews.filter(state=Card.State.REVIEW, is_practice=False).annotate(
        nth=Window(
            RowNumber(), partition_by=partition, order_by=[F("reviewed_at").asc(), F("id").asc()]
        ),
        # An unknown interval counts as young.
        mature=Case(
            When(last_interval__gte=stats.MATURE_DAYS, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        ),
        passed=Case(
            When(rating__gt=Review.Rating.AGAIN, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        ),
    )


RETENTION = {
    "young_total": "1 - {mature}",
    "young_passed": "(1 - {mature}) * {passed}",
    "mature_total": "{mature}",
    "mature_passed": "{mature} * {passed}",
}


def _retention_by_day(firsts: QuerySet[Review]) -> list[tuple]:
    """(day, young total, young passed, mature total, mature passed) per study day. Django
    would group the window's rows by the window's columns too, so the sums are taken in SQL
    over the numbered rows as a derived table."""
    rows = firsts.values("day", "nth", "mature", "passed")
    connection = connections[rows.db]
    inner, params = rows.query.get_compiler(connection=connection).as_sql()
    names = {name: connection.ops.quote_name(name) for name in ("day", "nth", "mature", "passed")}
    sums = ", ".join(f"SUM({sql.format(**names)})" for sql in RETENTION.values())
    sql = (
        f"SELECT {names['day']}, {sums} FROM ({inner}) firsts "
        f"WHERE {names['nth']} = 1 GROUP BY {names['day']}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # SQLite hands dates back as text from raw SQL.
        return [
            (day if isinstance(day, dt.date) else dt.date.fromisoformat(day), *values)
            for day, *values in cursor.fetchall()
        ]


def _count_one_day(
    user: AbstractBaseUser,
    start: dt.datetime,
    end: dt.datetime,
    day: dt.date,
    *,
    counts: bool,
    retention: bool,
) -> dict[dt.date, Figures]:
    """_count for a span within one study day, `day`: today's live figures on every page that
    shows the history. One statement built once as SQL (prepared on PostgreSQL): the ORM took
    longer to build its two queries than the database to answer them."""
    if not (counts or retention):
        return {}
    params = sql_rows.adapt({"user": user.pk, "start": start, "end": end})
    with connection.cursor() as cursor:
        sql_rows.execute(cursor, _one_day_sql(counts, retention), params)
        row = list(cursor.fetchone())
    found: dict[dt.date, Figures] = {}
    if counts:
        answers, new, learning, review, ms, introduced = row[:6]
        found[day] = Figures(answers, new, learning, review, ms or 0, introduced=introduced)
        row = row[6:]
    if retention and row[0]:  # row[0]: answers true retention counts
        figures = found.setdefault(day, Figures())
        (
            figures.young_total,
            figures.young_passed,
            figures.mature_total,
            figures.mature_passed,
        ) = (value or 0 for value in row[1:])
    return found


@functools.cache
def _one_day_sql(counts: bool, retention: bool) -> str:
    """The answer counts, then how many answers true retention counts and its four sums (as
    _firsts and RETENTION reckon them), of the learner's reviews in [start, end)."""
    review = connection.ops.quote_name(Review._meta.db_table)
    span = (
        f"FROM {review} WHERE user_id = %(user)s "
        "AND reviewed_at >= %(start)s AND reviewed_at < %(end)s"
    )
    new, review_state = int(Card.State.NEW), int(Card.State.REVIEW)
    learning = ", ".join(str(int(state)) for state in stats.LEARNING)
    parts = []
    if counts:
        parts.append(
            f"(SELECT COUNT(*), COUNT(*) FILTER (WHERE state = {new}), "
            f"COUNT(*) FILTER (WHERE state IN ({learning})), "
            f"COUNT(*) FILTER (WHERE state = {review_state}), SUM(duration_ms), "
            f"COUNT(*) FILTER (WHERE state = {new} AND NOT is_practice) {span}) c"
        )
    if retention:
        sums = ", ".join(
            f"SUM({sql.format(mature='mature', passed='passed')})" for sql in RETENTION.values()
        )
        parts.append(
            f"(SELECT COUNT(*), {sums} FROM (SELECT ROW_NUMBER() OVER (PARTITION BY card_id "
            "ORDER BY reviewed_at, id) AS nth, "
            f"CASE WHEN last_interval >= {stats.MATURE_DAYS} THEN 1 ELSE 0 END AS mature, "
            f"CASE WHEN rating > {int(Review.Rating.AGAIN)} THEN 1 ELSE 0 END AS passed "
            f"{span} AND state = {review_state} AND NOT is_practice) numbered "
            "WHERE nth = 1) t"
        )
    return "SELECT * FROM " + " CROSS JOIN ".join(parts)


def _day_of(
    reviews: QuerySet[Review],
    settings: LearnerSettings,
    start: dt.datetime | None,
    end: dt.datetime,
) -> Combinable:
    """The study day of reviewed_at in SQL, for reviews in [start, end).

    PostgreSQL computes stats.study_day_of natively. On SQLite, Django's time zone functions
    are Python callbacks, a few microseconds for every row: there the local time is the UTC
    time plus the zone's offset, which is constant between two clock changes, so each span
    between changes is SQLite's own date() with a fixed shift, picked by a CASE."""
    if connections[router.db_for_read(Review)].vendor != "sqlite":
        return stats.study_day_of("reviewed_at", settings)
    if start is None:
        start = reviews.aggregate(first=Min("reviewed_at"))["first"] or end
    spans = _offset_spans(ZoneInfo(settings.time_zone), start, end)
    shift = dt.timedelta(hours=settings.day_starts_at)

    def local_day(offset: dt.timedelta) -> Func:
        seconds = int((offset - shift).total_seconds())
        return Func(
            F("reviewed_at"),
            Value(f"{seconds:+d} seconds"),
            function="date",
            output_field=DateField(),
        )

    *changes, (_, offset) = spans
    if not changes:
        return local_day(offset)
    return Case(
        *(When(reviewed_at__lt=until, then=local_day(before)) for until, before in changes),
        default=local_day(offset),
        output_field=DateField(),
    )


# Hourly checks find every change of UTC offset (time zones change at most a few times a year).
_STEP = dt.timedelta(hours=1)


def _offset_spans(
    tz: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime | None, dt.timedelta]]:
    """[(until, offset)]: the zone's UTC offset from `start`, each until the instant it changes
    (None for the last, which lasts to `end`)."""

    def offset(moment: dt.datetime) -> dt.timedelta:
        return moment.astimezone(tz).utcoffset()

    spans: list[tuple[dt.datetime | None, dt.timedelta]] = []
    moment, current = start, offset(start)
    while moment < end:
        step = min(moment + _STEP, end)
        if offset(step) != current:
            # The first microsecond with the new offset, by bisection.
            low, high = moment, step
            while high - low > dt.timedelta(microseconds=1):
                middle = low + (high - low) / 2
                if offset(middle) == current:
                    low = middle
                else:
                    high = middle
            spans.append((high, current))
            current = offset(high)
        moment = step
    spans.append((None, current))
    return spans
