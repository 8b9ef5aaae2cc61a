"""What comes next: order, study-day boundaries, the new-card limit, suspend and bury."""

import datetime as dt

import pytest

from studyapp import days, queue, reviews
from studyapp.models import Card

from .factories import CardFactory, LearnerSettingsFactory, QuestionFactory, ReviewFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2024, 3, 5, 12, 0, tzinfo=dt.UTC)


def at(**delta):
    return NOW + dt.timedelta(**delta)


def review_card(user, due, **kwargs):
    return CardFactory(
        user=user, state=Card.State.REVIEW, due=due, last_review=due - dt.timedelta(days=3),
        stability=3.0, difficulty=5.0, **kwargs,
    )  # fmt: skip


def learning_card(user, due, state=Card.State.LEARNING, **kwargs):
    return CardFactory(user=user, state=state, step=1, due=due, stability=1.0,
                       difficulty=5.0, last_review=due - dt.timedelta(minutes=10), **kwargs)  # fmt: skip


def next_of(user, settings, now=NOW, **kwargs):
    return queue.next_card(user, settings, now=now, **kwargs)


@pytest.fixture
def settings_row(learner):
    return LearnerSettingsFactory(user=learner, time_zone="UTC", day_starts_at=4, new_per_day=20)


def test_learning_due_now_comes_before_reviews_and_new(learner, settings_row):
    CardFactory(user=learner)
    review_card(learner, at(hours=-5))
    learning = learning_card(learner, at(minutes=-1))
    assert next_of(learner, settings_row) == learning


def test_a_review_due_before_the_end_of_the_study_day_is_shown(learner, settings_row):
    # The study day of 12:00 UTC ends at 04:00 UTC the next morning.
    late = review_card(learner, at(hours=15, minutes=59))
    assert next_of(learner, settings_row) == late
    late.due = at(hours=16, minutes=1)
    late.save()
    assert next_of(learner, settings_row) is None


def test_study_day_follows_the_learner_time_zone_and_hour(learner):
    settings = LearnerSettingsFactory(user=learner, time_zone="Asia/Shanghai", day_starts_at=4)
    # 12:00 UTC is 20:00 in Shanghai; the study day ends at 04:00 Shanghai = 20:00 UTC.
    before_end = review_card(learner, at(hours=7, minutes=59))
    after_end = review_card(learner, at(hours=8, minutes=1))
    assert next_of(learner, settings) == before_end
    found = queue.snapshot(learner, settings, now=NOW)
    assert found.counts.review == 1
    assert after_end.due > found.day.end


def test_a_2am_answer_belongs_to_the_previous_study_day():
    two_am_shanghai = dt.datetime(2024, 3, 5, 18, 0, tzinfo=dt.UTC)  # 02:00 on 6 March there
    assert days.study_day(two_am_shanghai, tz="Asia/Shanghai", starts_at=4) == dt.date(2024, 3, 5)
    assert days.study_day(two_am_shanghai, tz="Asia/Shanghai", starts_at=0) == dt.date(2024, 3, 6)


def test_study_days_keep_their_local_start_across_daylight_saving():
    # New York moved its clocks forward at 02:00 on 10 March 2024: that study day is 23 hours.
    start, end = days.day_bounds(dt.date(2024, 3, 9), tz="America/New_York", starts_at=4)
    assert start == dt.datetime(2024, 3, 9, 9, 0, tzinfo=dt.UTC)
    assert end == dt.datetime(2024, 3, 10, 8, 0, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(hours=23)
    # And in November it falls back: a 25-hour study day.
    start, end = days.day_bounds(dt.date(2024, 11, 2), tz="America/New_York", starts_at=4)
    assert end - start == dt.timedelta(hours=25)


def test_new_cards_stop_at_the_daily_limit_counting_those_already_introduced(learner):
    settings = LearnerSettingsFactory(user=learner, new_per_day=3, time_zone="UTC")
    fresh = CardFactory.create_batch(5, user=learner)
    introduced = CardFactory(user=learner, state=Card.State.LEARNING, due=at(hours=2))
    ReviewFactory(card=introduced, state=Card.State.NEW, reviewed_at=at(hours=-1))
    # One introduced yesterday does not count against today.
    ReviewFactory(card=CardFactory(user=learner, state=Card.State.REVIEW, due=at(days=9)),
                  state=Card.State.NEW, reviewed_at=at(days=-1))  # fmt: skip
    found = queue.snapshot(learner, settings, now=NOW)
    assert found.day.introduced == 1
    assert found.counts.new == 2
    assert next_of(learner, settings) == fresh[0]
    ReviewFactory.create_batch(2, card=fresh[4], state=Card.State.NEW, reviewed_at=at(minutes=-5))
    assert next_of(learner, settings) is None


def test_reviews_stop_at_the_daily_limit_counting_those_already_answered(learner):
    settings = LearnerSettingsFactory(user=learner, reviews_per_day=3, time_zone="UTC")
    due = [review_card(learner, at(hours=-10 + i)) for i in range(5)]
    # Today's review answers count against the limit; a practice answer and yesterday's do not.
    ReviewFactory(card=due[4], state=Card.State.REVIEW, reviewed_at=at(hours=-1))
    ReviewFactory(card=due[4], state=Card.State.REVIEW, reviewed_at=at(hours=-1), is_practice=True)
    ReviewFactory(card=due[4], state=Card.State.REVIEW, reviewed_at=at(days=-1))
    found = queue.snapshot(learner, settings, now=NOW)
    assert found.counts.review == 2
    assert found.card == due[0]
    ReviewFactory.create_batch(2, card=due[4], state=Card.State.REVIEW, reviewed_at=at(minutes=-5))
    found = queue.snapshot(learner, settings, now=NOW)
    assert (found.counts.review, found.card) == (0, None)
    # Learning cards are not reviews: the limit leaves them alone.
    learning = learning_card(learner, at(minutes=-1))
    assert next_of(learner, settings) == learning


def test_the_review_count_stops_at_the_limit_however_large_the_backlog(learner):
    settings = LearnerSettingsFactory(user=learner, reviews_per_day=4, time_zone="UTC")
    for i in range(9):
        review_card(learner, at(days=-i - 1))
    assert queue.snapshot(learner, settings, now=NOW).counts.review == 4
    settings.reviews_per_day = 50
    assert queue.snapshot(learner, settings, now=NOW).counts.review == 9


def test_learning_and_relearning_cards_due_now_come_in_due_order(learner, settings_row):
    relearning = learning_card(learner, at(minutes=-9), state=Card.State.RELEARNING)
    learning = learning_card(learner, at(minutes=-3))
    assert next_of(learner, settings_row) == relearning
    relearning.due = at(minutes=-1)
    relearning.save()
    assert next_of(learner, settings_row) == learning
    # Ahead of time too: the one due sooner comes first.
    assert next_of(learner, settings_row, now=at(minutes=-20)) == learning


def test_practice_answers_do_not_count_against_the_new_limit(learner):
    settings = LearnerSettingsFactory(user=learner, new_per_day=1, time_zone="UTC")
    card = CardFactory(user=learner)
    ReviewFactory(card=CardFactory(user=learner), state=Card.State.NEW, is_practice=True,
                  reviewed_at=at(minutes=-5))  # fmt: skip
    assert next_of(learner, settings) == card


def test_new_cards_are_mixed_in_among_reviews(learner, settings_row):
    reviews_due = [review_card(learner, at(hours=-10 + i)) for i in range(4)]
    new = CardFactory.create_batch(2, user=learner)
    shown = []
    for _ in range(6):
        card = next_of(learner, settings_row)
        shown.append("new" if card in new else "review")
        # Answer it: move it out of today's queue and log the answer.
        ReviewFactory(card=card, state=card.state, reviewed_at=NOW)
        card.state, card.due = Card.State.REVIEW, at(days=5)
        card.save()
    assert shown.count("new") == 2 and shown.count("review") == len(reviews_due)
    # One new card, then reviews, then the other: not all new cards at either end.
    assert shown == ["new", "review", "review", "new", "review", "review"]


def test_learning_cards_due_soon_are_shown_when_nothing_else_is_left(learner, settings_row):
    soon = learning_card(learner, at(minutes=8))
    learning_card(learner, at(hours=2))
    assert next_of(learner, settings_row) == soon
    assert next_of(learner, settings_row, now=at(minutes=-30)) is None


def test_suspended_buried_and_inactive_cards_are_not_shown(learner, settings_row):
    review_card(learner, at(hours=-1), is_suspended=True)
    review_card(learner, at(hours=-1), question=QuestionFactory(is_active=False))
    buried = review_card(learner, at(hours=-1))
    reviews.bury(buried, settings=settings_row, now=NOW)
    assert buried.buried_until == dt.datetime(2024, 3, 6, 4, 0, tzinfo=dt.UTC)
    assert next_of(learner, settings_row) is None
    # The next study day it is back.
    assert (
        next_of(learner, settings_row, now=dt.datetime(2024, 3, 6, 4, 1, tzinfo=dt.UTC)) == buried
    )


def test_a_deck_scope_shows_only_that_deck(learner, settings_row):
    other = review_card(learner, at(hours=-2))
    mine = review_card(learner, at(hours=-1))
    from django.db.models import Q

    assert next_of(learner, settings_row, only=Q(deck=mine.question.deck)) == mine
    assert next_of(learner, settings_row) == other


def test_another_learners_cards_never_come_up(learner, other_learner, settings_row):
    review_card(other_learner, at(hours=-1))
    assert next_of(learner, settings_row) is None


def test_ensure_cards_gives_a_card_for_each_active_question_once(learner):
    QuestionFactory.create_batch(3)
    QuestionFactory(is_active=False)
    assert queue.ensure_cards(learner) == 3
    assert queue.ensure_cards(learner) == 0
    assert Card.objects.filter(user=learner).count() == 3


def test_deck_counts_group_due_learning_and_new_per_deck(learner, settings_row):
    a = review_card(learner, at(hours=-1))
    learning_card(learner, at(minutes=-1), question=QuestionFactory(deck=a.question.deck))
    CardFactory(user=learner, question=QuestionFactory(deck=a.question.deck))
    b = CardFactory(user=learner)
    day = queue.snapshot(learner, settings_row, now=NOW).day
    by_deck = queue.deck_counts(learner, settings_row, now=NOW, day=day)
    assert by_deck[a.question.deck_id] == queue.Counts(learning=1, review=1, new=1)
    assert by_deck[b.question.deck_id] == queue.Counts(learning=0, review=0, new=1)


def test_deck_counts_stop_at_what_is_left_of_the_daily_limits(learner):
    settings = LearnerSettingsFactory(user=learner, reviews_per_day=3, new_per_day=2)
    deck_a = QuestionFactory().deck
    for i in range(5):
        review_card(learner, at(hours=-i - 1), question=QuestionFactory(deck=deck_a))
    deck_b = review_card(learner, at(hours=-1)).deck_id
    for _ in range(4):
        CardFactory(user=learner, question=QuestionFactory(deck=deck_a))
    by_deck = queue.deck_counts(
        learner, settings, now=NOW, day=queue.snapshot(learner, settings, now=NOW).day
    )
    assert by_deck[deck_a.id] == queue.Counts(learning=0, review=3, new=2)
    assert by_deck[deck_b] == queue.Counts(learning=0, review=1, new=0)
    # One review answered today leaves two of the limit for each deck.
    ReviewFactory(card=Card.objects.filter(deck=deck_a).first(), state=Card.State.REVIEW,
                  reviewed_at=at(minutes=-5))  # fmt: skip
    by_deck = queue.deck_counts(
        learner, settings, now=NOW, day=queue.snapshot(learner, settings, now=NOW).day
    )
    assert by_deck[deck_a.id].review == 2
