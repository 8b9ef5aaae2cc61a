"""The authorization matrix: every URL of the project (walked from the URL resolver, the
admin's included) against four visitors (anonymous, the learner who owns the objects, another
learner, staff), by GET and by POST, as a plain request and as an HTMX one. Each cell names the
outcome; a URL with no row in the matrix fails, so a new page must say who may see it.

The admin is taken as a group (ADMIN_* below): staff only, every learner sent to the admin's
login, and so is an anonymous visitor, except on a model's admin pages: Django's
LoginRequiredMiddleware sends them to the site's login (LOGIN_URL), as ModelAdmin's views don't
name the admin's (only the AdminSite's own views do); from there a learner still ends at the
admin's login. Staff's POSTs to the admin are not part of the matrix (they
would edit the bank); test_csrf.py posts to every admin URL, and test_admin.py tests its forms.
"""

import re
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from studyapp.models import Card, LearnerSettings, Review

from .url_walk import FAST_HASHERS, VISITORS, Route, build_world, get_data, post_data, walk

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Outcome:
    status: int
    location: str | None = None  # a redirect's target (its Location header)
    prefix: bool = False  # the Location only starts with `location`
    login: str | None = None  # a redirect to this login page, with ?next= the page asked for

    def check(self, response, url: str, where: str) -> None:
        if "HX-Redirect" in response:  # an HTMX request sent elsewhere: htmx follows the header
            followed = HttpResponse(status=302)
            followed["Location"] = response["HX-Redirect"]
            response = followed
        assert response.status_code == self.status, (
            f"{where}: expected {self}, got {response.status_code} "
            f"{response.get('Location', '')} {response.content[:300]!r}"
        )
        if self.login:
            expected = f"{self.login}?next={quote(url, safe='/')}"
            found = response["Location"]
            rest = found.removeprefix(expected)  # the query, if the page was asked for with one
            assert found.startswith(expected) and rest[:3] in ("", "%3F"), f"{where}: {found}"
        elif self.location is not None:
            found = response["Location"]
            assert found.startswith(self.location) if self.prefix else found == self.location, (
                f"{where}: redirected to {found}, not {self.location}"
            )

    def __str__(self):
        if self.login:
            return f"{self.status} to log in at {self.login}"
        return f"{self.status}" + (f" to {self.location}" if self.location else "")


@dataclass(frozen=True)
class Split:
    """A different outcome for a plain request and for an HTMX one."""

    plain: Outcome
    htmx: Outcome


OK = Outcome(200)
LOGIN = Outcome(302, login="/accounts/login/")
ADMIN_LOGIN = Outcome(302, login="/admin/login/")
FORBIDDEN = Outcome(403)
NOT_FOUND = Outcome(404)
NOT_ALLOWED = Outcome(405)
CONFLICT = Outcome(409)  # undo with nothing to undo


def to(location: str, *, prefix: bool = False) -> Outcome:
    return Outcome(302, location=location, prefix=prefix)


def row(anonymous, owner, other, staff) -> dict:
    return dict(zip(VISITORS, (anonymous, owner, other, staff), strict=True))


def everyone(outcome, *, anonymous=LOGIN) -> dict:
    """The same for every logged-in visitor."""
    return row(anonymous, outcome, outcome, outcome)


# A study step: a plain POST redirects to the study page, an HTMX one gets the next stage.
STEP = Split(plain=to("/study/?continue=1"), htmx=OK)

# An object URL (card_id) answers only its owner: anyone else gets 404, as if it didn't exist.
OWNER_ONLY_POST = {"GET": everyone(NOT_ALLOWED), "POST": row(LOGIN, STEP, NOT_FOUND, NOT_FOUND)}

MATRIX = {
    "dashboard": {"GET": everyone(OK), "POST": everyone(NOT_ALLOWED)},
    "study": {"GET": everyone(OK), "POST": everyone(NOT_ALLOWED)},
    "reveal": {"GET": row(LOGIN, OK, NOT_FOUND, NOT_FOUND), "POST": everyone(NOT_ALLOWED)},
    "answer": {"GET": everyone(NOT_ALLOWED), "POST": row(LOGIN, OK, NOT_FOUND, NOT_FOUND)},
    "grade": OWNER_ONLY_POST,
    "suspend": OWNER_ONLY_POST,
    "bury": OWNER_ONLY_POST,
    # Undo takes back the visitor's own last answer: the others have none.
    "undo": {
        "GET": everyone(NOT_ALLOWED),
        "POST": row(
            LOGIN,
            Split(plain=to("/study/?continue=1&card=", prefix=True), htmx=OK),
            CONFLICT,
            CONFLICT,
        ),
    },
    "progress": {"GET": everyone(OK), "POST": everyone(NOT_ALLOWED)},
    "reviews_csv": {"GET": everyone(OK), "POST": everyone(NOT_ALLOWED)},
    "data_json": {"GET": everyone(OK), "POST": everyone(NOT_ALLOWED)},
    # The bank as Anki packages: the same for every learner.
    "anki_bank": {"GET": everyone(OK), "POST": everyone(NOT_ALLOWED)},
    "anki_deck": {"GET": everyone(OK), "POST": everyone(NOT_ALLOWED)},
    # Each visitor's own settings.
    "settings": {"GET": everyone(OK), "POST": everyone(to("/settings/"))},
    "sources": {"GET": everyone(OK), "POST": everyone(NOT_ALLOWED)},
    "source": {"GET": everyone(OK), "POST": everyone(NOT_ALLOWED)},
    "signup": {
        "GET": everyone(to("/"), anonymous=OK),
        "POST": everyone(to("/"), anonymous=to("/")),
    },
    # Each visitor logs in with their own password (anonymous with the owner's).
    "login": {"GET": everyone(OK, anonymous=OK), "POST": everyone(to("/"), anonymous=to("/"))},
    "logout": {"GET": everyone(NOT_ALLOWED), "POST": everyone(to("/accounts/login/"))},
}

# --- The admin, as a group ---------------------------------------------------------------------

# Staff's outcome for a GET of the admin's own URLs (and of a ModelAdmin's extra ones); a model's
# usual pages (changelist, add, change, history, delete) follow admin_expected()'s rules.
ADMIN_STAFF = {
    "admin:index": OK,
    "admin:app_list": OK,
    "admin:password_change": OK,
    "admin:password_change_done": OK,
    "admin:jsi18n": OK,
    "admin:autocomplete": FORBIDDEN,  # without its query parameters
    "admin:view_on_site": NOT_FOUND,  # no model here has a page on the site
    "admin:login": to("/admin/"),
    "admin:logout": NOT_ALLOWED,  # logging out is a POST
    "admin/(?P<url>.*)$": NOT_FOUND,  # the catch-all, for an unknown admin page
    "admin:auth_user_password_change": OK,
    "admin:studyapp_source_upload": OK,
}
# Learners' history may be looked at, not written (studyapp.admin.ReadOnlyAdmin); axes keeps
# its own records.
ADMIN_NO_ADD = {"studyapp.card", "studyapp.review", "axes.accessattempt", "axes.accesslog",
                "axes.accessfailurelog"}  # fmt: skip
ADMIN_NO_DELETE = {"studyapp.card", "studyapp.review"}
ADMIN_APPS = "|".join({model._meta.app_label for model in admin.site._registry})
ADMIN_MODEL_URL = re.compile(rf"^admin/(?P<app>{ADMIN_APPS})/(?P<model>\w+)/(?P<rest>.*)$")


def admin_expected(route: Route, visitor: str, method: str, world) -> Outcome:
    if route.key == "admin:login":
        # The login page itself: open to all; a learner is told it is staff only.
        if method == "GET":
            return to("/admin/") if visitor == "staff" else OK
        return to("/admin/") if visitor == "staff" else OK  # a learner's password is refused
    match = ADMIN_MODEL_URL.match(route.route)
    if visitor == "anonymous":
        return LOGIN if match else ADMIN_LOGIN
    if visitor != "staff":
        # The admin sends a non-staff visitor of its logout to its index, which then asks to
        # log in; every other admin URL asks directly.
        return to("/admin/") if route.key == "admin:logout" else ADMIN_LOGIN
    if route.key in ADMIN_STAFF:
        return ADMIN_STAFF[route.key]
    assert match, f"{route}: no entry in ADMIN_STAFF"
    label = f"{match['app']}.{match['model']}"
    view = route.name.rsplit("_", 1)[1] if route.name else None
    if view == "changelist" or view in ("change", "history"):
        return OK
    if view == "add":
        return FORBIDDEN if label in ADMIN_NO_ADD else OK
    if view == "delete":
        return FORBIDDEN if label in ADMIN_NO_DELETE else OK
    if route.name is None and match["rest"] == "<path:object_id>/":
        # The old change URL redirects to the new one.
        obj = world.admin_object(route)
        return to(reverse(f"admin:{match['app']}_{match['model']}_change", args=[obj.pk]))
    raise AssertionError(f"{route}: no entry for this admin URL in ADMIN_STAFF")


# --- The walk ----------------------------------------------------------------------------------

ROUTES = walk()
APP_ROUTES = [r for r in ROUTES if not r.is_admin]
ADMIN_ROUTES = [r for r in ROUTES if r.is_admin]


def test_every_url_of_the_project_has_a_row_in_the_matrix():
    missing = [r.key for r in APP_ROUTES if r.key not in MATRIX]
    assert not missing, f"URLs with no row in the authorization matrix: {missing}"
    stale = set(MATRIX) - {r.key for r in APP_ROUTES}
    assert not stale, f"Rows for URLs that no longer exist: {stale}"
    assert len(ADMIN_ROUTES) > 50, "the admin's URLs were not walked"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def world():
    return build_world(Client)


def client_for(world, visitor: str) -> Client:
    client = Client()
    if world.users[visitor] is not None:
        client.force_login(world.users[visitor])
    return client


def owner_state(world) -> dict:
    """Everything of the owner's that a request by someone else must leave alone."""
    cards = {
        card.id: {f.attname: getattr(card, f.attname) for f in Card._meta.concrete_fields}
        for card in Card.objects.filter(user=world.owner)
    }
    # The bank revision the cards were made at is bookkeeping, which a page view may advance.
    settings = LearnerSettings.objects.filter(user=world.owner).values().get()
    settings.pop("cards_for_revision")
    return {
        "reviews": list(Review.objects.filter(user=world.owner).values_list("id", flat=True)),
        "cards": cards,
        "settings": settings,
    }


def request(client, method: str, url: str, data: dict, htmx: bool):
    headers = {"HX-Request": "true"} if htmx else {}
    return getattr(client, method.lower())(url, data, headers=headers)


# What a successful owner's POST must have done.
OWNER_EFFECTS = {
    "grade": lambda before, after, world: len(after["reviews"]) == len(before["reviews"]) + 1,
    "suspend": lambda before, after, world: after["cards"][world.card.id]["is_suspended"],
    "bury": lambda before, after, world: after["cards"][world.card.id]["buried_until"] is not None,
    "undo": lambda before, after, world: len(after["reviews"]) == len(before["reviews"]) - 1,
    "settings": lambda before, after, world: after["settings"]["new_per_day"] == 7,
    "answer": lambda before, after, world: before == after,  # checking writes nothing
}


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("route", APP_ROUTES, ids=str)
def test_app_urls(route, method, visitor, htmx, world):
    expected = MATRIX[route.key][method][visitor]
    if isinstance(expected, Split):
        expected = expected.htmx if htmx else expected.plain
    url = world.url(route)
    data = post_data(route, world, visitor) if method == "POST" else get_data(route)
    users_before = get_user_model().objects.count()
    reviews_before = Review.objects.count()
    before = owner_state(world)

    response = request(client_for(world, visitor), method, url, data, htmx)

    where = f"{method} {url} as {visitor}{' (HTMX)' if htmx else ''}"
    expected.check(response, url, where)
    after = owner_state(world)
    if visitor == "owner" and method == "POST" and route.key in OWNER_EFFECTS:
        assert OWNER_EFFECTS[route.key](before, after, world), f"{where}: did not take effect"
    else:
        assert after == before, f"{where} changed the owner's cards, reviews or settings"
    if not (visitor == "owner" and route.key == "grade" and method == "POST"):
        assert Review.objects.count() <= reviews_before, f"{where} recorded a review"
    if route.key == "signup" and method == "POST":
        assert get_user_model().objects.count() == users_before + (visitor == "anonymous")


@pytest.mark.parametrize("visitor", ["other", "staff"])
@pytest.mark.parametrize("name", ["progress", "reviews_csv", "data_json"])
def test_progress_and_downloads_show_only_the_visitors_own_data(name, visitor, world):
    """The same URL for everyone, so the matrix's 200 is not enough: nobody sees the owner's."""
    marker = world.undo_card.question.uid
    url = world.url(Route(name, name))
    assert marker in client_for(world, "owner").get(url).content.decode()
    assert marker not in client_for(world, visitor).get(url).content.decode()


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=str)
def test_admin_urls_by_get(route, visitor, htmx, world):
    url = world.url(route)
    response = request(client_for(world, visitor), "GET", url, {}, htmx)
    where = f"GET {url} as {visitor}{' (HTMX)' if htmx else ''}"
    admin_expected(route, visitor, "GET", world).check(response, url, where)


def admin_snapshot() -> dict:
    from django.apps import apps

    return {
        model._meta.label: sorted(model.objects.values_list("pk", flat=True))
        for model in apps.get_models()
        # Sessions may come and go (a refused visitor may get one); they edit nothing.
        if model._meta.app_label in ("auth", "studyapp", "axes")
        and model._meta.label != "studyapp.LearnerSession"
    }


@pytest.mark.parametrize("visitor", ["anonymous", "owner", "other"])
@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=str)
def test_admin_urls_refuse_a_post_by_anyone_but_staff(route, visitor, world):
    url = world.url(route)
    before = admin_snapshot()
    response = client_for(world, visitor).post(url, post_data(route, world, visitor))
    where = f"POST {url} as {visitor}"
    admin_expected(route, visitor, "POST", world).check(response, url, where)
    assert admin_snapshot() == before, f"{where} changed something"
