"""settings.py reads the environment; production without a secret key stops with a clear message."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_check(**env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT, env=clean | env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_development_needs_no_environment():
    result = run_check()
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_debug_off_without_a_secret_key_stops_with_a_clear_message():
    result = run_check(DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS="example.org")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_a_malformed_debug_value_is_named():
    result = run_check(DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be 1/0" in result.stderr
