"""The question bank (Source, Deck, Question, Choice) and each learner's memory of it
(Card, Review, LearnerSettings).

Bank rows carry natural keys so the bank lives in fixtures/ and loads in place.
"""

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery


class Kind(models.TextChoices):
    FLASHCARD = "flashcard", "Flashcard"
    MULTIPLE_CHOICE = "multiple_choice", "Multiple choice"
    TRUE_FALSE = "true_false", "True or false"
    TYPED = "typed", "Typed answer"
    CLOZE = "cloze", "Cloze"


# The blank in a cloze prompt; the question's answer fills it.
CLOZE_BLANK = "____"


class SlugManager(models.Manager):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class Source(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=300, blank=True, help_text="Empty when the text has none.")
    publisher = models.CharField(max_length=200, blank=True)
    byline = models.CharField(max_length=200, blank=True)
    published_on = models.DateField(null=True, blank=True)
    seed_file = models.CharField(max_length=200, help_text="Its file in seeds/.")
    text = models.TextField(help_text="The document's text as read from its seed file.")

    objects = SlugManager()

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.display_title

    def natural_key(self):
        return (self.slug,)

    @property
    def display_title(self) -> str:
        if self.title:
            return self.title
        publisher = self.publisher or "Unknown publisher"
        date = self.published_on.strftime("%-d %B %Y") if self.published_on else "undated"
        return f"{publisher}, {date} (untitled)"


class Deck(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    objects = SlugManager()

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)


class QuestionQuerySet(models.QuerySet):
    """Bulk changes to a question's deck or retirement reach its cards' copies (see Card), and
    questions added or brought back move the bank's revision on (see BankRevision)."""

    def update(self, **kwargs):
        if not COPIED_TO_CARDS.intersection(kwargs):
            return super().update(**kwargs)
        with transaction.atomic(using=self.db):
            ids = list(self.values_list("pk", flat=True))
            updated = super().update(**kwargs)
            copy_to_cards(ids)
            if kwargs.get("is_active"):
                BankRevision.move_on()
        return updated

    def bulk_update(self, objs, fields, batch_size=None):
        with transaction.atomic(using=self.db):
            updated = super().bulk_update(objs, fields, batch_size=batch_size)
            if COPIED_TO_CARDS.intersection(fields):
                copy_to_cards([obj.pk for obj in objs])
            if "is_active" in fields:
                BankRevision.move_on()
        return updated

    def bulk_create(self, objs, *args, **kwargs):
        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, *args, **kwargs)
            BankRevision.move_on()
        return created


class BankRevision(models.Model):
    """One row: a number that moves on whenever a question is added or saved (and so may have
    come back from retirement). A learner whose cards were made at the current revision has a
    card for every active question, which spares counting the whole bank on every page."""

    number = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"Bank revision {self.number}"

    @classmethod
    def current(cls) -> int:
        return cls.objects.values_list("number", flat=True).first() or 0

    @classmethod
    def move_on(cls) -> None:
        if not cls.objects.update(number=F("number") + 1):
            cls.objects.get_or_create(pk=1, defaults={"number": 1})


class QuestionManager(models.Manager.from_queryset(QuestionQuerySet)):
    def get_by_natural_key(self, uid):
        return self.get(uid=uid)


class Question(models.Model):
    uid = models.SlugField(max_length=120, unique=True, help_text="Stable id; never reuse one.")
    deck = models.ForeignKey(Deck, on_delete=models.PROTECT, related_name="questions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    prompt = models.TextField()
    answer = models.TextField()
    accepted_answers = models.JSONField(
        default=list, blank=True, help_text="Other forms of the answer that count as right."
    )
    explanation = models.TextField(blank=True)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="questions")
    source_quote = models.TextField(help_text="The exact sentence of the source it rests on.")
    tags = models.CharField(max_length=500, blank=True, help_text="Space-separated, as in Anki.")
    is_active = models.BooleanField(default=True)

    objects = QuestionManager()

    class Meta:
        ordering = ["deck__position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="question_kind_known"),
        ]
        indexes = [
            # Mastery counts the active questions of each deck and document from this narrow
            # index instead of every question's text.
            models.Index(
                fields=["deck", "source", "id"],
                condition=Q(is_active=True),
                name="question_active_pair",
            ),
        ]

    def __str__(self):
        return self.uid

    def save(self, *args, **kwargs):
        adding = self._state.adding
        with transaction.atomic():
            super().save(*args, **kwargs)
            if not adding:
                copy_to_cards([self.pk])
            BankRevision.move_on()

    def natural_key(self):
        return (self.uid,)

    natural_key.dependencies = ["studyapp.deck", "studyapp.source"]

    @property
    def tag_list(self) -> list[str]:
        return self.tags.split()


COPIED_TO_CARDS = {"deck", "deck_id", "source", "source_id", "is_active"}


def copy_to_cards(question_ids: list[int]) -> None:
    """Give the questions' cards their deck, source and retirement as the questions now have
    them. Only cards whose copies differ are written, and only their learners' figures are
    counted again (studyapp.tally): an edit of a question's wording leaves them alone."""
    from . import tally  # it reads these models

    for i in range(0, len(question_ids), 500):
        question = Question.objects.filter(pk=OuterRef("question_id"))
        copies = {
            "deck_id": Subquery(question.values("deck_id")[:1]),
            "source_id": Subquery(question.values("source_id")[:1]),
            "is_retired": ~Exists(question.filter(is_active=True)),
        }
        stale = (
            Card.objects.filter(question_id__in=question_ids[i : i + 500])
            .annotate(**{f"copy_{name}": value for name, value in copies.items()})
            .exclude(
                deck_id=F("copy_deck_id"),
                source_id=F("copy_source_id"),
                is_retired=F("copy_is_retired"),
            )
        )
        learners = list(stale.order_by().values_list("user_id", flat=True).distinct())
        if not learners:
            continue
        Card.objects.filter(id__in=stale.values("id")).update(**copies)
        moved = Card.objects.filter(question_id__in=question_ids[i : i + 500], user_id__in=learners)
        tally.add_pairs(moved.order_by().values_list("user_id", "deck_id", "source_id").distinct())
        tally.forget(learners)


class ChoiceManager(models.Manager):
    def get_by_natural_key(self, uid, position):
        return self.get(question__uid=uid, position=position)


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    position = models.PositiveSmallIntegerField()
    text = models.CharField(max_length=500)
    is_correct = models.BooleanField(default=False)

    objects = ChoiceManager()

    class Meta:
        ordering = ["question", "position"]
        constraints = [
            models.UniqueConstraint(fields=["question", "position"], name="choice_unique_position"),
        ]

    def __str__(self):
        return self.text

    def natural_key(self):
        return (*self.question.natural_key(), self.position)

    natural_key.dependencies = ["studyapp.question"]


# What decides whether a card may be shown now, at the end of the queue's indexes.
SHOWABLE = ["is_retired", "is_suspended", "buried_until"]


class Card(models.Model):
    """One learner's memory of one question, in FSRS terms."""

    class State(models.IntegerChoices):
        # fsrs has no "new" state (its new cards are Learning, step 0); the app needs one to
        # count and limit new cards, so 0 marks a card that was never graded.
        NEW = 0, "New"
        LEARNING = 1, "Learning"
        REVIEW = 2, "Review"
        RELEARNING = 3, "Relearning"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cards"
    )
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="cards")
    # Copies of the question's deck, source and retirement (kept in step by Question.save and
    # QuestionQuerySet), as Anki keeps the deck on its cards: the queue's counts and per-deck
    # counts then read one index of the learner's cards alone, however large the collection,
    # and mastery per deck and document reads the learner's cards without their questions.
    # No index of their own: no query looks cards up by them alone (card_deck_queue leads with
    # the learner), and an index costs every grade its upkeep on PostgreSQL.
    deck = models.ForeignKey(
        Deck, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )
    is_retired = models.BooleanField(default=False, editable=False)
    state = models.PositiveSmallIntegerField(choices=State.choices, default=State.NEW)
    step = models.PositiveSmallIntegerField(null=True, blank=True)
    stability = models.FloatField(null=True, blank=True)
    difficulty = models.FloatField(null=True, blank=True)
    due = models.DateTimeField(null=True, blank=True)
    last_review = models.DateTimeField(null=True, blank=True)
    reps = models.PositiveIntegerField(default=0)
    lapses = models.PositiveIntegerField(default=0)
    is_suspended = models.BooleanField(default=False)
    is_leech = models.BooleanField(default=False)
    buried_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "question"], name="card_one_per_learner"),
            models.CheckConstraint(condition=Q(state__in=[0, 1, 2, 3]), name="card_state_known"),
        ]
        indexes = [
            # The study queue: each kind of work (state) in due order, then bank order, with
            # what decides whether a card may be shown, so its counts never read the table.
            models.Index(fields=["user", "state", "due", "id", *SHOWABLE], name="card_queue"),
            # The same within a deck: a deck's counts and a deck's study.
            models.Index(
                fields=["user", "deck", "state", "due", "id", *SHOWABLE], name="card_deck_queue"
            ),
            # The cards forgotten most often, read from the top.
            models.Index(fields=["user", "lapses"], name="card_user_lapses"),
        ]

    def __str__(self):
        return f"{self.question.uid} ({self.user})"

    def save(self, *args, **kwargs):
        if (self.deck_id is None or self.source_id is None) and self.question_id is not None:
            self.deck_id = self.question.deck_id
            self.source_id = self.question.source_id
            self.is_retired = not self.question.is_active
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:  # the app makes cards in bulk (queue.ensure_cards), which does the same
            from . import tally  # it reads these models

            tally.add_pairs([(self.user_id, self.deck_id, self.source_id)])
            tally.forget([self.user_id])


class Review(models.Model):
    """One answer. Keeps the card's fields from before, so the answer can be undone."""

    class Rating(models.IntegerChoices):
        AGAIN = 1, "Again"
        HARD = 2, "Hard"
        GOOD = 3, "Good"
        EASY = 4, "Easy"

    # Both links are looked up through the (card | user, reviewed_at) indexes below, which
    # lead with them: an index of their own would only cost every answer its upkeep.
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="reviews", db_index=False)
    # Denormalised from card.user so a learner's history is one index range, not a join.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews", db_index=False
    )
    rating = models.PositiveSmallIntegerField(choices=Rating.choices)
    reviewed_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    response = models.TextField(blank=True, help_text="What the learner typed or chose.")
    was_correct = models.BooleanField(null=True, help_text="Empty for self-rated flashcards.")
    token = models.UUIDField(unique=True, help_text="From the card's form: a repeat records once.")
    is_practice = models.BooleanField(default=False, help_text="Practice leaves the schedule.")
    state = models.PositiveSmallIntegerField(
        choices=Card.State.choices, help_text="The card's state before this answer."
    )
    last_interval = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days the card was scheduled for before this answer."
    )
    card_before = models.JSONField(default=dict, help_text="The card's fields before this answer.")

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=4), name="review_rating_1_to_4"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "reviewed_at"], name="review_user_time"),
            models.Index(fields=["card", "reviewed_at"], name="review_card_time"),
        ]

    def __str__(self):
        return f"{self.get_rating_display()} on {self.card_id} at {self.reviewed_at:%Y-%m-%d %H:%M}"


class LearnerSettings(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_settings"
    )
    desired_retention = models.FloatField(
        default=0.9, help_text="The chance of remembering a card when it comes due (0.70-0.97)."
    )
    new_per_day = models.PositiveSmallIntegerField(
        default=20, help_text="How many unseen cards a study day may introduce."
    )
    reviews_per_day = models.PositiveIntegerField(
        default=200,
        help_text="How many review cards a study day may show; the rest wait for the next day.",
    )
    learning_steps = models.CharField(
        max_length=100, default="1m 10m", help_text="Waits between first answers, e.g. 1m 10m."
    )
    relearning_steps = models.CharField(
        max_length=100, default="10m", help_text="Waits after a forgotten card, e.g. 10m."
    )
    maximum_interval = models.PositiveIntegerField(
        default=36500, help_text="The longest wait between reviews, in days."
    )
    cards_for_revision = models.PositiveBigIntegerField(
        null=True, editable=False, help_text="The bank revision the learner's cards were made at."
    )
    time_zone = models.CharField(max_length=64, default="UTC")
    day_starts_at = models.PositiveSmallIntegerField(
        default=4, help_text="The hour a new study day begins (0-23)."
    )

    class Meta:
        verbose_name_plural = "learner settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(desired_retention__gte=0.7) & Q(desired_retention__lte=0.97),
                name="settings_retention_range",
            ),
            models.CheckConstraint(
                condition=Q(day_starts_at__lte=23), name="settings_day_start_hour"
            ),
            models.CheckConstraint(
                condition=Q(maximum_interval__gte=1), name="settings_max_interval_positive"
            ),
        ]

    def __str__(self):
        return f"Settings of {self.user}"


class StudyDay(models.Model):
    """One past study day of a learner, summed up from their reviews (studyapp.history), so the
    history figures read a row per day instead of every answer. Derived data: valid only under
    the time zone and day start it was counted with, and safe to delete at any time."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_days"
    )
    time_zone = models.CharField(max_length=64)
    day_starts_at = models.PositiveSmallIntegerField()
    day = models.DateField()
    # Answers, practice included, and the same split by the card's state before the answer.
    answers = models.PositiveIntegerField(default=0)
    new = models.PositiveIntegerField(default=0)
    learning = models.PositiveIntegerField(default=0)
    review = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveBigIntegerField(default=0)
    # True retention: the first answer of the day to each card in review state (practice left
    # out), young or mature as stats.retention splits them; passed unless rated Again.
    young_total = models.PositiveIntegerField(default=0)
    young_passed = models.PositiveIntegerField(default=0)
    mature_total = models.PositiveIntegerField(default=0)
    mature_passed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "time_zone", "day_starts_at", "day"], name="study_day_unique"
            ),
        ]

    def __str__(self):
        return f"{self.user} on {self.day} ({self.time_zone}, from {self.day_starts_at}h)"


class Tally(models.Model):
    """A learner's cards of one deck and document, retired questions' left out, counted by
    state, with their summed chance of recall at `as_of`, the end of the study day they were
    counted for (studyapp.tally). Derived data: kept up to date by each grade, recounted when
    `as_of` is not the current day's end (None: to recount), safe to delete at any time."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    deck = models.ForeignKey(Deck, on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="+", db_index=False)
    as_of = models.DateTimeField(null=True)
    new = models.IntegerField(default=0)
    learning = models.IntegerField(default=0)
    young = models.IntegerField(default=0)
    mature = models.IntegerField(default=0)
    recall_sum = models.FloatField(default=0.0)
    recall_n = models.IntegerField(default=0)
    # Learning and review cards due before `as_of`, suspended ones left out (the forecast's
    # today), and of those the ones buried through `as_of` (left out of today's due work).
    due = models.IntegerField(default=0)
    buried = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "deck", "source"], name="tally_one_per_pair"),
        ]

    def __str__(self):
        return f"{self.user_id}: {self.deck_id}/{self.source_id} as of {self.as_of}"


class LeastRecalled(models.Model):
    """The learner's answered cards with the lowest chance of recall at `as_of` (the end of a
    study day), best first, as found by the last full pass (studyapp.tally). `last` is the
    ordering key of the last card listed, or None when every answered card was listed."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    as_of = models.DateTimeField(null=True)
    card_ids = models.JSONField(default=list)
    last = models.JSONField(null=True)

    def __str__(self):
        return f"{self.user_id}: {len(self.card_ids)} cards as of {self.as_of}"


class LearnerSession(AbstractBaseSession):
    """Django's database session, with the logged-in learner's id beside the data, so that the
    session, the learner and their settings load in one query (studyapp.sessions). A learner's
    sessions go with their account."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    @classmethod
    def get_session_store_class(cls):
        from .sessions import SessionStore

        return SessionStore
