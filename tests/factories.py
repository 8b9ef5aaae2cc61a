import uuid

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from studyapp.models import Card, Choice, Deck, Kind, LearnerSettings, Question, Review, Source

PASSWORD = "a-Long-study-passphrase-42"

SOURCE_TEXT = (
    "Jiangsu's GDP reached 12.82 trillion yuan ($1.78 trillion) last year, ranking second in "
    "China. The term was first put forward in September 2023.\n\nNew quality productive forces "
    "are driven by revolutionary technological breakthroughs."
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"learner{n}")
    password = factory.django.Password(PASSWORD)


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"editor{n}")
    is_staff = True
    is_superuser = True


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    slug = factory.Sequence(lambda n: f"source-{n}")
    title = factory.Sequence(lambda n: f"Report number {n}")
    publisher = "Test Daily"
    seed_file = factory.LazyAttribute(lambda o: f"{o.slug}.txt")
    text = SOURCE_TEXT


class DeckFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deck

    slug = factory.Sequence(lambda n: f"deck-{n}")
    name = factory.Sequence(lambda n: f"Deck {n}")
    position = factory.Sequence(lambda n: n)


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    uid = factory.Sequence(lambda n: f"question-{n}")
    deck = factory.SubFactory(DeckFactory)
    source = factory.SubFactory(SourceFactory)
    kind = Kind.TYPED
    prompt = factory.Sequence(lambda n: f"What was Jiangsu's GDP in 2023? ({n})")
    answer = "12.82 trillion yuan"
    accepted_answers = factory.LazyFunction(lambda: ["12.82 trillion", "RMB 12.82 trillion"])
    explanation = "The report gives Jiangsu's GDP last year as 12.82 trillion yuan."
    source_quote = "Jiangsu's GDP reached 12.82 trillion yuan ($1.78 trillion) last year"
    tags = "province::jiangsu figure"


class ChoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Choice

    question = factory.SubFactory(QuestionFactory, kind=Kind.MULTIPLE_CHOICE)
    position = factory.Sequence(lambda n: n + 1)
    text = factory.Sequence(lambda n: f"Option {n}")
    is_correct = False


def multiple_choice(**kwargs) -> Question:
    """A multiple choice with four options, the second one right."""
    question = QuestionFactory(kind=Kind.MULTIPLE_CHOICE, answer="second", **kwargs)
    for position, text in enumerate(["first", "second", "third", "fourth"], start=1):
        ChoiceFactory(question=question, position=position, text=text, is_correct=text == "second")
    return question


class CardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Card

    user = factory.SubFactory(UserFactory)
    question = factory.SubFactory(QuestionFactory)


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    card = factory.SubFactory(CardFactory)
    user = factory.SelfAttribute("card.user")
    rating = Review.Rating.GOOD
    reviewed_at = factory.LazyFunction(timezone.now)
    token = factory.LazyFunction(uuid.uuid4)
    state = Card.State.NEW


class LearnerSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LearnerSettings
        django_get_or_create = ["user"]

    user = factory.SubFactory(UserFactory)
