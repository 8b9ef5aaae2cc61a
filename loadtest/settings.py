"""The app's production settings (DJANGO_DEBUG=0), served over plain HTTP on 127.0.0.1 for
the load test: no redirect to HTTPS, no HSTS, and cookies without the Secure flag (a client
sends no Secure cookie over http://). Everything else, CSP and login throttling included, is
the app's own. loadtest/run.py sets DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and
LOADTEST_STATIC_ROOT (where it collects the static files the manifest storage needs)."""

import os
from pathlib import Path

os.environ.setdefault("DJANGO_DEBUG", "0")

from studyapp.settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
if os.environ.get("LOADTEST_STATIC_ROOT"):
    STATIC_ROOT = Path(os.environ["LOADTEST_STATIC_ROOT"])
