import argparse
import json
import os
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from studyapp.bench import data, measure, report, runner
from studyapp.bench.bankload import measure_bank
from studyapp.bench.http import HTTPBenchError, measure_http
from studyapp.bench.quiet import wait_until_quiet


def _list(value: str, known, what: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in items if v not in known]
    if unknown or not items:
        raise CommandError(
            f"--{what}: {', '.join(unknown) or 'nothing given'}; known: {', '.join(known)}"
        )
    return items


class Command(BaseCommand):
    help = (
        "Performance benchmark: builds synthetic collections (1k/10k/100k cards, 10k/100k/1M "
        "reviews per learner) in fresh databases on SQLite and PostgreSQL, measures the study "
        "loop, the dashboard and the progress page in process and over HTTP (gunicorn + wrk), "
        "and load_bank on a 10k-question bank; prints a table and writes bench/results/<time>.json."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--sizes",
            default=",".join(data.DEFAULT_SIZES),
            help=f"comma-separated, of {', '.join(data.SIZES)} (default: %(default)s)",
        )
        parser.add_argument(
            "--backends",
            default=",".join(runner.BACKENDS),
            help="sqlite,postgres (PostgreSQL is skipped, with a message, when it does not answer)",
        )
        parser.add_argument("--skip-http", action="store_true", help="no gunicorn/wrk part")
        parser.add_argument("--skip-bank", action="store_true", help="no load_bank part")
        parser.add_argument("--loops", type=int, default=200, help="study loops measured")
        parser.add_argument(
            "--page-loads", type=int, default=50, help="dashboard and progress loads measured"
        )
        parser.add_argument("--warmup", type=int, default=20, help="study loops before measuring")
        parser.add_argument(
            "--http-seconds",
            type=float,
            default=15.0,
            help="seconds of wrk for each of the study loop and the constant view",
        )
        parser.add_argument(
            "--others",
            type=int,
            default=3,
            help="learners besides the main one, each with the same collection",
        )
        parser.add_argument("--bank-questions", type=int, default=10_000)
        parser.add_argument(
            "--postgres-url",
            default=os.environ.get("BENCH_POSTGRES_URL", runner.DEFAULT_POSTGRES_URL),
            help="a PostgreSQL URL whose user may create databases (default: "
            "$BENCH_POSTGRES_URL or %(default)s)",
        )
        parser.add_argument(
            "--output-dir",
            type=Path,
            default=None,
            help="where the JSON goes (default: bench/results/)",
        )
        parser.add_argument(
            "--quiet-wait",
            type=float,
            default=120.0,
            help="seconds to wait, before each measurement, for the CPUs to be at most 25%% busy "
            "(the machine may be shared); figures taken busier are marked",
        )
        parser.add_argument(
            "--no-explain", action="store_true", help="don't EXPLAIN the costliest queries"
        )
        # Used by the run itself: each database is measured in a process of its own.
        parser.add_argument("--child", choices=["run", "bank"], help=argparse.SUPPRESS)
        parser.add_argument("--size", help=argparse.SUPPRESS)
        parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)

    def quiet(self, what: str) -> dict:
        return wait_until_quiet(what, log=self.log, max_wait=self.max_quiet_wait)

    def log(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

    def handle(self, *args, **o):
        self.max_quiet_wait = o["quiet_wait"]
        if o["child"]:
            figures = self.child_run(o) if o["child"] == "run" else self.child_bank(o)
            o["child_out"].write_text(json.dumps(figures, default=str))
            return
        options = runner.Options(
            sizes=_list(o["sizes"], data.SIZES, "sizes"),
            backends=_list(o["backends"], runner.BACKENDS, "backends"),
            skip_http=o["skip_http"],
            skip_bank=o["skip_bank"],
            loops=o["loops"],
            page_loads=o["page_loads"],
            warmup=o["warmup"],
            http_seconds=o["http_seconds"],
            others=o["others"],
            bank_questions=o["bank_questions"],
            explain=not o["no_explain"],
            postgres_url=o["postgres_url"],
            quiet_wait=o["quiet_wait"],
        )
        if o["output_dir"]:
            options.output_dir = o["output_dir"]
        results = runner.run(options, log=self.log)
        self.log(report.text(results))
        self.log("Figures: " + ", ".join(results["files"]))

    # --- in the measuring process, on its own fresh database ----------------------------------

    def child_run(self, o) -> dict:
        size = data.SIZES[o["size"]]
        figures: dict = {"vendor": connection.vendor}
        start = time.perf_counter()
        call_command("migrate", verbosity=0)
        figures["migrate_seconds"] = round(time.perf_counter() - start, 2)
        self.log(f"  building ({connection.vendor})...")
        built = data.build(size, others=o["others"], fast=True, log=self.log)
        figures["build"] = {
            "rows": built.rows,
            "seconds": built.seconds,
            "main_learner": built.main_states,
        }
        self.log(f"  built in {built.seconds['total']:.1f} s: {built.rows}")
        figures["database_bytes"] = database_bytes()
        users = get_user_model().objects.in_bulk(built.user_ids)
        learners = [users[i] for i in built.user_ids]  # the main learner first
        backend = measure.login_backend(data.MAIN_USERNAME, data.PASSWORD)
        figures["session_backend"] = backend
        self.log(
            f"  in process: {o['loops']} study loops, {o['page_loads']} dashboard and "
            f"progress loads..."
        )
        start = time.perf_counter()
        figures["inprocess"] = measure.measure(
            learners[0],
            loops=o["loops"],
            page_loads_n=o["page_loads"],
            warmup=o["warmup"],
            backend=backend,
            before=self.quiet,
        )
        figures["inprocess_seconds"] = round(time.perf_counter() - start, 1)
        for name, s in figures["inprocess"]["requests"].items():
            if s.get("n"):
                self.log(
                    f"    {name:<9} p50 {s['p50_ms']:8.2f} ms  p95 {s['p95_ms']:8.2f} ms  "
                    f"queries {s['queries']['min']}-{s['queries']['max']}"
                )
        if not o["no_explain"]:
            figures["explain"] = measure.explain_slowest(figures["inprocess"]["requests"])
        if not o["skip_http"]:
            try:
                figures["http"] = measure_http(
                    learners,
                    backend=backend,
                    env=dict(os.environ),
                    seconds=o["http_seconds"],
                    log=self.log,
                    before=self.quiet,
                )
            except HTTPBenchError as exc:
                self.log(f"  HTTP part failed: {exc}")
                figures["http"] = {"error": str(exc)}
        return figures

    def child_bank(self, o) -> dict:
        call_command("migrate", verbosity=0)
        load = self.quiet("load_bank")
        figures = measure_bank(o["bank_questions"], log=self.log)
        return {"vendor": connection.vendor, "machine_load": load} | figures


def database_bytes() -> int | None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
            return cursor.fetchone()[0]
        name = connection.settings_dict["NAME"]
    return os.path.getsize(name) if name and os.path.exists(name) else None
