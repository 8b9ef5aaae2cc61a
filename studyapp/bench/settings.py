"""Settings for the benchmark's processes: the app's own settings (from the same environment)
with the bench URLconf, which adds the constant view, and static files collected into a
directory of the benchmark's (BENCH_STATIC_ROOT), so the manifest storage of DJANGO_DEBUG=0
works without touching the project's staticfiles/. Selected with
DJANGO_SETTINGS_MODULE=studyapp.bench.settings, which only the benchmark sets."""

import os

from studyapp.settings import *  # noqa: F403

ROOT_URLCONF = "studyapp.bench.urls"
if os.environ.get("BENCH_STATIC_ROOT"):
    STATIC_ROOT = os.environ["BENCH_STATIC_ROOT"]
