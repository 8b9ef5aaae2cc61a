"""FSRS scheduling. The only module that imports fsrs: it maps Card rows to fsrs cards and back.

fsrs wants aware datetimes in exactly datetime.UTC, so every value read from the database
passes through utc() first (backends may hand back other tzinfo objects).
"""

import datetime as dt
import re
from dataclasses import dataclass

import fsrs
from django.conf import settings as django_settings

from .models import Card, LearnerSettings

STEP_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
STEP_PATTERN = re.compile(r"^(\d+)([smhd])$")
# A card whose lapses reach this many is suspended and flagged as a leech, as in Anki.
LEECH_LAPSES = 8


def forgetting_curve() -> tuple[float, float]:
    """(DECAY, FACTOR) of FSRS-6's default parameters: R = (1 + FACTOR * days / S) ** DECAY.
    For computing retrievability in SQL, where fsrs itself cannot run."""
    decay = -fsrs.Scheduler().parameters[20]
    return decay, 0.9 ** (1 / decay) - 1


def parse_steps(text: str) -> tuple[dt.timedelta, ...]:
    """ "1m 10m 1h" -> timedeltas. Raises ValueError naming the bad step."""
    steps = []
    for part in text.split():
        match = STEP_PATTERN.match(part)
        if not match or int(match[1]) == 0:
            raise ValueError(f"{part!r} is not a step; write steps like 1m 10m 1h 1d")
        steps.append(dt.timedelta(seconds=int(match[1]) * STEP_UNITS[match[2]]))
    return tuple(steps)


def utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.astimezone(dt.UTC)


def scheduler_for(settings: LearnerSettings, *, fuzz: bool | None = None) -> fsrs.Scheduler:
    if fuzz is None:
        fuzz = getattr(django_settings, "STUDY_FSRS_FUZZ", True)
    return fsrs.Scheduler(
        desired_retention=settings.desired_retention,
        learning_steps=parse_steps(settings.learning_steps),
        relearning_steps=parse_steps(settings.relearning_steps),
        maximum_interval=settings.maximum_interval,
        enable_fuzzing=fuzz,
    )


def to_fsrs(card: Card, *, now: dt.datetime) -> fsrs.Card:
    if card.state == Card.State.NEW:
        # fsrs's own new card: Learning, step 0, due now. card_id avoids its 1 ms sleep.
        return fsrs.Card(card_id=card.id, due=utc(now))
    return fsrs.Card(
        card_id=card.id,
        state=fsrs.State(card.state),
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=utc(card.due),
        last_review=utc(card.last_review),
    )


def snapshot(card: Card) -> dict:
    """The fields a review changes, as JSON, so undo can put them back exactly."""
    return {
        "state": card.state,
        "step": card.step,
        "stability": card.stability,
        "difficulty": card.difficulty,
        "due": card.due.isoformat() if card.due else None,
        "last_review": card.last_review.isoformat() if card.last_review else None,
        "reps": card.reps,
        "lapses": card.lapses,
        "is_suspended": card.is_suspended,
        "is_leech": card.is_leech,
        "buried_until": card.buried_until.isoformat() if card.buried_until else None,
    }


def restore(card: Card, saved: dict) -> None:
    for name, value in saved.items():
        if name in ("due", "last_review", "buried_until") and value is not None:
            value = dt.datetime.fromisoformat(value)
        setattr(card, name, value)


def interval_days(card: Card) -> int | None:
    """Days between the card's last review and its due date: its current interval."""
    if card.state != Card.State.REVIEW or not card.due or not card.last_review:
        return None
    return max(0, (card.due - card.last_review).days)


# The fields review() sets: a grade saves only these.
REVIEWED = (
    "state", "step", "stability", "difficulty", "due", "last_review", "reps", "lapses",
    "is_suspended", "is_leech",
)  # fmt: skip


def review(card: Card, *, rating: int, now: dt.datetime, scheduler: fsrs.Scheduler) -> None:
    """Apply a rating to the card row in memory (the caller saves REVIEWED)."""
    was_review = card.state == Card.State.REVIEW
    updated, _ = scheduler.review_card(to_fsrs(card, now=now), fsrs.Rating(rating), utc(now))
    card.state = int(updated.state)
    card.step = updated.step
    card.stability = updated.stability
    card.difficulty = updated.difficulty
    card.due = updated.due
    card.last_review = updated.last_review
    card.reps += 1
    if was_review and rating == fsrs.Rating.Again:
        card.lapses += 1
        if card.lapses >= LEECH_LAPSES:
            card.is_leech = True
            card.is_suspended = True


def preview(card: Card, *, now: dt.datetime, scheduler: fsrs.Scheduler) -> dict[int, dt.timedelta]:
    """The wait each rating would give, for the grade buttons. Shown without fuzz (as Anki
    does), so a long interval may land a day or two either side."""
    plain = fsrs.Scheduler(
        parameters=scheduler.parameters,
        desired_retention=scheduler.desired_retention,
        learning_steps=scheduler.learning_steps,
        relearning_steps=scheduler.relearning_steps,
        maximum_interval=scheduler.maximum_interval,
        enable_fuzzing=False,
    )
    current = to_fsrs(card, now=now)
    return {
        int(rating): plain.review_card(current, rating, utc(now))[0].due - utc(now)
        for rating in fsrs.Rating
    }


def retrievability(card: Card, *, now: dt.datetime, scheduler: fsrs.Scheduler) -> float:
    if card.state == Card.State.NEW:
        return 0.0
    return scheduler.get_card_retrievability(to_fsrs(card, now=now), utc(now))


@dataclass(frozen=True)
class Interval:
    seconds: float

    def __str__(self) -> str:
        """Short, as on Anki's buttons: 45s, 10m, 3h, 2d, 3.5mo, 1.2y."""
        s = self.seconds
        if s < 60:
            return f"{max(1, round(s))}s"
        if s < 3600:
            return f"{round(s / 60)}m"
        if s < 86400:
            return f"{round(s / 3600)}h"
        days = s / 86400
        if days < 30:
            return f"{round(days)}d"
        if days < 365:
            return f"{days / 30:.1f}".removesuffix(".0") + "mo"
        return f"{days / 365:.1f}".removesuffix(".0") + "y"
