"""The load test: 50 learners studying for 60 s against gunicorn and PostgreSQL, with one
gunicorn worker killed (SIGKILL) half-way; then the database is checked against what the
learners were told.

    .venv/bin/python loadtest/run.py [--users 50] [--duration 60] [--workers 3] [--kill-at 30]

It makes a fresh database (studyapp_load_<pid>) on the PostgreSQL at 127.0.0.1:5432, migrates
it, loads the bank, collects the static files, creates the learner accounts (one known
password), starts gunicorn on a free 127.0.0.1 port with the production settings
(loadtest/settings.py: DJANGO_DEBUG=0, plain HTTP), runs locust headless
(loadtest/locustfile.py), kills one worker, and checks:

- every learner logged in at the first try, and no request failed in the end (a request that
  lost its connection when the worker died is sent again and counted apart; a lost connection
  outside the kill window is a failure);
- gunicorn replaced the killed worker;
- the reviews stored are exactly the grades acknowledged (HTTP 200/302): the same tokens;
- no partial write: every review's card counts it (reps equals its reviews, each applied on
  the one before, last_review equals its latest review's time, and the review's learner is the
  card's).

It prints its figures and exits 1 on any violation, 2 when it could not run. Every wait is
bounded; the database is dropped at the end unless --keep-db.
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
PASSWORD = "load-Test-passphrase-" + secrets.token_hex(4)
KILL_WINDOW = (-1.0, 15.0)  # seconds around the kill where a lost connection is expected
GRACE = 20  # seconds after the study time for the cards under way to finish


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60, help="seconds of study")
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--kill-at", type=float, default=30, help="seconds into the run")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server URL")
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the database and the work folder"
    )
    return parser.parse_args()


def step(message):
    print(f"== {message}", flush=True)


def run(command, env, timeout):
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode:
        raise SystemExit(f"failed: {' '.join(map(str, command))}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer {url} within {seconds} s")


def workers_of(master: psutil.Process) -> list[int]:
    return sorted(child.pid for child in master.children() if child.is_running())


def main() -> int:
    args = arguments()
    # `timeout` (as .ci/run uses it) sends TERM: exit through the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    database = f"studyapp_load_{os.getpid()}"
    admin_url = f"{args.pg}/postgres"
    work = Path(tempfile.mkdtemp(prefix="studyapp-load-"))
    env = os.environ | {
        "DATABASE_URL": f"{args.pg}/{database}",
        "DJANGO_SETTINGS_MODULE": "loadtest.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "LOADTEST_STATIC_ROOT": str(work / "static"),
        "LOADTEST_ACCOUNTS": str(work / "accounts.json"),
        "LOADTEST_SUMMARY": str(work / "summary.json"),
        "PYTHONPATH": str(ROOT),
    }
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
            conn.execute(f'CREATE DATABASE "{database}"')
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL does not answer at {args.pg}: {exc}")
        return 2
    gunicorn = locust = None
    try:
        step(f"database {database}: migrate, load the bank, collect static files")
        manage = [PYTHON, "manage.py"]
        run([*manage, "migrate", "--noinput", "-v", "0"], env, 300)
        print(run([*manage, "load_bank"], env, 300).strip())
        run([*manage, "collectstatic", "--noinput", "-v", "0"], env, 300)
        usernames = create_learners(env, args.users)
        (work / "accounts.json").write_text(
            json.dumps({"usernames": usernames, "password": PASSWORD}), encoding="utf-8"
        )

        port = free_port()
        host = f"http://127.0.0.1:{port}"
        step(f"gunicorn on {host} with {args.workers} workers")
        log = (work / "gunicorn.log").open("w")
        gunicorn = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "studyapp.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
                "--no-control-socket",  # none in ~/.gunicorn, shared with other runs
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until_up(f"{host}/accounts/login/", 60)
        master = psutil.Process(gunicorn.pid)
        deadline = time.monotonic() + 30
        while len(workers_of(master)) < args.workers and time.monotonic() < deadline:
            time.sleep(0.2)
        before = workers_of(master)
        print(f"master {master.pid}, workers {before}")

        step(
            f"locust: {args.users} learners for {args.duration} s, one worker killed at "
            f"{args.kill_at:g} s"
        )
        started = time.time()
        # The learners start no card after the study time; locust runs GRACE s longer, so it
        # never cuts a grade off mid-way (a grade stored but never answered).
        env["LOADTEST_STUDY_UNTIL"] = str(started + args.duration)
        locust = subprocess.Popen(
            [
                str(BIN / "locust"),
                "-f",
                str(ROOT / "loadtest" / "locustfile.py"),
                "--headless",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.spawn_rate),
                "--run-time",
                f"{args.duration + GRACE}s",
                "--stop-timeout",
                "30",
                "--host",
                host,
                "--only-summary",
                "--loglevel",
                "WARNING",
                "--exit-code-on-error",
                "0",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        kill = kill_a_worker(master, started + args.kill_at, args.workers)
        try:
            output, _ = locust.communicate(timeout=args.duration + GRACE + 120)
        except subprocess.TimeoutExpired:
            locust.kill()
            output, _ = locust.communicate(timeout=10)
            print(output)
            raise SystemExit("locust did not finish in time") from None
        if locust.returncode:
            print(output)
            raise SystemExit(f"locust exited with {locust.returncode}")
        print(output.rstrip())
        summary = json.loads((work / "summary.json").read_text(encoding="utf-8"))
        return report(args, env, summary, kill, gunicorn_log=work / "gunicorn.log")
    finally:
        if locust is not None and locust.poll() is None:
            locust.kill()
            locust.wait(timeout=10)
        if gunicorn is not None:
            stop(gunicorn)
        if not args.keep_db:
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"database kept: {env['DATABASE_URL']}; files (logs, summary) in {work}")


def create_learners(env, count: int) -> list[str]:
    """The learner accounts, all with PASSWORD (hashed once, as the app would)."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    users = get_user_model()
    hashed = make_password(PASSWORD)
    names = [f"load-learner-{i:03d}" for i in range(1, count + 1)]
    users.objects.bulk_create([users(username=name, password=hashed) for name in names])
    return names


def kill_a_worker(master: psutil.Process, at: float, count: int) -> dict:
    """SIGKILL one worker at the time `at`; wait (bounded) for gunicorn to replace it."""
    time.sleep(max(0.0, at - time.time()))
    workers = workers_of(master)
    victim = workers[len(workers) // 2]
    os.kill(victim, signal.SIGKILL)
    killed_at = time.time()
    print(f"killed worker {victim} (SIGKILL)", flush=True)
    replaced, deadline = None, time.monotonic() + 20
    while time.monotonic() < deadline:
        now = workers_of(master)
        if victim not in now and len(now) == count:
            replaced = sorted(set(now) - set(workers))
            break
        time.sleep(0.1)
    return {
        "pid": victim,
        "at": killed_at,
        "replaced_by": replaced,
        "after": time.time() - killed_at,
    }


def stop(gunicorn: subprocess.Popen) -> None:
    """TERM the master (it stops its workers), then KILL its group if it lingers."""
    if gunicorn.poll() is None:
        gunicorn.send_signal(signal.SIGTERM)
        try:
            gunicorn.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(gunicorn.pid, signal.SIGKILL)
            gunicorn.wait(timeout=10)


def check_database(acked: list[str]) -> tuple[dict, list[str]]:
    from django.db.models import Count, F, Max, Q

    from studyapp.models import Card, Review

    violations = []
    stored = list(Review.objects.values_list("token", flat=True))
    stored_set, acked_set = {str(t) for t in stored}, set(acked)
    if len(acked) != len(acked_set):
        violations.append(f"{len(acked) - len(acked_set)} token(s) acknowledged twice")
    if stored_set != acked_set or len(stored) != len(acked):
        violations.append(
            f"reviews stored ({len(stored)}) are not the grades acknowledged ({len(acked)}): "
            f"{len(stored_set - acked_set)} stored but never acknowledged, "
            f"{len(acked_set - stored_set)} acknowledged but not stored"
        )
    mismatched_user = Review.objects.exclude(user_id=F("card__user_id")).count()
    if mismatched_user:
        violations.append(f"{mismatched_user} review(s) whose learner is not the card's")
    practice = Review.objects.filter(is_practice=True).count()
    by_card = defaultdict(list)
    for card_id, reviewed_at, before in Review.objects.filter(is_practice=False).values_list(
        "card_id", "reviewed_at", "card_before"
    ):
        by_card[card_id].append((before["reps"], reviewed_at))
    partial = []
    for card in Card.objects.filter(reps__gt=0) | Card.objects.filter(id__in=list(by_card)):
        done = sorted(by_card.get(card.id, []))
        latest = max((at for _, at in done), default=None)
        if (
            card.reps != len(done)
            or [reps for reps, _ in done] != list(range(len(done)))
            or card.last_review != latest
        ):
            partial.append((card.id, card.reps, len(done), card.last_review, latest))
    if partial:
        violations.append(f"{len(partial)} card(s) not matching their reviews, e.g. {partial[:3]}")
    cards = Card.objects.aggregate(
        n=Count("id"), graded=Count("id", filter=Q(reps__gt=0)), last=Max("last_review")
    )
    figures = {
        "reviews_stored": len(stored),
        "practice_reviews": practice,
        "cards": cards["n"],
        "cards_graded": cards["graded"],
        "cards_checked": len(
            set(by_card) | set(Card.objects.filter(reps__gt=0).values_list("id", flat=True))
        ),
    }
    return figures, violations


def report(args, env, summary: dict, kill: dict, gunicorn_log: Path) -> int:
    violations = []
    stats = summary["stats"]
    total = stats["total"]
    grade = stats.get("POST grade", {"requests": 0, "failures": 0, "p50_ms": 0, "p95_ms": 0})
    acked = summary["acked_tokens"]
    lost = summary["connection_errors"]
    window = [e for e in lost if KILL_WINDOW[0] <= e["at"] - kill["at"] <= KILL_WINDOW[1]]
    figures, db_violations = check_database(acked)
    violations += db_violations

    if summary["logins"]["failed"] or summary["logins"]["ok"] != args.users:
        violations.append(
            f"{summary['logins']['ok']} of {args.users} learners logged in at the first try; "
            f"refused: {summary['logins']['failed'][:3]}"
        )
    if total["failures"]:
        violations.append(f"{total['failures']} request(s) failed: {summary['errors'][:5]}")
    if len(window) != len(lost):
        violations.append(f"{len(lost) - len(window)} lost connection(s) outside the kill window")
    if any(not e["retried"] for e in lost):
        violations.append("a request lost its connection on every try")
    if not kill["replaced_by"]:
        violations.append(f"gunicorn did not replace worker {kill['pid']} within 20 s")
    if not acked:
        violations.append("no grade was acknowledged")
    if summary["grades_in_flight"]:
        violations.append(f"grades cut off without an answer: {summary['grades_in_flight']}")
    if summary["task_exceptions"]:
        violations.append(f"a learner's loop raised: {summary['task_exceptions'][:2]}")

    print()
    print("Load test figures")
    print(f"  learners                      {args.users} ({summary['logins']['ok']} logged in)")
    print(f"  run                           {args.duration} s, gunicorn {args.workers} workers")
    print(f"  requests                      {total['requests']}")
    print(f"  failures (final outcome)      {total['failures']}")
    print(f"  p50 / p95, all requests       {total['p50_ms']:.0f} ms / {total['p95_ms']:.0f} ms")
    print(f"  p50 / p95, grade              {grade['p50_ms']:.0f} ms / {grade['p95_ms']:.0f} ms")
    print(
        f"  study cycles                  {summary['cycles']} started, "
        f"{summary['cycles_finished']} reached their grade's answer, "
        f"{summary['done_pages']} found nothing due"
    )
    print(f"  grades cut off at the end     {len(summary['grades_in_flight'])}")
    print(f"  grades acknowledged           {len(acked)}")
    print(f"  grades refused                {len(summary['grade_refusals'])}")
    print(f"  reviews stored                {figures['reviews_stored']}")
    print(f"  cards checked (reps, times)   {figures['cards_checked']} of {figures['cards']}")
    print(
        f"  worker killed                 pid {kill['pid']}, replaced by {kill['replaced_by']} "
        f"after {kill['after']:.1f} s"
    )
    print(
        f"  connections lost, retried     {len(lost)} ({len(window)} within "
        f"{KILL_WINDOW[0]:+g}..{KILL_WINDOW[1]:+g} s of the kill)"
    )
    for entry in lost:
        print(f"    {entry['at'] - kill['at']:+.2f} s  {entry['name']}: {entry['error']}")
    print("  per request:")
    for name, entry in sorted(stats.items()):
        if name != "total":
            print(
                f"    {name:<26} {entry['requests']:>6} requests, {entry['failures']} failed, "
                f"p50 {entry['p50_ms']:.0f} ms, p95 {entry['p95_ms']:.0f} ms"
            )
    print()
    if violations:
        print("VIOLATIONS:")
        for violation in violations:
            print(f"  - {violation}")
        tail = gunicorn_log.read_text(encoding="utf-8", errors="replace")[-3000:]
        print(f"gunicorn log (end):\n{tail}")
        return 1
    print("OK: no violation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
