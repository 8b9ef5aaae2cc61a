"""The history summary (studyapp.history): the past study days it keeps always equal a fresh
count of the reviews, as grades come in day after day, after an undo across midnight, a change
of time zone and a restore."""

import datetime as dt
import random
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from studyapp import history, reviews, stats, tally
from studyapp.days import day_bounds, study_day
from studyapp.models import Card, Kind, LearnerSettings, Review, StudyDay

from .factories import (
    CardFactory,
    LearnerSettingsFactory,
    QuestionFactory,
    ReviewFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NEW_YORK = "America/New_York"
SHANGHAI = "Asia/Shanghai"
NEW, LEARNING, REVIEW, RELEARNING = 0, 1, 2, 3
AGAIN, HARD, GOOD, EASY = 1, 2, 3, 4


def at(tz: str, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def day_start(settings, day: dt.date) -> dt.datetime:
    return day_bounds(day, tz=settings.time_zone, starts_at=settings.day_starts_at)[0]


def flashcards(user, n: int) -> list[Card]:
    return [CardFactory(user=user, question=QuestionFactory(kind=Kind.FLASHCARD)) for _ in range(n)]


def grade(user, settings, card: Card, when: dt.datetime, rating=GOOD, practice=False) -> Review:
    return reviews.grade(
        card.id, user=user, settings=settings, rating=rating, token=uuid.uuid4(), response="",
        duration_ms=1500, practice=practice, now=when,
    ).review  # fmt: skip


def past_answers(user, cards: list[Card], first: dt.datetime, last: dt.datetime, seed=1) -> None:
    """Answers written straight into the history, as it stood before the summary existed: all
    states, practice, young, mature and unknown intervals, cards answered again the same day."""
    rng = random.Random(seed)
    moments = []
    moment = first
    while moment < last:
        moments.append(moment)
        moment += dt.timedelta(minutes=rng.choice([7, 50, 190, 600]), seconds=rng.random())
    Review.objects.bulk_create(
        ReviewFactory.build(
            card=rng.choice(cards),
            reviewed_at=moment,
            state=rng.choice([NEW, LEARNING, REVIEW, REVIEW, REVIEW, RELEARNING]),
            rating=rng.choice([AGAIN, HARD, GOOD, GOOD, EASY]),
            is_practice=rng.random() < 0.15,
            last_interval=rng.choice([None, 1, 5, 20, 21, 40]),
            duration_ms=rng.choice([None, 800, 4000]),
        )
        for moment in moments
    )


def fresh(user, settings, today: dt.date) -> dict[dt.date, history.Figures]:
    """Each study day's figures counted afresh, in Python, from every review through today."""
    tz, starts_at = settings.time_zone, settings.day_starts_at
    found: dict[dt.date, history.Figures] = {}
    counted = set()
    for review in Review.objects.filter(user=user).order_by("reviewed_at", "id"):
        day = study_day(review.reviewed_at, tz=tz, starts_at=starts_at)
        if day > today:
            continue
        f = found.setdefault(day, history.Figures())
        f.answers += 1
        f.new += review.state == NEW
        f.learning += review.state in (LEARNING, RELEARNING)
        f.review += review.state == REVIEW
        f.duration_ms += review.duration_ms or 0
        f.introduced += review.state == NEW and not review.is_practice
        if (
            review.state == REVIEW
            and not review.is_practice
            and (review.card_id, day) not in counted
        ):
            counted.add((review.card_id, day))
            passed = review.rating > AGAIN
            if review.last_interval is not None and review.last_interval >= stats.MATURE_DAYS:
                f.mature_total, f.mature_passed = f.mature_total + 1, f.mature_passed + passed
            else:
                f.young_total, f.young_passed = f.young_total + 1, f.young_passed + passed
    return found


def comparable(found: dict[dt.date, history.Figures], today: dt.date) -> dict:
    """Days with anything in them; new cards introduced only for today (the rows keep none)."""
    out = {}
    for day, figures in found.items():
        values = {**vars(figures), "introduced": figures.introduced if day == today else 0}
        if any(values.values()):
            out[day] = values
    return out


def page_figures(user, settings, now) -> tuple:
    """Everything the dashboard and the progress page show of the history."""
    kwargs = {"user": user, "settings": settings, "now": now}
    today = stats.today(**kwargs)
    return (
        today.reviewed_today,
        today.seconds_today,
        today.new_left,
        today.streak,
        today.longest_streak,
        stats.reviews_per_day(**kwargs, days=365),
        stats.heatmap(**kwargs),
        stats.retention(**kwargs),
    )


def assert_fresh(user, settings, now) -> None:
    """The summary's days equal a fresh count, and the pages show what they would show with
    the summary counted again from nothing."""
    today = study_day(now, tz=settings.time_zone, starts_at=settings.day_starts_at)
    shown = page_figures(user, settings, now)
    days = history.days(user, settings, now, counts=True, retention=True)
    assert comparable(days, today) == comparable(fresh(user, settings, today), today)
    history.forget([user.id])
    assert page_figures(user, settings, now) == shown


def summarized(user) -> dict[dt.date, int]:
    return dict(StudyDay.objects.filter(user=user).values_list("day", "answers"))


# --- filling the summary -------------------------------------------------------------------


def test_the_summary_follows_grades_day_after_day_across_a_dst_change(learner):
    settings = LearnerSettingsFactory(user=learner, time_zone=NEW_YORK, day_starts_at=4)
    cards = flashcards(learner, 6)
    past_answers(learner, cards, at(NEW_YORK, 2024, 1, 20), at(NEW_YORK, 2024, 3, 1))
    rng = random.Random(7)
    now = at(NEW_YORK, 2024, 3, 1, 9)
    # Three weeks of study across the change to summer time (10 March), the pages looked at
    # between answers, sometimes late at night (before 4 am: the day before's study day).
    for step in range(60):
        now += dt.timedelta(hours=rng.choice([1, 3, 8, 20]), minutes=rng.randrange(60))
        card = rng.choice(cards)
        grade(learner, settings, card, now, rating=rng.choice([AGAIN, GOOD, EASY]),
              practice=rng.random() < 0.1)  # fmt: skip
        if step % 4 == 0:
            assert_fresh(learner, settings, now + dt.timedelta(minutes=1))
    assert_fresh(learner, settings, now + dt.timedelta(days=2))


def test_rows_are_written_for_past_days_only_and_once(learner):
    settings = LearnerSettingsFactory(user=learner, time_zone="UTC", day_starts_at=4)
    card = flashcards(learner, 1)[0]
    ReviewFactory(card=card, reviewed_at=at("UTC", 2024, 5, 1, 12))
    ReviewFactory(card=card, reviewed_at=at("UTC", 2024, 5, 3, 12))
    ReviewFactory(card=card, reviewed_at=at("UTC", 2024, 5, 10, 12))  # today
    now = at("UTC", 2024, 5, 10, 13)
    assert stats.today(user=learner, settings=settings, now=now).reviewed_today == 1
    # The days answered, and yesterday (nothing answered) as the mark of how far it goes.
    assert summarized(learner) == {
        dt.date(2024, 5, 1): 1,
        dt.date(2024, 5, 3): 1,
        dt.date(2024, 5, 9): 0,
    }
    with CaptureQueriesContext(connection) as queries:
        stats.heatmap(user=learner, settings=settings, now=now)
    assert not [q for q in queries if "studyapp_studyday" in q["sql"] and "INSERT" in q["sql"]]
    # The next day only that day is added.
    stats.heatmap(user=learner, settings=settings, now=now + dt.timedelta(days=1))
    assert summarized(learner)[dt.date(2024, 5, 10)] == 1
    assert len(summarized(learner)) == 4


def test_a_grade_stamped_just_before_the_day_ended_is_still_counted(learner):
    """A grade's transaction may commit a moment after the day it is stamped in has ended:
    that day is summed up only once GRACE has passed."""
    settings = LearnerSettingsFactory(user=learner, time_zone=SHANGHAI, day_starts_at=4)
    card = flashcards(learner, 1)[0]
    grade(learner, settings, card, at(SHANGHAI, 2024, 5, 1, 20))
    midnight = at(SHANGHAI, 2024, 5, 2, 4)  # the study day's end
    stats.today(user=learner, settings=settings, now=midnight + dt.timedelta(minutes=1))
    assert dt.date(2024, 5, 1) not in summarized(learner)
    grade(learner, settings, card, midnight - dt.timedelta(seconds=1))  # committed late
    now = midnight + history.GRACE + dt.timedelta(minutes=1)
    assert stats.reviews_per_day(user=learner, settings=settings, now=now, days=2)[0].total == 2
    assert summarized(learner)[dt.date(2024, 5, 1)] == 2
    assert_fresh(learner, settings, now)


def test_a_fill_gives_way_to_an_undo_made_while_it_counts(learner, monkeypatch):
    settings = LearnerSettingsFactory(user=learner, time_zone="UTC", day_starts_at=4)
    cards = flashcards(learner, 3)
    now = at("UTC", 2024, 5, 10, 12)
    past_answers(learner, cards, now - dt.timedelta(days=10), now - dt.timedelta(days=1))
    count = history._count

    def undo_meanwhile(*args, **kwargs):
        found = count(*args, **kwargs)
        monkeypatch.setattr(history, "_count", count)
        reviews.undo_last(learner)  # yesterday's last answer, counted just now
        return found

    monkeypatch.setattr(history, "_count", undo_meanwhile)
    shown = stats.reviews_per_day(user=learner, settings=settings, now=now, days=30)
    assert not StudyDay.objects.filter(user=learner).exists()  # nothing written
    today = dt.date(2024, 5, 10)
    answers = {day: f.answers for day, f in fresh(learner, settings, today).items()}
    assert {d.day: d.total for d in shown if d.total} == answers  # counted live instead
    assert_fresh(learner, settings, now)


def test_a_fill_gives_way_to_a_concurrent_fill(learner, monkeypatch):
    settings = LearnerSettingsFactory(user=learner, time_zone=NEW_YORK, day_starts_at=4)
    cards = flashcards(learner, 3)
    now = at(NEW_YORK, 2024, 5, 10, 12)
    past_answers(learner, cards, now - dt.timedelta(days=10), now)
    count = history._count

    def fill_meanwhile(*args, **kwargs):
        monkeypatch.setattr(history, "_count", count)
        history.days(learner, settings, now)  # another page load, quicker
        return count(*args, **kwargs)

    monkeypatch.setattr(history, "_count", fill_meanwhile)
    shown = page_figures(learner, settings, now)
    assert summarized(learner)
    history.forget([learner.id])
    assert page_figures(learner, settings, now) == shown
    assert_fresh(learner, settings, now)


def test_the_pages_read_a_few_rows_whatever_the_history(learner):
    settings = LearnerSettingsFactory(user=learner, time_zone=NEW_YORK, day_starts_at=4)
    cards = flashcards(learner, 5)
    now = at(NEW_YORK, 2024, 5, 30, 12)
    past_answers(learner, cards, now - dt.timedelta(days=400), now)

    def summary_fill() -> list[str]:
        history.forget([learner.id])
        with CaptureQueriesContext(connection) as queries:
            stats.retention(user=learner, settings=settings, now=now)
        return [q["sql"] for q in queries if not q["sql"].startswith("INSERT")]

    small = summary_fill()
    past_answers(learner, cards, now - dt.timedelta(days=1000), now - dt.timedelta(days=400), 2)
    # Counting more days from nothing takes as many queries (bar the inserts' batches).
    assert len(summary_fill()) == len(small)
    tally.tallies(learner, settings, now)  # the day's kept figures (today's due work), counted
    for name, most in {"today": 4, "reviews_per_day": 2, "heatmap": 2, "retention": 2}.items():
        kwargs = {"user": learner, "settings": settings, "now": now}
        if name == "reviews_per_day":
            kwargs["days"] = 365
        with CaptureQueriesContext(connection) as queries:
            getattr(stats, name)(**kwargs)
        assert len(queries) <= most, (name, [q["sql"] for q in queries])


# --- undo, settings, restore ---------------------------------------------------------------


def test_an_undo_after_midnight_takes_the_answer_out_of_yesterday(learner):
    settings = LearnerSettingsFactory(user=learner, time_zone=SHANGHAI, day_starts_at=4)
    first, second = flashcards(learner, 2)
    grade(learner, settings, first, at(SHANGHAI, 2024, 5, 1, 21))
    last = grade(learner, settings, second, at(SHANGHAI, 2024, 5, 2, 3, 50))  # still the 1st's
    now = at(SHANGHAI, 2024, 5, 2, 9)
    assert stats.today(user=learner, settings=settings, now=now).streak == 1
    assert summarized(learner)[dt.date(2024, 5, 1)] == 2

    card = reviews.undo_last(learner)
    assert card.id == second.id and not Review.objects.filter(id=last.id).exists()
    per_day = stats.reviews_per_day(user=learner, settings=settings, now=now, days=2)
    assert [d.total for d in per_day] == [1, 0]
    assert summarized(learner)[dt.date(2024, 5, 1)] == 1
    assert_fresh(learner, settings, now)
    # Undoing the last answer of all leaves the 1st empty and the streak broken.
    reviews.undo_last(learner)
    assert stats.today(user=learner, settings=settings, now=now).longest_streak == 0
    assert_fresh(learner, settings, now)


def test_a_change_of_time_zone_or_day_start_counts_the_days_again(learner):
    settings = LearnerSettingsFactory(user=learner, time_zone="UTC", day_starts_at=4)
    cards = flashcards(learner, 4)
    now = at("UTC", 2024, 5, 30, 12)
    past_answers(learner, cards, now - dt.timedelta(days=40), now)
    assert_fresh(learner, settings, now)
    utc_rows = summarized(learner)

    settings.time_zone, settings.day_starts_at = SHANGHAI, 0
    settings.save()
    assert_fresh(learner, settings, now)
    keys = set(StudyDay.objects.filter(user=learner).values_list("time_zone", "day_starts_at"))
    assert keys == {(SHANGHAI, 0)}  # the rows counted in UTC are dropped

    settings.time_zone, settings.day_starts_at = "UTC", 4
    settings.save()
    assert_fresh(learner, settings, now)
    assert summarized(learner) == utc_rows


def test_a_restore_drops_the_summary_of_the_accounts_it_replaces(learner, tmp_path):
    settings = LearnerSettingsFactory(user=learner, time_zone=NEW_YORK, day_starts_at=4)
    cards = flashcards(learner, 3)
    now = at(NEW_YORK, 2024, 5, 10, 12)
    past_answers(learner, cards, now - dt.timedelta(days=20), now - dt.timedelta(days=1))
    path = tmp_path / "progress.json"
    call_command("backup_progress", str(path), verbosity=0)

    # Answers after the backup, counted into the summary the next day; and a newcomer's.
    for hours in (1, 2, 3):
        grade(learner, settings, cards[0], now + dt.timedelta(hours=hours))
    newcomer = UserFactory()
    theirs = LearnerSettingsFactory(user=newcomer, time_zone="UTC", day_starts_at=4)
    grade(newcomer, theirs, flashcards(newcomer, 1)[0], now - dt.timedelta(days=2))
    tomorrow = now + dt.timedelta(days=1)
    stats.heatmap(user=learner, settings=settings, now=tomorrow)
    stats.heatmap(user=newcomer, settings=theirs, now=tomorrow)
    theirs_before = summarized(newcomer)
    assert summarized(learner)[dt.date(2024, 5, 10)] == 3

    call_command("restore_progress", str(path), verbosity=0)
    assert not StudyDay.objects.filter(user=learner).exists()
    assert summarized(newcomer) == theirs_before  # not in the backup: left alone
    restored = LearnerSettings.objects.get(user=learner)
    assert_fresh(learner, restored, tomorrow)
    assert (
        stats.reviews_per_day(user=learner, settings=restored, now=tomorrow, days=2)[0].total == 0
    )


# --- study days in SQL ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "first", "days"),
    [
        (NEW_YORK, dt.datetime(2023, 12, 30, tzinfo=UTC), 370),  # both changes of a year
        ("Asia/Kolkata", dt.datetime(2024, 5, 1, tzinfo=UTC), 4),  # +05:30
        ("Asia/Kathmandu", dt.datetime(2024, 5, 1, tzinfo=UTC), 4),  # +05:45
        ("America/St_Johns", dt.datetime(2024, 3, 8, tzinfo=UTC), 5),  # -03:30, summer time
        ("Australia/Lord_Howe", dt.datetime(2024, 4, 5, tzinfo=UTC), 4),  # half-hour change
        ("Pacific/Chatham", dt.datetime(2024, 4, 5, tzinfo=UTC), 4),  # +12:45 / +13:45
        ("Pacific/Apia", dt.datetime(2011, 12, 28, tzinfo=UTC), 5),  # skipped 30 Dec 2011
        (SHANGHAI, dt.datetime(2024, 3, 9, tzinfo=UTC), 3),
    ],
)
@pytest.mark.parametrize("starts_at", [0, 4, 23])
def test_the_summary_groups_answers_by_study_day_as_days_study_day(
    learner, tz, first, days, starts_at
):
    settings = LearnerSettingsFactory(user=learner, time_zone=tz, day_starts_at=starts_at)
    card = flashcards(learner, 1)[0]
    step = dt.timedelta(minutes=20 if days < 10 else 317, microseconds=123457)
    moments = [first + n * step for n in range(int(dt.timedelta(days=days) / step))]
    Review.objects.bulk_create(
        ReviewFactory.build(card=card, reviewed_at=moment) for moment in moments
    )
    reviews_ = Review.objects.filter(user=learner)
    end = moments[-1] + dt.timedelta(seconds=1)
    for start in (None, moments[0], moments[len(moments) // 2]):
        day = history._day_of(reviews_, settings, start, end)
        rows = reviews_.filter(reviewed_at__gte=start or first).annotate(day=day)
        found = {
            moment.astimezone(UTC): day for moment, day in rows.values_list("reviewed_at", "day")
        }
        expected = {
            m: study_day(m, tz=tz, starts_at=starts_at) for m in moments if m >= (start or first)
        }
        assert found == expected


def test_offset_spans_find_each_clock_change_to_the_microsecond():
    spans = history._offset_spans(
        ZoneInfo(NEW_YORK), dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2025, 1, 1, tzinfo=UTC)
    )
    hours = dt.timedelta(hours=1)
    assert spans == [
        (dt.datetime(2024, 3, 10, 7, tzinfo=UTC), -5 * hours),
        (dt.datetime(2024, 11, 3, 6, tzinfo=UTC), -4 * hours),
        (None, -5 * hours),
    ]
