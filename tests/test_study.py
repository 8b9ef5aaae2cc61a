"""The study pages: every kind answered and graded, once per token, undo, practice, no-JS."""

import re
import uuid

import pytest
from django.urls import reverse

from studyapp import queue
from studyapp.models import Card, Kind, Review

from .factories import CardFactory, LearnerSettingsFactory, QuestionFactory, multiple_choice

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
SCOPE = {"deck": "", "source": ""}


def form_fields(html):
    return {
        "token": re.search(r'name="token" value="([^"]+)"', html).group(1),
        "shown_at": re.search(r'name="shown_at" value="([^"]*)"', html).group(1),
    }


def card_for(user, **question):
    card = CardFactory(
        user=user, question=QuestionFactory(**question) if question else QuestionFactory()
    )
    LearnerSettingsFactory(user=user)
    return card


def test_the_study_page_shows_the_next_card_with_a_fresh_token(learner_client, learner):
    card = card_for(learner, prompt="Which province ranked second?")
    page = learner_client.get(reverse("study")).content.decode()
    assert "Which province ranked second?" in page
    assert f'action="/card/{card.id}/answer/"' in page
    uuid.UUID(form_fields(page)["token"])
    assert 'id="counters"' in page and "<strong>1</strong> left" in page


def test_htmx_requests_get_the_fragment_and_plain_ones_the_page(learner_client, learner):
    card_for(learner)
    full = learner_client.get(reverse("study")).content.decode()
    fragment = learner_client.get(reverse("study"), **HTMX).content.decode()
    assert "<html" in full and "<html" not in fragment
    assert 'data-stage="question"' in fragment
    assert 'hx-swap-oob="true"' in fragment and "hx-swap-oob" not in full


def test_an_htmx_answer_leaves_the_counters_and_does_not_read_the_queue(
    learner_client, learner, django_assert_num_queries
):
    """An answer records nothing, so the counters already on the page stand; a page loaded
    without htmx still shows them."""
    card = card_for(learner, kind=Kind.TYPED, answer="12.82 trillion")
    card_for(learner)
    fields = form_fields(learner_client.get(reverse("study"), **HTMX).content.decode())
    data = fields | SCOPE | {"response": "12.82 trillion"}
    url = reverse("answer", args=[card.id])
    learner_client.post(url, data, **HTMX)  # PostgreSQL prepares the card's query the first time
    with django_assert_num_queries(2):  # the session with its learner, the card
        fragment = learner_client.post(url, data, **HTMX).content.decode()
    assert 'data-stage="feedback"' in fragment and "Right" in fragment
    assert 'id="counters"' not in fragment and "hx-swap-oob" not in fragment
    full = learner_client.post(url, data).content.decode()
    assert 'data-stage="feedback"' in full and "<strong>2</strong> left" in full
    assert not Review.objects.exists()


@pytest.mark.parametrize(
    ("kind", "extra", "right", "near", "wrong"),
    [
        (Kind.TYPED, {}, "RMB 12.82 trillion", None, "12.83 trillion yuan"),
        (
            Kind.TYPED,
            {"answer": "total factor productivity", "accepted_answers": []},
            "Total Factor Productivity.",
            "total factor productivty",
            "labour productivity",
        ),
        (
            Kind.CLOZE,
            {"prompt": "Jiangsu's GDP reached ____ last year."},
            "12.82tn",
            None,
            "1.78 trillion",
        ),
        (Kind.TRUE_FALSE, {"answer": "True", "accepted_answers": []}, "True", None, "False"),
    ],
)
def test_checked_answers_are_judged_by_the_app(
    learner_client, learner, kind, extra, right, near, wrong
):
    card = card_for(learner, kind=kind, **extra)
    url = reverse("answer", args=[card.id])
    fields = {"token": uuid.uuid4(), **SCOPE}
    page = learner_client.post(url, fields | {"response": right}).content.decode()
    assert "Right" in page
    assert re.findall(r'name="rating" value="(\d)"', page) == ["2", "3", "4"]
    assert re.search(r'value="3"[^>]*autofocus', page)
    page = learner_client.post(url, fields | {"response": wrong}).content.decode()
    assert "Not quite" in page
    assert re.findall(r'name="rating" value="(\d)"', page) == ["1"]
    if near:
        page = learner_client.post(url, fields | {"response": near}).content.decode()
        assert "Almost: check the spelling" in page
        assert re.findall(r'name="rating" value="(\d)"', page) == ["1"]
    assert Review.objects.count() == 0  # checking records nothing


def test_multiple_choice_is_checked_by_position(learner_client, learner):
    question = multiple_choice()
    card = CardFactory(user=learner, question=question)
    page = learner_client.get(reverse("study")).content.decode()
    assert re.findall(r'data-key="([a-d])"', page) == ["a", "b", "c", "d"]
    url = reverse("answer", args=[card.id])
    right = learner_client.post(
        url, {"token": uuid.uuid4(), "response": "2", **SCOPE}
    ).content.decode()
    assert "Right" in right and "<q>second</q>" in right
    wrong = learner_client.post(
        url, {"token": uuid.uuid4(), "response": "3", **SCOPE}
    ).content.decode()
    assert "Not quite" in wrong and "<strong>second</strong>" in wrong


def test_feedback_shows_answer_explanation_and_source_sentence_with_a_link(learner_client, learner):
    card = card_for(learner, kind=Kind.FLASHCARD)
    page = learner_client.get(
        reverse("reveal", args=[card.id]), {"token": uuid.uuid4(), **SCOPE}
    ).content.decode()
    question = card.question
    assert question.explanation in page.replace("&#x27;", "'")
    assert question.source_quote.replace("'", "&#x27;") in page
    assert f'href="/sources/{question.source.slug}/#q-{question.uid}"' in page
    assert re.findall(r'name="rating" value="(\d)"', page) == ["1", "2", "3", "4"]
    # Every grade button shows the wait it would give.
    assert re.findall(r'class="grade-interval">([^<]+)<', page) == ["1m", "6m", "10m", "8d"]


def test_a_grade_records_a_review_and_moves_the_card(learner_client, learner):
    card = card_for(learner, kind=Kind.FLASHCARD)
    token = uuid.uuid4()
    response = learner_client.post(
        reverse("grade", args=[card.id]),
        {"token": token, "rating": 4, "shown_at": 0, **SCOPE},
        **HTMX,
    )
    review = Review.objects.get(token=token)
    card.refresh_from_db()
    assert (review.rating, review.state, review.card_before["state"]) == (4, Card.State.NEW, 0)
    assert card.state == Card.State.REVIEW and card.reps == 1 and card.due is not None
    assert review.duration_ms == 5 * 60 * 1000  # shown_at 0 is long ago: capped
    page = response.content.decode()
    assert 'data-stage="done"' in page and "Cards studied" in page
    assert '<p id="counters" class="counters" hx-swap-oob="true">' in page


def test_grading_twice_with_one_token_records_once_and_returns_the_same_next_card(
    learner_client, learner
):
    first = card_for(learner, kind=Kind.FLASHCARD)
    CardFactory(
        user=learner, question=QuestionFactory(kind=Kind.FLASHCARD, prompt="The second card")
    )
    data = {"token": uuid.uuid4(), "rating": 4, **SCOPE}
    one = learner_client.post(reverse("grade", args=[first.id]), data, **HTMX).content.decode()
    two = learner_client.post(reverse("grade", args=[first.id]), data, **HTMX).content.decode()
    assert Review.objects.count() == 1
    first.refresh_from_db()
    assert first.reps == 1
    assert "The second card" in one and "The second card" in two


def test_a_token_used_for_another_card_is_refused(learner_client, learner):
    a = card_for(learner, kind=Kind.FLASHCARD)
    b = CardFactory(user=learner, question=QuestionFactory(kind=Kind.FLASHCARD))
    token = uuid.uuid4()
    learner_client.post(reverse("grade", args=[a.id]), {"token": token, "rating": 3, **SCOPE})
    response = learner_client.post(
        reverse("grade", args=[b.id]), {"token": token, "rating": 3, **SCOPE}
    )
    assert response.status_code == 409
    assert "already used for another card" in response.content.decode()
    assert Review.objects.count() == 1


def test_a_wrong_answer_can_only_be_graded_again(learner_client, learner):
    card = card_for(learner, kind=Kind.TYPED)
    data = {"token": uuid.uuid4(), "rating": 3, "response": "twelve", **SCOPE}
    response = learner_client.post(reverse("grade", args=[card.id]), data)
    assert response.status_code == 409
    assert "can be graded Again, not Good" in response.content.decode()
    assert Review.objects.count() == 0
    learner_client.post(reverse("grade", args=[card.id]), data | {"rating": 1})
    review = Review.objects.get()
    assert (review.rating, review.was_correct, review.response) == (1, False, "twelve")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"token": "x"}, "token: Enter a valid UUID."),
        ({"rating": ""}, "A grade needs a rating"),
        ({"rating": "7"}, "The rating must be 1 Again, 2 Hard, 3 Good or 4 Easy."),
        ({"response": "x" * 1_000_001}, "An answer is at most 1000 characters long."),
    ],
)
def test_a_malformed_grade_is_refused_with_a_clear_message_and_records_nothing(
    learner_client, learner, data, message
):
    card = card_for(learner, kind=Kind.FLASHCARD)
    base = {"token": uuid.uuid4(), "rating": 3, **SCOPE}
    response = learner_client.post(reverse("grade", args=[card.id]), base | data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Review.objects.count() == 0


def test_another_learners_card_cannot_be_seen_answered_or_graded(learner_client, other_learner):
    theirs = card_for(other_learner, kind=Kind.FLASHCARD)
    data = {"token": uuid.uuid4(), "rating": 3, **SCOPE}
    for name, method in [
        ("reveal", "get"),
        ("answer", "post"),
        ("grade", "post"),
        ("suspend", "post"),
        ("bury", "post"),
    ]:
        response = getattr(learner_client, method)(reverse(name, args=[theirs.id]), data)
        assert response.status_code == 404, name
    assert learner_client.get(reverse("study"), {"card": theirs.id}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.reps == 0 and not theirs.is_suspended and Review.objects.count() == 0


def test_undo_restores_every_field_and_removes_the_review(learner_client, learner):
    card = card_for(learner, kind=Kind.FLASHCARD)
    before = {f.attname: getattr(card, f.attname) for f in Card._meta.concrete_fields}
    learner_client.post(
        reverse("grade", args=[card.id]), {"token": uuid.uuid4(), "rating": 4, **SCOPE}
    )
    card.refresh_from_db()
    assert card.reps == 1
    response = learner_client.post(reverse("undo"), SCOPE, **HTMX)
    card.refresh_from_db()
    assert {f.attname: getattr(card, f.attname) for f in Card._meta.concrete_fields} == before
    assert Review.objects.count() == 0
    assert card.question.prompt.replace("'", "&#x27;") in response.content.decode()


def test_undo_of_a_review_card_restores_its_memory_exactly(learner_client, learner):
    import datetime as dt

    from django.utils import timezone

    due = timezone.now() - dt.timedelta(hours=1)
    card = CardFactory(
        user=learner, state=Card.State.REVIEW, stability=12.5, difficulty=6.25, due=due,
        last_review=due - dt.timedelta(days=12), reps=4, lapses=1,
    )  # fmt: skip
    before = {f.attname: getattr(card, f.attname) for f in Card._meta.concrete_fields}
    learner_client.post(
        reverse("grade", args=[card.id]),
        {"token": uuid.uuid4(), "rating": 1, "response": "no", **SCOPE},
    )
    card.refresh_from_db()
    assert card.lapses == 2 and card.state == Card.State.RELEARNING
    learner_client.post(reverse("undo"), SCOPE)
    card.refresh_from_db()
    assert {f.attname: getattr(card, f.attname) for f in Card._meta.concrete_fields} == before


def test_undo_with_nothing_to_undo_says_so(learner_client, learner):
    response = learner_client.post(reverse("undo"), SCOPE)
    assert response.status_code == 409 and "no answer to undo" in response.content.decode()


def test_without_javascript_a_card_is_answered_graded_and_the_next_one_shown(
    learner_client, learner
):
    card = card_for(learner, kind=Kind.TYPED)
    CardFactory(user=learner, question=QuestionFactory(kind=Kind.FLASHCARD, prompt="Next one"))
    page = learner_client.get(reverse("study")).content.decode()
    fields = form_fields(page) | SCOPE
    feedback = learner_client.post(
        reverse("answer", args=[card.id]), fields | {"response": "12.82 trillion"}
    )
    assert "<html" in feedback.content.decode() and "Right" in feedback.content.decode()
    graded = learner_client.post(
        reverse("grade", args=[card.id]), fields | {"response": "12.82 trillion", "rating": 3}
    )
    assert graded.status_code == 302 and graded["Location"] == reverse("study") + "?continue=1"
    assert "Next one" in learner_client.get(graded["Location"]).content.decode()
    assert Review.objects.get().was_correct is True


def test_practice_records_answers_without_changing_the_schedule(learner_client, learner):
    card = card_for(learner, kind=Kind.FLASHCARD)
    before = {f.attname: getattr(card, f.attname) for f in Card._meta.concrete_fields}
    page = learner_client.get(reverse("study"), {"practice": "1"}).content.decode()
    assert "Practice: All decks" in page and 'name="practice" value="1"' in page
    fields = form_fields(page) | SCOPE | {"practice": "1"}
    response = learner_client.post(reverse("grade", args=[card.id]), fields | {"rating": 1}, **HTMX)
    card.refresh_from_db()
    assert {f.attname: getattr(card, f.attname) for f in Card._meta.concrete_fields} == before
    review = Review.objects.get()
    assert review.is_practice and review.rating == 1
    # Each card once per sitting: the practice run is over.
    assert 'data-stage="done"' in response.content.decode()


def test_practice_counts_no_interval_on_the_buttons(learner_client, learner):
    card = card_for(learner, kind=Kind.FLASHCARD)
    page = learner_client.get(
        reverse("reveal", args=[card.id]), {"token": uuid.uuid4(), "practice": "1", **SCOPE}
    )
    assert 'class="grade-interval"' not in page.content.decode()


def test_suspend_and_bury_take_the_card_out_of_today(learner_client, learner):
    a = card_for(learner, kind=Kind.FLASHCARD)
    b = CardFactory(user=learner, question=QuestionFactory(kind=Kind.FLASHCARD))
    learner_client.post(reverse("suspend", args=[a.id]), SCOPE)
    learner_client.post(reverse("bury", args=[b.id]), SCOPE)
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.is_suspended and b.buried_until is not None
    assert 'data-stage="done"' in learner_client.get(reverse("study")).content.decode()


def test_a_leech_is_flagged_for_the_learner(learner_client, learner):
    card = card_for(learner, kind=Kind.FLASHCARD)
    card.is_leech = True
    card.save()
    page = learner_client.get(reverse("study"), {"card": card.id}).content.decode()
    assert '<span class="leech">Leech</span>' in page


def test_a_deck_scope_studies_only_that_deck(learner_client, learner):
    mine = card_for(learner, kind=Kind.FLASHCARD, prompt="In the deck")
    CardFactory(user=learner, question=QuestionFactory(kind=Kind.FLASHCARD, prompt="Elsewhere"))
    page = learner_client.get(reverse("study"), {"deck": mine.question.deck.slug}).content.decode()
    assert "In the deck" in page and mine.question.deck.name in page
    assert learner_client.get(reverse("study"), {"deck": "no-such-deck"}).status_code == 404


def test_the_summary_counts_the_sitting(learner_client, learner):
    card = card_for(learner, kind=Kind.TYPED)
    learner_client.get(reverse("study"))
    data = {
        "token": uuid.uuid4(),
        "response": "12.82 trillion",
        "rating": 4,
        "shown_at": 0,
        **SCOPE,
    }
    page = learner_client.post(reverse("grade", args=[card.id]), data, **HTMX).content.decode()
    assert re.search(r"<dt>Cards studied</dt><dd>1</dd>", page)
    assert re.search(r"<dt>Right answers</dt><dd>1</dd>", page)
    assert "The next card is due" in page


def test_the_dashboard_lists_decks_with_their_counts(learner_client, learner):
    card = card_for(learner, kind=Kind.FLASHCARD)
    QuestionFactory(deck=card.question.deck)  # a bank addition: the dashboard gives a card
    page = learner_client.get(reverse("dashboard")).content.decode()
    row = re.search(rf"{card.question.deck.name}.*?</tr>", page, re.S).group(0)
    assert re.findall(r'class="num (?:due|learning|new)">(\d+)<', row) == ["0", "0", "2"]
    assert f"?deck={card.question.deck.slug}" in row


def test_settings_are_saved_and_shape_the_next_card(learner_client, learner):
    data = {
        "desired_retention": "0.85", "new_per_day": "5", "reviews_per_day": "50",
        "learning_steps": "2m  20m", "relearning_steps": "10m", "maximum_interval": "365", "time_zone": "Asia/Shanghai",
        "day_starts_at": "5",
    }  # fmt: skip
    response = learner_client.post(reverse("settings"), data, follow=True)
    assert "Settings saved" in response.content.decode()
    saved = queue.settings_of(learner)
    assert (saved.new_per_day, saved.reviews_per_day, saved.learning_steps, saved.time_zone) == (
        5,
        50,
        "2m 20m",
        "Asia/Shanghai",
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("desired_retention", "0.99", "Desired retention must be between 0.70 and 0.97."),
        ("learning_steps", "1m ten", "&#x27;ten&#x27; is not a step"),
        ("time_zone", "Mars/Olympus", "Select a valid choice."),
        ("day_starts_at", "24", "The study day starts at an hour from 0 to 23."),
    ],
)
def test_bad_settings_are_refused_with_a_message(learner_client, learner, field, value, message):
    data = {
        "desired_retention": "0.9", "new_per_day": "20", "reviews_per_day": "200",
        "learning_steps": "1m 10m", "relearning_steps": "10m", "maximum_interval": "36500", "time_zone": "UTC", "day_starts_at": "4",
    }  # fmt: skip
    response = learner_client.post(reverse("settings"), data | {field: value})
    assert message in response.content.decode()
    assert queue.settings_of(learner).desired_retention == 0.9


def test_a_source_page_marks_quoted_spans_and_links_their_questions(learner_client, learner):
    question = QuestionFactory(source_quote="ranking second in China")
    page = learner_client.get(reverse("source", args=[question.source.slug])).content.decode()
    assert f'<mark><a href="#q-{question.uid}">ranking second in China</a></mark>' in page
    assert f'id="q-{question.uid}"' in page
    assert f"?source={question.source.slug}" in page
    listing = learner_client.get(reverse("sources")).content.decode()
    assert question.source.display_title in listing
