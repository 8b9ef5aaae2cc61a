"""The study page: one card at a time. HTMX requests get the stage fragment (with the counters
out of band); plain requests get the whole page, and plain POSTs redirect, so every step also
works without JavaScript."""

import datetime as dt
import functools
import time
import uuid
from dataclasses import dataclass

from django.db.models import Count, Q, Sum
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST

from .. import queue, reviews, scheduler, snapshot_query
from ..forms import AnswerForm, GradeForm, ScopeForm
from ..models import Card, Deck, Kind, Review, Source

TEMPLATE = "studyapp/study.html"
LETTERS = "abcdefgh"


@dataclass(frozen=True)
class Scope:
    deck: Deck | None = None
    source: Source | None = None
    practice: bool = False

    @classmethod
    def from_data(cls, data) -> "Scope":
        form = ScopeForm(data)
        if not form.is_valid():
            raise Http404("No such deck or document.")
        return cls.from_cleaned(form.cleaned_data)

    @classmethod
    def from_cleaned(cls, cleaned: dict) -> "Scope":
        """From a valid ScopeForm's data, or that of a form built on it (AnswerForm)."""
        deck, source = cleaned["deck"], cleaned["source"]
        return cls(
            deck=get_object_or_404(Deck, slug=deck) if deck else None,
            source=get_object_or_404(Source, slug=source) if source else None,
            practice=cleaned["practice"],
        )

    @property
    def only(self) -> Q:
        if self.deck:
            return Q(deck=self.deck)
        if self.source:
            return Q(question__source=self.source)
        return queue.ALL

    @property
    def title(self) -> str:
        what = (
            self.deck.name
            if self.deck
            else self.source.display_title
            if self.source
            else "All decks"
        )
        return f"Practice: {what}" if self.practice else what

    @property
    def fields(self) -> dict:
        """The scope as form fields, carried by every form of the page."""
        fields = {
            "deck": self.deck.slug if self.deck else "",
            "source": self.source.slug if self.source else "",
        }
        return fields | ({"practice": "1"} if self.practice else {})

    @functools.cached_property
    def hidden_fields(self) -> SafeString:
        """The fields as hidden inputs, made once for the several forms of a page."""
        return format_html_join(
            "", '<input type="hidden" name="{}" value="{}">', self.fields.items()
        )

    @property
    def url(self) -> str:
        query = {k: v for k, v in self.fields.items() if v}
        return reverse("study") + (f"?{urlencode(query)}" if query else "")

    def next_url(self, **extra) -> str:
        """Where a plain POST redirects: the same sitting goes on (see study())."""
        query = {k: v for k, v in self.fields.items() if v} | {"continue": "1"} | extra
        return reverse("study") + f"?{urlencode(query)}"


def _sitting_start(request, scope: Scope, now) -> dt.datetime:
    """When the current sitting began, kept in the session. A practice sitting shows each card
    once; the summary counts the sitting's answers. Opening the page starts a new one."""
    key = f"study:{scope.url}"
    if key not in request.session:
        request.session[key] = now.isoformat()
    return dt.datetime.fromisoformat(request.session[key])


def _stage(
    request, scope: Scope, *, now, card: Card | None = None, counted: bool = True, **extra
) -> dict:
    """Everything the study page shows: the counters and either a card or the end. Uncounted
    (for a given card), the queue is not read and the counters are left out."""
    settings = queue.settings_of(request.user)
    context = {"scope": scope, "card": card, "settings": settings} | extra
    if counted:
        started = _sitting_start(request, scope, now)
        found = queue.snapshot(
            request.user, settings, now=now, only=scope.only,
            practice_since=started if scope.practice else None,
        )  # fmt: skip
        context |= {"left": found.counts.total, "done": found.day.answered}
        context["card"] = card = card or found.card
        if card is None:
            return context | {"stage": "done", **_summary(request.user, scope, started, now=now)}
    return {
        "stage": "question",
        "token": uuid.uuid4(),
        "shown_at": int(time.time() * 1000),
        "choices": list(zip(LETTERS, queue.choices_of(card), strict=False)),
    } | context


def _summary(user, scope: Scope, started: dt.datetime, *, now) -> dict:
    done = Review.objects.filter(user=user, reviewed_at__gte=started, is_practice=scope.practice)
    if scope.only:
        done = done.filter(**{f"card__{k}": v for k, v in scope.only.children})
    figures = done.aggregate(
        studied=Count("id"), right=Count("id", filter=Q(rating__gt=1)), ms=Sum("duration_ms")
    )
    return {
        "studied": figures["studied"] or 0,
        "right": figures["right"] or 0,
        "minutes": round((figures["ms"] or 0) / 60000, 1),
        "next_due": queue.next_due(user, now=now, only=scope.only),
    }


def _render(request, context: dict):
    if request.htmx:  # the counters, when counted, go out of band
        return render(request, f"{TEMPLATE}#stage", context | {"oob": "left" in context})
    return render(request, TEMPLATE, context)


def _own_card(request, card_id: int) -> Card:
    try:
        return snapshot_query.card(card_id, request.user.pk)
    except Card.DoesNotExist:
        raise Http404("No such card.") from None


@require_GET
def study(request):
    scope = Scope.from_data(request.GET)
    now = timezone.now()
    if not request.htmx and "continue" not in request.GET:
        request.session.pop(f"study:{scope.url}", None)  # opening the page starts a new sitting
        queue.ensure_cards(request.user)
    card = None
    if "card" in request.GET:  # after an undo: show the card that was taken back
        card = _own_card(request, _int(request.GET["card"]))
    return _render(request, _stage(request, scope, now=now, card=card))


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Http404("A card id is a number.") from None


def _bad(form) -> HttpResponse:
    messages = [f"{field}: {error}" for field, errors in form.errors.items() for error in errors]
    return HttpResponseBadRequest(
        "The request was refused: " + "; ".join(messages), content_type="text/plain"
    )


def _feedback(request, card: Card, form, *, verdict, scope: Scope, now) -> dict:
    settings = queue.settings_of(request.user)
    intervals = scheduler.preview(card, now=now, scheduler=scheduler.scheduler_for(settings))
    allowed = reviews.allowed_ratings(verdict)
    grades = [
        {
            "rating": rating,
            "label": Review.Rating(rating).label,
            "interval": ""
            if scope.practice
            else str(scheduler.Interval(intervals[rating].total_seconds())),
            "focus": rating == (3 if 3 in allowed else allowed[0]),
        }
        for rating in allowed
    ]
    response = form.cleaned_data["response"]
    shown_response = response
    if card.question.kind == Kind.MULTIPLE_CHOICE and verdict:
        shown_response = verdict.matched or ""
    # An answer records nothing, so the counters on the page still hold: an HTMX answer does
    # not read the queue again. A whole page needs them.
    return _stage(
        request, scope, now=now, card=card, counted=not request.htmx, stage="feedback",
        verdict=verdict, grades=grades, response=response, shown_response=shown_response,
        token=form.cleaned_data["token"], shown_at=form.cleaned_data["shown_at"],
    )  # fmt: skip


@require_GET
def reveal(request, card_id: int):
    """A flashcard's answer side."""
    return _answered(request, card_id, request.GET, checked=False)


@require_POST
def answer(request, card_id: int):
    """Check a choice or a typed answer; nothing is recorded until the grade."""
    return _answered(request, card_id, request.POST, checked=True)


def _answered(request, card_id: int, data, *, checked: bool):
    form = AnswerForm(data)
    if not form.is_valid():
        return _bad(form)
    card = _own_card(request, card_id)
    scope = Scope.from_cleaned(form.cleaned_data)
    verdict = (
        reviews.check(card.question, form.cleaned_data["response"], queue.choices_of(card))
        if checked
        else None
    )
    feedback = _feedback(request, card, form, verdict=verdict, scope=scope, now=timezone.now())
    return _render(request, feedback)


@require_POST
def grade(request, card_id: int):
    form = GradeForm(request.POST)
    if not form.is_valid():
        return _bad(form)
    scope = Scope.from_cleaned(form.cleaned_data)
    now = timezone.now()
    shown_at = form.cleaned_data["shown_at"]
    try:
        reviews.grade(
            card_id,
            user=request.user,
            settings=queue.settings_of(request.user),
            rating=form.cleaned_data["rating"],
            token=form.cleaned_data["token"],
            response=form.cleaned_data["response"],
            duration_ms=None if shown_at is None else int(now.timestamp() * 1000) - shown_at,
            practice=scope.practice,
        )
    except Card.DoesNotExist:
        raise Http404("No such card.") from None
    except reviews.GradeRefused as refused:
        return HttpResponse(str(refused), status=409, content_type="text/plain")
    if request.htmx:
        return _render(request, _stage(request, scope, now=now))
    return redirect(scope.next_url())


@require_POST
def undo(request):
    scope = Scope.from_data(request.POST)
    card = reviews.undo_last(request.user)
    if card is None:
        return HttpResponse("There is no answer to undo.", status=409, content_type="text/plain")
    if request.htmx:
        return _render(
            request, _stage(request, scope, now=timezone.now(), card=_own_card(request, card.id))
        )
    return redirect(scope.next_url(card=card.id))


@require_POST
def suspend(request, card_id: int):
    scope = Scope.from_data(request.POST)  # first: a bad scope changes nothing
    reviews.suspend(_own_card(request, card_id))
    return _after_card_action(request, scope)


@require_POST
def bury(request, card_id: int):
    scope = Scope.from_data(request.POST)
    settings = queue.settings_of(request.user)
    reviews.bury(_own_card(request, card_id), settings=settings, now=timezone.now())
    return _after_card_action(request, scope)


def _after_card_action(request, scope: Scope):
    if request.htmx:
        return _render(request, _stage(request, scope, now=timezone.now()))
    return redirect(scope.next_url())
