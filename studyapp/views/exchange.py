"""Downloads of the bank in other programs' formats: Anki packages."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from .. import anki
from ..models import Deck


def _apkg(deck: Deck | None) -> HttpResponse:
    response = HttpResponse(anki.build(deck).data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{anki.filename(deck)}"'
    return response


@require_GET
def anki_deck(request, deck: str):
    return _apkg(get_object_or_404(Deck, slug=deck))


@require_GET
def anki_bank(request):
    return _apkg(None)
