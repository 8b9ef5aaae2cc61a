"""Study days: a learner's day runs from their chosen hour (4 am by default) in their time zone,
so a late-night session still counts for the day it began."""

import datetime as dt
from zoneinfo import ZoneInfo


def study_day(moment: dt.datetime, *, tz: str, starts_at: int) -> dt.date:
    """The study day an aware moment belongs to."""
    local = moment.astimezone(ZoneInfo(tz))
    return (local - dt.timedelta(hours=starts_at)).date()


def day_start(day: dt.date, *, tz: str, starts_at: int) -> dt.datetime:
    """When a study day begins, in UTC. Across a daylight-saving change the local clock time is
    kept (a day may be 23 or 25 hours long)."""
    local = dt.datetime.combine(day, dt.time(starts_at), tzinfo=ZoneInfo(tz))
    return local.astimezone(dt.UTC)


def day_bounds(day: dt.date, *, tz: str, starts_at: int) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a study day, in UTC."""
    return (
        day_start(day, tz=tz, starts_at=starts_at),
        day_start(day + dt.timedelta(days=1), tz=tz, starts_at=starts_at),
    )
