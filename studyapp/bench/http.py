"""Over HTTP: gunicorn (2 sync workers, 127.0.0.1, a free port) on the benchmark database, wrk
driving learners through the study loop, then the same gunicorn serving the bench-only constant
view, each for a fixed time.

The load generator is wrk (Debian's package, with LuaJIT), not locust: on a 2-core machine the
generator shares the CPUs with gunicorn, and wrk spends a few microseconds of CPU per request
where locust spends about a millisecond of Python, which would take a large and uneven share
from the server and skew the ratio of the two throughputs. Its Lua script (study.lua) keeps one
learner per connection: session cookie, CSRF token, the card, its token and the grade offered.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string

HERE = Path(__file__).resolve().parent
WORKERS = 2
CSRF_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class HTTPBenchError(RuntimeError):
    pass


def sessions_for(users, backend: str) -> list[tuple[str, str]]:
    """A logged-in session and a CSRF secret for each learner, written straight to the session
    store as a login through the form would leave them."""
    out = []
    for user in users:
        store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = backend
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        out.append((store.session_key, get_random_string(32, CSRF_CHARS)))
    return out


def wrk_path() -> str:
    found = shutil.which("wrk")
    if not found:
        raise HTTPBenchError("wrk is not installed (apt-get install -y wrk)")
    return found


def wrk_version() -> str:
    try:
        out = subprocess.run([wrk_path(), "-v"], capture_output=True, text=True, timeout=10)
    except (HTTPBenchError, OSError):
        return "not installed"
    return (out.stdout or out.stderr).splitlines()[0].split(" Copyright")[0].strip()


class Gunicorn:
    """gunicorn on 127.0.0.1 and a port the kernel picks; stopped by its own pid."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env = env
        self.log_path = log_dir / "gunicorn.log"
        self.process: subprocess.Popen | None = None
        self.port: int | None = None

    def __enter__(self) -> Gunicorn:
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "studyapp.wsgi:application",
                "--workers",
                str(WORKERS),
                "--bind",
                "127.0.0.1:0",
                "--log-level",
                "info",
                "--timeout",
                "120",
            ],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = self.log_path.read_text()
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
            if found and text.count("Booting worker") >= WORKERS:
                self.port = int(found[1])
                break
            if self.process.poll() is not None:
                raise HTTPBenchError(f"gunicorn stopped:\n{text[-2000:]}")
            time.sleep(0.2)
        else:
            self.stop()
            raise HTTPBenchError("gunicorn did not start in 60 s")
        # Both workers answer (and have imported everything) before anything is measured.
        for _ in range(20):
            self.get("/bench/constant/")
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url(path), timeout=30) as response:
            return response.read()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self.log.closed:
            self.log.close()

    def __exit__(self, *exc) -> None:
        self.stop()

    def errors(self) -> str:
        lines = self.log_path.read_text().splitlines()
        return "\n".join(line for line in lines if "Error" in line or "Traceback" in line)[-3000:]


def run_wrk(url: str, *, script: str, seconds: float, connections: int, env: dict) -> dict:
    command = [
        wrk_path(),
        f"-t{connections}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(HERE / script),
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=seconds + 120)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line.removeprefix("BENCH_JSON "))
    raise HTTPBenchError(f"wrk gave no figures:\n{out.stdout}\n{out.stderr}")


def measure_http(
    users,
    *,
    backend: str,
    env: dict[str, str],
    seconds: float,
    warmup: float = 2.0,
    log=print,
    before=None,
) -> dict:
    """Study loop and constant view, `seconds` each, one connection (and wrk thread) per
    learner. env: the environment gunicorn runs in (the benchmark's settings and database).
    before(what) is called before each (the benchmark waits there for a quiet machine)."""
    sessions = sessions_for(users, backend)
    connections = len(sessions)
    with tempfile.TemporaryDirectory(prefix="studyapp-bench-http-") as tmp:
        session_file = Path(tmp) / "sessions.txt"
        session_file.write_text("".join(f"{s} {c}\n" for s, c in sessions))
        wrk_env = os.environ | {
            "BENCH_SESSIONS": str(session_file),
            "BENCH_SESSION_COOKIE": settings.SESSION_COOKIE_NAME,
            "BENCH_CSRF_COOKIE": settings.CSRF_COOKIE_NAME,
        }
        with Gunicorn(env, Path(tmp)) as server:
            log(
                f"  gunicorn on 127.0.0.1:{server.port} ({WORKERS} workers); wrk, {connections} learners"
            )
            results, load = {}, {}
            for name, script, path in (
                ("constant", "constant.lua", "/bench/constant/"),
                ("study", "study.lua", "/"),
            ):
                if before:
                    load[name] = before(f"wrk on the {name} view")
                if warmup:
                    run_wrk(
                        server.url(path),
                        script=script,
                        seconds=warmup,
                        connections=connections,
                        env=wrk_env,
                    )
                found = run_wrk(
                    server.url(path),
                    script=script,
                    seconds=seconds,
                    connections=connections,
                    env=wrk_env,
                )
                found["rps"] = round(found["requests"] / found["duration_s"], 1)
                results[name] = found
                log(f"  {name}: {found['rps']} requests/s")
            errors = server.errors()
    study, constant = results["study"], results["constant"]
    loops = study["counts"]["loops"]
    return {
        "seconds": seconds,
        "warmup_seconds": warmup,
        "workers": WORKERS,
        "connections": connections,
        "study": study,
        "constant": constant,
        "study_loops_per_s": round(loops / study["duration_s"], 1),
        "ratio": round(study["rps"] / constant["rps"], 3) if constant["rps"] else None,
        "server_errors": errors,
        "machine_load": load,
    }
