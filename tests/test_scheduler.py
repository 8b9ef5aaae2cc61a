"""The app's scheduler against fsrs itself."""

import datetime as dt

import fsrs
import pytest

from studyapp import scheduler
from studyapp.models import Card, LearnerSettings

from .factories import CardFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2022, 11, 29, 12, 30, tzinfo=dt.UTC)


def test_fsrs_reference_sequence_gives_the_reference_intervals(learner):
    """py-fsrs's own test: Good x6, Again x2, Good x5, each at the card's due time."""
    card = CardFactory(user=learner)
    plan = scheduler.scheduler_for(LearnerSettings(user=learner), fuzz=False)
    now, intervals = START, []
    for rating in [3] * 6 + [1] * 2 + [3] * 5:
        scheduler.review(card, rating=rating, now=now, scheduler=plan)
        card.save()
        card.refresh_from_db()  # through the database, as the app does
        intervals.append((card.due - card.last_review).days)
        now = card.due
    assert intervals == [0, 2, 11, 46, 163, 498, 0, 0, 2, 4, 7, 12, 21]


STATES = {
    "new": {},
    "learning": {"state": Card.State.LEARNING, "step": 1, "stability": 2.3, "difficulty": 5.1,
                 "due": START, "last_review": START - dt.timedelta(minutes=10)},
    "review": {"state": Card.State.REVIEW, "step": None, "stability": 12.0, "difficulty": 6.0,
               "due": START, "last_review": START - dt.timedelta(days=12)},
    "relearning": {"state": Card.State.RELEARNING, "step": 0, "stability": 1.4, "difficulty": 8.2,
                   "due": START, "last_review": START - dt.timedelta(minutes=10)},
}  # fmt: skip


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("rating", [1, 2, 3, 4])
def test_each_rating_from_each_state_matches_fsrs(learner, state, rating):
    card = CardFactory(user=learner, **STATES[state])
    card.refresh_from_db()
    plan = scheduler.scheduler_for(LearnerSettings(user=learner), fuzz=False)
    expected, _ = fsrs.Scheduler(enable_fuzzing=False).review_card(
        scheduler.to_fsrs(card, now=START), fsrs.Rating(rating), START
    )
    scheduler.review(card, rating=rating, now=START, scheduler=plan)
    card.save()
    card.refresh_from_db()
    assert card.state == int(expected.state)
    assert card.step == expected.step
    assert card.stability == pytest.approx(expected.stability)
    assert card.difficulty == pytest.approx(expected.difficulty)
    assert card.due == expected.due
    assert card.last_review == START
    assert card.reps == 1


def test_again_on_a_review_card_is_a_lapse_and_the_eighth_makes_a_leech(learner):
    card = CardFactory(user=learner, lapses=7, **STATES["review"])
    plan = scheduler.scheduler_for(LearnerSettings(user=learner), fuzz=False)
    scheduler.review(card, rating=1, now=START, scheduler=plan)
    assert card.lapses == 8
    assert card.is_leech and card.is_suspended


def test_settings_shape_the_scheduler(learner):
    settings = LearnerSettings(
        user=learner, desired_retention=0.8, learning_steps="2m 15m 1h",
        relearning_steps="5m", maximum_interval=180,
    )  # fmt: skip
    plan = scheduler.scheduler_for(settings, fuzz=False)
    assert plan.desired_retention == 0.8
    assert plan.learning_steps == (
        dt.timedelta(minutes=2),
        dt.timedelta(minutes=15),
        dt.timedelta(hours=1),
    )
    assert plan.relearning_steps == (dt.timedelta(minutes=5),)
    assert plan.maximum_interval == 180


def test_datetimes_from_another_tzinfo_are_converted_for_fsrs(learner):
    shanghai = dt.timezone(dt.timedelta(hours=8))
    card = CardFactory(user=learner, **STATES["review"])
    card.due = START.astimezone(shanghai)
    card.last_review = (START - dt.timedelta(days=12)).astimezone(shanghai)
    plan = scheduler.scheduler_for(LearnerSettings(user=learner), fuzz=False)
    scheduler.review(card, rating=3, now=START.astimezone(shanghai), scheduler=plan)
    assert card.last_review == START and card.last_review.tzinfo is dt.UTC


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("1m 10x", "'10x' is not a step"),
        ("0m", "'0m' is not a step"),
        ("ten", "'ten' is not a step"),
    ],
)
def test_bad_steps_are_named(text, error):
    with pytest.raises(ValueError, match=error):
        scheduler.parse_steps(text)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(30, "30s"), (60, "1m"), (600, "10m"), (3 * 3600, "3h"), (2 * 86400, "2d"),
     (45 * 86400, "1.5mo"), (400 * 86400, "1.1y"), (730 * 86400, "2y")],
)  # fmt: skip
def test_intervals_are_shown_short(seconds, shown):
    assert str(scheduler.Interval(seconds)) == shown


def test_preview_matches_what_each_rating_would_do(learner):
    card = CardFactory(user=learner, **STATES["review"])
    plan = scheduler.scheduler_for(LearnerSettings(user=learner), fuzz=False)
    waits = scheduler.preview(card, now=START, scheduler=plan)
    for rating in (1, 2, 3, 4):
        trial = Card(**{f.attname: getattr(card, f.attname) for f in Card._meta.concrete_fields})
        scheduler.review(trial, rating=rating, now=START, scheduler=plan)
        assert trial.due - START == waits[rating]
    assert waits[1] < waits[2] < waits[3] < waits[4]


def test_forgetting_curve_matches_fsrs_retrievability(learner):
    card = CardFactory(user=learner, **STATES["review"])
    decay, factor = scheduler.forgetting_curve()
    later = START + dt.timedelta(days=20)
    expected = fsrs.Scheduler().get_card_retrievability(scheduler.to_fsrs(card, now=later), later)
    elapsed = (later - card.last_review).days
    assert (1 + factor * elapsed / card.stability) ** decay == pytest.approx(expected)
