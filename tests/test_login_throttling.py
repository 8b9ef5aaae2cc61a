"""Login throttling (django-axes): repeated failed logins lock the username out from that
address for a while, with a page saying when to try again; the right password is refused
meanwhile, and works again after the cool-off."""

import datetime as dt
import io

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from .factories import PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = 5
COOLOFF = dt.timedelta(minutes=15)


@pytest.fixture(autouse=True)
def _defaults(settings):
    """The defaults, whatever the environment says."""
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = COOLOFF
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def log_in(client, username, password, address="203.0.113.7"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def is_logged_in(client) -> bool:
    return client.get(reverse("dashboard")).status_code == 200


def lock_out(client, username):
    for attempt in range(1, LIMIT):
        response = log_in(client, username, "wrong")
        assert response.status_code == 200, attempt
        assert "Please enter a correct username and password" in response.content.decode()
    return log_in(client, username, "wrong")


def test_the_fifth_failure_locks_out_with_a_page_saying_when_to_try_again(client, learner):
    response = lock_out(client, learner.username)
    assert response.status_code == 429
    assert "registration/lockout.html" in [t.name for t in response.templates]
    page = response.content.decode()
    assert "Too many failed logins" in page
    assert "Try again in 15 minutes" in page
    assert learner.username in page


def test_the_right_password_is_refused_while_locked_out(client, learner):
    lock_out(client, learner.username)
    response = log_in(client, learner.username, PASSWORD)
    assert response.status_code == 429
    assert not is_logged_in(client)


def test_the_admin_login_is_throttled_too(client, staff):
    for _ in range(LIMIT):
        client.post(
            reverse("admin:login"),
            {"username": staff.username, "password": "wrong"},
            REMOTE_ADDR="203.0.113.7",
        )
    response = client.post(
        reverse("admin:login"),
        {"username": staff.username, "password": PASSWORD},
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 429
    assert client.get(reverse("admin:index")).status_code == 302


def test_the_lockout_is_for_that_username_from_that_address(client, learner, other_learner):
    """A classmate behind the same address still logs in, and so does the learner elsewhere."""
    lock_out(client, learner.username)
    assert log_in(client, other_learner.username, PASSWORD).status_code == 302
    client.logout()
    assert log_in(client, learner.username, PASSWORD, address="198.51.100.9").status_code == 302


def test_the_right_password_works_after_the_cool_off(client, learner):
    lock_out(client, learner.username)
    # Fifteen minutes and a second pass.
    AccessAttempt.objects.update(attempt_time=timezone.now() - COOLOFF - dt.timedelta(seconds=1))
    response = log_in(client, learner.username, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert is_logged_in(client)


def test_staff_can_lift_a_lockout(client, learner):
    lock_out(client, learner.username)
    call_command("axes_reset_username", learner.username, stdout=io.StringIO())
    assert log_in(client, learner.username, PASSWORD).status_code == 302


def test_a_success_forgets_earlier_failures(client, learner):
    for _ in range(LIMIT - 1):
        log_in(client, learner.username, "wrong")
    assert log_in(client, learner.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(LIMIT - 1):
        assert log_in(client, learner.username, "wrong").status_code == 200
    assert log_in(client, learner.username, PASSWORD).status_code == 302


def test_logins_without_a_request_are_not_throttled(client, learner):
    """The test client's login() (and the shell's authenticate()) have no client to throttle."""
    assert client.login(username=learner.username, password=PASSWORD)
    assert not client.login(username=learner.username, password="wrong")
