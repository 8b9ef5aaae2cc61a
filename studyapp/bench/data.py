"""A synthetic collection for the benchmark, written with bulk inserts.

One bank of questions (every kind; multiple choice with four choices), one main learner and
`others` learners of the same size sharing the tables. Each learner has a card for every question,
in every state (new, learning, review, relearning; some suspended, buried or leeches), and a
year of reviews whose fields are what the stats read: reviewed_at spread over the last 365 days,
the card's state before the answer, a rating consistent with the next state, last_interval,
duration_ms, the response and its verdict, practice flags, a unique token and the card's fields
before the answer.

Rows go in with COPY on PostgreSQL and executemany on SQLite, reviews streamed while their cards
are generated (the cards follow in one COPY each: foreign keys are deferred, or switched off with
`fast=True` in a fresh database). Generation is seeded: the same size gives the same collection.

Learning and relearning counts are capped (10-60 and 5-30 per learner) rather than scaled: they
come from the day's new cards and lapses, not from the size of the collection, and keeping them
bounded makes the study loop see the same mix of card states at every size.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max

from ..models import Card, Choice, Deck, Kind, LearnerSettings, Question, Review, Source


@dataclass(frozen=True)
class Size:
    name: str
    cards: int  # per learner, and questions in the bank
    reviews: int  # per learner


SIZES = {
    size.name: size
    for size in (
        Size("tiny", 200, 2_000),
        Size("tiny2x", 400, 4_000),
        Size("1k", 1_000, 10_000),
        Size("10k", 10_000, 100_000),
        Size("100k", 100_000, 1_000_000),
    )
}
DEFAULT_SIZES = ("1k", "10k", "100k")

MAIN_USERNAME = "bench-main"
# Every benchmark learner has this password, to look around a benchmark database by hand.
PASSWORD = "bench-Study-passphrase-42"

DAY = 86_400
NEW, LEARNING, REVIEW, RELEARNING = 0, 1, 2, 3
AGAIN, HARD, GOOD, EASY = 1, 2, 3, 4
# Kinds in a repeating pattern of 20 questions: 5 flashcards, 5 multiple choice, 3 true/false,
# 4 typed, 3 cloze.
KIND_PATTERN = (
    [Kind.FLASHCARD] * 5
    + [Kind.MULTIPLE_CHOICE] * 5
    + [Kind.TRUE_FALSE] * 3
    + [Kind.TYPED] * 4
    + [Kind.CLOZE] * 3
)
DECKS = 10
SOURCES = 5
SENTENCES_PER_SOURCE = 60
DUE_SHARE = 0.4  # of review cards, due by now (a learner with a backlog)
SUSPENDED_SHARE = 0.03
BURIED_SHARE = 0.01
INACTIVE_SHARE = 0.01  # questions retired from the bank (their cards stay)
# A learner working through a backlog, who raised the daily review limit from 200: the
# benchmark's loops never exhaust it, and the review count reads up to this many due cards.
REVIEWS_PER_DAY = 1000
PRACTICE_SHARE = 0.01  # reviews given in practice mode

WORDS = [
    "new",
    "quality",
    "productive",
    "forces",
    "technological",
    "breakthroughs",
    "innovative",
    "allocation",
    "production",
    "factors",
    "industrial",
    "transformation",
    "upgrading",
    "workers",
    "means",
    "labour",
    "subjects",
    "total",
    "factor",
    "productivity",
    "core",
    "hallmark",
    "Jiangsu",
    "Guangdong",
    "Liaoning",
    "Hainan",
    "government",
    "work",
    "report",
    "priorities",
    "industry",
    "clusters",
    "digital",
    "economy",
    "green",
    "development",
    "advanced",
    "manufacturing",
    "artificial",
    "intelligence",
    "biomanufacturing",
    "commercial",
    "spaceflight",
    "quantum",
    "technology",
    "life",
    "sciences",
    "emerging",
    "industries",
    "future",
    "industries",
    "high-quality",
    "growth",
    "modernization",
]


def _clamp(value, low, high):
    return max(low, min(high, value))


# --- text -------------------------------------------------------------------------------------


def _sentence(rng: random.Random, index: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(14, 30))]
    words[0] = words[0].capitalize()
    return f"{' '.join(words)} ({index})."


def source_texts(rng: random.Random, n: int = SOURCES) -> list[tuple[str, list[str]]]:
    """(slug, sentences) for each synthetic document."""
    return [
        (f"bench-source-{s + 1}", [_sentence(rng, i) for i in range(SENTENCES_PER_SOURCE)])
        for s in range(n)
    ]


def join_text(sentences: list[str]) -> str:
    paragraphs = [" ".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5)]
    return "\n\n".join(paragraphs) + "\n"


@dataclass
class QuestionSpec:
    uid: str
    deck: int  # index into the decks
    source: int  # index into the sources
    kind: str
    prompt: str
    answer: str
    accepted_answers: list[str]
    explanation: str
    source_quote: str
    tags: str
    is_active: bool
    choices: list[tuple[int, str, bool]]  # (position, text, is_correct), multiple choice only
    correct_position: int | None


def question_specs(
    n: int, rng: random.Random, sources: list[tuple[str, list[str]]], *, inactive_share: float
) -> Iterator[QuestionSpec]:
    """n questions in the kind pattern, each quoting a sentence of its source."""
    for i in range(n):
        kind = KIND_PATTERN[i % len(KIND_PATTERN)]
        source = i % len(sources)
        quote = rng.choice(sources[source][1])
        topic = " ".join(rng.choice(WORDS) for _ in range(3))
        figure = rng.randint(100, 99_999) / 100
        choices, correct, accepted = [], None, []
        if kind == Kind.MULTIPLE_CHOICE:
            correct = rng.randint(1, 4)
            choices = [(p, f"{topic} option {p} ({i})", p == correct) for p in range(1, 5)]
            answer = choices[correct - 1][1]
            prompt = f"According to the report, which of these describes {topic}? (question {i})"
        elif kind == Kind.TRUE_FALSE:
            answer = rng.choice(("True", "False"))
            prompt = f"True or false: the report names {topic} among its priorities. ({i})"
        elif kind == Kind.CLOZE:
            answer = f"{figure} trillion yuan"
            accepted = [f"{figure} trillion", f"RMB {figure} trillion"]
            prompt = f"The province's output in {topic} reached ____ last year. ({i})"
        elif kind == Kind.TYPED:
            answer = f"{figure} trillion yuan"
            accepted = [f"{figure} trillion", f"RMB {figure} trillion"]
            prompt = f"What figure does the report give for {topic}? ({i})"
        else:
            answer = f"The report ties {topic} to {rng.choice(WORDS)} and {rng.choice(WORDS)}."
            prompt = f"What does the report say drives {topic}? ({i})"
        yield QuestionSpec(
            uid=f"bench-q{i:06d}-{kind.replace('_', '-')}",
            deck=i % DECKS,
            source=source,
            kind=kind,
            prompt=prompt,
            answer=answer,
            accepted_answers=accepted,
            explanation=f"The report says so in its section on {topic}; see the quoted sentence.",
            source_quote=quote,
            tags=f"bench topic::{topic.split()[0]} doc::{sources[source][0]}",
            is_active=rng.random() >= inactive_share,
            choices=choices,
            correct_position=correct,
        )


# --- writing rows -----------------------------------------------------------------------------


class Rows:
    """Bulk inserts on the current connection: COPY on PostgreSQL, executemany on SQLite.

    Values are given ready for the database: datetimes formatted by `dt()`, UUIDs as 32 hex
    digits (both backends read them), JSON as text, booleans as Python bools. A model field the
    builder doesn't fill (one added later with a default) gets its default in every row."""

    def __init__(self):
        connection.ensure_connection()
        self.vendor = connection.vendor
        if self.vendor not in ("postgresql", "sqlite"):
            raise NotImplementedError(
                f"the benchmark builds on PostgreSQL or SQLite, not {self.vendor}"
            )
        self.suffix = "+00" if self.vendor == "postgresql" else ""
        self._days: dict[int, str] = {}

    def dt(self, ts: float | None) -> str | None:
        """A UTC timestamp as the backend stores it ('YYYY-MM-DD HH:MM:SS')."""
        if ts is None:
            return None
        ts = int(ts)
        day, seconds = divmod(ts, DAY)
        text = self._days.get(day)
        if text is None:
            text = self._days[day] = dt.datetime.fromtimestamp(day * DAY, dt.UTC).strftime(
                "%Y-%m-%d"
            )
        hours, rest = divmod(seconds, 3600)
        return f"{text} {hours:02d}:{rest // 60:02d}:{rest % 60:02d}{self.suffix}"

    def iso(self, ts: float | None) -> str | None:
        """A UTC timestamp as scheduler.snapshot writes it into Review.card_before."""
        if ts is None:
            return None
        ts = int(ts)
        day, seconds = divmod(ts, DAY)
        text = self._days.get(day) or self.dt(day * DAY)[:10]
        hours, rest = divmod(seconds, 3600)
        return f"{text}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}+00:00"

    def insert(self, model, names: list[str], rows: Iterable[tuple]) -> int:
        fields = [model._meta.get_field(name) for name in names]
        extra = [
            f for f in model._meta.concrete_fields if f.name not in names and not f.primary_key
        ]
        constants = tuple(f.get_db_prep_save(f.get_default(), connection) for f in extra)
        columns = [f.column for f in fields + extra]
        table = connection.ops.quote_name(model._meta.db_table)
        column_list = ", ".join(connection.ops.quote_name(c) for c in columns)
        raw = connection.connection
        count = 0
        if self.vendor == "postgresql":
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row + constants if constants else row)
                    count += 1
        else:
            sql = f"INSERT INTO {table} ({column_list}) VALUES ({', '.join('?' * len(columns))})"
            batch: list[tuple] = []
            for row in rows:
                batch.append(row + constants if constants else row)
                if len(batch) == 50_000:
                    raw.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                raw.executemany(sql, batch)
                count += len(batch)
        return count


def _next_id(model) -> int:
    return (model.objects.aggregate(m=Max("id"))["m"] or 0) + 1


# --- cards and their histories ----------------------------------------------------------------


@dataclass
class LearnerPlan:
    """The card states of one learner, and how many reviews each card has had."""

    states: list[int]
    reps: list[int]


def plan_learner(n: int, reviews: int, rng: random.Random) -> tuple[LearnerPlan, list[float]]:
    learning = _clamp(round(n * 0.04), 10, 60)
    relearning = _clamp(round(n * 0.02), 5, 30)
    new = round(n * 0.25)
    states = [NEW] * new + [LEARNING] * learning + [RELEARNING] * relearning
    states += [REVIEW] * (n - len(states))
    rng.shuffle(states)
    # How often each card is forgotten: most rarely, a tail often (the leeches).
    p_again = [min(0.6, rng.expovariate(1 / 0.08)) for _ in range(n)]
    reps = [0] * n
    for i, state in enumerate(states):
        if state == LEARNING:
            reps[i] = rng.randint(1, 3)
    scheduled = [i for i, s in enumerate(states) if s in (REVIEW, RELEARNING)]
    left = max(0, reviews - sum(reps))
    weights = [(rng.expovariate(1.0) + 0.1) * (1 + 4 * p_again[i]) for i in scheduled]
    total = sum(weights) or 1.0
    minimum = {REVIEW: 1, RELEARNING: 3}
    for i, w in zip(scheduled, weights, strict=True):
        reps[i] = max(minimum[states[i]], round(left * w / total))
    # Rounding leaves the total a little off: move single reviews until it is exact.
    diff = reviews - sum(reps)
    guard = 0
    while diff and scheduled and guard < 10 * len(scheduled) + abs(diff) * 10:
        guard += 1
        i = rng.choice(scheduled)
        if diff > 0:
            reps[i] += 1
            diff -= 1
        elif reps[i] > minimum[states[i]]:
            reps[i] -= 1
            diff += 1
    return LearnerPlan(states, reps), p_again


@dataclass
class BuildReport:
    size: str
    main_user_id: int
    user_ids: list[int]
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    main_states: dict[str, int] = field(default_factory=dict)


RATING_AFTER_REVIEW = ((HARD, 15), (GOOD, 70), (EASY, 15))


def _pick(rng: random.Random, options) -> int:
    total = sum(w for _, w in options)
    x = rng.random() * total
    for value, w in options:
        x -= w
        if x < 0:
            return value
    return options[-1][0]


def _history(
    rng: random.Random,
    target: int,
    reps: int,
    p_again: float,
    now: float,
) -> tuple[list[tuple[float, int, int, int | None, dict]], dict]:
    """The reviews of one card, oldest first, as (ts, state before, rating, last_interval,
    card before), and the card's fields after the last one."""
    # When the last review was, and when the card is due.
    if target == LEARNING:
        if reps == 1:
            last = now - rng.uniform(1, 3) * DAY
        elif rng.random() < 0.7:
            last = now - rng.uniform(900, 3 * 3600)
        else:
            last = now - rng.uniform(0, 480)
        first = last if reps == 1 else now - rng.uniform(1, 3) * DAY
    elif target == RELEARNING:
        last = now - rng.uniform(3600, 30 * DAY)
        first = now - rng.uniform((now - last) / DAY + reps / 24, 365) * DAY
    else:
        last = now - rng.uniform(1, 180) * DAY
        first = now - rng.uniform((now - last) / DAY + reps / 24, 365) * DAY
    first = min(first, last)
    times = [first, *sorted(rng.uniform(first, last) for _ in range(max(0, reps - 2)))]
    times = ([*times, last])[:reps] if reps > 1 else [last]

    out = []
    state, step, lapses, stability = NEW, None, 0, None
    difficulty = _clamp(1 + 9 * min(1.0, p_again * 2.5) + rng.gauss(0, 1), 1.0, 10.0)
    previous = None
    for j, ts in enumerate(times):
        final = j == reps - 1
        must_leave = reps - j <= 2  # a review-type card must reach review state in time
        if state == NEW:
            if target == LEARNING:
                rating, nxt = _pick(rng, ((AGAIN, 15), (HARD, 10), (GOOD, 75))), LEARNING
            elif reps == 1:
                rating, nxt = EASY, REVIEW
            else:
                rating, nxt = _pick(rng, ((AGAIN, 15), (HARD, 10), (GOOD, 75))), LEARNING
        elif state == LEARNING:
            if target == LEARNING:
                rating, nxt = _pick(rng, ((AGAIN, 70), (HARD, 30))), LEARNING
            elif not must_leave and rng.random() < 0.1:
                rating, nxt = AGAIN, LEARNING
            else:
                rating, nxt = _pick(rng, ((GOOD, 85), (EASY, 15))), REVIEW
        elif state == REVIEW:
            forgot = target == RELEARNING if final else rng.random() < p_again
            if forgot:
                rating, nxt = AGAIN, RELEARNING
            else:
                rating, nxt = _pick(rng, RATING_AFTER_REVIEW), REVIEW
        else:  # RELEARNING
            stay = target == RELEARNING if final else rng.random() < 0.15
            rating, nxt = (AGAIN, RELEARNING) if stay else (GOOD, REVIEW)
        interval = None
        if state == REVIEW and previous is not None:
            interval = max(0, round((ts - previous) / DAY))
        before = {
            "state": state,
            "step": step,
            "stability": stability,
            "difficulty": None if state == NEW else round(difficulty, 4),
            "due": ts if state != NEW else None,
            "last_review": previous,
            "reps": j,
            "lapses": lapses,
        }
        out.append((ts, state, rating, interval, before))
        if state == REVIEW and rating == AGAIN:
            lapses += 1
        # The card after this answer.
        if nxt == LEARNING:
            step = 0 if rating in (AGAIN, HARD) else 1
            stability = round(rng.uniform(0.3, 3.5), 4)
        elif nxt == RELEARNING:
            step = 0
            stability = round(rng.uniform(0.5, 5), 4)
        else:
            step = None
            gap = (times[j + 1] - ts) / DAY if j + 1 < reps else 1.0
            stability = round(max(0.5, gap * rng.uniform(0.8, 1.3)), 4)
        state = nxt
        previous = ts

    if state == REVIEW:
        if rng.random() < DUE_SHARE:
            due = last + rng.uniform(1, max(1.0, (now - last) / DAY)) * DAY
            due = min(due, now - 60)
        else:
            due = now + rng.uniform(1 / 24, 180) * DAY
        stability = round(max(0.5, (due - last) / DAY * rng.uniform(0.8, 1.3)), 4)
    elif state == RELEARNING:
        due = last + 600
    else:
        due = last + (60 if step == 0 else 600)
    card = {
        "state": state,
        "step": step,
        "stability": stability,
        "difficulty": round(difficulty, 4),
        "due": due,
        "last_review": last,
        "reps": reps,
        "lapses": lapses,
    }
    return out, card


CARD_FIELDS = [
    "id",
    "user",
    "question",
    "deck",
    "source",
    "is_retired",
    "state",
    "step",
    "stability",
    "difficulty",
    "due",
    "last_review",
    "reps",
    "lapses",
    "is_suspended",
    "is_leech",
    "buried_until",
]
REVIEW_FIELDS = [
    "card",
    "user",
    "rating",
    "reviewed_at",
    "duration_ms",
    "response",
    "was_correct",
    "token",
    "is_practice",
    "state",
    "last_interval",
    "card_before",
]


def _snapshot_json(rows: Rows, before: dict) -> str:
    def num(v):
        return "null" if v is None else repr(v)

    def when(ts):
        return "null" if ts is None else f'"{rows.iso(ts)}"'

    return (
        f'{{"state": {before["state"]}, "step": {num(before["step"])}, '
        f'"stability": {num(before["stability"])}, "difficulty": {num(before["difficulty"])}, '
        f'"due": {when(before["due"])}, "last_review": {when(before["last_review"])}, '
        f'"reps": {before["reps"]}, "lapses": {before["lapses"]}, "is_suspended": false, '
        f'"is_leech": false, "buried_until": null}}'
    )


def _learner_rows(
    rows: Rows,
    *,
    learner: int,
    user_id: int,
    first_card_id: int,
    questions: list[tuple[int, QuestionSpec]],
    deck_ids: list[int],
    source_ids: list[int],
    plan: LearnerPlan,
    p_again: list[float],
    rng: random.Random,
    now: float,
    cards_out: list[tuple],
    states_out: Counter,
) -> Iterator[tuple]:
    """Yields the learner's review rows; fills cards_out with their card rows on the way."""
    token_prefix = f"b3c4{learner:08x}"
    counter = 0
    tomorrow = (math.floor((now - 4 * 3600) / DAY) + 1) * DAY + 4 * 3600  # next 04:00 UTC
    for index, (question_id, spec) in enumerate(questions):
        card_id = first_card_id + index
        target, reps = plan.states[index], plan.reps[index]
        if target == NEW:
            card = {
                "state": NEW,
                "step": None,
                "stability": None,
                "difficulty": None,
                "due": None,
                "last_review": None,
                "reps": 0,
                "lapses": 0,
            }
            history = []
        else:
            history, card = _history(rng, target, reps, p_again[index], now)
        for ts, state, rating, interval, before in history:
            right = rating > AGAIN
            if spec.kind == Kind.FLASHCARD:
                response, was_correct = "", None
            elif spec.kind == Kind.MULTIPLE_CHOICE:
                position = spec.correct_position if right else spec.correct_position % 4 + 1
                response, was_correct = str(position), right
            elif spec.kind == Kind.TRUE_FALSE:
                other = "False" if spec.answer == "True" else "True"
                response, was_correct = (spec.answer if right else other), right
            else:
                response, was_correct = (spec.answer if right else "not sure"), right
            counter += 1
            yield (
                card_id,
                user_id,
                rating,
                rows.dt(ts),
                int(min(300_000, rng.lognormvariate(8.9, 0.7))),
                response,
                was_correct,
                f"{token_prefix}{counter:020x}",
                rng.random() < PRACTICE_SHARE,
                state,
                interval,
                _snapshot_json(rows, before),
            )
        leech = card["lapses"] >= 8
        suspended = leech or rng.random() < SUSPENDED_SHARE
        buried = None
        if not suspended and rng.random() < BURIED_SHARE:
            buried = rows.dt(tomorrow)
        states_out[("new", "learning", "review", "relearning")[card["state"]]] += 1
        states_out["suspended"] += suspended
        states_out["leech"] += leech
        states_out["buried"] += buried is not None
        if card["state"] != NEW and card["due"] <= now and not suspended:
            states_out["due_now"] += 1
        cards_out.append(
            (
                card_id,
                user_id,
                question_id,
                deck_ids[spec.deck],
                source_ids[spec.source],
                not spec.is_active,
                card["state"],
                card["step"],
                card["stability"],
                card["difficulty"],
                rows.dt(card["due"]),
                rows.dt(card["last_review"]),
                card["reps"],
                card["lapses"],
                suspended,
                leech,
                buried,
            )
        )


# --- the whole collection ---------------------------------------------------------------------


def build(
    size: Size,
    *,
    others: int = 3,
    seed: int = 2024,
    now: dt.datetime | None = None,
    fast: bool = False,
    log: Callable[[str], None] = lambda message: None,
) -> BuildReport:
    """Write the collection into the current database. fast=True is for a fresh database:
    foreign-key checks and durability are switched off while writing (the rows are consistent
    by construction), and PostgreSQL's statistics are refreshed afterwards."""
    now_ts = (now or dt.datetime.now(dt.UTC)).timestamp()
    rng = random.Random(seed)
    rows = Rows()
    report = BuildReport(size=size.name, main_user_id=0, user_ids=[])
    started = time.perf_counter()

    def lap(name: str, since: float) -> float:
        report.seconds[name] = round(time.perf_counter() - since, 2)
        return time.perf_counter()

    if fast:
        _fast_mode(rows.vendor, on=True)
    try:
        with transaction.atomic():
            t = time.perf_counter()
            # Learners: the main one second, so it is neither the first nor the last rows.
            User = get_user_model()
            password = make_password(PASSWORD)
            names = [f"bench-other-{i + 1}" for i in range(others)]
            names.insert(min(1, others), MAIN_USERNAME)
            users = [User.objects.create(username=name, password=password) for name in names]
            for user in users:
                LearnerSettings.objects.create(user=user, reviews_per_day=REVIEWS_PER_DAY)
            main = users[names.index(MAIN_USERNAME)]
            report.main_user_id = main.id
            report.user_ids = [main.id] + [u.id for u in users if u.id != main.id]

            # The bank.
            sources = source_texts(rng)
            source_rows = [
                Source(
                    slug=slug,
                    title=f"Synthetic report {i + 1}",
                    publisher="Bench Daily",
                    seed_file=f"{slug}.txt",
                    text=join_text(sentences),
                )
                for i, (slug, sentences) in enumerate(sources)
            ]
            Source.objects.bulk_create(source_rows)
            deck_rows = Deck.objects.bulk_create(
                [
                    Deck(slug=f"bench-deck-{i + 1}", name=f"Deck {i + 1}", position=i)
                    for i in range(DECKS)
                ]
            )
            source_ids = [
                s.id
                for s in Source.objects.filter(slug__in=[s for s, _ in sources]).order_by("slug")
            ]
            deck_ids = (
                [d.id for d in deck_rows]
                if deck_rows[0].id
                else [
                    d.id
                    for d in Deck.objects.filter(slug__startswith="bench-deck-").order_by(
                        "position"
                    )
                ]
            )
            specs = list(question_specs(size.cards, rng, sources, inactive_share=INACTIVE_SHARE))
            first_question = _next_id(Question)
            questions = [(first_question + i, spec) for i, spec in enumerate(specs)]
            report.rows["questions"] = rows.insert(
                Question,
                [
                    "id",
                    "uid",
                    "deck",
                    "kind",
                    "prompt",
                    "answer",
                    "accepted_answers",
                    "explanation",
                    "source",
                    "source_quote",
                    "tags",
                    "is_active",
                ],
                (
                    (
                        qid,
                        s.uid,
                        deck_ids[s.deck],
                        s.kind,
                        s.prompt,
                        s.answer,
                        json.dumps(s.accepted_answers),
                        s.explanation,
                        source_ids[s.source],
                        s.source_quote,
                        s.tags,
                        s.is_active,
                    )
                    for qid, s in questions
                ),
            )
            report.rows["choices"] = rows.insert(
                Choice,
                ["question", "position", "text", "is_correct"],
                (
                    (qid, position, text, correct)
                    for qid, s in questions
                    for position, text, correct in s.choices
                ),
            )
            t = lap("users_and_bank", t)

            # Each learner's cards and reviews.
            first_card = _next_id(Card)
            report.rows["cards"] = report.rows["reviews"] = 0
            for learner, user in enumerate(users):
                learner_rng = random.Random(f"{seed}-{learner}")
                plan, p_again = plan_learner(size.cards, size.reviews, learner_rng)
                cards: list[tuple] = []
                states: Counter = Counter()
                report.rows["reviews"] += rows.insert(
                    Review,
                    REVIEW_FIELDS,
                    _learner_rows(
                        rows,
                        learner=learner,
                        user_id=user.id,
                        first_card_id=first_card,
                        questions=questions,
                        deck_ids=deck_ids,
                        source_ids=source_ids,
                        plan=plan,
                        p_again=p_again,
                        rng=learner_rng,
                        now=now_ts,
                        cards_out=cards,
                        states_out=states,
                    ),
                )
                report.rows["cards"] += rows.insert(Card, CARD_FIELDS, cards)
                first_card += len(cards)
                if user.id == main.id:
                    report.main_states = dict(states)
                log(f"  learner {user.username}: {len(cards)} cards, {size.reviews} reviews")
            t = lap("cards_and_reviews", t)
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), [Question, Card]):
                    cursor.execute(sql)
    finally:
        if fast:
            _fast_mode(rows.vendor, on=False)
    if fast:
        t = time.perf_counter()
        _analyze(rows.vendor)
        lap("analyze", t)
    report.seconds["total"] = round(time.perf_counter() - started, 2)
    return report


def _fast_mode(vendor: str, *, on: bool) -> None:
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            # Foreign-key triggers off (superuser), commits not waiting for the disk.
            cursor.execute(f"SET session_replication_role = {'replica' if on else 'DEFAULT'}")
            cursor.execute(f"SET synchronous_commit = {'off' if on else 'DEFAULT'}")
        else:
            # Only outside a transaction, as here.
            cursor.execute(f"PRAGMA foreign_keys = {'OFF' if on else 'ON'}")
            cursor.execute(f"PRAGMA synchronous = {'OFF' if on else 'NORMAL'}")
            if on:
                cursor.execute("PRAGMA cache_size = -1000000")


def _analyze(vendor: str) -> None:
    """PostgreSQL: VACUUM ANALYZE, as autovacuum would soon do after a bulk load. SQLite is left
    without ANALYZE statistics, as the app's own databases are; only the WAL is checkpointed.
    Then the load is written out to the disk, as it would be long before anyone studies: left
    to the kernel and to PostgreSQL's checkpointer, the first commits measured had to wait for
    gigabytes of it (one SQLite grade at 100k took 1.8-2.1 s, in the WAL's first checkpoint)."""
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            for model in (Question, Choice, Card, Review):
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
            cursor.execute("CHECKPOINT")
        else:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    os.sync()
