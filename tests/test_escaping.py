"""Escaping: every field of the bank, and everything a visitor types, holds script and markup
payloads, and every page that shows them shows them escaped, never raw.

Each field's value is "<field>:" followed by the payloads, so a page is checked both ways: no
payload appears raw anywhere on it, and each field it should show is there in escaped form (so
the check can't pass because a page stopped showing the field)."""

import datetime as dt
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from studyapp.models import Card, Choice, Kind

from .factories import (
    PASSWORD,
    CardFactory,
    DeckFactory,
    LearnerSettingsFactory,
    QuestionFactory,
    ReviewFactory,
    SourceFactory,
)
from .url_walk import FAST_HASHERS

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
ATTR = "' autofocus onfocus=alert(1) x='"
TEMPLATE = "{{ 7*7 }}{% now 'Y' %}"
PAYLOADS = SCRIPT + IMG + ATTR + TEMPLATE
# What must never appear as such: each would run or break out of its element or attribute.
RAW = [SCRIPT, IMG, ATTR, "<img src=x", "<script>alert"]
SCOPE = {"deck": "", "source": ""}
KINDS = [Kind.FLASHCARD, Kind.MULTIPLE_CHOICE, Kind.TRUE_FALSE, Kind.TYPED, Kind.CLOZE]


# Columns too short for every payload (PostgreSQL refuses a longer value; SQLite takes it).
SHORT = {"deck_name": 100}


def payload(field: str) -> str:
    value = f"{field}:{PAYLOADS}"
    if len(value) > SHORT.get(field, len(value)):
        value = f"{field}:{SCRIPT}{IMG}{ATTR}"
    assert len(value) <= SHORT.get(field, len(value)), field
    return value


def shown(field: str) -> str:
    """The field as a page must show it: escaped."""
    return escape(payload(field))


def shown_start(field: str) -> str:
    """The start of the field, escaped, for where it is truncated or re-encoded (JSON)."""
    return escape(f"{field}:{SCRIPT}")


def assert_safe(page: str, where: str, shows=(), starts=()) -> None:
    for raw in RAW:
        assert raw not in page, f"{where}: the raw payload {raw!r} is on the page"
    for field in shows:
        assert shown(field) in page, f"{where}: {field} is not shown (escaped)"
    for field in starts:
        assert shown_start(field) in page, f"{where}: {field} is not shown (escaped)"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def bank(learner):
    """One question of each kind, each in a deck of its own, every text field a payload."""
    LearnerSettingsFactory(user=learner, new_per_day=100)
    quote = payload("quote")
    source = SourceFactory(
        slug="payload-source",
        title=payload("source_title"),
        publisher=payload("source_publisher"),
        byline=payload("source_byline"),
        text=f"{payload('source_text')}\n\nThe quoted sentence: {quote}\n\nThe end.",
    )
    common = {
        "source": source,
        "source_quote": quote,
        "explanation": payload("explanation"),
        "tags": payload("tags"),
        "accepted_answers": [],
    }
    questions = {}
    for kind in KINDS:
        deck = DeckFactory(
            slug=f"deck-{kind}".replace("_", "-"),
            name=payload("deck_name"),
            description=payload("deck_description"),
        )
        fields = common | {
            "uid": f"payload-{kind}".replace("_", "-"),
            "deck": deck,
            "kind": kind,
            "prompt": payload(f"prompt_{kind}"),
            "answer": payload(f"answer_{kind}"),
        }
        if kind == Kind.TRUE_FALSE:
            fields["answer"] = "True"
        if kind == Kind.CLOZE:
            fields["prompt"] += " ____"
        if kind == Kind.TYPED:
            fields["accepted_answers"] = [payload("accepted")]
        if kind == Kind.MULTIPLE_CHOICE:
            fields["answer"] = payload("choice_right")
        question = QuestionFactory(**fields)
        if kind == Kind.MULTIPLE_CHOICE:
            Choice.objects.create(question=question, position=1, text=payload("choice_wrong"))
            Choice.objects.create(
                question=question, position=2, text=payload("choice_right"), is_correct=True
            )
        questions[kind] = question
    # A hard card: forgotten three times, so the progress page lists it among the hardest.
    now = timezone.now()
    hard_deck = DeckFactory(slug="deck-hard", name=payload("deck_name"))
    hard = QuestionFactory(uid="payload-hard", deck=hard_deck, prompt=payload("prompt_hard"),
                           **common)  # fmt: skip
    hard_card = CardFactory(user=learner, question=hard, state=Card.State.REVIEW, lapses=3,
                            stability=2.0, difficulty=8.0, due=now + dt.timedelta(days=1),
                            last_review=now - dt.timedelta(days=2))  # fmt: skip
    ReviewFactory(card=hard_card, rating=1, response=payload("response"),
                  reviewed_at=now - dt.timedelta(days=2))  # fmt: skip
    DeckFactory(slug="deck-empty", name=payload("deck_name"))
    return {"source": source, "questions": questions, "hard_card": hard_card}


def card_of(client, learner, question) -> Card:
    client.get(reverse("dashboard"))  # makes the learner's cards
    return Card.objects.get(user=learner, question=question)


def test_dashboard(learner_client, bank):
    page = learner_client.get(reverse("dashboard")).content.decode()
    assert_safe(page, "dashboard", shows=["deck_name", "deck_description"])


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("kind", KINDS)
def test_study_question(learner_client, learner, bank, kind, htmx):
    question = bank["questions"][kind]
    card_of(learner_client, learner, question)
    headers = {"HX-Request": "true"} if htmx else {}
    page = learner_client.get(
        reverse("study"), {"deck": question.deck.slug}, headers=headers
    ).content.decode()
    shows = [f"prompt_{kind}" if kind != Kind.CLOZE else None, "deck_name"]
    if kind == Kind.MULTIPLE_CHOICE:
        shows += ["choice_right", "choice_wrong"]
    assert_safe(page, f"{kind} question", shows=[f for f in shows if f])
    assert escape(question.prompt) in page


# What each kind is answered with, and what its feedback then shows besides the question's own.
ANSWERS = {
    Kind.FLASHCARD: (None, ["answer_flashcard"]),
    Kind.MULTIPLE_CHOICE: ("2", ["choice_right"]),
    Kind.TRUE_FALSE: ("True", []),
    Kind.TYPED: (payload("response"), ["response", "answer_typed"]),
    Kind.CLOZE: (payload("response"), ["response", "answer_cloze"]),
}


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("kind", KINDS)
def test_study_feedback(learner_client, learner, bank, kind, htmx):
    question = bank["questions"][kind]
    card = card_of(learner_client, learner, question)
    response, extra = ANSWERS[kind]
    headers = {"HX-Request": "true"} if htmx else {}
    data = {"token": uuid.uuid4(), **SCOPE}
    if response is None:
        reply = learner_client.get(reverse("reveal", args=[card.id]), data, headers=headers)
    else:
        data["response"] = response
        reply = learner_client.post(reverse("answer", args=[card.id]), data, headers=headers)
    assert reply.status_code == 200
    page = reply.content.decode()
    assert_safe(page, f"{kind} feedback",
                shows=["explanation", "quote", "source_title", "deck_name", *extra])  # fmt: skip
    assert escape(question.prompt) in page
    if kind == Kind.TYPED:
        # The typed answer travels on to the grade in a hidden field: escaped there too.
        assert f'name="response" value="{shown("response")}"' in page


def test_a_right_typed_answer_is_shown_escaped(learner_client, learner, bank):
    card = card_of(learner_client, learner, bank["questions"][Kind.TYPED])
    page = learner_client.post(
        reverse("answer", args=[card.id]),
        {"token": uuid.uuid4(), "response": payload("accepted"), **SCOPE},
    ).content.decode()
    assert "Right" in page
    assert_safe(page, "typed feedback, right", shows=["accepted", "answer_typed"])


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_study_done_and_grade(learner_client, learner, bank, htmx):
    """A grade's reply (the next stage) and the end of a sitting, titled with the deck."""
    question = bank["questions"][Kind.FLASHCARD]
    card = card_of(learner_client, learner, question)
    headers = {"HX-Request": "true"} if htmx else {}
    reply = learner_client.post(
        reverse("grade", args=[card.id]),
        {"token": uuid.uuid4(), "rating": 4, "deck": question.deck.slug, "source": ""},
        headers=headers,
        follow=True,
    )
    page = reply.content.decode()
    assert 'data-stage="done"' in page
    assert_safe(page, "done after a grade", shows=[] if htmx else ["deck_name"])
    empty = learner_client.get(reverse("study"), {"deck": "deck-empty"}).content.decode()
    assert 'data-stage="done"' in empty
    assert_safe(empty, "done, empty deck", shows=["deck_name"])
    practice = learner_client.get(
        reverse("study"), {"source": "payload-source", "practice": "1"}
    ).content.decode()
    assert_safe(practice, "practice a document", shows=["source_title"])


def test_sources_and_the_reader(learner_client, bank):
    listing = learner_client.get(reverse("sources")).content.decode()
    assert_safe(listing, "sources",
                shows=["source_title", "source_publisher", "source_byline"])  # fmt: skip
    reader = learner_client.get(reverse("source", args=["payload-source"])).content.decode()
    assert "<mark>" in reader  # the quote is marked in the text
    assert_safe(reader, "source reader",
                shows=["source_title", "source_publisher", "source_byline", "source_text",
                       "quote", "deck_name", "prompt_typed", "prompt_flashcard"])  # fmt: skip


def test_progress_with_the_hardest_questions(learner_client, bank):
    page = learner_client.get(reverse("progress")).content.decode()
    assert_safe(page, "progress", shows=["prompt_hard", "quote", "deck_name", "source_title"])


@pytest.mark.parametrize(
    ("url", "shows", "starts"),
    [
        ("admin:studyapp_question_changelist", ["deck_name", "source_title"], ["prompt_typed"]),
        ("admin:studyapp_source_changelist", ["source_title", "source_publisher"], []),
        ("admin:studyapp_deck_changelist", ["deck_name"], []),
        ("admin:studyapp_review_changelist", [], []),
        ("admin:studyapp_card_changelist", [], []),
    ],
)
def test_admin_changelists(staff_client, bank, url, shows, starts):
    page = staff_client.get(reverse(url)).content.decode()
    assert_safe(page, url, shows=shows, starts=starts)


def test_admin_change_forms(staff_client, bank, learner):
    typed = bank["questions"][Kind.TYPED]
    multiple = bank["questions"][Kind.MULTIPLE_CHOICE]
    pages = {
        "typed question": (
            reverse("admin:studyapp_question_change", args=[typed.pk]),
            ["prompt_typed", "answer_typed", "explanation", "quote", "tags"],
            ["accepted"],  # JSON in its textarea
        ),
        "choice question": (
            reverse("admin:studyapp_question_change", args=[multiple.pk]),
            ["prompt_multiple_choice", "choice_right", "choice_wrong"],
            [],
        ),
        "source": (
            reverse("admin:studyapp_source_change", args=[bank["source"].pk]),
            ["source_title", "source_publisher", "source_byline", "source_text"],
            [],
        ),
        "deck": (
            reverse("admin:studyapp_deck_change", args=[typed.deck.pk]),
            ["deck_name", "deck_description"],
            [],
        ),
        "review": (
            reverse("admin:studyapp_review_change", args=[bank["hard_card"].reviews.get().pk]),
            ["response"],
            [],
        ),
    }
    for name, (url, shows, starts) in pages.items():
        response = staff_client.get(url)
        assert response.status_code == 200, name
        assert_safe(response.content.decode(), f"admin {name}", shows=shows, starts=starts)


def test_a_username_typed_at_signup_is_shown_escaped(client):
    username = payload("username")
    response = client.post(
        reverse("signup"),
        {"username": username, "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 200  # refused: not a valid username
    assert not get_user_model().objects.exists()
    assert_safe(response.content.decode(), "signup", shows=["username"])


def test_a_username_typed_at_login_is_shown_escaped_and_on_the_lockout_page(client, settings):
    username = payload("username")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        page = client.post(reverse("login"), {"username": username, "password": "x"})
        assert page.status_code == 200
        assert_safe(page.content.decode(), "login", shows=["username"])
    lockout = client.post(reverse("login"), {"username": username, "password": "x"})
    assert lockout.status_code == 429
    assert_safe(lockout.content.decode(), "lockout", shows=["username"])
