"""A card keeps copies of its question's deck, document and retirement; every way of changing a
question keeps them in step."""

import pytest
from django.core.management import call_command

from studyapp.models import Card, Deck, Question

from .factories import CardFactory, DeckFactory, QuestionFactory, SourceFactory

pytestmark = pytest.mark.django_db


def copies(card: Card) -> tuple[int, bool]:
    card.refresh_from_db()
    return card.deck_id, card.is_retired


def test_a_new_card_takes_its_questions_deck_and_retirement():
    question = QuestionFactory(is_active=False)
    card = CardFactory(question=question)
    assert copies(card) == (question.deck_id, True)
    assert card.source_id == question.source_id


def test_every_way_of_changing_a_questions_document_reaches_its_cards(learner, other_learner):
    mine = CardFactory(user=learner)
    question = mine.question
    theirs = CardFactory(user=other_learner, question=question)
    question.source = SourceFactory()
    question.save()
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.source_id == theirs.source_id == question.source_id
    moved = SourceFactory()
    Question.objects.filter(pk=question.pk).update(source=moved)
    mine.refresh_from_db()
    assert mine.source_id == moved.id
    question.source = SourceFactory()
    Question.objects.bulk_update([question], ["source"])
    mine.refresh_from_db()
    assert mine.source_id == question.source_id


def test_saving_a_question_moves_and_retires_its_cards(learner, other_learner):
    mine, theirs = CardFactory(user=learner), CardFactory(user=other_learner)
    question = mine.question
    Card.objects.filter(pk=theirs.pk).update(question=question, deck=question.deck)
    elsewhere = DeckFactory()
    question.deck, question.is_active = elsewhere, False
    question.save()
    assert copies(mine) == copies(theirs) == (elsewhere.id, True)
    question.is_active = True
    question.save()
    assert copies(mine) == (elsewhere.id, False)


def test_bulk_changes_reach_the_cards(learner):
    cards = [CardFactory(user=learner) for _ in range(3)]
    untouched = CardFactory(user=learner)
    ids = [c.question_id for c in cards]
    # The queryset no longer matches after the update: the cards must follow anyway.
    assert Question.objects.filter(id__in=ids, is_active=True).update(is_active=False) == 3
    assert [copies(c)[1] for c in cards] == [True, True, True]
    assert copies(untouched)[1] is False
    deck = DeckFactory()
    questions = list(Question.objects.filter(id__in=ids))
    for q in questions:
        q.deck, q.is_active = deck, True
    Question.objects.bulk_update(questions, ["deck", "is_active"])
    assert {copies(c) for c in cards} == {(deck.id, False)}


def test_an_unrelated_bulk_update_leaves_the_cards_alone(learner, django_assert_num_queries):
    card = CardFactory(user=learner)
    with django_assert_num_queries(1):
        Question.objects.filter(pk=card.question_id).update(prompt="Changed?")
    assert copies(card) == (card.question.deck_id, False)


def test_load_bank_retires_the_cards_of_questions_it_no_longer_has(learner):
    call_command("load_bank", verbosity=0)
    question = Question.objects.order_by("id").first()
    card = CardFactory(user=learner, question=question)
    Question.objects.filter(pk=question.pk).update(uid="gone-from-the-fixtures")
    call_command("load_bank", verbosity=0)
    assert copies(card) == (question.deck_id, True)
    assert Deck.objects.filter(pk=question.deck_id).exists()


# --- cards for the whole bank, looked for once per bank revision -----------------------------


def test_cards_are_looked_for_again_only_when_the_bank_changes(learner, django_assert_num_queries):
    from studyapp import queue

    from .factories import LearnerSettingsFactory

    LearnerSettingsFactory(user=learner)
    learner.refresh_from_db()
    QuestionFactory.create_batch(2)
    assert queue.ensure_cards(learner) == 2
    with django_assert_num_queries(1):  # the revision, and nothing more
        assert queue.ensure_cards(learner) == 0
    # A question added, one bulk-created and one brought back from retirement get cards.
    retired = QuestionFactory(is_active=False)
    assert queue.ensure_cards(learner) == 0
    QuestionFactory()
    Question.objects.bulk_create([QuestionFactory.build(deck=retired.deck, source=retired.source)])
    assert queue.ensure_cards(learner) == 2
    Question.objects.filter(pk=retired.pk).update(is_active=True)
    assert queue.ensure_cards(learner) == 1
    assert Card.objects.filter(user=learner).count() == 5


def test_a_revision_row_wiped_out_starts_again_without_losing_a_question(learner):
    from studyapp import queue
    from studyapp.models import BankRevision

    from .factories import LearnerSettingsFactory

    LearnerSettingsFactory(user=learner)
    learner.refresh_from_db()
    BankRevision.objects.all().delete()
    assert BankRevision.current() == 0
    QuestionFactory()
    assert BankRevision.current() == 1
    assert queue.ensure_cards(learner) == 1
