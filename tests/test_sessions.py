"""Sessions that load their learner (studyapp.sessions, studyapp.auth): one query for the
session, the user and the settings, and every check of Django's authentication still made."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from studyapp import sessions, sql_rows
from studyapp.models import LearnerSession

from .factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _session_row(client) -> LearnerSession:
    return LearnerSession.objects.get(session_key=client.cookies["sessionid"].value)


def test_a_login_records_the_learner_on_the_session_row(learner_client, learner):
    assert _session_row(learner_client).user_id == learner.pk


def test_the_session_the_learner_and_the_settings_are_one_query(learner_client, learner, rf):
    from django.contrib.sessions.middleware import SessionMiddleware

    from studyapp.auth import SessionUserMiddleware

    learner_client.get(reverse("dashboard"))  # makes the settings
    request = rf.get("/")
    request.COOKIES["sessionid"] = learner_client.cookies["sessionid"].value
    SessionMiddleware(lambda r: None).process_request(request)
    SessionUserMiddleware(lambda r: None).process_request(request)
    with CaptureQueriesContext(connection) as queries:
        assert request.user.pk == learner.pk
        assert request.user.study_settings.new_per_day > 0
    assert len(queries) == 1, [q["sql"] for q in queries]
    sql = queries[0]["sql"]
    if connection.vendor == "postgresql":  # the session's query, prepared by the dashboard's
        session_sql = sessions._select(connection.vendor)[0]
        assert "studyapp_learnersettings" in session_sql
        assert sql.startswith(f"EXECUTE {sql_rows.statement_name(session_sql)} ")
    else:
        assert "studyapp_learnersettings" in sql


def test_a_changed_password_ends_other_sessions(learner_client, learner):
    learner.set_password("another-Long-passphrase-7")
    learner.save()
    response = learner_client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_deactivated_learner_is_logged_out(learner_client, learner):
    learner.is_active = False
    learner.save()
    response = learner_client.get(reverse("dashboard"))
    assert response.status_code == 302


def test_a_row_naming_another_user_is_not_trusted(learner_client, learner):
    """The row's user is only a shortcut: the session's data decides who is logged in."""
    other = UserFactory()
    LearnerSession.objects.filter(user=learner).update(user=other)
    response = learner_client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert response.context["user"] == learner


def test_logout_deletes_the_session_row(learner_client, learner):
    learner_client.post(reverse("logout"))
    assert not LearnerSession.objects.filter(user=learner).exists()


def test_a_deleted_account_takes_its_sessions_along(learner_client, learner):
    learner.delete()
    assert not LearnerSession.objects.exists()
    assert learner_client.get(reverse("dashboard")).status_code == 302


def test_an_anonymous_session_has_no_user(client):
    client.get(reverse("login"))  # the login form's CSRF cookie, no session yet
    client.post(reverse("login"), {"username": "nobody", "password": PASSWORD})
    assert not LearnerSession.objects.exclude(user=None).exists()


def test_clearsessions_removes_expired_rows(learner_client, learner):
    LearnerSession.objects.update(expire_date=timezone.now() - timezone.timedelta(seconds=1))
    call_command("clearsessions")
    assert not LearnerSession.objects.exists()


def test_a_session_whose_user_id_is_no_id_is_saved_without_a_user(db):
    from studyapp.sessions import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = "not-a-number"
    store.create()
    assert LearnerSession.objects.get(session_key=store.session_key).user_id is None
