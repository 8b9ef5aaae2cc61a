"""The progress page and the data downloads show the learner's own figures."""

import csv
import datetime as dt
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from studyapp.models import Card

from .factories import CardFactory, LearnerSettingsFactory, ReviewFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(learner, other_learner):
    LearnerSettingsFactory(user=learner, time_zone="UTC")
    now = timezone.now()
    card = CardFactory(user=learner, state=Card.State.REVIEW, stability=10.0, difficulty=5.0,
                       due=now + dt.timedelta(days=3), last_review=now - dt.timedelta(days=1), lapses=2)  # fmt: skip
    ReviewFactory(card=card, rating=3, state=Card.State.REVIEW, reviewed_at=now - dt.timedelta(minutes=5),
                  response="12.82 trillion", duration_ms=4000)  # fmt: skip
    ReviewFactory(card=card, rating=1, state=Card.State.NEW, reviewed_at=now - dt.timedelta(days=1))
    ReviewFactory(card=CardFactory(user=other_learner), response="not mine")
    return card


def test_progress_page_shows_the_reviews_just_made(learner_client, history):
    page = learner_client.get(reverse("progress")).content.decode()
    assert "2 reviews in the last 30 days." in page
    assert "<dt>Reviewed today</dt><dd>1</dd>" in page
    assert "<dt>Streak</dt><dd>2 days</dd>" in page
    assert 'class="seg-review"' in page and 'class="seg-new"' in page
    assert history.question.prompt.replace("'", "&#x27;") in page  # among the hardest: 2 lapses
    assert '100% <span class="muted">(1/1)</span>' in page  # today's true retention


def test_the_progress_page_reads_the_kept_figures_once(learner_client, history):
    """Today's due work, the forecast, mastery and the least recalled cards all come from the
    learner's tallies (studyapp.tally): one read of them serves the page."""
    learner_client.get(reverse("progress"))  # the day's first load counts them
    with CaptureQueriesContext(connection) as queries:
        page = learner_client.get(reverse("progress")).content.decode()
    reads = [q["sql"] for q in queries if 'FROM "studyapp_tally"' in q["sql"]]
    assert len(reads) == 1 and reads[0].startswith("SELECT"), reads
    assert "<dt>Due today</dt><dd>0</dd>" in page  # the card is due in three days


def test_progress_range_can_be_chosen_and_bad_values_fall_back(learner_client, history):
    assert (
        "in the last 90 days"
        in learner_client.get(reverse("progress"), {"days": 90}).content.decode()
    )
    assert (
        "in the last 30 days"
        in learner_client.get(reverse("progress"), {"days": "x"}).content.decode()
    )


def test_reviews_download_as_csv_holds_only_mine(learner_client, history):
    response = learner_client.get(reverse("reviews_csv"))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert response["Content-Disposition"] == 'attachment; filename="my-reviews.csv"'
    assert [r["rating"] for r in rows] == ["1", "3"]
    assert {r["question"] for r in rows} == {history.question.uid}
    assert "not mine" not in response.content.decode()


def test_data_download_as_json_holds_my_cards_and_reviews(learner_client, history):
    data = json.loads(learner_client.get(reverse("data_json")).content)
    assert [c["question__uid"] for c in data["cards"]] == [history.question.uid]
    assert len(data["reviews"]) == 2 and data["cards"][0]["lapses"] == 2


def test_the_dashboard_header_shows_today_and_the_streak(learner_client, history):
    page = learner_client.get(reverse("dashboard")).content.decode()
    assert "<dt>Reviewed today</dt><dd>1</dd>" in page
    assert "<dt>Streak</dt><dd>2 days</dd>" in page
