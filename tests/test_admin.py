"""The editor's admin: every page renders for staff, is refused to others, and applies the
bank's rules when a question is saved."""

import pytest
from django.urls import reverse

from studyapp.models import Card, Choice, Kind, LearnerSettings, Question, Review

from .factories import (
    CardFactory,
    DeckFactory,
    LearnerSettingsFactory,
    QuestionFactory,
    ReviewFactory,
    SourceFactory,
    multiple_choice,
)

pytestmark = pytest.mark.django_db

MODELS = ["source", "deck", "question", "card", "review", "learnersettings"]


@pytest.fixture
def one_of_each(learner):
    question = multiple_choice()
    card = CardFactory(user=learner, question=question)
    return {
        "source": question.source,
        "deck": question.deck,
        "question": question,
        "card": card,
        "review": ReviewFactory(card=card),
        "learnersettings": LearnerSettingsFactory(user=learner),
    }


@pytest.mark.parametrize("model", MODELS)
def test_changelist_and_change_form_render_for_staff(staff_client, one_of_each, model):
    obj = one_of_each[model]
    listing = staff_client.get(reverse(f"admin:studyapp_{model}_changelist"))
    assert listing.status_code == 200
    assert obj in listing.context["cl"].result_list
    form = staff_client.get(reverse(f"admin:studyapp_{model}_change", args=[obj.pk]))
    assert form.status_code == 200
    assert form.context["original"] == obj


@pytest.mark.parametrize("model", MODELS)
def test_admin_pages_are_refused_to_learners(learner_client, one_of_each, model):
    obj = one_of_each[model]
    for url in (
        reverse(f"admin:studyapp_{model}_changelist"),
        reverse(f"admin:studyapp_{model}_change", args=[obj.pk]),
    ):
        response = learner_client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_cards_and_reviews_are_read_only_for_staff(staff_client, one_of_each):
    card, review = one_of_each["card"], one_of_each["review"]
    assert staff_client.get(reverse("admin:studyapp_card_add")).status_code == 403
    assert staff_client.get(reverse("admin:studyapp_review_add")).status_code == 403
    staff_client.post(reverse("admin:studyapp_card_change", args=[card.pk]), {"reps": 99})
    card.refresh_from_db()
    assert card.reps == 0
    response = staff_client.post(
        reverse("admin:studyapp_review_delete", args=[review.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert Review.objects.filter(pk=review.pk).exists()


def test_cards_filter_by_learner(staff_client, learner, other_learner):
    mine = CardFactory(user=learner)
    theirs = CardFactory(user=other_learner)
    response = staff_client.get(
        reverse("admin:studyapp_card_changelist"), {"user__id__exact": learner.id}
    )
    shown = list(response.context["cl"].result_list)
    assert mine in shown and theirs not in shown


def test_question_search_finds_by_quote_and_filters_by_kind(staff_client):
    wanted = QuestionFactory(source_quote="ranking second in China", kind=Kind.TYPED)
    QuestionFactory(kind=Kind.FLASHCARD)
    url = reverse("admin:studyapp_question_changelist")
    assert list(staff_client.get(url, {"q": "ranking second"}).context["cl"].result_list) == [
        wanted
    ]
    by_kind = staff_client.get(url, {"kind__exact": "typed"}).context["cl"].result_list
    assert list(by_kind) == [wanted]


def test_activate_and_deactivate_actions(staff_client):
    questions = QuestionFactory.create_batch(2)
    url = reverse("admin:studyapp_question_changelist")
    ids = [q.pk for q in questions]
    staff_client.post(url, {"action": "deactivate", "_selected_action": ids})
    assert Question.objects.filter(pk__in=ids, is_active=False).count() == 2
    staff_client.post(url, {"action": "activate", "_selected_action": ids})
    assert Question.objects.filter(pk__in=ids, is_active=True).count() == 2


def test_reset_action_returns_a_card_to_new_and_keeps_its_reviews(staff_client, learner):
    card = CardFactory(user=learner, state=Card.State.REVIEW, reps=5, lapses=1, stability=3.0)
    ReviewFactory(card=card)
    staff_client.post(
        reverse("admin:studyapp_card_changelist"),
        {"action": "reset", "_selected_action": [card.pk]},
    )
    card.refresh_from_db()
    assert (card.state, card.reps, card.lapses, card.stability) == (Card.State.NEW, 0, 0, None)
    assert card.reviews.count() == 1


def question_form(question, **overrides):
    data = {
        "uid": question.uid,
        "deck": question.deck_id,
        "kind": question.kind,
        "is_active": "on",
        "tags": question.tags,
        "prompt": question.prompt,
        "answer": question.answer,
        "accepted_answers": "[]",
        "explanation": question.explanation,
        "source": question.source_id,
        "source_quote": question.source_quote,
        "choices-TOTAL_FORMS": "0",
        "choices-INITIAL_FORMS": "0",
        "choices-MIN_NUM_FORMS": "0",
        "choices-MAX_NUM_FORMS": "1000",
    }
    return data | overrides


def choice_forms(question, rows):
    data = {
        "choices-TOTAL_FORMS": str(len(rows)),
        "choices-INITIAL_FORMS": str(question.choices.count()),
    }
    existing = list(question.choices.all())
    for i, (text, correct) in enumerate(rows):
        if i < len(existing):
            data[f"choices-{i}-id"] = existing[i].pk
        data[f"choices-{i}-question"] = question.pk
        data[f"choices-{i}-position"] = i + 1
        data[f"choices-{i}-text"] = text
        if correct:
            data[f"choices-{i}-is_correct"] = "on"
    return data


def test_saving_a_question_whose_quote_is_not_in_its_source_is_refused(staff_client):
    question = QuestionFactory()
    url = reverse("admin:studyapp_question_change", args=[question.pk])
    response = staff_client.post(url, question_form(question, source_quote="Made up words."))
    assert response.status_code == 200
    assert "not found in the source&#x27;s text" in response.content.decode()
    question.refresh_from_db()
    assert question.source_quote != "Made up words."


def test_saving_a_multiple_choice_with_two_correct_choices_is_refused(staff_client):
    question = multiple_choice()
    url = reverse("admin:studyapp_question_change", args=[question.pk])
    rows = [("first", True), ("second", True), ("third", False), ("fourth", False)]
    response = staff_client.post(url, question_form(question) | choice_forms(question, rows))
    assert response.status_code == 200
    assert "exactly one correct choice, has 2" in response.content.decode()
    assert Choice.objects.filter(question=question, is_correct=True).count() == 1


def test_a_valid_edit_in_the_admin_is_saved(staff_client):
    question = multiple_choice()
    url = reverse("admin:studyapp_question_change", args=[question.pk])
    rows = [("first", False), ("second", True), ("third", False), ("sixth", False)]
    data = question_form(question, prompt="Where did Jiangsu rank?") | choice_forms(question, rows)
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    question.refresh_from_db()
    assert question.prompt == "Where did Jiangsu rank?"
    assert [c.text for c in question.choices.all()] == ["first", "second", "third", "sixth"]


def test_source_text_is_shown_read_only(staff_client):
    source = SourceFactory()
    response = staff_client.get(reverse("admin:studyapp_source_change", args=[source.pk]))
    assert "ranking second in" in response.content.decode()
    assert 'name="text"' not in response.content.decode()


def test_learner_settings_are_editable_by_staff(staff_client, learner):
    settings_row = LearnerSettingsFactory(user=learner)
    url = reverse("admin:studyapp_learnersettings_change", args=[settings_row.pk])
    data = {
        "user": learner.pk, "desired_retention": "0.85", "new_per_day": "15", "reviews_per_day": "150",
        "learning_steps": "1m 10m", "relearning_steps": "10m", "maximum_interval": "365",
        "time_zone": "Asia/Shanghai", "day_starts_at": "4",
    }  # fmt: skip
    assert staff_client.post(url, data).status_code == 302
    assert LearnerSettings.objects.get(pk=settings_row.pk).new_per_day == 15


def test_deck_changelist_counts_questions(staff_client):
    deck = DeckFactory(name="Provincial targets")
    QuestionFactory.create_batch(3, deck=deck)
    response = staff_client.get(reverse("admin:studyapp_deck_changelist"))
    row = next(d for d in response.context["cl"].result_list if d.pk == deck.pk)
    assert row.n_questions == 3
