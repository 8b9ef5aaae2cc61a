"""Malformed study requests, all in one place: each is answered with a 4xx and a message in the
body, and records nothing (the learners' cards, reviews and settings rows are exactly as before).

tests/test_study.py checks some of these one by one (their status and message); here every
case, plain and HTMX, is also held to "nothing changed", row for row.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from studyapp import queue
from studyapp.models import Card, Kind, LearnerSettings, Review

from .factories import (
    CardFactory,
    DeckFactory,
    LearnerSettingsFactory,
    QuestionFactory,
    SourceFactory,
    UserFactory,
    multiple_choice,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
MEGABYTE = "x" * 1_000_000
RIGHT = "12.82 trillion yuan"  # the typed card's answer
NOT_FOUND = "Not found"  # the heading of templates/404.html, above the reason


def learning_rows() -> dict[str, list[tuple]]:
    """Every row of the learners' tables, read with plain SQL (all columns, full precision)."""
    rows = {}
    with connection.cursor() as cursor:
        for model in (Card, Review, LearnerSettings):
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT * FROM {table} ORDER BY id")
            rows[model._meta.db_table] = [tuple(map(repr, row)) for row in cursor.fetchall()]
    return rows


@dataclass
class World:
    client: Client
    flash: Card  # the learner's flashcard
    typed: Card  # the learner's typed card
    choice: Card  # the learner's multiple choice (the second option is right)
    theirs: Card  # another learner's flashcard
    deck_slug: str
    used_token: uuid.UUID | None = None  # set by a case's setup


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """The learners log in with force_login: their password hashes need not be slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world():
    learner, other = UserFactory(), UserFactory()
    LearnerSettingsFactory(user=learner)
    LearnerSettingsFactory(user=other)
    deck, source = DeckFactory(), SourceFactory()
    flash = CardFactory(
        user=learner, question=QuestionFactory(kind=Kind.FLASHCARD, deck=deck, source=source)
    )
    typed = CardFactory(user=learner, question=QuestionFactory(deck=deck, source=source))
    choice = CardFactory(user=learner, question=multiple_choice(deck=deck, source=source))
    theirs = CardFactory(
        user=other, question=QuestionFactory(kind=Kind.FLASHCARD, deck=deck, source=source)
    )
    for user in (learner, other):  # as after a first visit: a card for every question
        queue.ensure_cards(user)
    client = Client()
    client.force_login(learner)
    return World(client, flash, typed, choice, theirs, deck.slug)


def grade_url(card: Card) -> str:
    return reverse("grade", args=[card.id])


def grade_data(**extra) -> dict:
    return {"token": str(uuid.uuid4()), "rating": "3", "deck": "", "source": ""} | extra


def answer_data(**extra) -> dict:
    return {"token": str(uuid.uuid4()), "deck": "", "source": ""} | extra


def used_once(world: World) -> None:
    """Setup: grade the flashcard once, for real; its token is then stale."""
    world.used_token = uuid.uuid4()
    response = world.client.post(grade_url(world.flash), grade_data(token=world.used_token))
    assert response.status_code == 302
    assert Review.objects.filter(token=world.used_token).count() == 1


@dataclass(frozen=True)
class Case:
    method: str
    url: Callable[[World], str]
    data: Callable[[World], dict] = field(default=lambda w: {})
    status: int = 400
    message: str = ""
    setup: Callable[[World], None] | None = None


CASES = {
    # The grade's own fields.
    "rating missing": Case(
        "post", lambda w: grade_url(w.flash), lambda w: grade_data(rating=""),
        message="The request was refused: rating: A grade needs a rating: 1 Again, 2 Hard, 3 Good or 4 Easy.",
    ),
    "rating absent from the form": Case(
        "post", lambda w: grade_url(w.flash),
        lambda w: {k: v for k, v in grade_data().items() if k != "rating"},
        message="rating: A grade needs a rating",
    ),
    "rating 0": Case(
        "post", lambda w: grade_url(w.flash), lambda w: grade_data(rating="0"),
        message="rating: The rating must be 1 Again, 2 Hard, 3 Good or 4 Easy.",
    ),
    "rating 5": Case(
        "post", lambda w: grade_url(w.flash), lambda w: grade_data(rating="5"),
        message="rating: The rating must be 1 Again, 2 Hard, 3 Good or 4 Easy.",
    ),
    "rating a word": Case(
        "post", lambda w: grade_url(w.flash), lambda w: grade_data(rating="Good"),
        message="rating: The rating must be 1 Again, 2 Hard, 3 Good or 4 Easy.",
    ),
    "rating negative": Case(
        "post", lambda w: grade_url(w.flash), lambda w: grade_data(rating="-3"),
        message="rating: The rating must be 1 Again, 2 Hard, 3 Good or 4 Easy.",
    ),
    "a forged rating: a wrong answer graded Good": Case(
        "post", lambda w: grade_url(w.typed), lambda w: grade_data(response="twelve"),
        status=409, message="This answer can be graded Again, not Good.",
    ),
    "a forged rating: a right answer graded Again": Case(
        "post", lambda w: grade_url(w.typed), lambda w: grade_data(response=RIGHT, rating="1"),
        status=409, message="This answer can be graded Hard, Good, Easy, not Again.",
    ),
    "a choice that does not exist, graded Good": Case(
        "post", lambda w: grade_url(w.choice), lambda w: grade_data(response="99"),
        status=409, message="This answer can be graded Again, not Good.",
    ),
    # The token.
    "token missing on a grade": Case(
        "post", lambda w: grade_url(w.flash),
        lambda w: {k: v for k, v in grade_data().items() if k != "token"},
        message="The request was refused: token: This field is required.",
    ),
    "token empty on a grade": Case(
        "post", lambda w: grade_url(w.flash), lambda w: grade_data(token=""),
        message="token: This field is required.",
    ),
    "token not a UUID": Case(
        "post", lambda w: grade_url(w.flash), lambda w: grade_data(token="1234"),
        message="token: Enter a valid UUID.",
    ),
    "token missing on an answer": Case(
        "post", lambda w: reverse("answer", args=[w.typed.id]),
        lambda w: {"response": RIGHT, "deck": "", "source": ""},
        message="token: This field is required.",
    ),
    "token missing on a reveal": Case(
        "get", lambda w: reverse("reveal", args=[w.flash.id]), lambda w: {"deck": ""},
        message="token: This field is required.",
    ),
    "a used token sent for another card": Case(
        "post", lambda w: grade_url(w.typed),
        lambda w: grade_data(token=w.used_token, response=RIGHT),
        status=409, message="This form's token was already used for another card.",
        setup=used_once,
    ),
    "a used token sent for another learner's card": Case(
        "post", lambda w: grade_url(w.theirs), lambda w: grade_data(token=w.used_token),
        status=404, message=NOT_FOUND, setup=used_once,
    ),
    # shown_at.
    "shown_at a word": Case(
        "post", lambda w: grade_url(w.flash), lambda w: grade_data(shown_at="yesterday"),
        message="The request was refused: shown_at: Enter a whole number.",
    ),
    "shown_at negative": Case(
        "post", lambda w: grade_url(w.flash), lambda w: grade_data(shown_at="-5"),
        message="shown_at: Ensure this value is greater than or equal to 0.",
    ),
    "shown_at a fraction": Case(
        "post", lambda w: grade_url(w.flash), lambda w: grade_data(shown_at="1.5"),
        message="shown_at: Enter a whole number.",
    ),
    "shown_at of 5000 digits": Case(
        "post", lambda w: grade_url(w.flash), lambda w: grade_data(shown_at="9" * 5000),
        message="shown_at: Enter a whole number.",
    ),
    "shown_at bad on an answer": Case(
        "post", lambda w: reverse("answer", args=[w.typed.id]),
        lambda w: answer_data(response=RIGHT, shown_at="soon"),
        message="shown_at: Enter a whole number.",
    ),
    # Size.
    "a typed answer of a megabyte, checked": Case(
        "post", lambda w: reverse("answer", args=[w.typed.id]),
        lambda w: answer_data(response=MEGABYTE),
        message="response: An answer is at most 1000 characters long.",
    ),
    "a typed answer of a megabyte, graded": Case(
        "post", lambda w: grade_url(w.typed), lambda w: grade_data(response=MEGABYTE, rating="1"),
        message="response: An answer is at most 1000 characters long.",
    ),
    "a typed answer of 1001 characters": Case(
        "post", lambda w: grade_url(w.typed), lambda w: grade_data(response="y" * 1001, rating="1"),
        message="response: An answer is at most 1000 characters long.",
    ),
    "a body over Django's 2.5 MB cap": Case(
        "post", lambda w: grade_url(w.typed),
        lambda w: grade_data(response="z" * 3_000_000, rating="1"),
        message="Bad request (400): the request was too large or malformed",
    ),
    # Whose card, and which.
    "another learner's card, graded": Case(
        "post", lambda w: grade_url(w.theirs), lambda w: grade_data(), status=404,
        message=NOT_FOUND,
    ),
    "another learner's card, checked": Case(
        "post", lambda w: reverse("answer", args=[w.theirs.id]), lambda w: answer_data(response="x"),
        status=404, message=NOT_FOUND,
    ),
    "another learner's card, revealed": Case(
        "get", lambda w: reverse("reveal", args=[w.theirs.id]), lambda w: answer_data(),
        status=404, message=NOT_FOUND,
    ),
    "another learner's card, suspended": Case(
        "post", lambda w: reverse("suspend", args=[w.theirs.id]), lambda w: {"deck": ""},
        status=404, message=NOT_FOUND,
    ),
    "another learner's card, buried": Case(
        "post", lambda w: reverse("bury", args=[w.theirs.id]), lambda w: {"deck": ""},
        status=404, message=NOT_FOUND,
    ),
    "another learner's card, shown": Case(
        "get", lambda w: reverse("study"), lambda w: {"card": w.theirs.id}, status=404,
        message=NOT_FOUND,
    ),
    "a card that does not exist": Case(
        "post", lambda w: reverse("grade", args=[w.theirs.id + 1000]), lambda w: grade_data(),
        status=404, message=NOT_FOUND,
    ),
    "a card id beyond any integer column": Case(
        "post", lambda w: f"/card/{'9' * 30}/grade/", lambda w: grade_data(), status=404,
        message=NOT_FOUND,
    ),
    "a card id that is not a number, in the path": Case(
        "post", lambda w: "/card/abc/grade/", lambda w: grade_data(), status=404,
        message=NOT_FOUND,
    ),
    "a card id that is negative, in the path": Case(
        "post", lambda w: "/card/-1/grade/", lambda w: grade_data(), status=404,
        message=NOT_FOUND,
    ),
    "a card id that is not a number, in the query": Case(
        "get", lambda w: reverse("study"), lambda w: {"card": "abc"}, status=404,
        message=NOT_FOUND,
    ),
    # Scope.
    "an unknown deck, studied": Case(
        "get", lambda w: reverse("study"), lambda w: {"deck": "no-such-deck"}, status=404,
        message=NOT_FOUND,
    ),
    "an unknown source, studied": Case(
        "get", lambda w: reverse("study"), lambda w: {"source": "no-such-source"}, status=404,
        message=NOT_FOUND,
    ),
    "a deck that is not a slug, studied": Case(
        "get", lambda w: reverse("study"), lambda w: {"deck": "two words"}, status=404,
        message=NOT_FOUND,
    ),
    "an unknown deck, graded": Case(
        "post", lambda w: grade_url(w.flash), lambda w: grade_data(deck="no-such-deck"),
        status=404, message=NOT_FOUND,
    ),
    "an unknown source, graded": Case(
        "post", lambda w: grade_url(w.flash), lambda w: grade_data(source="no-such-source"),
        status=404, message=NOT_FOUND,
    ),
    "an unknown deck, undone": Case(
        "post", lambda w: reverse("undo"), lambda w: {"deck": "no-such-deck"}, status=404,
        message=NOT_FOUND, setup=used_once,
    ),
    # (suspend and bury with an unknown deck: see the test at the end)
}  # fmt: skip

# GET-only and POST-only views, asked the other way.
WRONG_METHOD = {
    "POST to the study page": ("post", lambda w: reverse("study"), "GET"),
    "POST to reveal": ("post", lambda w: reverse("reveal", args=[w.flash.id]), "GET"),
    "GET of answer": ("get", lambda w: reverse("answer", args=[w.typed.id]), "POST"),
    "GET of grade": ("get", lambda w: grade_url(w.flash), "POST"),
    "GET of undo": ("get", lambda w: reverse("undo"), "POST"),
    "GET of suspend": ("get", lambda w: reverse("suspend", args=[w.flash.id]), "POST"),
    "GET of bury": ("get", lambda w: reverse("bury", args=[w.flash.id]), "POST"),
    "PUT to grade": ("put", lambda w: grade_url(w.flash), "POST"),
    "DELETE of a card": ("delete", lambda w: grade_url(w.flash), "POST"),
}


def send(world: World, method: str, url: str, data: dict, htmx: bool):
    extra = HTMX if htmx else {}
    return getattr(world.client, method)(url, data, **extra)


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("name", list(CASES))
def test_a_malformed_request_is_refused_and_records_nothing(world, name, htmx):
    case = CASES[name]
    if case.setup:
        case.setup(world)
    before, reviews = learning_rows(), Review.objects.count()
    response = send(world, case.method, case.url(world), case.data(world), htmx)
    assert response.status_code == case.status
    assert case.message in response.content.decode()
    assert Review.objects.count() == reviews
    assert learning_rows() == before


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("name", list(WRONG_METHOD))
def test_the_wrong_method_is_405_with_the_allowed_one_and_records_nothing(world, name, htmx):
    method, url, allowed = WRONG_METHOD[name]
    data = grade_data() if method in {"post", "put"} else {}
    before = learning_rows()
    response = send(world, method, url(world), data, htmx)
    assert response.status_code == 405
    assert response["Allow"] == allowed
    assert learning_rows() == before


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_stale_token_for_the_same_card_is_idempotent(world, htmx):
    """The form posted again (back button, double submit, a retry after a lost connection):
    it answers as the first post did and records nothing more."""
    used_once(world)
    before = learning_rows()
    for _ in range(3):
        response = send(
            world, "post", grade_url(world.flash), grade_data(token=world.used_token), htmx
        )
        assert response.status_code == (200 if htmx else 302)
    assert learning_rows() == before
    assert Review.objects.filter(token=world.used_token).count() == 1


def test_a_stale_token_with_another_rating_does_not_regrade(world):
    used_once(world)  # graded Good
    before = learning_rows()
    response = world.client.post(
        grade_url(world.flash), grade_data(token=world.used_token, rating="1"), **HTMX
    )
    assert response.status_code == 200
    assert learning_rows() == before
    assert Review.objects.get(token=world.used_token).rating == 3


def test_without_a_csrf_token_a_grade_is_refused_with_403(world):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.flash.user)
    before = learning_rows()
    response = strict.post(grade_url(world.flash), grade_data())
    assert response.status_code == 403
    assert "CSRF verification failed" in response.content.decode()
    assert learning_rows() == before


def test_a_grade_without_a_login_goes_to_the_login_page_and_records_nothing(world):
    """Not a 4xx: LoginRequiredMiddleware redirects every private view to the login page."""
    before = learning_rows()
    response = Client().post(grade_url(world.flash), grade_data())
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert learning_rows() == before


# A 404 or a 405 whose body says why.


def test_a_404_for_another_learners_card_says_there_is_no_such_card(world):
    response = world.client.post(grade_url(world.theirs), grade_data())
    assert response.status_code == 404
    assert "No such card" in response.content.decode()


def test_a_404_for_a_card_id_that_is_not_a_number_says_so(world):
    response = world.client.get(reverse("study"), {"card": "abc"})
    assert response.status_code == 404
    assert "A card id is a number." in response.content.decode()


def test_a_404_for_an_unknown_deck_says_so(world):
    response = world.client.get(reverse("study"), {"deck": "two words"})
    assert response.status_code == 404
    assert "No such deck or document." in response.content.decode()


def test_a_405_body_names_the_allowed_method(world):
    response = world.client.get(grade_url(world.flash))
    assert response.status_code == 405
    assert "POST" in response.content.decode()


@pytest.mark.parametrize("action", ["suspend", "bury"])
def test_suspend_or_bury_with_an_unknown_deck_changes_nothing(world, action):
    response = world.client.post(reverse(action, args=[world.flash.id]), {"deck": "no-such-deck"})
    assert response.status_code == 404
    world.flash.refresh_from_db()
    assert (world.flash.is_suspended, world.flash.buried_until) == (False, None)
