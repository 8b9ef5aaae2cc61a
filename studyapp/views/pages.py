import itertools
import re

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from .. import queue, stats
from ..forms import SettingsForm
from ..models import Deck, Source


@require_GET
def dashboard(request):
    now = timezone.now()
    queue.ensure_cards(request.user)  # so none is without a card below
    settings = queue.settings_of(request.user)
    found = queue.snapshot(request.user, settings, now=now)
    by_deck = queue.deck_counts(request.user, settings, now=now, day=found.day)
    decks = [(deck, by_deck.get(deck.id, queue.Counts(0, 0, 0))) for deck in Deck.objects.all()]
    return render(
        request,
        "studyapp/dashboard.html",
        {
            "decks": decks,
            "total": found.counts,
            "day": found.day,
            "today": stats.today(
                user=request.user, settings=settings, now=now, new_left=found.counts.new
            ),
        },
    )


@require_http_methods(["GET", "POST"])
def settings_page(request):
    settings = queue.settings_of(request.user)
    form = SettingsForm(request.POST or None, instance=settings)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Settings saved. They apply from the next card.")
        return redirect("settings")
    return render(request, "studyapp/settings.html", {"form": form})


@require_GET
def source_list(request):
    sources = Source.objects.annotate(
        n_questions=Count("questions", filter=Q(questions__is_active=True))
    )
    return render(request, "studyapp/sources.html", {"sources": sources})


@require_GET
def source_detail(request, slug: str):
    source = get_object_or_404(Source, slug=slug)
    questions = list(source.questions.filter(is_active=True).select_related("deck").order_by("id"))
    return render(
        request,
        "studyapp/source.html",
        {
            "source": source,
            "segments": marked_segments(source.text, questions),
            "questions": questions,
        },
    )


def marked_segments(text: str, questions) -> list[tuple[str, list]]:
    """The text cut into (piece, questions quoting it) runs, so each quoted span can be marked.
    Quotes are found with whitespace folded, as the bank checks them."""
    cuts = {0, len(text)}
    spans = []
    for question in questions:
        words = question.source_quote.split()
        if not words:
            continue
        match = re.search(r"\s+".join(map(re.escape, words)), text)
        if match:
            spans.append((match.start(), match.end(), question))
            cuts |= {match.start(), match.end()}
    bounds = sorted(cuts)
    return [
        (text[a:b], [q for start, end, q in spans if start <= a and b <= end])
        for a, b in itertools.pairwise(bounds)
    ]
