"""Production settings: with DJANGO_DEBUG=0 and the production environment, Django's deployment
checks find nothing; cookies are secure, HSTS is on; and the Content-Security-Policy (the same in
development) allows only the app's own scripts, styles and images. Settings are read at start-up,
so production is run in a subprocess, as test_settings.py does."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "study.example.org",
}
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def run(args: list[str], **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean | env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


def directives(header: str) -> dict:
    """The header as {directive: its sources}."""
    parts = (part.strip().partition(" ") for part in header.split(";") if part.strip())
    return {name: sources.strip() for name, _, sources in parts}


def test_the_deployment_checks_find_nothing():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "DEBUG"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_the_deployment_checks_do_find_a_development_setup():
    """So the check above is a real one: with debug on it names DEBUG, cookies and HSTS."""
    result = run(["manage.py", "check", "--deploy"], DJANGO_DEBUG="1")
    for check in ("security.W018", "security.W012", "security.W016", "security.W004"):
        assert check in result.stdout + result.stderr, check


DUMP = """
import json, django
django.setup()
from django.conf import settings as s
from django.test import Client
print(json.dumps({
    "cookies": [s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY,
                s.CSRF_COOKIE_HTTPONLY],
    "hsts": [s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD],
    "ssl_redirect": s.SECURE_SSL_REDIRECT,
    "axes": [s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds()],
}))
client = Client(HTTP_HOST="study.example.org")
plain = client.get("/")
secure = client.get("/", secure=True)
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location")],
    "secure": [secure.status_code, secure.get("Location"), secure.get("Strict-Transport-Security"),
               secure.get("Content-Security-Policy"), secure.get("X-Frame-Options"),
               secure.get("X-Content-Type-Options"), secure.get("Referrer-Policy")],
}))
"""


@pytest.fixture(scope="module")
def production():
    result = run(["-c", DUMP], DJANGO_SETTINGS_MODULE="studyapp.settings", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    settings, responses = (json.loads(line) for line in result.stdout.splitlines()[-2:])
    return settings | responses


def test_production_cookies_are_secure_and_http_only(production):
    assert production["cookies"] == [True, True, True, True]


def test_production_sends_https_with_hsts(production):
    assert production["hsts"] == [365 * 24 * 3600, True, True]
    assert production["plain"] == [301, "https://study.example.org/"]
    status, location, hsts, csp, frames, sniff, referrer = production["secure"]
    assert (status, location) == (302, "/accounts/login/?next=/")
    assert hsts == "max-age=31536000; includeSubDomains; preload"
    assert directives(csp) == POLICY
    assert (frames, sniff, referrer) == ("DENY", "nosniff", "same-origin")


def test_login_throttling_defaults(production):
    assert production["axes"] == [5, 15 * 60]


def test_login_throttling_follows_the_environment():
    result = run(
        ["-c", DUMP], DJANGO_SETTINGS_MODULE="studyapp.settings",
        DJANGO_LOGIN_FAILURE_LIMIT="10", DJANGO_LOGIN_COOLOFF_MINUTES="60",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-2])["axes"] == [10, 3600]


# --- The policy on the pages (development settings, as the tests run) -------------------------

PAGES = ["dashboard", "study", "progress", "sources", "settings", "admin:index"]


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("name", PAGES)
def test_every_page_carries_the_policy(staff_client, name, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    response = staff_client.get(reverse(name), headers=headers)
    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == POLICY


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["login", "signup", "admin:login"])
def test_the_login_pages_carry_the_policy(client, name):
    response = client.get(reverse(name))
    assert directives(response["Content-Security-Policy"]) == POLICY


@pytest.mark.django_db
def test_redirects_and_refusals_carry_the_policy_too(client, learner_client):
    assert "Content-Security-Policy" in client.get(reverse("dashboard"))  # to the login page
    assert "Content-Security-Policy" in learner_client.post(reverse("dashboard"))  # 405


def test_templates_have_no_inline_script_or_style():
    """What the policy would block: <script> without src, <style>, style="", on*="" handlers."""
    offences = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = re.sub(
            r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", "", path.read_text(), flags=re.S
        )
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"<style\b", r"\sstyle=", r"\son[a-z]+="):
            offences += [
                f"{path.relative_to(ROOT)}: {m.group(0)}" for m in re.finditer(pattern, text)
            ]
    assert not offences, offences
