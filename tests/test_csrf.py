"""CSRF is enforced on every POST, HTMX ones included: every URL of the project (walked from the
URL resolver, the admin's included) refuses a POST without the token (403), and takes one with
the token its page carries: in the form's csrfmiddlewaretoken field for a plain POST, in the
X-CSRFToken header for HTMX (base.html sets it on <body> with hx-headers)."""

import html
import json
import re

import pytest
from django.test import Client

from .test_authorization import MATRIX, Split
from .url_walk import FAST_HASHERS, build_world, post_data, walk

pytestmark = pytest.mark.django_db

ROUTES = walk()
APP_ROUTES = [r for r in ROUTES if not r.is_admin]
ADMIN_ROUTES = [r for r in ROUTES if r.is_admin]
# Who posts: the visitor each POST is for (logging in and signing up are for visitors).
ANONYMOUS_ROUTES = {"login", "signup", "admin:login"}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def world():
    return build_world(Client)


def visitor_for(route) -> str:
    if route.key in ANONYMOUS_ROUTES:
        return "anonymous"
    return "staff" if route.is_admin else "owner"


def csrf_client(world, visitor: str) -> Client:
    client = Client(enforce_csrf_checks=True)
    if world.users[visitor] is not None:
        client.force_login(world.users[visitor])
    return client


def page_for(route, visitor: str) -> str:
    """The page whose forms post to the route."""
    if route.key == "signup":
        return "/signup/"
    if visitor == "anonymous":
        return "/admin/login/" if route.is_admin else "/accounts/login/"
    return "/admin/" if route.is_admin else "/study/"


def form_token(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def htmx_token(page: str) -> str:
    """The token base.html hands to htmx: <body hx-headers='{"X-CSRFToken": "..."}'>."""
    match = re.search(r"<body[^>]* hx-headers='([^']+)'", page)
    assert match, "<body> has no hx-headers"
    return json.loads(html.unescape(match.group(1)))["X-CSRFToken"]


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_a_post_without_the_token_is_refused(route, htmx, world):
    visitor = visitor_for(route)
    client = csrf_client(world, visitor)
    client.get(page_for(route, visitor))  # the CSRF cookie is set: only the token is missing
    assert client.cookies.get("csrftoken"), "the page set no CSRF cookie"
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(world.url(route), post_data(route, world, visitor), headers=headers)
    assert response.status_code == 403, f"POST {world.url(route)} without a token"
    assert b"CSRF" in response.content


@pytest.mark.parametrize("route", [r for r in ROUTES if r.key == "grade"], ids=str)
def test_a_wrong_token_is_refused(route, world):
    client = csrf_client(world, "owner")
    client.get("/study/")
    data = post_data(route, world, "owner")
    response = client.post(
        world.url(route), data, headers={"HX-Request": "true", "X-CSRFToken": "x" * 32}
    )
    assert response.status_code == 403
    assert not world.card.reviews.exists()


def expected_status(route, htmx: bool) -> int:
    outcome = MATRIX[route.key]["POST"][visitor_for(route)]
    if isinstance(outcome, Split):
        outcome = outcome.htmx if htmx else outcome.plain
    return outcome.status


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("route", APP_ROUTES, ids=str)
def test_the_app_takes_a_post_with_the_token_from_its_page(route, htmx, world):
    """The outcome is the matrix's for that visitor: the action's own, or 405 for a page that
    takes no POST (the token passed, the view refused the method)."""
    visitor = visitor_for(route)
    client = csrf_client(world, visitor)
    page = client.get(page_for(route, visitor)).content.decode()
    data = post_data(route, world, visitor)
    if htmx:
        headers = {"HX-Request": "true", "X-CSRFToken": htmx_token(page)}
    else:
        headers, data = {}, data | {"csrfmiddlewaretoken": form_token(page)}
    response = client.post(world.url(route), data, headers=headers)
    # htmx is sent on by a header where a plain request gets a redirect (logout, say).
    status = 302 if "HX-Redirect" in response else response.status_code
    assert status == expected_status(route, htmx), (
        f"POST {world.url(route)} with the token: {response.status_code} {response.content[:200]!r}"
    )


@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=str)
def test_the_admin_takes_a_post_with_the_token_from_its_page(route, world):
    """Staff's POSTs get past the CSRF check: whatever the admin answers, it is not 403 (the
    few 403s of the matrix, adding to a read-only model and autocomplete without parameters,
    are the admin's own, without the CSRF failure page)."""
    visitor = visitor_for(route)
    client = csrf_client(world, visitor)
    token = form_token(client.get(page_for(route, visitor)).content.decode())
    data = post_data(route, world, visitor) | {"csrfmiddlewaretoken": token}
    response = client.post(world.url(route), data)
    assert response.status_code < 500
    assert b"CSRF verification failed" not in response.content, f"POST {world.url(route)}"


def test_every_page_hands_htmx_the_token(world):
    """base.html: one token for the session, on <body>, valid JSON however it is escaped."""
    client = csrf_client(world, "owner")
    for url in ("/", "/study/", "/progress/", "/sources/", "/settings/"):
        page = client.get(url).content.decode()
        assert len(htmx_token(page)) == 64, url
