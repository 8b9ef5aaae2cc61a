"""Grades posted at the same moment, from real threads, each with its own database connection.

Each scenario below is a plain function: it makes its learners and cards, runs its threads
(released together by a barrier, each closing its connection at the end) and returns what it
saw as plain data; the tests assert on that.

- On PostgreSQL the scenarios run in this process, on pytest-django's test database.
- On SQLite, pytest-django's test database is in memory with a shared cache: no WAL, and table
  locks that fail at once ("database table is locked") instead of waiting. That is not the
  database the settings configure, so the SQLite run starts one child process that migrates a
  fresh SQLite *file* with the app's real settings (WAL, IMMEDIATE transactions) and runs the
  same scenarios there.
"""

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from studyapp import queue, reviews, tally
from studyapp.days import study_day
from studyapp.models import Card, Kind, LearnerSettings, Review, StudyDay, Tally

from .factories import CardFactory, QuestionFactory, UserFactory

THREADS = 20
TIMEOUT = 60  # seconds for the threads of one scenario
HTMX = {"HTTP_HX_REQUEST": "true"}
SCOPE = {"deck": "", "source": ""}
ROOT = Path(__file__).resolve().parent.parent

ON_POSTGRESQL = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="in-process threads need PostgreSQL: the SQLite test database is in memory (shared "
    "cache, no WAL, table locks fail at once); on SQLite the *_on_a_sqlite_file tests run the "
    "same scenarios on a file database in a child process",
)
ON_SQLITE = pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="the SQLite-file variant runs in the SQLite test run; this run is on "
    f"{connection.vendor}",
)
# --- Scenarios (plain functions, also run by the SQLite child process) -------------------------


def run_threads(count: int, work: Callable[[int], object]) -> list:
    """work(i) in count threads released together; each closes its connections at the end.
    Returns each thread's result, or the repr of the exception it raised."""
    barrier = threading.Barrier(count, timeout=TIMEOUT)
    results: list = [None] * count

    def target(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:
            results[i] = f"{type(exc).__name__}: {exc}"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + TIMEOUT
    for thread in threads:
        thread.join(max(0.1, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        raise AssertionError(f"threads still running after {TIMEOUT} s")
    return results


def flashcard_for(user) -> Card:
    LearnerSettings.objects.get_or_create(user=user)
    return CardFactory(user=user, question=QuestionFactory(kind=Kind.FLASHCARD))


def logged_in_clients(user, count: int) -> list[Client]:
    """Each answers a view's exception with its 500 response: the test Client's re-raising
    listens to a process-wide signal, so with threads it would re-raise another thread's."""
    clients = []
    for _ in range(count):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        clients.append(client)
    return clients


def card_facts(card_id: int) -> dict:
    """The card and its (non-practice) reviews, in the order they were applied: each review
    keeps the card's reps from before it (card_before), so that order is known exactly."""
    card = Card.objects.get(id=card_id)
    done = sorted(
        Review.objects.filter(card_id=card_id, is_practice=False),
        key=lambda r: (r.card_before["reps"], r.id),
    )
    return {
        "user": card.user_id,
        "reps": card.reps,
        "reviews": len(done),
        "reps_before_each": [r.card_before["reps"] for r in done],
        "review_users": sorted({r.user_id for r in done}),
        "last_review": card.last_review.isoformat() if card.last_review else None,
        "last_applied_at": done[-1].reviewed_at.isoformat() if done else None,
        "latest_reviewed_at": max(r.reviewed_at for r in done).isoformat() if done else None,
        "tokens": sorted(str(r.token) for r in done),
    }


def scenario_one_token_from_20_clients() -> dict:
    learner = UserFactory()
    card = flashcard_for(learner)
    clients = logged_in_clients(learner, THREADS)
    token = str(uuid.uuid4())
    url = reverse("grade", args=[card.id])

    def post(i):
        return clients[i].post(url, {"token": token, "rating": 3, **SCOPE}, **HTMX).status_code

    return {"results": run_threads(THREADS, post), "card": card_facts(card.id)}


def scenario_one_token_from_20_threads() -> dict:
    learner = UserFactory()
    card = flashcard_for(learner)
    token = uuid.uuid4()

    def grade(i):
        graded = reviews.grade(
            card.id, user=learner, settings=queue.settings_of(learner), rating=3, token=token,
            response="", now=timezone.now(), duration_ms=1000, practice=False,
        )  # fmt: skip
        return "repeated" if graded.repeated else "recorded"

    return {"results": run_threads(THREADS, grade), "card": card_facts(card.id)}


def scenario_one_token_queued_behind_a_lock(via: str, waiters: int = 5) -> dict:
    """Deterministic: a holder keeps the card locked until `waiters` posts of one token (through
    logged-in clients, or reviews.grade directly) are queued behind it, then lets go; the first
    records, the others must find its review and answer as repeats."""
    learner = UserFactory()
    card = flashcard_for(learner)
    token = uuid.uuid4()
    clients = logged_in_clients(learner, waiters) if via == "clients" else []
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Card.objects.select_for_update().get(id=card.id)
                locked.set()
                release.wait(TIMEOUT)
        finally:
            connections.close_all()

    def post(i):
        if via == "clients":
            data = {"token": str(token), "rating": 3, **SCOPE}
            return clients[i].post(reverse("grade", args=[card.id]), data, **HTMX).status_code
        graded = reviews.grade(
            card.id, user=learner, settings=queue.settings_of(learner), rating=3, token=token,
            response="", now=timezone.now(), duration_ms=1000, practice=False,
        )  # fmt: skip
        return "repeated" if graded.repeated else "recorded"

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert locked.wait(TIMEOUT)
    results: list = []
    runner = threading.Thread(
        target=lambda: results.extend(run_threads(waiters, post)), daemon=True
    )
    runner.start()
    try:
        wait_for_lock_waiters(waiters)
    finally:
        release.set()
        runner.join(TIMEOUT)
        holder.join(TIMEOUT)
    return {"results": results, "card": card_facts(card.id)}


def wait_for_lock_waiters(count: int) -> None:
    """Until `count` sessions wait on a lock (PostgreSQL), or a moment (SQLite)."""
    if connection.vendor != "postgresql":
        time.sleep(1)
        return
    deadline = time.monotonic() + 20
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return
            time.sleep(0.05)
    raise AssertionError(f"{count} graders never queued on the card lock")


def scenario_20_tokens_on_one_card_from_clients() -> dict:
    learner = UserFactory()
    card = flashcard_for(learner)
    clients = logged_in_clients(learner, THREADS)
    tokens = [str(uuid.uuid4()) for _ in range(THREADS)]
    url = reverse("grade", args=[card.id])

    def post(i):
        rating = [1, 2, 3, 4][i % 4]
        return (
            clients[i]
            .post(url, {"token": tokens[i], "rating": rating, **SCOPE}, **HTMX)
            .status_code
        )

    results = run_threads(THREADS, post)
    return {"results": results, "sent": sorted(tokens), "card": card_facts(card.id)}


def scenario_20_tokens_on_one_card_from_threads() -> dict:
    learner = UserFactory()
    card = flashcard_for(learner)
    tokens = [uuid.uuid4() for _ in range(THREADS)]

    def grade(i):
        graded = reviews.grade(
            card.id, user=learner, settings=queue.settings_of(learner), rating=[1, 2, 3, 4][i % 4],
            token=tokens[i], response="", now=timezone.now(), duration_ms=1000, practice=False,
        )  # fmt: skip
        return "recorded" if not graded.repeated else "repeated"

    results = run_threads(THREADS, grade)
    return {"results": results, "sent": sorted(map(str, tokens)), "card": card_facts(card.id)}


def scenario_two_learners_at_once(rounds: int = 3) -> dict:
    """Two learners, ten clients each, open the study page and grade what it shows, at once;
    each client also tries one grade on the other learner's card."""
    learners = [UserFactory(), UserFactory()]
    cards = {}
    for learner in learners:
        LearnerSettings.objects.get_or_create(user=learner)
        cards[learner.id] = [
            CardFactory(user=learner, question=QuestionFactory(kind=Kind.FLASHCARD)).id
            for _ in range(3)
        ]
    half = THREADS // 2
    clients = logged_in_clients(learners[0], half) + logged_in_clients(learners[1], half)
    owner = [learners[0].id] * half + [learners[1].id] * half

    def study(i):
        client, me = clients[i], owner[i]
        other = next(uid for uid in cards if uid != me)
        seen, graded = [], []
        for _ in range(rounds):
            page = client.get(reverse("study"), **HTMX).content.decode()
            if 'data-stage="question"' not in page:
                break
            card_id = int(page.split('action="/card/')[1].split("/")[0])
            token = page.split('name="token" value="')[1].split('"')[0]
            seen.append(card_id)
            response = client.post(
                reverse("grade", args=[card_id]), {"token": token, "rating": 3, **SCOPE}, **HTMX
            )
            graded.append(response.status_code)
        foreign = client.post(
            reverse("grade", args=[cards[other][0]]),
            {"token": str(uuid.uuid4()), "rating": 3, **SCOPE},
        ).status_code
        return {"me": me, "seen": seen, "graded": graded, "foreign": foreign}

    results = run_threads(THREADS, study)
    return {
        "results": results,
        "cards": {str(uid): ids for uid, ids in cards.items()},
        "facts": [card_facts(card_id) for ids in cards.values() for card_id in ids],
    }


def scenario_pages_and_an_undo_at_once() -> dict:
    """Page loads of a learner with a few days of history, each the first since those days
    ended, race an undo of the learner's last answer, given yesterday: the history summary
    they write must not count the undone answer."""
    learner = UserFactory()
    settings = LearnerSettings.objects.get_or_create(user=learner)[0]
    cards = [flashcard_for(learner) for _ in range(3)]
    now = timezone.now()
    for n in range(12):
        reviews.grade(
            cards[n % 3].id, user=learner, settings=settings, rating=3, token=uuid.uuid4(),
            response="", duration_ms=1000, practice=False,
            now=now - dt.timedelta(hours=26 + 8 * (11 - n)),  # the last a day and more ago
        )  # fmt: skip
    clients = logged_in_clients(learner, THREADS)

    def work(i):
        if i == 0:
            return clients[i].post(reverse("undo"), SCOPE, **HTMX).status_code
        return clients[i].get(reverse("progress")).status_code

    results = run_threads(THREADS, work)
    rows = StudyDay.objects.filter(user=learner)
    last = max(rows.values_list("day", flat=True), default=None)
    fresh = Counter(
        study_day(moment, tz=settings.time_zone, starts_at=settings.day_starts_at)
        for moment in Review.objects.filter(user=learner).values_list("reviewed_at", flat=True)
    )
    return {
        "results": results,
        "reviews": Review.objects.filter(user=learner).count(),
        "summary": {
            d.isoformat(): n for d, n in rows.filter(answers__gt=0).values_list("day", "answers")
        },
        "fresh": {d.isoformat(): n for d, n in fresh.items() if last and d <= last},
    }


def scenario_grades_and_counts_at_once(rounds: int = 3) -> dict:
    """Grades race the full count of the learner's tallies (each round starts with them to be
    counted again): what is kept must equal a count made afterwards."""
    learner = UserFactory()
    settings = LearnerSettings.objects.get_or_create(user=learner)[0]
    cards = [flashcard_for(learner) for _ in range(THREADS // 2)]
    results = []
    for _ in range(rounds):
        tally.forget([learner.id])

        def work(i):
            if i % 2:
                return len(tally.tallies(learner, settings, timezone.now()))
            graded = reviews.grade(
                cards[i // 2].id, user=learner, settings=settings, rating=3, token=uuid.uuid4(),
                response="", duration_ms=1000, practice=False,
            )  # fmt: skip
            return "recorded" if graded.review else "repeated"

        results += run_threads(THREADS, work)

    def figures() -> dict:
        rows = tally.tallies(learner, settings, timezone.now())
        return {
            f"{d}/{s}": [round(row[n], 9) for n in tally.FIGURES] for (d, s), row in rows.items()
        }

    kept = figures()
    Tally.objects.filter(user=learner).delete()
    return {"results": results, "kept": kept, "counted": figures()}


SCENARIOS = {
    "one_token_from_20_clients": scenario_one_token_from_20_clients,
    "one_token_from_20_threads": scenario_one_token_from_20_threads,
    "one_token_queued_behind_a_lock_from_clients": lambda: scenario_one_token_queued_behind_a_lock(
        "clients"
    ),
    "one_token_queued_behind_a_lock_from_threads": lambda: scenario_one_token_queued_behind_a_lock(
        "threads"
    ),
    "20_tokens_on_one_card_from_clients": scenario_20_tokens_on_one_card_from_clients,
    "20_tokens_on_one_card_from_threads": scenario_20_tokens_on_one_card_from_threads,
    "two_learners_at_once": scenario_two_learners_at_once,
    "pages_and_an_undo_at_once": scenario_pages_and_an_undo_at_once,
    "grades_and_counts_at_once": scenario_grades_and_counts_at_once,
}


def child_main() -> None:
    """The SQLite child: migrate the file database DATABASE_URL names, run every scenario,
    print the observations as one JSON line."""
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    django_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    django_settings.STUDY_FSRS_FUZZ = False
    call_command("migrate", verbosity=0)
    observations = {"journal_mode": None}
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        observations["journal_mode"] = cursor.fetchone()[0]
    connections.close_all()
    for name, scenario in SCENARIOS.items():
        try:
            observations[name] = scenario()
        except Exception as exc:
            observations[name] = {"error": f"{type(exc).__name__}: {exc}"}
        connections.close_all()
    print("OBSERVATIONS " + json.dumps(observations))


# --- Checks, the same on both databases --------------------------------------------------------

ACKNOWLEDGED = {"clients": {200}, "threads": {"recorded", "repeated"}}


def assert_no_lost_update(facts: dict) -> None:
    """Every grade the card took is a review, and each was applied on top of the one before:
    reps counts them all, no two saw the same card, and the card holds the last one's time."""
    assert facts["reps"] == facts["reviews"]
    assert facts["reps_before_each"] == list(range(facts["reviews"]))
    assert facts["last_review"] == facts["last_applied_at"]
    assert facts["review_users"] in ([], [facts["user"]])


def one_review(seen: dict, via: str) -> None:
    assert seen["card"]["reviews"] == 1
    assert_no_lost_update(seen["card"])


def every_post_answered(seen: dict, via: str) -> None:
    """Each post of the one token is answered as a success: one recorded, the rest repeats."""
    assert len(seen["results"]) > 1
    assert [r for r in seen["results"] if r not in ACKNOWLEDGED[via]] == []
    if via == "threads":
        assert seen["results"].count("recorded") == 1


def twenty_tokens(seen: dict, via: str) -> None:
    assert [r for r in seen["results"] if r not in ACKNOWLEDGED[via]] == []  # all acknowledged,
    assert seen["card"]["tokens"] == seen["sent"]  # each one a review,
    assert seen["card"]["reviews"] == THREADS
    assert_no_lost_update(seen["card"])  # and the card counts every one


def two_learners(seen: dict, via: str) -> None:
    for result in seen["results"]:
        assert isinstance(result, dict), result
        mine = seen["cards"][str(result["me"])]
        assert result["seen"], result
        assert set(result["seen"]) <= set(mine)  # never shown the other learner's card
        assert set(result["graded"]) <= {200}
        assert result["foreign"] == 404  # nor allowed to grade it
    for facts in seen["facts"]:
        assert_no_lost_update(facts)


def summary_counts_what_is_left(seen: dict, via: str) -> None:
    assert seen["results"] == [200] * THREADS
    assert seen["reviews"] == 11  # the undo took one back
    assert seen["summary"] == seen["fresh"]


def tallies_keep_every_grade(seen: dict, via: str) -> None:
    # Each grade recorded; each count read the learner's tallies, one per deck.
    assert [r for r in seen["results"] if r not in ("recorded", THREADS // 2)] == []
    assert seen["kept"] == seen["counted"]


def cases() -> list:
    rows = []
    for via in ("clients", "threads"):
        rows += [
            pytest.param(f"one_token_from_20_{via}", via, one_review),
            pytest.param(f"one_token_from_20_{via}", via, every_post_answered),
            pytest.param(f"one_token_queued_behind_a_lock_from_{via}", via, one_review),
            pytest.param(f"one_token_queued_behind_a_lock_from_{via}", via, every_post_answered),
            pytest.param(f"20_tokens_on_one_card_from_{via}", via, twenty_tokens),
        ]  # fmt: skip
    rows.append(pytest.param("two_learners_at_once", "clients", two_learners))
    rows.append(pytest.param("pages_and_an_undo_at_once", "clients", summary_counts_what_is_left))
    rows.append(pytest.param("grades_and_counts_at_once", "threads", tallies_keep_every_grade))
    return [
        pytest.param(*row.values, marks=row.marks, id=f"{row.values[0]}-{row.values[2].__name__}")
        for row in rows
    ]


# --- PostgreSQL: in this process ---------------------------------------------------------------


@pytest.fixture
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@ON_POSTGRESQL
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("scenario", "via", "check"), cases())
def test_concurrent_grades_on_postgresql(_fast_passwords, scenario, via, check):
    check(SCENARIOS[scenario](), via)


# --- SQLite: a file database, in a child process -----------------------------------------------


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory):
    """Runs every scenario once in a child process on a fresh SQLite file; their observations."""
    folder = tmp_path_factory.mktemp("sqlite-file")
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "studyapp.settings",
    }
    code = (
        "import django; django.setup(); from tests.test_concurrency import child_main; child_main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("OBSERVATIONS ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1].removeprefix("OBSERVATIONS "))


@ON_SQLITE
def test_the_sqlite_file_uses_wal(sqlite_file):
    assert sqlite_file["journal_mode"] == "wal"


@ON_SQLITE
@pytest.mark.parametrize(("scenario", "via", "check"), cases())
def test_concurrent_grades_on_a_sqlite_file(sqlite_file, scenario, via, check):
    seen = sqlite_file[scenario]
    assert "error" not in seen, seen.get("error")
    check(seen, via)


# --- Grades applied in another order than their times ------------------------------------------


@pytest.mark.django_db
def test_a_grade_stamped_earlier_but_applied_later_keeps_the_card_consistent(_fast_passwords):
    """What the threads above can produce, made deterministic: the later-stamped grade wins
    the lock first."""
    learner = UserFactory()
    card = flashcard_for(learner)
    t1 = timezone.now()
    t2 = t1 + dt.timedelta(milliseconds=40)
    for now in (t2, t1):  # t1's request waited on the lock while t2's went through
        reviews.grade(
            card.id, user=learner, settings=queue.settings_of(learner), rating=3,
            token=uuid.uuid4(), response="", now=now, duration_ms=1000, practice=False,
        )  # fmt: skip
    facts = card_facts(card.id)
    assert facts["reps"] == 2
    problems = []
    if facts["last_review"] != facts["latest_reviewed_at"]:
        problems.append("the card's last_review is older than its latest review")
    reviews.undo_last(learner)
    after = card_facts(card.id)
    if after["reps"] != after["reviews"]:
        problems.append(
            f"after undo the card has reps {after['reps']} for {after['reviews']} review(s)"
        )
    assert problems == []


# --- A full count of the tallies and a grade -----------------------------------------------------


@ON_POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_a_count_of_the_tallies_waits_for_a_grade_in_progress(_fast_passwords):
    """Deterministic: a grade has moved its card and updated its tally but not committed when
    the tallies are counted afresh. The count must wait for it and include it; counting without
    it and writing over the grade's change would lose the grade until the next day."""
    learner = UserFactory()
    settings = LearnerSettings.objects.get_or_create(user=learner)[0]
    card = flashcard_for(learner)
    now = timezone.now()
    tally.tallies(learner, settings, now)
    tally.forget([learner.id])  # to be counted afresh: the grade below leaves the figures alone
    graded, release = threading.Event(), threading.Event()

    def grade_and_hold():
        try:
            with transaction.atomic():
                reviews.grade(
                    card.id, user=learner, settings=settings, rating=3, token=uuid.uuid4(),
                    response="", now=now, duration_ms=1000, practice=False,
                )  # fmt: skip
                graded.set()
                release.wait(TIMEOUT)
        finally:
            connections.close_all()

    def count_afresh():
        try:
            tally.tallies(learner, settings, now)
        finally:
            connections.close_all()

    grader = threading.Thread(target=grade_and_hold, daemon=True)
    grader.start()
    assert graded.wait(TIMEOUT)
    counter = threading.Thread(target=count_afresh, daemon=True)
    counter.start()
    try:
        wait_for_lock_waiters(1)
    finally:
        release.set()
        grader.join(TIMEOUT)
        counter.join(TIMEOUT)
    kept = tally.tallies(learner, settings, now)
    assert [(row["new"], row["learning"], row["recall_n"]) for row in kept.values()] == [(0, 1, 1)]
