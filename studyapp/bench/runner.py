"""The benchmark's run: a fresh database for each backend and size, measured in a process of its
own (`manage.py bench --child ...`, with DATABASE_URL pointing at it), then the tables, the
targets and the JSON in bench/results/.

Every process runs as production would (DJANGO_DEBUG=0, a secret key of the run's, static files
collected into a temporary directory) with the benchmark's settings module, whose only change is
the URLconf with the constant view. SQLite databases are files in $TMPDIR/studyapp-bench/ and
PostgreSQL databases are named studyapp_bench_<size>; both are kept after the run (to EXPLAIN
by hand) and replaced by the next one.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import django
from django.conf import settings

from . import report
from .data import SIZES
from .http import wrk_version

BACKENDS = ("sqlite", "postgres")
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
SQLITE_DIR = Path(tempfile.gettempdir()) / "studyapp-bench"


@dataclass
class Options:
    sizes: list[str]
    backends: list[str]
    skip_http: bool = False
    skip_bank: bool = False
    loops: int = 200
    page_loads: int = 50
    warmup: int = 20
    http_seconds: float = 15.0
    others: int = 3
    bank_questions: int = 10_000
    explain: bool = True
    quiet_wait: float = 120.0
    postgres_url: str = DEFAULT_POSTGRES_URL
    output_dir: Path = field(default_factory=lambda: Path(settings.BASE_DIR) / "bench" / "results")


# --- databases --------------------------------------------------------------------------------


def postgres_problem(url: str) -> str | None:
    """None when PostgreSQL answers at url, else why not."""
    try:
        import psycopg

        with psycopg.connect(_libpq(url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure means: skip PostgreSQL, and say why
        return f"{type(exc).__name__}: {str(exc).strip() or 'no answer'}"
    return None


def _libpq(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def fresh_database(backend: str, name: str, options: Options) -> str:
    """An empty database for one measurement; returns its DATABASE_URL."""
    if backend == "sqlite":
        SQLITE_DIR.mkdir(parents=True, exist_ok=True)
        path = SQLITE_DIR / f"{name}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    database = f"studyapp_bench_{name}"
    with psycopg.connect(_libpq(options.postgres_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    return _with_database(options.postgres_url, database)


# --- the machine ------------------------------------------------------------------------------


def machine(options: Options) -> dict:
    info = {
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": _cpu_model(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgres": None,
        "gunicorn": importlib.metadata.version("gunicorn"),
        "psycopg": importlib.metadata.version("psycopg"),
        "wrk": wrk_version(),
        "git": _git_revision(),
    }
    if "postgres" in options.backends and postgres_problem(options.postgres_url) is None:
        import psycopg

        with psycopg.connect(_libpq(options.postgres_url)) as conn:
            info["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
    return info


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git_revision() -> str | None:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=settings.BASE_DIR,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=settings.BASE_DIR,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}{' (with uncommitted changes)' if dirty else ''}" if head else None


# --- the child processes ----------------------------------------------------------------------


def bench_env(database_url: str, secret: str, static_root: Path) -> dict[str, str]:
    """The environment of every measuring process and of gunicorn: production settings
    (debug off) with the benchmark's URLconf, on one database."""
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "studyapp.bench.settings",
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secret,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "BENCH_STATIC_ROOT": str(static_root),
        "PYTHONUNBUFFERED": "1",
    }


def _child(args: list[str], env: dict[str, str], out: Path) -> dict:
    command = [
        sys.executable,
        str(Path(settings.BASE_DIR) / "manage.py"),
        "bench",
        *args,
        "--child-out",
        str(out),
    ]
    done = subprocess.run(command, env=env, cwd=settings.BASE_DIR)
    if done.returncode != 0 or not out.exists():
        return {"error": f"the measuring process failed (exit {done.returncode}); see above"}
    return json.loads(out.read_text())


def run(options: Options, log=print) -> dict:
    started = time.perf_counter()
    stamp = dt.datetime.now(dt.UTC)
    results: dict = {
        "started": stamp.isoformat(timespec="seconds"),
        "machine": machine(options),
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()},
        "skipped": [],
        "runs": [],
        "bank": [],
    }
    secret = secrets.token_urlsafe(50)
    with tempfile.TemporaryDirectory(prefix="studyapp-bench-") as tmp:
        tmp_path = Path(tmp)
        static_root = tmp_path / "static"
        log("Collecting static files for the production settings (into a temporary directory)")
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            env=bench_env(f"sqlite:///{tmp_path / 'none.sqlite3'}", secret, static_root),
            cwd=settings.BASE_DIR,
            check=True,
        )
        for backend in options.backends:
            if backend == "postgres":
                problem = postgres_problem(options.postgres_url)
                if problem:
                    message = f"PostgreSQL skipped: it does not answer at {options.postgres_url} ({problem})"
                    log(message)
                    results["skipped"].append(message)
                    continue
            for size_name in options.sizes:
                size = SIZES[size_name]
                log(
                    f"\n== {backend}, {size.name}: {size.cards} cards and {size.reviews} reviews "
                    f"per learner, {options.others + 1} learners"
                )
                url = fresh_database(backend, size.name, options)
                args = [
                    "--child",
                    "run",
                    "--size",
                    size.name,
                    "--loops",
                    str(options.loops),
                    "--page-loads",
                    str(options.page_loads),
                    "--warmup",
                    str(options.warmup),
                    "--http-seconds",
                    str(options.http_seconds),
                    "--others",
                    str(options.others),
                    "--quiet-wait",
                    str(options.quiet_wait),
                ]
                args += ["--skip-http"] if options.skip_http else []
                args += [] if options.explain else ["--no-explain"]
                found = _child(
                    args,
                    bench_env(url, secret, static_root),
                    tmp_path / f"{backend}-{size.name}.json",
                )
                results["runs"].append(
                    {
                        "backend": backend,
                        "size": size.name,
                        "cards": size.cards,
                        "reviews": size.reviews,
                        "learners": options.others + 1,
                    }
                    | found
                )
            if not options.skip_bank:
                log(f"\n== {backend}: load_bank, {options.bank_questions} questions")
                url = fresh_database(backend, "bank", options)
                found = _child(
                    [
                        "--child",
                        "bank",
                        "--bank-questions",
                        str(options.bank_questions),
                        "--quiet-wait",
                        str(options.quiet_wait),
                    ],
                    bench_env(url, secret, static_root),
                    tmp_path / f"{backend}-bank.json",
                )
                results["bank"].append({"backend": backend} | found)
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["targets"] = report.targets(results)
    options.output_dir.mkdir(parents=True, exist_ok=True)
    name = stamp.strftime("%Y%m%dT%H%M%SZ")
    json_path = options.output_dir / f"{name}.json"
    json_path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    (options.output_dir / f"{name}.md").write_text(report.markdown(results))
    results["files"] = [str(json_path), str(json_path.with_suffix(".md"))]
    return results
