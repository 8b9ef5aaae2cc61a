"""Statistics, checked against histories whose figures are known by hand."""

import datetime as dt
from zoneinfo import ZoneInfo

import fsrs
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from studyapp import history, queue, stats, tally
from studyapp.days import study_day
from studyapp.models import Card, Review

from .factories import (
    CardFactory,
    DeckFactory,
    LearnerSettingsFactory,
    QuestionFactory,
    ReviewFactory,
    SourceFactory,
)

UTC = dt.UTC
SHANGHAI = "Asia/Shanghai"
NEW_YORK = "America/New_York"
NEW, LEARNING, REVIEW, RELEARNING = 0, 1, 2, 3
AGAIN, HARD, GOOD = 1, 2, 3


def at(tz: str, *args: int) -> dt.datetime:
    """A local wall-clock time in `tz`, as an aware UTC datetime."""
    return dt.datetime(*args, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def learner_settings(user, tz: str = "UTC", starts_at: int = 4, **kwargs):
    return LearnerSettingsFactory(user=user, time_zone=tz, day_starts_at=starts_at, **kwargs)


def answer(user, when: dt.datetime, *, card=None, state=REVIEW, rating=GOOD, **kwargs) -> Review:
    card = card or CardFactory(user=user, state=REVIEW)
    return ReviewFactory(card=card, reviewed_at=when, state=state, rating=rating, **kwargs)


def review_card(user, *, state=REVIEW, **kwargs) -> Card:
    return CardFactory(user=user, state=state, **kwargs)


def fsrs_retrievability(card: Card, now: dt.datetime) -> float:
    copy = fsrs.Card(
        card_id=card.id,
        state=fsrs.State(card.state),
        stability=card.stability,
        difficulty=card.difficulty or 5.0,
        due=card.due,
        last_review=card.last_review,
    )
    return fsrs.Scheduler().get_card_retrievability(copy, now)


# --- study days in SQL ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "starts_at", "first"),
    [
        (NEW_YORK, 4, dt.datetime(2024, 3, 9, tzinfo=UTC)),  # spring forward on 10 March
        (NEW_YORK, 4, dt.datetime(2024, 11, 2, tzinfo=UTC)),  # fall back on 3 November
        (NEW_YORK, 0, dt.datetime(2024, 3, 9, tzinfo=UTC)),
        (NEW_YORK, 23, dt.datetime(2024, 11, 2, tzinfo=UTC)),
        (SHANGHAI, 4, dt.datetime(2024, 3, 9, tzinfo=UTC)),
    ],
)
def test_study_day_in_sql_matches_days_study_day_around_dst_changes(learner, tz, starts_at, first):
    settings = learner_settings(learner, tz, starts_at)
    card = review_card(learner)
    moments = [first + dt.timedelta(minutes=20 * n) for n in range(3 * 72)]
    Review.objects.bulk_create(
        ReviewFactory.build(card=card, reviewed_at=moment) for moment in moments
    )
    rows = (
        Review.objects.filter(user=learner)
        .annotate(day=stats.study_day_of("reviewed_at", settings))
        .values_list("reviewed_at", "day")
    )
    found = {moment.astimezone(UTC): day for moment, day in rows}
    expected = {m: study_day(m, tz=tz, starts_at=starts_at) for m in moments}
    assert found == expected


# --- today: streaks, due work, new cards, time ---------------------------------------------


def test_streak_counts_a_2am_review_in_the_previous_study_day(learner):
    settings = learner_settings(learner, SHANGHAI, 4)
    answer(learner, at(SHANGHAI, 2024, 5, 1, 10))
    answer(learner, at(SHANGHAI, 2024, 5, 3, 2))  # still 2 May's study day
    figures = stats.today(user=learner, settings=settings, now=at(SHANGHAI, 2024, 5, 3, 12))
    assert figures.day == dt.date(2024, 5, 3)
    assert figures.reviewed_today == 0
    assert figures.streak == 2


def test_streak_is_not_broken_until_today_is_over(learner):
    settings = learner_settings(learner)
    answer(learner, at("UTC", 2024, 5, 1, 12))
    answer(learner, at("UTC", 2024, 5, 2, 12))
    # 3 May, nothing yet: the run through yesterday still stands.
    assert stats.today(user=learner, settings=settings, now=at("UTC", 2024, 5, 3, 23)).streak == 2
    # Until 4 am on the 4th the study day is still the 3rd.
    assert stats.today(user=learner, settings=settings, now=at("UTC", 2024, 5, 4, 3)).streak == 2
    # Then the 3rd is over without a review.
    later = stats.today(user=learner, settings=settings, now=at("UTC", 2024, 5, 4, 5))
    assert (later.streak, later.longest_streak) == (0, 2)


def test_streak_includes_today_and_longest_streak_remembers_an_older_longer_run(learner):
    settings = learner_settings(learner)
    for day in [1, 2, 3, 4, 5, 8, 9, 10]:
        answer(learner, at("UTC", 2024, 5, day, 9))
    answer(learner, at("UTC", 2024, 5, 10, 20), is_practice=True)
    figures = stats.today(user=learner, settings=settings, now=at("UTC", 2024, 5, 10, 21))
    assert (figures.streak, figures.longest_streak) == (3, 5)


def test_streak_counts_practice_answers(learner):
    settings = learner_settings(learner)
    answer(learner, at("UTC", 2024, 5, 1, 9), is_practice=True)
    answer(learner, at("UTC", 2024, 5, 2, 9), is_practice=True)
    assert stats.today(user=learner, settings=settings, now=at("UTC", 2024, 5, 2, 10)).streak == 2


def test_streak_across_the_march_dst_change_in_new_york(learner):
    settings = learner_settings(learner, NEW_YORK, 4)
    answer(learner, at(NEW_YORK, 2024, 3, 9, 12))
    # 04:30 EDT on the day clocks spring forward is 08:30 UTC: shifting the UTC instant by four
    # hours before converting would give 23:30 EST on the 9th; it is the 10th's study day.
    answer(learner, at(NEW_YORK, 2024, 3, 10, 4, 30))
    answer(learner, at(NEW_YORK, 2024, 3, 11, 8))
    figures = stats.today(user=learner, settings=settings, now=at(NEW_YORK, 2024, 3, 11, 9))
    assert (figures.streak, figures.longest_streak) == (3, 3)


def test_a_night_review_before_the_november_dst_change_stays_in_the_previous_study_day(learner):
    settings = learner_settings(learner, NEW_YORK, 4)
    answer(learner, at(NEW_YORK, 2024, 11, 2, 12))
    # 03:30 EST after clocks fall back: before 4 am, so still the 2nd's study day.
    answer(learner, at(NEW_YORK, 2024, 11, 3, 3, 30))
    answer(learner, at(NEW_YORK, 2024, 11, 4, 12))
    figures = stats.today(user=learner, settings=settings, now=at(NEW_YORK, 2024, 11, 4, 13))
    assert (figures.streak, figures.longest_streak) == (1, 1)


def test_due_today_counts_learning_and_review_cards_due_before_the_study_day_ends(learner):
    settings = learner_settings(learner, SHANGHAI, 4)
    now = at(SHANGHAI, 2024, 5, 3, 12)
    day_end = at(SHANGHAI, 2024, 5, 4, 4)
    review_card(learner, due=now - dt.timedelta(days=3))  # overdue
    review_card(learner, due=day_end - dt.timedelta(minutes=1))
    review_card(learner, state=LEARNING, due=now + dt.timedelta(minutes=10))
    review_card(learner, state=RELEARNING, due=now - dt.timedelta(minutes=1))
    review_card(learner, due=day_end)  # tomorrow's
    review_card(learner, due=now, is_suspended=True)
    review_card(learner, due=now, buried_until=day_end)
    review_card(learner, due=now, question=QuestionFactory(is_active=False))
    review_card(learner, state=NEW)
    assert stats.today(user=learner, settings=settings, now=now).due_today == 4


def test_reviewed_today_and_seconds_today_count_practice_and_only_this_study_day(learner):
    settings = learner_settings(learner, SHANGHAI, 4)
    now = at(SHANGHAI, 2024, 5, 3, 12)
    answer(learner, at(SHANGHAI, 2024, 5, 3, 4), duration_ms=1500)
    answer(learner, at(SHANGHAI, 2024, 5, 3, 11), duration_ms=2500, is_practice=True)
    answer(learner, at(SHANGHAI, 2024, 5, 3, 11, 30), duration_ms=None)
    answer(learner, at(SHANGHAI, 2024, 5, 3, 3, 59), duration_ms=9000)  # the 2nd's study day
    figures = stats.today(user=learner, settings=settings, now=now)
    assert figures.reviewed_today == 3
    assert figures.seconds_today == 4.0


def test_new_left_subtracts_new_cards_introduced_this_study_day(learner):
    settings = learner_settings(learner, SHANGHAI, 4, new_per_day=5)
    now = at(SHANGHAI, 2024, 5, 3, 12)
    for _ in range(10):
        review_card(learner, state=NEW)
    answer(learner, at(SHANGHAI, 2024, 5, 3, 9), state=NEW)
    answer(learner, at(SHANGHAI, 2024, 5, 3, 10), state=NEW)
    answer(learner, at(SHANGHAI, 2024, 5, 3, 10, 5), state=LEARNING)  # not a new card
    answer(learner, at(SHANGHAI, 2024, 5, 3, 11), state=NEW, is_practice=True)
    answer(learner, at(SHANGHAI, 2024, 5, 3, 3), state=NEW)  # yesterday's study day
    assert stats.today(user=learner, settings=settings, now=now).new_left == 3


def test_new_left_never_goes_below_zero(learner):
    settings = learner_settings(learner, new_per_day=2)
    now = at("UTC", 2024, 5, 3, 12)
    review_card(learner, state=NEW)
    for hour in (8, 9, 10):
        answer(learner, at("UTC", 2024, 5, 3, hour), state=NEW)
    assert stats.today(user=learner, settings=settings, now=now).new_left == 0


def test_new_left_is_capped_by_the_new_cards_available(learner, other_learner):
    settings = learner_settings(learner, new_per_day=20)
    now = at("UTC", 2024, 5, 3, 12)
    review_card(learner, state=NEW)
    review_card(learner, state=NEW, is_suspended=True)
    review_card(learner, state=NEW, buried_until=now + dt.timedelta(hours=5))
    review_card(learner, state=NEW, question=QuestionFactory(is_active=False))
    review_card(learner, state=REVIEW)
    # A question the learner has no card for yet is on offer; another learner's card of it
    # doesn't change that.
    review_card(other_learner, state=REVIEW)
    assert stats.today(user=learner, settings=settings, now=now).new_left == 2


@pytest.mark.parametrize("new_per_day", [0, 2, 5, 20])
def test_new_left_is_what_the_queue_counts_once_every_card_is_made(learner, new_per_day):
    """The dashboard takes "new left" from the queue's counts (queue.snapshot) instead of
    counting it again: the two must agree, whatever limits, burials and answers there are."""
    settings = learner_settings(learner, SHANGHAI, 4, new_per_day=new_per_day)
    now = at(SHANGHAI, 2024, 5, 3, 12)
    for _ in range(6):
        review_card(learner, state=NEW)
    review_card(learner, state=NEW, is_suspended=True)
    review_card(learner, state=NEW, buried_until=now + dt.timedelta(hours=5))
    review_card(learner, state=NEW, question=QuestionFactory(is_active=False))
    QuestionFactory()  # no card yet: ensure_cards makes it
    answer(learner, at(SHANGHAI, 2024, 5, 3, 9), state=NEW)
    answer(learner, at(SHANGHAI, 2024, 5, 3, 10), state=NEW, is_practice=True)
    answer(learner, at(SHANGHAI, 2024, 5, 3, 3), state=NEW)  # yesterday's study day
    queue.ensure_cards(learner)
    counted = stats.today(user=learner, settings=settings, now=now).new_left
    assert queue.snapshot(learner, settings, now=now).counts.new == counted
    assert counted == min(max(0, new_per_day - 1), 7)


# --- reviews per day and heatmap -----------------------------------------------------------


def test_reviews_per_day_fills_every_day_with_zeros_and_splits_by_state(learner, other_learner):
    settings = learner_settings(learner)
    now = at("UTC", 2024, 5, 30, 12)
    for state in [NEW, NEW, LEARNING, RELEARNING, REVIEW, REVIEW, REVIEW]:
        answer(learner, at("UTC", 2024, 5, 30, 8), state=state)
    answer(learner, at("UTC", 2024, 5, 25, 8), state=REVIEW, is_practice=True)
    answer(learner, at("UTC", 2024, 5, 1, 8), state=LEARNING)  # first of the 30 days
    answer(learner, at("UTC", 2024, 4, 30, 8))  # the day before: outside
    answer(learner, at("UTC", 2024, 5, 31, 8))  # tomorrow: outside
    answer(other_learner, at("UTC", 2024, 5, 30, 8))
    days = stats.reviews_per_day(user=learner, settings=settings, now=now, days=30)
    assert [d.day for d in days] == [dt.date(2024, 5, 1) + dt.timedelta(n) for n in range(30)]
    by_day = {d.day: (d.new, d.learning, d.review) for d in days}
    assert by_day.pop(dt.date(2024, 5, 30)) == (2, 2, 3)
    assert by_day.pop(dt.date(2024, 5, 25)) == (0, 0, 1)
    assert by_day.pop(dt.date(2024, 5, 1)) == (0, 1, 0)
    assert set(by_day.values()) == {(0, 0, 0)}
    assert days[-1].total == 7


def test_the_same_answers_fall_on_the_study_days_of_each_learners_time_zone(learner, other_learner):
    in_shanghai = learner_settings(learner, SHANGHAI, 4)
    in_new_york = learner_settings(other_learner, NEW_YORK, 4)
    moments = [
        dt.datetime(2024, 5, 1, 19, 30, tzinfo=UTC),  # Shanghai 03:30 on 2nd; NY 15:30 on 1st
        dt.datetime(2024, 5, 1, 20, 30, tzinfo=UTC),  # Shanghai 04:30 on 2nd; NY 16:30 on 1st
        dt.datetime(2024, 5, 2, 7, 30, tzinfo=UTC),  # Shanghai 15:30 on 2nd; NY 03:30 on 2nd
        dt.datetime(2024, 5, 2, 8, 30, tzinfo=UTC),  # Shanghai 16:30 on 2nd; NY 04:30 on 2nd
    ]
    for moment in moments:
        answer(learner, moment)
        answer(other_learner, moment)
    now = dt.datetime(2024, 5, 2, 12, tzinfo=UTC)

    def counts(user, settings):
        days = stats.reviews_per_day(user=user, settings=settings, now=now, days=2)
        return {d.day.day: d.total for d in days}

    assert counts(learner, in_shanghai) == {1: 1, 2: 3}
    assert counts(other_learner, in_new_york) == {1: 3, 2: 1}


def test_reviews_per_day_across_the_march_dst_change_in_new_york(learner):
    settings = learner_settings(learner, NEW_YORK, 4)
    answer(learner, at(NEW_YORK, 2024, 3, 10, 3, 30))  # the 9th's study day
    answer(learner, at(NEW_YORK, 2024, 3, 10, 4, 30))  # the 10th's
    answer(learner, at(NEW_YORK, 2024, 3, 11, 3, 59))  # the 10th's
    answer(learner, at(NEW_YORK, 2024, 3, 11, 4))  # the 11th's
    now = at(NEW_YORK, 2024, 3, 11, 12)
    days = stats.reviews_per_day(user=learner, settings=settings, now=now, days=3)
    assert [(d.day.day, d.total) for d in days] == [(9, 1), (10, 2), (11, 1)]


def test_heatmap_is_a_year_of_monday_first_weeks_with_counts_and_shades(learner):
    settings = learner_settings(learner)
    now = at("UTC", 2024, 5, 29, 12)  # a Wednesday
    for _ in range(4):
        answer(learner, at("UTC", 2024, 5, 29, 8))
    answer(learner, at("UTC", 2024, 5, 27, 8))
    answer(learner, at("UTC", 2023, 5, 31, 8))  # the 365th day back (2024 is a leap year)
    answer(learner, at("UTC", 2023, 5, 30, 8))  # a day earlier: outside
    weeks = stats.heatmap(user=learner, settings=settings, now=now)
    assert all(len(week) == 7 for week in weeks)
    cells = [cell for week in weeks for cell in week if cell]
    assert len(cells) == 365
    assert cells[0].day == dt.date(2023, 5, 31) and cells[-1].day == dt.date(2024, 5, 29)
    assert all(cell.day.weekday() == n for week in weeks for n, cell in enumerate(week) if cell)
    # 31 May 2023 was a Wednesday: the first week starts with two empty cells.
    assert weeks[0][:2] == [None, None] and weeks[0][2]
    # Today is Wednesday: the last week ends with four empty cells.
    assert weeks[-1][3:] == [None] * 4
    found = {cell.day: (cell.count, cell.level) for cell in cells if cell.count}
    assert found == {
        dt.date(2024, 5, 29): (4, 4),
        dt.date(2024, 5, 27): (1, 1),
        dt.date(2023, 5, 31): (1, 1),
    }


# --- retention -----------------------------------------------------------------------------


def test_retention_counts_only_the_first_review_of_a_card_in_a_study_day(learner):
    settings = learner_settings(learner, SHANGHAI, 4)
    now = at(SHANGHAI, 2024, 5, 3, 23)
    card = review_card(learner)
    # Forgotten in the morning, then right twice the same study day: one failure.
    answer(learner, at(SHANGHAI, 2024, 5, 3, 9), card=card, rating=AGAIN, last_interval=5)
    answer(learner, at(SHANGHAI, 2024, 5, 3, 15), card=card, rating=GOOD, last_interval=1)
    answer(learner, at(SHANGHAI, 2024, 5, 4, 2), card=card, rating=GOOD, last_interval=1)
    # A practice answer earlier that day, and answers to learning cards, don't count.
    answer(learner, at(SHANGHAI, 2024, 5, 3, 8), card=card, rating=GOOD, is_practice=True)
    answer(learner, at(SHANGHAI, 2024, 5, 3, 10), card=card, state=RELEARNING, rating=GOOD)
    answer(learner, at(SHANGHAI, 2024, 5, 3, 10), state=LEARNING, rating=AGAIN)
    answer(learner, at(SHANGHAI, 2024, 5, 3, 10), state=NEW, rating=AGAIN)
    # Another card passes today.
    answer(learner, at(SHANGHAI, 2024, 5, 3, 11), rating=HARD, last_interval=3)
    found = stats.retention(user=learner, settings=settings, now=now)
    assert found["today"]["young"] == stats.Rate(passed=1, total=2)
    assert found["today"]["young"].rate == 0.5
    assert found["today"]["all"] == stats.Rate(passed=1, total=2)


def test_retention_counts_the_same_card_again_on_another_study_day(learner):
    settings = learner_settings(learner, SHANGHAI, 4)
    now = at(SHANGHAI, 2024, 5, 3, 23)
    card = review_card(learner)
    answer(learner, at(SHANGHAI, 2024, 5, 2, 3, 59), card=card, rating=AGAIN, last_interval=2)
    answer(learner, at(SHANGHAI, 2024, 5, 2, 4), card=card, rating=GOOD, last_interval=1)
    answer(learner, at(SHANGHAI, 2024, 5, 3, 9), card=card, rating=GOOD, last_interval=1)
    found = stats.retention(user=learner, settings=settings, now=now)
    assert found["today"]["all"] == stats.Rate(1, 1)
    assert found["week"]["all"] == stats.Rate(passed=2, total=3)


def test_retention_splits_young_and_mature_at_21_days(learner):
    settings = learner_settings(learner)
    now = at("UTC", 2024, 5, 3, 23)
    answer(learner, at("UTC", 2024, 5, 3, 9), last_interval=20, rating=GOOD)
    answer(learner, at("UTC", 2024, 5, 3, 9), last_interval=20, rating=AGAIN)
    answer(learner, at("UTC", 2024, 5, 3, 9), last_interval=21, rating=GOOD)
    answer(learner, at("UTC", 2024, 5, 3, 9), last_interval=100, rating=GOOD)
    answer(learner, at("UTC", 2024, 5, 3, 9), last_interval=100, rating=AGAIN)
    found = stats.retention(user=learner, settings=settings, now=now)["today"]
    assert found["young"] == stats.Rate(passed=1, total=2)
    assert found["mature"] == stats.Rate(passed=2, total=3)
    assert found["mature"].rate == pytest.approx(2 / 3)
    assert found["all"] == stats.Rate(passed=3, total=5)


def test_retention_periods_cover_the_last_1_7_30_and_365_study_days(learner, other_learner):
    settings = learner_settings(learner)
    now = at("UTC", 2024, 5, 30, 12)
    today = dt.datetime(2024, 5, 30, 8, tzinfo=UTC)
    answer(learner, today - dt.timedelta(days=6), rating=GOOD, last_interval=3)  # week
    answer(learner, today - dt.timedelta(days=7), rating=AGAIN, last_interval=3)  # month
    answer(learner, today - dt.timedelta(days=29), rating=GOOD, last_interval=30)  # month
    answer(learner, today - dt.timedelta(days=30), rating=GOOD, last_interval=30)  # year
    answer(learner, today - dt.timedelta(days=364), rating=AGAIN, last_interval=30)  # year
    answer(learner, today - dt.timedelta(days=365), rating=GOOD, last_interval=30)  # outside
    answer(other_learner, today, rating=GOOD, last_interval=3)
    found = stats.retention(user=learner, settings=settings, now=now)
    assert found["today"]["all"] == stats.Rate(0, 0)
    assert found["today"]["all"].rate is None
    assert found["week"]["young"] == stats.Rate(1, 1)
    assert found["week"]["mature"].rate is None
    assert found["month"]["young"] == stats.Rate(1, 2)
    assert found["month"]["mature"] == stats.Rate(1, 1)
    assert found["year"]["mature"] == stats.Rate(2, 3)
    assert found["year"]["all"] == stats.Rate(3, 5)


# --- forecast ------------------------------------------------------------------------------


def test_forecast_counts_overdue_cards_today_and_a_card_due_after_the_boundary_tomorrow(
    learner, other_learner
):
    settings = learner_settings(learner, SHANGHAI, 4)
    now = at(SHANGHAI, 2024, 5, 3, 12)
    boundary = at(SHANGHAI, 2024, 5, 4, 4)
    review_card(learner, due=now - dt.timedelta(days=40))  # long overdue
    review_card(learner, state=RELEARNING, due=now - dt.timedelta(hours=1))
    review_card(learner, due=boundary - dt.timedelta(minutes=1))  # today, just
    review_card(learner, due=boundary + dt.timedelta(minutes=1))  # tomorrow
    review_card(learner, state=LEARNING, due=at(SHANGHAI, 2024, 5, 5, 3))  # still the 4th
    review_card(learner, due=at(SHANGHAI, 2024, 6, 1, 12))  # day 29, the last
    review_card(learner, due=at(SHANGHAI, 2024, 6, 2, 12))  # day 30: beyond
    review_card(learner, due=now, is_suspended=True)
    review_card(learner, state=NEW)
    review_card(other_learner, due=now)
    days = stats.forecast(user=learner, settings=settings, now=now)
    assert len(days) == 30
    assert days[0] == (dt.date(2024, 5, 3), 3)
    assert days[1] == (dt.date(2024, 5, 4), 2)
    assert days[-1] == (dt.date(2024, 6, 1), 1)
    assert sum(count for _, count in days) == 6


def test_forecast_buckets_by_study_day_across_the_march_dst_change(learner):
    settings = learner_settings(learner, NEW_YORK, 4)
    now = at(NEW_YORK, 2024, 3, 8, 12)
    review_card(learner, due=at(NEW_YORK, 2024, 3, 10, 3, 30))  # the 9th
    review_card(learner, due=at(NEW_YORK, 2024, 3, 10, 4, 30))  # the 10th
    days = stats.forecast(user=learner, settings=settings, now=now, days=4)
    assert [(d.day, n) for d, n in days] == [(8, 0), (9, 1), (10, 1), (11, 0)]


# --- retrievability, mastery, hardest ------------------------------------------------------


def test_retrievability_params_are_fsrs6_defaults():
    decay, factor = stats.retrievability_params()
    scheduler = fsrs.Scheduler()
    assert decay == scheduler._DECAY
    assert factor == scheduler._FACTOR


def test_retrievability_in_sql_matches_fsrs(learner):
    now = at("UTC", 2024, 5, 30, 12)
    cards = [
        review_card(learner, stability=3.2, last_review=now - dt.timedelta(days=5)),
        # A second short of 5 days: fsrs counts whole days elapsed, so 4.
        review_card(learner, stability=3.2, last_review=now - dt.timedelta(days=5, seconds=-1)),
        review_card(learner, stability=40.0, last_review=now - dt.timedelta(days=61, hours=7)),
        review_card(
            learner, state=RELEARNING, stability=0.4, last_review=now - dt.timedelta(hours=3)
        ),
        review_card(learner, state=LEARNING, stability=1.1, last_review=now - dt.timedelta(days=2)),
        review_card(learner, stability=12.0, last_review=now + dt.timedelta(hours=1)),
    ]
    for card in cards:
        card.due = card.last_review + dt.timedelta(days=1)
        card.save()
    settings = learner_settings(learner)
    found = stats.hardest(user=learner, settings=settings, now=now, limit=10).least_retrievable
    by_id = {row.card_id: row.retrievability for row in found}
    assert len(by_id) == len(cards)
    end = tally.as_of(settings, now)  # recall is reckoned at the end of the study day
    for card in cards:
        assert by_id[card.id] == pytest.approx(fsrs_retrievability(card, end), abs=1e-12)
    assert [row.retrievability for row in found] == sorted(by_id.values())


def test_mastery_per_deck_counts_states_shares_and_mean_retrievability(learner, other_learner):
    settings = learner_settings(learner)
    now = at("UTC", 2024, 5, 30, 12)
    deck, other_deck = DeckFactory(position=1), DeckFactory(position=2)
    QuestionFactory(deck=deck)  # no card yet
    QuestionFactory(deck=deck, is_active=False)  # retired: not counted
    review_card(other_learner, question=QuestionFactory(deck=deck))  # unseen for this learner
    review_card(learner, state=NEW, question=QuestionFactory(deck=deck))
    last = now - dt.timedelta(days=3)

    def answered_card(state, stability, interval, **kwargs):
        question = QuestionFactory(deck=deck)
        due = last + interval
        return review_card(
            learner,
            state=state,
            question=question,
            stability=stability,
            last_review=last,
            due=due,
            **kwargs,
        )

    answered = [
        answered_card(LEARNING, 1.0, dt.timedelta(minutes=10)),
        answered_card(REVIEW, 15.0, dt.timedelta(days=20)),  # young: under 21 days
        answered_card(REVIEW, 30.0, dt.timedelta(days=21)),  # mature
        answered_card(REVIEW, 80.0, dt.timedelta(days=60), is_suspended=True),  # still known
    ]
    review_card(
        learner,
        question=QuestionFactory(deck=other_deck),
        stability=5.0,
        last_review=last,
        due=last + dt.timedelta(days=5),
    )

    rows = stats.mastery(user=learner, settings=settings, now=now, by="deck")
    assert [row.slug for row in rows] == [deck.slug, other_deck.slug]
    first = rows[0]
    assert (first.unseen, first.learning, first.young, first.mature) == (3, 1, 1, 2)
    assert first.total == 7
    assert first.unseen_share == pytest.approx(3 / 7)
    assert first.mature_share == pytest.approx(2 / 7)
    expected = sum(fsrs_retrievability(card, now) for card in answered) / 4
    assert first.retrievability == pytest.approx(expected, abs=1e-12)
    assert (rows[1].young, rows[1].total, rows[1].name) == (1, 1, other_deck.name)


def test_mastery_per_document_names_each_source_and_has_no_retrievability_before_answers(
    learner,
):
    settings = learner_settings(learner)
    now = at("UTC", 2024, 5, 30, 12)
    source = SourceFactory(slug="a-report", title="A report")
    untitled = SourceFactory(slug="b-report", title="", publisher="Xinhua", published_on=None)
    QuestionFactory(source=source)
    review_card(learner, state=LEARNING, question=QuestionFactory(source=source))
    QuestionFactory(source=untitled)
    rows = stats.mastery(user=learner, settings=settings, now=now, by="source")
    assert [(r.slug, r.name) for r in rows] == [
        ("a-report", "A report"),
        ("b-report", "Xinhua, undated (untitled)"),
    ]
    assert (rows[0].unseen, rows[0].learning, rows[0].learning_share) == (1, 1, 0.5)
    assert rows[0].retrievability is None  # the learning card has no stability yet
    assert (rows[1].unseen_share, rows[1].young_share, rows[1].retrievability) == (1.0, 0.0, None)


def test_hardest_lists_most_lapsed_and_least_retrievable_cards_with_their_source(
    learner, other_learner
):
    settings = learner_settings(learner)
    now = at("UTC", 2024, 5, 30, 12)
    source = SourceFactory(slug="jiangsu-report")
    question = QuestionFactory(uid="jiangsu-gdp", source=source, source_quote="GDP reached")
    last = now - dt.timedelta(days=10)
    leech = review_card(
        learner, question=question, lapses=8, is_suspended=True, stability=2.0, last_review=last
    )
    some = review_card(learner, lapses=2, stability=50.0, last_review=last)
    review_card(learner, lapses=0, stability=1.0, last_review=last)  # never forgotten
    review_card(learner, state=NEW)
    review_card(other_learner, lapses=20, stability=0.1, last_review=last)

    found = stats.hardest(user=learner, settings=settings, now=now)
    assert [c.card_id for c in found.most_lapses] == [leech.id, some.id]
    top = found.most_lapses[0]
    assert (top.uid, top.source_slug, top.source_quote, top.lapses) == (
        "jiangsu-gdp",
        "jiangsu-report",
        "GDP reached",
        8,
    )
    assert top.prompt == question.prompt
    assert top.url == "/sources/jiangsu-report/#q-jiangsu-gdp"
    assert {c.url for c in found.least_retrievable} >= {top.url}
    least = [c.lapses for c in found.least_retrievable]
    assert least == [0, 8, 2]  # stability 1, 2, 50 after the same ten days
    assert len(stats.hardest(user=learner, settings=settings, now=now, limit=1).most_lapses) == 1


# --- privacy and query counts --------------------------------------------------------------


def test_another_learners_history_is_never_counted(learner, other_learner):
    settings = learner_settings(learner)
    now = at("UTC", 2024, 5, 30, 12)
    card = review_card(other_learner, due=now, stability=5.0, last_review=now, lapses=3)
    for days_ago in range(5):
        answer(other_learner, now - dt.timedelta(days=days_ago), card=card, last_interval=5)
        answer(other_learner, now - dt.timedelta(days=days_ago), state=NEW)
    figures = stats.today(user=learner, settings=settings, now=now)
    assert (figures.due_today, figures.reviewed_today, figures.streak) == (0, 0, 0)
    assert figures.longest_streak == 0
    # The other learner's six questions are all unseen by this one.
    assert figures.new_left == 6
    per_day = stats.reviews_per_day(user=learner, settings=settings, now=now, days=30)
    assert all(d.total == 0 for d in per_day)
    heat = stats.heatmap(user=learner, settings=settings, now=now)
    assert all(cell.count == 0 for week in heat for cell in week if cell)
    assert stats.retention(user=learner, settings=settings, now=now)["year"]["all"].total == 0
    assert all(n == 0 for _, n in stats.forecast(user=learner, settings=settings, now=now))
    hard = stats.hardest(user=learner, settings=settings, now=now)
    assert hard.most_lapses == [] and hard.least_retrievable == []
    rows = stats.mastery(user=learner, settings=settings, now=now, by="deck")
    assert all(row.retrievability is None and row.unseen == row.total for row in rows)


CALLS = {
    "today": lambda **kw: stats.today(**kw),
    "reviews_per_day": lambda **kw: stats.reviews_per_day(**kw, days=365),
    "heatmap": lambda **kw: stats.heatmap(**kw),
    "retention": lambda **kw: stats.retention(**kw),
    "forecast": lambda **kw: stats.forecast(**kw),
    "mastery_by_deck": lambda **kw: stats.mastery(**kw, by="deck"),
    "mastery_by_source": lambda **kw: stats.mastery(**kw, by="source"),
    "hardest": lambda **kw: stats.hardest(**kw),
}


def add_history(user, now: dt.datetime, count: int, start: int = 0) -> None:
    """`count` answers on as many cards, one a study day going back from today, every state."""
    for n in range(start, start + count):
        card = review_card(
            user,
            state=[NEW, LEARNING, REVIEW, RELEARNING][n % 4],
            due=now + dt.timedelta(days=n % 40 - 5),
            stability=1.0 + n,
            last_review=now - dt.timedelta(days=n % 30),
            lapses=n % 5,
        )
        answer(
            user,
            now - dt.timedelta(days=n),
            card=card,
            state=n % 4,
            rating=AGAIN if n % 3 == 0 else GOOD,
            last_interval=n % 40,
            duration_ms=1000,
        )


@pytest.mark.parametrize("name", CALLS)
def test_query_count_does_not_grow_with_the_history(learner, django_assert_max_num_queries, name):
    settings = learner_settings(learner, NEW_YORK, 4)
    now = at(NEW_YORK, 2024, 5, 30, 12)
    kwargs = {"user": learner, "settings": settings, "now": now}
    add_history(learner, now, 10)
    # The first look sums up the past days (studyapp.history; its queries are counted in
    # test_history); the pages' loads after it are what is counted here.
    CALLS[name](**kwargs)
    with CaptureQueriesContext(connection) as small:
        CALLS[name](**kwargs)
    add_history(learner, now, 190, start=10)
    # Past answers written behind the app's back: the summary is counted again first.
    history.forget([learner.id])
    CALLS[name](**kwargs)
    with django_assert_max_num_queries(len(small)), CaptureQueriesContext(connection) as large:
        CALLS[name](**kwargs)
    assert len(large) == len(small) <= 4


def test_figures_made_from_one_read_of_the_history_are_the_same(learner):
    """The progress page reads the history once (retention included) and hands it to each
    figure; each must come out as it does reading for itself, over more than a year."""
    settings = learner_settings(learner, NEW_YORK, 4)
    now = at(NEW_YORK, 2024, 5, 30, 12)
    add_history(learner, now, 420)
    kwargs = {"user": learner, "settings": settings, "now": now}
    studied = history.days(learner, settings, now, retention=True)
    assert stats.today(**kwargs, studied=studied) == stats.today(**kwargs)
    assert stats.heatmap(**kwargs, studied=studied) == stats.heatmap(**kwargs)
    assert stats.retention(**kwargs, studied=studied) == stats.retention(**kwargs)
    for days in (30, 365):
        assert stats.reviews_per_day(**kwargs, days=days, studied=studied) == (
            stats.reviews_per_day(**kwargs, days=days)
        )
