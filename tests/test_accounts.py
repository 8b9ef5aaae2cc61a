"""Sign up, log in, log out; every other page needs a login."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from .factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_signup_creates_an_account_and_logs_in(client):
    response = client.post(
        reverse("signup"),
        {
            "username": "mei",
            "password1": "tea-and-Productive-forces",
            "password2": "tea-and-Productive-forces",
        },
        follow=True,
    )
    assert get_user_model().objects.filter(username="mei").exists()
    assert response.context["user"].username == "mei"
    assert response.redirect_chain[-1][0] == reverse("dashboard")


def test_signup_applies_the_password_validators(client):
    response = client.post(
        reverse("signup"), {"username": "mei", "password1": "12345678", "password2": "12345678"}
    )
    assert not get_user_model().objects.filter(username="mei").exists()
    page = response.content.decode()
    assert "This password is too common." in page
    assert "This password is entirely numeric." in page


def test_login_with_the_right_password_reaches_the_dashboard(client, learner):
    response = client.post(
        reverse("login"), {"username": learner.username, "password": PASSWORD}, follow=True
    )
    assert response.context["user"] == learner
    assert response.redirect_chain[-1][0] == reverse("dashboard")


def test_login_with_a_wrong_password_is_refused(client, learner):
    response = client.post(reverse("login"), {"username": learner.username, "password": "nope"})
    assert not response.context["user"].is_authenticated
    assert "Please enter a correct username and password" in response.content.decode()


def test_logout_ends_the_session(learner_client):
    learner_client.post(reverse("logout"))
    response = learner_client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_pages_need_a_login(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


def test_an_htmx_request_after_logout_is_sent_to_the_login_page_by_htmx(learner_client):
    learner_client.post(reverse("logout"))
    response = learner_client.get(reverse("study"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response.content == b""
    assert response["HX-Redirect"] == f"{reverse('login')}?next=/study/"
