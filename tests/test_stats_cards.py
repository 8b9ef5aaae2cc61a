"""The card figures of the progress page (forecast, mastery, hardest cards) at their edges: day
boundaries to the microsecond, study days across DST changes, and both groupings of mastery
from one pass."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from studyapp import card_lists, queue, stats, tally
from studyapp.days import day_bounds, study_day
from studyapp.models import Card, Question

from .factories import (
    CardFactory,
    DeckFactory,
    LearnerSettingsFactory,
    QuestionFactory,
    SourceFactory,
)
from .test_stats import fsrs_retrievability

UTC = dt.UTC
NEW, LEARNING, REVIEW, RELEARNING = 0, 1, 2, 3
US = dt.timedelta(microseconds=1)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
NOW = dt.datetime(2024, 5, 30, 12, 0, 0, 250000, tzinfo=UTC)


def settings_for(user, tz: str = "UTC", starts_at: int = 4):
    return LearnerSettingsFactory(user=user, time_zone=tz, day_starts_at=starts_at)


def cards_due(user, moments: list[dt.datetime]) -> None:
    """One review card per moment, due then, each on a question of its own (in bulk)."""
    deck, source = DeckFactory(), SourceFactory()
    questions = Question.objects.bulk_create(
        QuestionFactory.build(deck=deck, source=source) for _ in moments
    )
    Card.objects.bulk_create(
        Card(user=user, question=question, deck=deck, source=source, state=REVIEW, due=due)
        for question, due in zip(questions, moments, strict=True)
    )


# --- whole days in SQL ---------------------------------------------------------------------

SPANS = [
    (NOW, NOW),
    (NOW, NOW + DAY - US),
    (NOW, NOW + DAY),
    (NOW, NOW + 21 * DAY - US),
    (NOW, NOW + 21 * DAY),
    (NOW, NOW + 400 * DAY + dt.timedelta(hours=5)),
    # Times of day on either side of midnight, and fractions that SQLite's own date
    # functions would round to the next millisecond (and the next day).
    (dt.datetime(2024, 5, 1, 23, 59, 59, 999999, tzinfo=UTC), dt.datetime(2024, 5, 2, tzinfo=UTC)),
    (dt.datetime(2024, 5, 1, 23, 59, 59, 999600, tzinfo=UTC), dt.datetime(2024, 5, 9, tzinfo=UTC)),
    (dt.datetime(2024, 5, 1, 12, tzinfo=UTC), dt.datetime(2024, 5, 22, 11, 59, 59, 999600, tzinfo=UTC)),
    (dt.datetime(2024, 5, 1, 12, 0, 0, 1, tzinfo=UTC), dt.datetime(2024, 5, 22, 12, tzinfo=UTC)),
    (dt.datetime(2023, 12, 31, 18, tzinfo=UTC), dt.datetime(2024, 3, 1, 17, tzinfo=UTC)),  # leap
]  # fmt: skip


def test_whole_days_in_sql_match_timedelta_days_to_the_microsecond(learner):
    for start, end in SPANS:
        CardFactory(user=learner, last_review=start, due=end)
    found = Card.objects.filter(user=learner).annotate(days=stats.WholeDays("last_review", "due"))
    assert {(c.last_review, c.due): c.days for c in found} == {
        (start, end): (end - start).days for start, end in SPANS
    }


def test_a_negative_span_counts_as_no_whole_days_once_clamped(learner):
    CardFactory(user=learner, last_review=NOW, due=NOW - dt.timedelta(hours=1))
    CardFactory(user=learner, last_review=NOW, due=NOW - 3 * DAY - US)
    found = Card.objects.filter(user=learner).values_list(
        stats.WholeDays("last_review", "due"), flat=True
    )
    assert all(days <= 0 for days in found)


def test_retrievability_counts_whole_days_to_the_microsecond(learner):
    settings = settings_for(learner)
    at = tally.as_of(settings, NOW)  # recall is reckoned at the end of the study day
    # 5 days; a microsecond short of 5 days; 400 microseconds short, which SQLite's own date
    # functions would round up to 5 days.
    lasts = [at - 5 * DAY, at - 5 * DAY + US, at - 5 * DAY + dt.timedelta(microseconds=400)]
    cards = [
        CardFactory(user=learner, state=REVIEW, stability=3.2, last_review=last, due=NOW)
        for last in lasts
    ]
    found = stats.hardest(user=learner, settings=settings, now=NOW)
    by_id = {row.card_id: row.retrievability for row in found.least_retrievable}
    for card in cards:
        assert by_id[card.id] == pytest.approx(fsrs_retrievability(card, at), abs=1e-12)
    # The full count's SQL reckons them alike.
    counted = tally.tallies(learner, settings, NOW).values()
    expected = sum(fsrs_retrievability(card, at) for card in cards)
    assert sum(row["recall_sum"] for row in counted) == pytest.approx(expected, abs=1e-12)
    assert by_id[cards[0].id] < by_id[cards[1].id] == by_id[cards[2].id]  # 5 days against 4


# --- forecast ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "starts_at", "now"),
    [
        ("America/New_York", 4, dt.datetime(2024, 2, 20, 15, tzinfo=UTC)),  # across 10 March
        ("America/New_York", 2, dt.datetime(2024, 10, 20, 15, tzinfo=UTC)),  # across 3 November
        ("America/New_York", 1, dt.datetime(2024, 10, 20, 15, tzinfo=UTC)),
        ("America/New_York", 0, dt.datetime(2024, 2, 20, 15, tzinfo=UTC)),
        ("America/Santiago", 0, dt.datetime(2024, 3, 25, 15, tzinfo=UTC)),  # midnight change
        ("Australia/Lord_Howe", 2, dt.datetime(2024, 3, 20, 15, tzinfo=UTC)),  # half an hour
        ("Asia/Kolkata", 23, dt.datetime(2024, 5, 3, 15, tzinfo=UTC)),
    ],
)
def test_forecast_puts_each_card_on_its_study_day_across_dst_changes(learner, tz, starts_at, now):
    settings = settings_for(learner, tz, starts_at)
    first = study_day(now, tz=tz, starts_at=starts_at)
    # Every study day's start, a microsecond either side, and every 5 hours in between.
    starts = [day_bounds(first + d * DAY, tz=tz, starts_at=starts_at)[0] for d in range(-1, 32)]
    moments = [m for s in starts for m in (s - US, s, s + US)]
    moments += [starts[0] + dt.timedelta(hours=5 * n) for n in range(33 * 24 // 5)]
    cards_due(learner, moments)
    days = stats.forecast(user=learner, settings=settings, now=now)
    expected: dict[dt.date, int] = {}
    for due in moments:
        day = max(first, study_day(due, tz=tz, starts_at=starts_at))
        expected[day] = expected.get(day, 0) + 1
    assert days == [(first + d * DAY, expected.get(first + d * DAY, 0)) for d in range(30)]


def test_forecast_leaves_out_cards_of_retired_questions(learner):
    settings = settings_for(learner)
    retired = QuestionFactory(is_active=False)
    CardFactory(user=learner, question=retired, state=REVIEW, due=NOW)
    CardFactory(user=learner, state=REVIEW, due=NOW)
    days = stats.forecast(user=learner, settings=settings, now=NOW)
    assert days[0] == (dt.date(2024, 5, 30), 1)


# --- mastery -------------------------------------------------------------------------------


def test_young_and_mature_split_at_21_days_to_the_microsecond(learner):
    settings = settings_for(learner)
    deck = DeckFactory()
    last = dt.datetime(2024, 5, 1, 23, 59, 59, 999600, tzinfo=UTC)
    for due in (last + 21 * DAY - US, last + 21 * DAY, last + 21 * DAY + US, last + 20 * DAY):
        CardFactory(
            user=learner,
            question=QuestionFactory(deck=deck),
            state=REVIEW,
            stability=20.0,
            last_review=last,
            due=due,
        )
    [row] = stats.mastery(user=learner, settings=settings, now=NOW, by="deck")
    assert (row.young, row.mature) == (2, 2)


def test_masteries_gives_both_groupings_as_mastery_does(learner, other_learner):
    settings = settings_for(learner)
    decks = [DeckFactory(position=1), DeckFactory(position=2)]
    sources = [SourceFactory(slug="a-source"), SourceFactory(slug="b-source")]
    last = NOW - 3 * DAY

    def question(d: int, s: int, **kwargs) -> Question:
        return QuestionFactory(deck=decks[d], source=sources[s], **kwargs)

    question(0, 0)  # no card yet
    question(0, 1)
    question(1, 1, is_active=False)  # retired: not counted
    CardFactory(user=learner, question=question(1, 1, is_active=False), state=REVIEW)
    CardFactory(user=other_learner, question=question(1, 0), state=REVIEW)  # unseen here
    CardFactory(user=learner, question=question(0, 0), state=NEW)
    CardFactory(user=learner, question=question(0, 1), state=RELEARNING, stability=1.0,
                last_review=last, due=NOW)  # fmt: skip
    CardFactory(user=learner, question=question(1, 0), state=REVIEW, stability=10.0,
                last_review=last, due=last + 5 * DAY)  # fmt: skip
    CardFactory(user=learner, question=question(1, 1), state=REVIEW, stability=50.0,
                last_review=last, due=last + 30 * DAY, is_suspended=True)  # fmt: skip
    both = stats.masteries(user=learner, settings=settings, now=NOW)
    assert both == {
        by: stats.mastery(user=learner, settings=settings, now=NOW, by=by)
        for by in ("deck", "source")
    }
    figures = {
        by: [(r.slug, r.unseen, r.learning, r.young, r.mature) for r in rows]
        for by, rows in both.items()
    }
    assert figures == {
        "deck": [(decks[0].slug, 3, 1, 0, 0), (decks[1].slug, 1, 0, 1, 1)],
        "source": [("a-source", 3, 0, 1, 0), ("b-source", 1, 1, 0, 1)],
    }
    # The only card answered in the first document is the young one of the second deck.
    young = Card.objects.get(user=learner, question__deck=decks[1], question__source=sources[0])
    assert both["source"][0].retrievability == pytest.approx(
        fsrs_retrievability(young, NOW), abs=1e-12
    )


@pytest.mark.parametrize("cards", [3, 30])
def test_masteries_takes_four_queries_once_every_question_has_a_card(learner, cards):
    """The learner's tallies, the bank's revision, the decks and the documents; the bank itself
    is read only while some active question has no card for the learner."""
    settings = settings_for(learner)
    for n in range(cards):
        CardFactory(user=learner, state=REVIEW, stability=2.0, last_review=NOW - n * DAY)
    QuestionFactory()  # no card for it yet
    before = stats.masteries(user=learner, settings=settings, now=NOW)  # counts the tallies
    with CaptureQueriesContext(connection) as queries:
        again = stats.masteries(user=learner, settings=settings, now=NOW)
    assert len(queries) == 5
    assert again == before
    queue.ensure_cards(learner)
    settings.refresh_from_db()
    stats.masteries(user=learner, settings=settings, now=NOW)  # counts them again: a new card
    with CaptureQueriesContext(connection) as queries:
        after = stats.masteries(user=learner, settings=settings, now=NOW)
    assert len(queries) == 4
    assert after == before
    # A caller that has just made the cards says so, and the revision is not read either.
    with CaptureQueriesContext(connection) as queries:
        told = stats.masteries(user=learner, settings=settings, now=NOW, without_card=0)
    assert len(queries) == 3
    assert told == before


# --- hardest -------------------------------------------------------------------------------


def test_hardest_leaves_out_retired_questions(learner):
    settings = settings_for(learner)
    last = NOW - 10 * DAY
    CardFactory(user=learner, question=QuestionFactory(is_active=False), state=REVIEW,
                lapses=9, stability=0.5, last_review=last)  # fmt: skip
    kept = CardFactory(user=learner, state=REVIEW, lapses=1, stability=5.0, last_review=last)
    found = stats.hardest(user=learner, settings=settings, now=NOW)
    assert [c.card_id for c in found.most_lapses] == [kept.id]
    assert [c.card_id for c in found.least_retrievable] == [kept.id]


def test_hardest_breaks_ties_as_the_lists_say(learner):
    settings = settings_for(learner)
    last = NOW - 10 * DAY

    def card(lapses: int, stability: float | None, state: int = REVIEW) -> int:
        answered = stability is not None
        return CardFactory(user=learner, state=state, lapses=lapses, stability=stability,
                           last_review=last if answered else None).id  # fmt: skip

    never = card(3, None, NEW)  # lapsed, then reset: no retrievability
    a, b, c = card(3, 4.0), card(3, 4.0), card(5, 4.0)
    d = card(3, 2.0)
    found = stats.hardest(user=learner, settings=settings, now=NOW, limit=4)
    # Most lapses first; among equals the least retrievable, then the oldest card; a card
    # with no retrievability last.
    assert [x.card_id for x in found.most_lapses] == [c, d, a, b]
    assert never not in [x.card_id for x in found.least_retrievable]
    # Least retrievable first; among equals the most lapsed, then the oldest card.
    assert [x.card_id for x in found.least_retrievable] == [d, c, a, b]
    everyone = stats.hardest(user=learner, settings=settings, now=NOW, limit=5)
    assert [x.card_id for x in everyone.most_lapses] == [c, d, a, b, never]


def test_the_hardest_cards_take_three_statements(learner):
    """The most lapsed, the kept least recalled list and its cards: SQL built once
    (studyapp.card_lists), whatever the number of cards."""
    settings = settings_for(learner)
    for lapses in range(1, 8):
        CardFactory(user=learner, state=REVIEW, lapses=lapses, stability=4.0,
                    last_review=NOW - lapses * DAY)  # fmt: skip
    kept = tally.tallies(learner, settings, NOW)
    first = stats.hardest(user=learner, settings=settings, now=NOW, kept=kept)  # lists afresh
    with CaptureQueriesContext(connection) as queries:
        again = stats.hardest(user=learner, settings=settings, now=NOW, kept=kept)
    assert len(queries) == 3
    assert again == first and len(first.most_lapses) == 7
    assert card_lists.listed([]) == []
    assert card_lists.kept_list(learner.pk, NOW + 2 * DAY) is None  # another day's list


def test_a_one_day_forecast_counts_what_is_due_before_the_study_day_ends(learner):
    """NOW is noon UTC; the study day ends at 04:00 the next morning."""
    settings = settings_for(learner)
    cards_due(learner, [NOW - DAY, NOW + 15 * HOUR, NOW + 17 * HOUR])
    forecast = stats.forecast(user=learner, settings=settings, now=NOW, days=1)
    assert forecast == [(dt.date(2024, 5, 30), 2)]
