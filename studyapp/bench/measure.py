"""In-process measurements: the study loop, the dashboard and the progress page through Django's
test client (force_login, HTMX headers as the page sends them), each request timed and its SQL
queries counted (CaptureQueriesContext) and timed one by one (an execute wrapper), after a
warm-up.

The study loop is what a learner does with each card: (a) GET the study fragment with the next
card, (b) POST the answer (checked kinds) or GET the reveal (flashcards), (c) POST the grade;
forms are posted urlencoded, as htmx and the browser send them. The learner answers right 85% of the time; a wrong answer is graded Again, a right one Good; a
flashcard is graded Again 15% of the time, Good otherwise.
"""

from __future__ import annotations

import random
import re
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import connection
from django.http.request import validate_host
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.http import urlencode

from .. import tally
from ..models import Card, Choice, Kind

HTMX = {"HTTP_HX_REQUEST": "true"}
# A form posted by htmx or by the browser is urlencoded (the test client's default is multipart).
FORM = "application/x-www-form-urlencoded"
SCOPE = {"deck": "", "source": ""}
RIGHT_SHARE = 0.85
CARD_RE = re.compile(r"/card/(\d+)/(answer|reveal)/")
TOKEN_RE = re.compile(r'name="token" value="([^"]+)"')
SHOWN_RE = re.compile(r'name="shown_at" value="([^"]*)"')
RATING_RE = re.compile(r'name="rating" value="(\d)"([^>]*)>')
STUDY_REQUESTS = ("study", "answer", "reveal", "grade")
PAGES_MEASURED = (*STUDY_REQUESTS, "dashboard", "progress", "progress_afresh")
COUNTED_AFRESH_LOADS = 5
MIN_LOADS = 5
# Logged by Django around the driver's own transaction calls, not through execute wrappers.
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK"}
TRANSACTION_PREFIXES = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT", "END")


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


_NUMBER = re.compile(r"\b\d+(\.\d+)?\b")
_STRING = re.compile(r"'(?:[^']|'')*'")
_IN_LIST = re.compile(r"IN \((\?(, )?)+\)")


def shape(sql: str) -> str:
    """A query with its literals taken out, so the same query with other values groups."""
    text = _STRING.sub("?", sql)
    text = _NUMBER.sub("?", text)
    text = text.replace("%s", "?")
    return _IN_LIST.sub("IN (...)", text)


def is_transaction_control(sql: str) -> bool:
    return sql.lstrip().upper().startswith(TRANSACTION_PREFIXES)


@dataclass
class Sample:
    ms: float
    queries: int  # every statement CaptureQueriesContext lists, BEGIN and COMMIT included
    data_queries: int  # the same without transaction control (BEGIN, COMMIT, SAVEPOINT...)
    db_ms: float
    sql: list[tuple[str, float]]  # (sql, ms) of each query, in order


@dataclass
class Recorder:
    """Every measured request: its time, its queries and each query's time."""

    samples: dict[str, list[Sample]] = field(default_factory=lambda: defaultdict(list))
    keep_sql: bool = True

    def call(self, name: str | None, send: Callable, *args, **kwargs):
        timings: list[tuple[str, float]] = []

        def timed(execute, sql, params, many, context):
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                timings.append((sql, (time.perf_counter() - start) * 1000))

        with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timed):
            start = time.perf_counter()
            response = send(*args, **kwargs)
            elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            body = response.content[:500].decode(errors="replace")
            raise RuntimeError(f"{name}: HTTP {response.status_code}: {body}")
        if name is not None:
            self.samples[name].append(
                Sample(
                    ms=elapsed,
                    queries=len(captured.captured_queries),
                    data_queries=sum(
                        not is_transaction_control(q["sql"]) for q in captured.captured_queries
                    ),
                    db_ms=0.0,
                    sql=[],
                )
            )
            sample = self.samples[name][-1]
            # CaptureQueriesContext lists every statement, with its parameters in place (so it
            # can be EXPLAINed as it is), including BEGIN/COMMIT/ROLLBACK issued by the
            # driver, which execute wrappers don't see: those keep the list's own time (to the
            # millisecond); the others get the wrapper's.
            sql, own = [], iter(timings)
            for q in captured.captured_queries:
                if q["sql"] in TRANSACTION_CONTROL:
                    sql.append((q["sql"], float(q["time"]) * 1000))
                else:
                    sql.append((q["sql"], next(own, (None, float(q["time"]) * 1000))[1]))
            sample.db_ms = sum(ms for _, ms in sql)
            sample.sql = sql if self.keep_sql else []
        return response

    def summary(self, name: str, *, top: int = 5) -> dict:
        samples = self.samples.get(name, [])
        if not samples:
            return {"n": 0}
        times = [s.ms for s in samples]
        counts = [s.queries for s in samples]
        data_counts = [s.data_queries for s in samples]
        shapes: dict[str, list[float]] = defaultdict(list)
        slowest: dict[str, tuple[float, str]] = {}
        for s in samples:
            for sql, ms in s.sql:
                key = shape(sql)
                shapes[key].append(ms)
                if ms > slowest.get(key, (-1.0, ""))[0]:
                    slowest[key] = (ms, sql)
        total_db = sum(sum(v) for v in shapes.values()) or 1.0
        profile = sorted(shapes.items(), key=lambda kv: -sum(kv[1]))[:top]
        return {
            "n": len(samples),
            "p50_ms": round(percentile(times, 0.5), 3),
            "p95_ms": round(percentile(times, 0.95), 3),
            "mean_ms": round(statistics.fmean(times), 3),
            "max_ms": round(max(times), 3),
            "db_p50_ms": round(percentile([s.db_ms for s in samples], 0.5), 3),
            "db_p95_ms": round(percentile([s.db_ms for s in samples], 0.95), 3),
            "queries": {
                "min": min(counts),
                "max": max(counts),
                "median": statistics.median(counts),
                "histogram": {str(k): v for k, v in sorted(Counter(counts).items())},
            },
            "data_queries": {"min": min(data_counts), "max": max(data_counts)},
            "profile": [
                {
                    "sql": key[:600],
                    "per_request": round(len(ms) / len(samples), 2),
                    "mean_ms": round(statistics.fmean(ms), 3),
                    "p95_ms": round(percentile(ms, 0.95), 3),
                    "share_of_db_time": round(sum(ms) / total_db, 3),
                    "slowest_sql": slowest[key][1],
                }
                for key, ms in profile
            ],
        }


@dataclass
class Answers:
    """What the learner would answer to each card: (kind, right response, a wrong one)."""

    by_card: dict[int, tuple[str, str, str]]

    @classmethod
    def of(cls, user) -> Answers:
        correct = dict(
            Choice.objects.filter(is_correct=True).values_list("question_id", "position")
        )
        by_card = {}
        for card_id, question_id, kind, answer in Card.objects.filter(user=user).values_list(
            "id", "question_id", "question__kind", "question__answer"
        ):
            if kind == Kind.MULTIPLE_CHOICE:
                right = correct.get(question_id, 1)
                by_card[card_id] = (kind, str(right), str(right % 4 + 1))
            elif kind == Kind.TRUE_FALSE:
                by_card[card_id] = (kind, answer, "False" if answer == "True" else "True")
            else:
                by_card[card_id] = (kind, answer, "not sure")
        return cls(by_card)


@dataclass
class LoopResult:
    loops: int = 0
    ran_out: int = 0  # loops that found no card (the queue was empty)
    loop_ms: list[float] = field(default_factory=list)  # the three requests of each loop
    kinds: Counter = field(default_factory=Counter)


def study_loops(
    client: Client, recorder: Recorder, answers: Answers, *, loops: int, warmup: int, seed: int = 7
) -> LoopResult:
    rng = random.Random(seed)
    result = LoopResult()
    study_url = reverse("study")
    for i in range(warmup + loops):
        measured = i >= warmup
        label = (lambda name: name) if measured else (lambda name: None)
        page = recorder.call(label("study"), client.get, study_url, **HTMX).content.decode()
        found = CARD_RE.search(page)
        if not found:
            result.ran_out += measured
            continue
        card_id, step = int(found[1]), found[2]
        fields = {
            "token": TOKEN_RE.search(page)[1],
            "shown_at": SHOWN_RE.search(page)[1],
            **SCOPE,
        }
        kind, right, wrong = answers.by_card.get(card_id, (Kind.FLASHCARD, "", ""))
        is_right = rng.random() < RIGHT_SHARE
        if step == "reveal":
            response = ""
            feedback = recorder.call(
                label("reveal"), client.get, reverse("reveal", args=[card_id]), fields, **HTMX
            ).content.decode()
        else:
            response = right if is_right else wrong
            feedback = recorder.call(
                label("answer"),
                client.post,
                reverse("answer", args=[card_id]),
                urlencode(fields | {"response": response}),
                content_type=FORM,
                **HTMX,
            ).content.decode()
        offered = {int(value): "autofocus" in rest for value, rest in RATING_RE.findall(feedback)}
        if step == "reveal":
            rating = 3 if is_right else 1
        else:
            rating = next((r for r, focus in offered.items() if focus), min(offered))
        recorder.call(
            label("grade"),
            client.post,
            reverse("grade", args=[card_id]),
            urlencode(fields | {"response": response, "rating": rating}),
            content_type=FORM,
            **HTMX,
        )
        if measured:
            result.loops += 1
            result.kinds[kind] += 1
            last = [recorder.samples[n][-1].ms for n in ("study", "grade")]
            middle = recorder.samples["reveal" if step == "reveal" else "answer"][-1].ms
            result.loop_ms.append(sum(last) + middle)
    return result


def page_loads(
    client: Client, recorder: Recorder, name: str, url: str, *, loads: int, budget_s: float
) -> int:
    """Up to `loads` measured loads after a warm-up of up to 5 (fewer when a load takes long),
    stopping early, after at least MIN_LOADS, once `budget_s` seconds are spent measuring.
    Returns how many were measured."""
    start = time.perf_counter()
    for _ in range(5):
        recorder.call(None, client.get, url)
        if time.perf_counter() - start > 2:
            break
    start = time.perf_counter()
    for i in range(loads):
        recorder.call(name, client.get, url)
        if i + 1 >= MIN_LOADS and time.perf_counter() - start > budget_s:
            return i + 1
    return loads


def _host() -> str:
    """A host name the settings allow (the test client's own "testserver" may not be)."""
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return next(
        (h for h in ("testserver", "127.0.0.1", "localhost") if validate_host(h, allowed)),
        "testserver",
    )


def login_backend(username: str, password: str) -> str | None:
    """The authentication backend a login through the form records in the session (the one
    that accepts the password), so sessions made here load the user as real ones do."""
    request = RequestFactory().post(reverse("login"))
    user = authenticate(request, username=username, password=password)
    return getattr(user, "backend", None)


def measure(
    user,
    *,
    loops: int,
    page_loads_n: int,
    warmup: int,
    backend: str | None = None,
    keep_sql: bool = True,
    page_budget_s: float = 60.0,
    before: Callable[[str], dict] | None = None,
) -> dict:
    """Everything in process for one learner; returns the figures as a dict. before(what) is
    called before each part (the benchmark waits there for a quiet machine)."""
    client = Client(HTTP_HOST=_host())
    client.force_login(user, backend=backend)
    recorder = Recorder(keep_sql=keep_sql)
    answers = Answers.of(user)
    machine_load = {}
    if before:
        machine_load["study"] = before("the study loop")
    loop = study_loops(client, recorder, answers, loops=loops, warmup=warmup)
    if before:
        machine_load["pages"] = before("the dashboard and progress loads")
    loads = {
        name: page_loads(
            client, recorder, name, reverse(name), loads=page_loads_n, budget_s=page_budget_s
        )
        for name in ("dashboard", "progress")
    }
    # The progress page's first load of a study day (or after a change to the cards other than
    # a grade) counts the learner's tallies and least recalled list afresh: measured apart.
    url = reverse("progress")
    for _ in range(COUNTED_AFRESH_LOADS):
        tally.forget([user.pk])
        recorder.call("progress_afresh", client.get, url)
    requests = {name: recorder.summary(name) for name in PAGES_MEASURED}
    return {
        "loops": loop.loops,
        "ran_out": loop.ran_out,
        "kinds": dict(loop.kinds),
        "loop_p50_ms": round(percentile(loop.loop_ms, 0.5), 3),
        "loop_p95_ms": round(percentile(loop.loop_ms, 0.95), 3),
        "page_loads": loads,
        "page_budget_s": page_budget_s,
        "warmup_loops": warmup,
        "requests": requests,
        "machine_load": machine_load,
    }


def explain(sql: str) -> str | None:
    """The plan of a captured SELECT: EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL (it runs the
    query), EXPLAIN QUERY PLAN on SQLite. None for anything but a SELECT."""
    if not sql.lstrip().upper().startswith("SELECT"):
        return None
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        rows = cursor.fetchall()
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return "\n".join(lines)


def explain_slowest(requests: dict, *, per_request: int = 3, min_ms: float = 0.2) -> dict:
    """Plans of the costliest queries of each request (by their share of its database time)."""
    plans: dict[str, list[dict]] = {}
    for name, summary in requests.items():
        for entry in summary.get("profile", [])[:per_request]:
            if entry["mean_ms"] < min_ms:
                continue
            try:
                plan = explain(entry["slowest_sql"])
            except Exception as exc:  # a plan is a diagnosis; its failure is reported, not fatal
                plan = f"EXPLAIN failed: {exc}"
            if plan:
                plans.setdefault(name, []).append(
                    {"sql": entry["slowest_sql"], "mean_ms": entry["mean_ms"], "plan": plan}
                )
    return plans
