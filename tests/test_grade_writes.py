"""A grade's writes as SQL built once (studyapp.grade_writes): the rows hold what the ORM's save
and insert would have written, in one statement on PostgreSQL, and a failure leaves nothing."""

import datetime as dt
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from studyapp import grade_writes, reviews, scheduler, tally
from studyapp.models import Card, Kind, Review, Tally

from .factories import CardFactory, LearnerSettingsFactory, QuestionFactory

NOW = dt.datetime(2024, 5, 30, 12, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def settings(learner):
    return LearnerSettingsFactory(user=learner, time_zone="UTC", day_starts_at=4)


@pytest.fixture
def review_card(learner):
    last = NOW - dt.timedelta(days=6)
    return CardFactory(
        user=learner, question=QuestionFactory(kind=Kind.TRUE_FALSE, answer="True"),
        state=Card.State.REVIEW, stability=5.5, difficulty=4.25, last_review=last,
        due=last + dt.timedelta(days=5), reps=4, lapses=1, step=None,
    )  # fmt: skip


def _grade(learner, settings, card, *, rating=3, practice=False, token=None, response="True"):
    return reviews.grade(
        card.id, user=learner, settings=settings, rating=rating, token=token or uuid.uuid4(),
        response=response, duration_ms=4321, practice=practice, now=NOW,
    )  # fmt: skip


def _fields(obj, names) -> dict:
    return {name: getattr(obj, name) for name in names}


def test_the_rows_hold_what_the_grade_computed(learner, settings, review_card):
    tally.tallies(learner, settings, NOW)  # counted, so the grade moves the card in its tally
    expected = Card.objects.get(pk=review_card.pk)
    scheduler.review(expected, rating=1, now=NOW, scheduler=scheduler.scheduler_for(settings))

    graded = _grade(learner, settings, review_card, rating=1, response="False")

    review = graded.review
    assert review.pk is not None and not review._state.adding
    stored = Card.objects.get(pk=review_card.pk)
    assert _fields(stored, scheduler.REVIEWED) == _fields(expected, scheduler.REVIEWED)
    assert stored.lapses == 2 and stored.state == Card.State.RELEARNING
    row = Review.objects.get(pk=review.pk)
    names = [f.attname for f in grade_writes.REVIEW_FIELDS]
    assert _fields(row, names) == _fields(review, names)
    assert row.reviewed_at == NOW and row.duration_ms == 4321 and row.was_correct is False
    assert row.card_before["stability"] == 5.5 and row.card_before["reps"] == 4
    kept = Tally.objects.get(user=learner, deck=stored.deck_id, source=stored.source_id)
    assert (kept.mature + kept.young, kept.learning) == (0, 1)


def test_practice_writes_the_review_alone(learner, settings, review_card):
    before = _fields(Card.objects.get(pk=review_card.pk), scheduler.REVIEWED)
    with CaptureQueriesContext(connection) as queries:
        graded = _grade(learner, settings, review_card, practice=True)
    assert Review.objects.get(pk=graded.review.pk).is_practice
    assert _fields(Card.objects.get(pk=review_card.pk), scheduler.REVIEWED) == before
    writes = [q["sql"] for q in queries if q["sql"].startswith(("UPDATE", "INSERT", "WITH"))]
    statement = grade_writes.statements(card=False, tallied=False)[0]
    assert statement.startswith('INSERT INTO "studyapp_review"')
    if connection.vendor == "postgresql":
        assert writes == []  # run prepared: EXECUTE
    else:
        assert len(writes) == 1 and writes[0].startswith('INSERT INTO "studyapp_review"')


def test_a_retired_card_is_rescheduled_without_a_tally_change(learner, settings, review_card):
    Card.objects.filter(pk=review_card.pk).update(is_retired=True)
    tally.tallies(learner, settings, NOW)
    kept = list(Tally.objects.filter(user=learner).values())
    assert kept  # the pair's row, which a grade of a counted card would move
    graded = _grade(learner, settings, review_card)
    assert Card.objects.get(pk=review_card.pk).reps == 5
    assert Review.objects.filter(pk=graded.review.pk).exists()
    assert list(Tally.objects.filter(user=learner).values()) == kept
    assert not grade_writes.statements(card=True, tallied=False)[-1].count("studyapp_tally")


def test_on_postgresql_the_three_writes_are_one_statement():
    statements = grade_writes.statements(card=True, tallied=True)
    if connection.vendor == "postgresql":
        (sql,) = statements
        assert sql.startswith("WITH w0 AS (UPDATE")
        assert 'UPDATE "studyapp_card"' in sql and 'UPDATE "studyapp_tally"' in sql
    else:
        assert [s.split()[0] for s in statements] == ["UPDATE", "UPDATE", "INSERT"]


def test_a_used_token_writes_nothing(learner, settings, review_card):
    """The review's INSERT fails last; the card's and the tally's writes go with it."""
    tally.tallies(learner, settings, NOW)
    token = uuid.uuid4()
    other = CardFactory(user=learner, question=QuestionFactory(kind=Kind.FLASHCARD))
    _grade(learner, settings, other, token=token, rating=3, response="")
    card_before = _fields(Card.objects.get(pk=review_card.pk), scheduler.REVIEWED)
    tallies_before = list(Tally.objects.filter(user=learner).values())

    card = Card.objects.get(pk=review_card.pk)
    at = tally.as_of(settings, NOW)
    share = tally.share(card, at)
    scheduler.review(card, rating=3, now=NOW, scheduler=scheduler.scheduler_for(settings))
    review = Review(
        card=card, user_id=learner.pk, rating=3, reviewed_at=NOW, token=token, state=2,
        last_interval=5, card_before={},
    )  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        grade_writes.write(card, tally.change(card, share, at), review)

    assert _fields(Card.objects.get(pk=review_card.pk), scheduler.REVIEWED) == card_before
    assert list(Tally.objects.filter(user=learner).values()) == tallies_before
    assert Review.objects.filter(token=token).count() == 1
