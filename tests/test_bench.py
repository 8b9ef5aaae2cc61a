"""The benchmark's in-process part (studyapp.bench, `make bench`) at two tiny sizes, so it keeps
working: a synthetic collection of 200 cards / 2k reviews per learner, then one of twice that,
each built in the test database (and rolled back), and the study loop driven through the test
client. Asserted: query counts, not times (times depend on the machine): the same for each
study-loop request at both sizes. The counts are written to bench/results/test-query-counts.json.

Counts are CaptureQueriesContext's, every statement included. When this was written they were:
study 2, answer 2, reveal 2; grade 6 on PostgreSQL (4 queries, its three writes being one
statement, plus the transaction's two: BEGIN and COMMIT in use, SAVEPOINT and RELEASE here inside
the test's transaction) and 8 on SQLite (6 queries: it writes one table per statement).
"""

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from studyapp.bench import data, measure

pytestmark = pytest.mark.django_db

SIZES = ("tiny", "tiny2x")
LOOPS, WARMUP = 20, 3
MAX_QUERIES = 6
_measured: dict[str, dict] = {}


def query_counts() -> dict[str, dict]:
    """{size: {request: {"queries": most statements, "data_queries": most without
    transaction control}}}, measured once for the module."""
    if not _measured:
        for name in SIZES:
            with transaction.atomic():
                built = data.build(data.SIZES[name], others=1)
                user = get_user_model().objects.get(pk=built.main_user_id)
                backend = measure.login_backend(data.MAIN_USERNAME, data.PASSWORD)
                figures = measure.measure(
                    user, loops=LOOPS, page_loads_n=2, warmup=WARMUP, backend=backend,
                    keep_sql=False, page_budget_s=5,
                )  # fmt: skip
                transaction.set_rollback(True)
            assert figures["loops"] == LOOPS, f"the queue ran dry at {name}: {figures}"
            _measured[name] = {
                request: {"queries": s["queries"]["max"], "data_queries": s["data_queries"]["max"]}
                for request, s in figures["requests"].items()
                if s.get("n")
            }
        results = Path(settings.BASE_DIR) / "bench" / "results"
        results.mkdir(parents=True, exist_ok=True)
        (results / "test-query-counts.json").write_text(
            json.dumps({"vendor": connection.vendor} | _measured, indent=1) + "\n"
        )
    return _measured


def test_the_study_loop_makes_as_many_queries_at_twice_the_size(record_property):
    counts = query_counts()
    record_property("query_counts", json.dumps(counts))
    small, large = (counts[name] for name in SIZES)
    for request in measure.STUDY_REQUESTS:
        assert request in small and request in large, f"the loop never made a {request} request"
        assert small[request] == large[request], (request, counts)
    # Pages too, though their times grow with the history.
    for page in ("dashboard", "progress"):
        assert small[page] == large[page], (page, counts)


def test_each_study_loop_request_makes_at_most_6_data_queries():
    """SELECT, INSERT and UPDATE statements; a grade's transaction adds BEGIN and COMMIT (or
    SAVEPOINT and RELEASE), which are counted in "queries" and reported, not capped here."""
    counts = query_counts()["tiny"]
    over = {r: counts[r]["data_queries"] for r in measure.STUDY_REQUESTS
            if counts[r]["data_queries"] > MAX_QUERIES}  # fmt: skip
    assert not over, f"more than {MAX_QUERIES} data queries: {over}"
    assert counts["grade"]["queries"] - counts["grade"]["data_queries"] == 2
    if connection.vendor == "postgresql":  # the grade's writes are one statement there
        assert counts["grade"]["queries"] <= MAX_QUERIES, counts["grade"]
