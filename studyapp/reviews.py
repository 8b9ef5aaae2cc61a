"""Answering a card: check the response, record the grade once, undo it, suspend or bury."""

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import grade_writes, grading, history, scheduler, snapshot_query, tally
from .days import day_bounds, study_day
from .models import Card, Kind, LearnerSettings, Question, Review
from .queue import ChoiceRow, choices_of

# A review's duration is capped, as Anki does, so a card left open over lunch doesn't count.
MAX_DURATION_MS = 5 * 60 * 1000


class GradeRefused(Exception):
    """A grade the card cannot take; the message says why."""


def check(
    question: Question, response: str, choices: Sequence[ChoiceRow] = ()
) -> grading.Verdict | None:
    """The verdict on a response; None for a flashcard, which the learner rates. A multiple
    choice is answered with the position of the chosen choice."""
    if question.kind == Kind.FLASHCARD:
        return None
    if question.kind == Kind.MULTIPLE_CHOICE:
        chosen = next((c for c in choices if str(c.position) == response), None)
        if chosen is None:
            return grading.Verdict("wrong", question.answer, None)
        return grading.Verdict(
            "correct" if chosen.is_correct else "wrong", question.answer, chosen.text
        )
    if question.kind == Kind.TRUE_FALSE:
        outcome = "correct" if response == question.answer else "wrong"
        return grading.Verdict(outcome, question.answer, response or None)
    return grading.grade(given=response, answer=question.answer, accepted=question.accepted_answers)


def allowed_ratings(verdict: grading.Verdict | None) -> tuple[int, ...]:
    """A wrong answer (a near miss included) is Again; a right one Hard, Good or Easy."""
    if verdict is None:
        return (1, 2, 3, 4)
    return (2, 3, 4) if verdict.is_correct else (1,)


@dataclass(frozen=True)
class Graded:
    review: Review | None  # None when the token had been used already
    repeated: bool  # the token had been used already: nothing new was recorded


def grade(card_id: int, *, token: uuid.UUID, **answer) -> Graded:
    """Record one answer. The card row is locked, so concurrent grades queue; a token already
    used records nothing more. Raises Card.DoesNotExist for another learner's card."""
    try:
        return _record(card_id, token=token, **answer)
    except IntegrityError:
        # Two posts of one token raced: the other one's review committed while this one waited
        # for the card (its token check ran on what the database held before the wait). The
        # whole of this one was rolled back; it is a repeat.
        earlier = Review.objects.filter(token=token).values_list("card_id", flat=True).first()
        if earlier is None:
            raise
        if earlier != card_id:
            raise GradeRefused("This form's token was already used for another card.") from None
        return Graded(None, repeated=True)


@transaction.atomic
def _record(
    card_id: int,
    *,
    user,
    settings: LearnerSettings,
    rating: int,
    token: uuid.UUID,
    response: str,
    duration_ms: int | None,
    practice: bool,
    now: dt.datetime | None = None,
) -> Graded:
    # One query: the locked card, its question and choices, and whether the token was used.
    card = snapshot_query.card(card_id, user.pk, lock=True, token=token)
    if card.token_card is not None:
        if card.token_card != card.id:
            raise GradeRefused("This form's token was already used for another card.")
        return Graded(None, repeated=True)
    verdict = check(card.question, response, choices_of(card))
    if rating not in allowed_ratings(verdict):
        names = ", ".join(Review.Rating(r).label for r in allowed_ratings(verdict))
        raise GradeRefused(f"This answer can be graded {names}, not {Review.Rating(rating).label}.")
    # An answer's time is when it is applied, never before the card's last one: a grade that
    # waited for the lock behind a later-stamped one must not move the card back in time.
    now = max(now or timezone.now(), card.last_review or dt.datetime.min.replace(tzinfo=dt.UTC))
    before = scheduler.snapshot(card)
    review = Review(
        card=card,
        user_id=card.user_id,
        rating=rating,
        reviewed_at=now,
        duration_ms=None if duration_ms is None else max(0, min(duration_ms, MAX_DURATION_MS)),
        response=response,
        was_correct=None if verdict is None else verdict.is_correct,
        token=token,
        is_practice=practice,
        state=card.state,
        last_interval=scheduler.interval_days(card),
        card_before=before,
    )
    if practice:
        grade_writes.write(None, None, review)
        return Graded(review, repeated=False)
    at = tally.as_of(settings, now)
    share_before = tally.share(card, at)  # its part in the progress page's kept figures
    scheduler.review(card, rating=rating, now=now, scheduler=scheduler.scheduler_for(settings))
    grade_writes.write(card, tally.change(card, share_before, at), review)
    return Graded(review, repeated=False)


@transaction.atomic
def undo_last(user) -> Card | None:
    """Take back the learner's last answer: the card gets exactly its fields from before and
    the review is gone. Returns the card, or None when there is nothing to undo."""
    review = (
        Review.objects.select_for_update().filter(user=user).order_by("-reviewed_at", "-id").first()
    )
    if review is None:
        return None
    card = Card.objects.select_for_update().get(id=review.card_id)
    if not review.is_practice:
        scheduler.restore(card, review.card_before)
        card.save()
    review.delete()
    # The last answer may be from a day the history summary has counted already (yesterday's,
    # undone after midnight).
    history.forget([review.user_id], since=review.reviewed_at)
    if not review.is_practice:
        tally.forget([review.user_id])
    return card


@transaction.atomic
def suspend(card: Card) -> None:
    card.is_suspended = True
    card.save(update_fields=["is_suspended"])
    tally.forget([card.user_id])  # the day's due work changed


@transaction.atomic
def bury(card: Card, *, settings: LearnerSettings, now: dt.datetime) -> None:
    """Hide the card until the next study day begins."""
    day = study_day(now, tz=settings.time_zone, starts_at=settings.day_starts_at)
    card.buried_until = day_bounds(day, tz=settings.time_zone, starts_at=settings.day_starts_at)[1]
    card.save(update_fields=["buried_until"])
    tally.forget([card.user_id])
