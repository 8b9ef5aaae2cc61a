import csv

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from .. import charts, history, queue, stats, tally
from ..models import Card, Review

RANGES = (30, 90, 365)


@require_GET
def progress(request):
    user, now = request.user, timezone.now()
    queue.ensure_cards(user)  # so none is without a card below
    settings = queue.settings_of(request.user)
    days = (
        int(request.GET.get("days", 30)) if request.GET.get("days") in {"30", "90", "365"} else 30
    )
    # Every study day's figures, read once for the four figures made from them.
    studied = history.days(user, settings, now, retention=True)
    per_day = stats.reviews_per_day(
        user=user, settings=settings, now=now, days=days, studied=studied
    )
    kept = tally.tallies(user, settings, now)  # read once for every figure made from them
    forecast = stats.forecast(user=user, settings=settings, now=now, kept=kept)
    mastery = stats.masteries(user=user, settings=settings, now=now, without_card=0, kept=kept)
    heatmap = stats.heatmap(user=user, settings=settings, now=now, studied=studied)
    context = {
        "days": days,
        "ranges": RANGES,
        "today": stats.today(
            user=user, settings=settings, now=now, without_card=0, studied=studied, kept=kept
        ),
        "per_day": per_day,
        "per_day_rects": charts.bar_rects(
            charts.stacked_bars(
                [
                    (
                        d.day.isoformat(),
                        [("new", d.new), ("learning", d.learning), ("review", d.review)],
                    )
                    for d in per_day
                ]
            ),
            "{label}: {value} {css}",
        ),
        "reviews_total": sum(d.total for d in per_day),
        "heatmap": heatmap,
        "heat_rects": charts.heat_rects(heatmap),
        "retention": stats.retention(user=user, settings=settings, now=now, studied=studied),
        "forecast": forecast,
        "forecast_total": sum(n for _, n in forecast),
        "forecast_rects": charts.bar_rects(
            charts.stacked_bars([(day.isoformat(), [("review", n)]) for day, n in forecast]),
            "{label}: {value} due",
        ),
        "by_deck": mastery["deck"],
        "by_source": mastery["source"],
        "hardest": stats.hardest(user=user, settings=settings, now=now, kept=kept),
        "chart": {"width": charts.WIDTH, "height": charts.HEIGHT},
    }
    return render(request, "studyapp/progress.html", context)


REVIEW_COLUMNS = ["reviewed_at", "question", "rating", "was_correct", "response", "duration_ms",
                  "is_practice", "state"]  # fmt: skip


@require_GET
def reviews_csv(request):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="my-reviews.csv"'
    writer = csv.writer(response)
    writer.writerow(REVIEW_COLUMNS)
    rows = Review.objects.filter(user=request.user).order_by("reviewed_at", "id")
    for row in rows.values_list(
        *[c if c != "question" else "card__question__uid" for c in REVIEW_COLUMNS]
    ):
        writer.writerow(row)
    return response


@require_GET
def data_json(request):
    cards = Card.objects.filter(user=request.user).order_by("id")
    data = {
        "user": request.user.username,
        "cards": list(cards.values("id", "question__uid", "state", "step", "stability", "difficulty",
                                   "due", "last_review", "reps", "lapses", "is_suspended", "is_leech")),
        "reviews": list(Review.objects.filter(user=request.user).order_by("reviewed_at", "id")
                        .values("card_id", "reviewed_at", "rating", "was_correct", "response",
                                "duration_ms", "is_practice", "state")),
    }  # fmt: skip
    response = JsonResponse(data, encoder=DjangoJSONEncoder, json_dumps_params={"indent": 1})
    response["Content-Disposition"] = 'attachment; filename="my-study-data.json"'
    return response
