"""The figures kept ready for the progress page (studyapp.tally): whatever the app does to a
learner's cards, what the page reads equals what a full count of the cards gives."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from studyapp import grade_writes, queue, reviews, sql_rows, stats, tally
from studyapp.models import Card, Kind, LeastRecalled, Tally

from .factories import CardFactory, DeckFactory, LearnerSettingsFactory, QuestionFactory

UTC = dt.UTC
NEW, LEARNING, REVIEW, RELEARNING = 0, 1, 2, 3
DAY = dt.timedelta(days=1)
NOW = dt.datetime(2024, 5, 30, 12, 0, 0, tzinfo=UTC)


def card(user, deck=None, state=REVIEW, days_ago=3, interval=5, stability=4.0, lapses=0):
    question = QuestionFactory(kind=Kind.FLASHCARD, **({"deck": deck} if deck else {}))
    if state == NEW:
        return CardFactory(user=user, question=question)
    last = NOW - days_ago * DAY
    return CardFactory(user=user, question=question, state=state, stability=stability,
                       difficulty=5.0, last_review=last, due=last + interval * DAY,
                       lapses=lapses, step=0 if state != REVIEW else None)  # fmt: skip


def collection(user, n=12):
    """Cards in every state, in two decks (each question has a document of its own)."""
    decks = [DeckFactory(), DeckFactory()]
    made = []
    for i in range(n):
        state = [NEW, LEARNING, REVIEW, RELEARNING][i % 4]
        made.append(card(user, decks[i % 2], state, days_ago=1 + i, interval=3 + 4 * i,
                         stability=1.0 + i / 2, lapses=i % 3))  # fmt: skip
    return made


def grade(user, settings, card_id, rating=3, now=NOW, practice=False):
    return reviews.grade(card_id, user=user, settings=settings, rating=rating, token=uuid.uuid4(),
                         response="", duration_ms=1000, practice=practice, now=now)  # fmt: skip


def figures(user, settings, now=NOW) -> dict:
    rows = tally.tallies(user, settings, now)
    return {
        key: {name: round(row[name], 9) for name in tally.FIGURES}
        for key, row in rows.items()
        if any(row[name] for name in tally.FIGURES)
    }


def counted_afresh(user, settings, now=NOW) -> dict:
    """A full count from nothing (the rows are derived data, safe to delete)."""
    Tally.objects.filter(user=user).delete()
    return figures(user, settings, now)


def least(user, settings, now=NOW, limit=10) -> list[int]:
    return [c.id for c in tally.least_recalled(user, settings, now, limit)]


def listed_afresh(user, settings, now=NOW, limit=10) -> list[int]:
    LeastRecalled.objects.filter(user=user).delete()
    return least(user, settings, now, limit)


@pytest.fixture
def settings(learner):
    return LearnerSettingsFactory(user=learner, time_zone="UTC", day_starts_at=4)


# --- grades --------------------------------------------------------------------------------


def test_grades_move_their_cards_in_the_tallies_as_a_full_count_would(learner, settings):
    cards = collection(learner)
    figures(learner, settings)  # counted once
    counted_at = set(Tally.objects.filter(user=learner).values_list("as_of", flat=True))
    for i, c in enumerate(cards):
        grade(
            learner,
            settings,
            c.id,
            rating=[1, 2, 3, 4][i % 4],
            now=NOW + i * dt.timedelta(minutes=1),
        )
    # A mature card and a young one, and the same card twice.
    grade(learner, settings, cards[2].id, rating=4, now=NOW + dt.timedelta(hours=1))
    with CaptureQueriesContext(connection) as reads:
        kept = figures(learner, settings)
    assert len(reads) == 1  # read, not counted again
    assert set(Tally.objects.filter(user=learner).values_list("as_of", flat=True)) == counted_at
    assert kept == counted_afresh(learner, settings)
    assert sum(row["recall_n"] for row in kept.values()) == len(cards)  # all answered now


def test_a_grade_updates_its_tally_with_one_statement(learner, settings):
    cards = collection(learner, 4)
    figures(learner, settings)
    grade(learner, settings, cards[1].id)  # PostgreSQL prepares the writes once per connection
    with CaptureQueriesContext(connection) as queries:
        grade(learner, settings, cards[2].id)
    if connection.vendor == "postgresql":  # the card's, the tally's and the review's, together
        sql = grade_writes.statements(card=True, tallied=True)[0]
        prepared = sql_rows.statement_name(sql)
        assert sql.count('UPDATE "studyapp_tally"') == 1
        touching = [q["sql"] for q in queries if prepared in q["sql"]]
        assert len(touching) == 1 and touching[0].startswith(f"EXECUTE {prepared} ")
    else:
        touching = [q["sql"] for q in queries if "studyapp_tally" in q["sql"]]
        assert len(touching) == 1 and touching[0].startswith('UPDATE "studyapp_tally"')


def test_practice_leaves_the_tallies_alone(learner, settings):
    c = collection(learner, 4)[2]
    before = figures(learner, settings)
    grade(learner, settings, c.id, practice=True)
    assert figures(learner, settings) == before


def test_a_grade_of_another_day_leaves_the_tally_to_be_counted_again(learner, settings):
    cards = collection(learner, 4)
    figures(learner, settings)
    grade(learner, settings, cards[2].id, now=NOW + 2 * DAY)
    later = NOW + 2 * DAY + dt.timedelta(minutes=1)
    assert figures(learner, settings, later) == counted_afresh(learner, settings, later)
    assert set(Tally.objects.filter(user=learner).values_list("as_of", flat=True)) == {
        tally.as_of(settings, later)
    }


def test_new_day_settings_count_the_tallies_again(learner, settings):
    collection(learner, 8)
    figures(learner, settings)
    settings.time_zone, settings.day_starts_at = "Asia/Shanghai", 0
    settings.save()
    assert set(Tally.objects.filter(user=learner).values_list("as_of", flat=True)) != {
        tally.as_of(settings, NOW)
    }
    kept = figures(learner, settings)
    assert set(Tally.objects.filter(user=learner).values_list("as_of", flat=True)) == {
        tally.as_of(settings, NOW)
    }
    assert kept == counted_afresh(learner, settings)


# --- every other change to the cards -------------------------------------------------------


def undo(learner, settings, cards, staff_client):
    grade(learner, settings, cards[1].id, rating=1)
    figures(learner, settings)
    reviews.undo_last(learner)


def new_question(learner, settings, cards, staff_client):
    QuestionFactory(deck=cards[0].deck)
    queue.ensure_cards(learner)


def question_moved(learner, settings, cards, staff_client):
    question = cards[2].question
    question.deck = DeckFactory()
    question.save()


def question_retired(learner, settings, cards, staff_client):
    question = cards[2].question
    question.is_active = False
    question.save()


def questions_retired_in_bulk(learner, settings, cards, staff_client):
    from studyapp.models import Question

    Question.objects.filter(id__in=[c.question_id for c in cards[:3]]).update(is_active=False)


def admin_reset(learner, settings, cards, staff_client):
    response = staff_client.post(
        reverse("admin:studyapp_card_changelist"),
        {"action": "reset", "_selected_action": [cards[2].id, cards[3].id]},
    )
    assert response.status_code == 302
    assert Card.objects.get(id=cards[2].id).state == NEW


def suspended(learner, settings, cards, staff_client):
    reviews.suspend(Card.objects.get(id=cards[1].id))


def buried(learner, settings, cards, staff_client):
    reviews.bury(Card.objects.get(id=cards[1].id), settings=settings, now=NOW)


@pytest.mark.parametrize(
    "change",
    [undo, new_question, question_moved, question_retired, questions_retired_in_bulk, admin_reset,
     suspended, buried],
)  # fmt: skip
def test_other_changes_have_the_figures_counted_again(learner, settings, staff_client, change):
    cards = collection(learner, 8)
    figures(learner, settings)
    least(learner, settings, limit=3)
    change(learner, settings, cards, staff_client)
    kept, kept_least = figures(learner, settings), least(learner, settings, limit=3)
    assert kept == counted_afresh(learner, settings)
    assert kept_least == listed_afresh(learner, settings, limit=3)
    assert stats.masteries(user=learner, settings=settings, now=NOW)  # and the page still works


def test_a_grade_of_a_card_moved_to_a_new_pair_is_kept(learner, settings):
    """The bank moves a card to a deck the learner had no card in: its tally row is made with
    the move, so the next grade has a row to update."""
    cards = collection(learner, 4)
    figures(learner, settings)
    question = cards[2].question
    question.deck = DeckFactory()
    question.save()
    figures(learner, settings)
    grade(learner, settings, cards[2].id)
    assert figures(learner, settings) == counted_afresh(learner, settings)


# --- the day's due work --------------------------------------------------------------------


def due_counted(user, settings, now=NOW) -> tuple[int, int]:
    """(today's due work, the forecast's today) counted from the cards, as the queue sees them."""
    end = tally.as_of(settings, now)
    due = Card.objects.filter(
        user=user, is_retired=False, is_suspended=False, state__in=stats.SCHEDULED, due__lt=end
    )
    return due.exclude(buried_until__gt=now).count(), due.count()


def due_shown(user, settings, now=NOW) -> tuple[int, int]:
    """The same two figures as the dashboard and the progress page show them."""
    forecast = stats.forecast(user=user, settings=settings, now=now, days=2)
    return stats.today(user=user, settings=settings, now=now).due_today, forecast[0][1]


def test_the_day_s_due_work_is_kept_through_grades_burials_and_suspensions(learner, settings):
    overdue = [card(learner, state=REVIEW, days_ago=10 + i, interval=2) for i in range(4)]
    learning = [card(learner, state=LEARNING, days_ago=0, interval=0) for _ in range(2)]
    later = card(learner, state=REVIEW, days_ago=1, interval=3)  # due in two days
    new = card(learner, state=NEW)
    suspended_card = card(learner, state=REVIEW, days_ago=9, interval=1)
    Card.objects.filter(id=suspended_card.id).update(is_suspended=True)
    retired = card(learner, state=REVIEW, days_ago=9, interval=1).question
    retired.is_active = False
    retired.save()
    assert due_shown(learner, settings) == due_counted(learner, settings) == (6, 6)
    grade(learner, settings, overdue[0].id, rating=3)  # scheduled days ahead: no longer due
    grade(learner, settings, learning[0].id, rating=1)  # again in minutes: still due
    grade(learner, settings, new.id, rating=1)  # learning, due in a minute: due today
    grade(learner, settings, later.id, rating=1, now=NOW + dt.timedelta(minutes=5))  # a lapse
    with CaptureQueriesContext(connection) as reads:
        kept = tally.tallies(learner, settings, NOW)
    assert len(reads) == 1  # kept through the grades, not counted again
    assert tally.due_today(kept) == due_counted(learner, settings)[0] == 7
    reviews.bury(Card.objects.get(id=overdue[1].id), settings=settings, now=NOW)
    assert due_shown(learner, settings) == due_counted(learner, settings) == (6, 7)
    reviews.suspend(Card.objects.get(id=overdue[2].id))
    assert due_shown(learner, settings) == due_counted(learner, settings) == (5, 6)
    assert figures(learner, settings) == counted_afresh(learner, settings)
    # The next study day: the burial is over.
    tomorrow = NOW + DAY
    due_tomorrow, scheduled_tomorrow = due_counted(learner, settings, tomorrow)
    assert due_shown(learner, settings, tomorrow) == (due_tomorrow, scheduled_tomorrow)
    assert due_tomorrow == scheduled_tomorrow


# --- the least recalled cards --------------------------------------------------------------


def many(user, n):
    """n answered review cards of varied recall, a few tied."""
    return [card(user, state=REVIEW, days_ago=1 + i % 17, stability=1.0 + (i * 7) % 23,
                 lapses=i % 4) for i in range(n)]  # fmt: skip


def test_the_list_outlasts_grades_of_its_cards(learner, settings):
    many(learner, tally.LISTED + 20)
    first = least(learner, settings)
    made = LeastRecalled.objects.get(user=learner).card_ids
    for i, card_id in enumerate(first[:4]):  # the four least recalled are answered
        grade(learner, settings, card_id, now=NOW + i * dt.timedelta(minutes=1))
    with CaptureQueriesContext(connection) as queries:
        kept = least(learner, settings)
    assert len(queries) == 3  # the list, the tallies, the listed cards: no full pass
    assert LeastRecalled.objects.get(user=learner).card_ids == made
    assert kept[:6] == first[4:10] and not set(kept) & set(first[:4])
    assert kept == listed_afresh(learner, settings)


def test_the_list_is_made_again_when_too_few_of_its_cards_are_left(learner, settings):
    many(learner, tally.LISTED + 20)
    listed = LeastRecalled.objects.get(user=learner).card_ids if least(learner, settings) else []
    for i, card_id in enumerate(listed[:-5]):
        grade(learner, settings, card_id, now=NOW + i * dt.timedelta(seconds=1))
    kept = least(learner, settings)
    assert LeastRecalled.objects.get(user=learner).card_ids != listed  # listed afresh
    assert kept == listed_afresh(learner, settings)


def test_a_list_of_every_answered_card_takes_in_a_card_answered_since(learner, settings):
    cards = [card(learner, state=REVIEW, days_ago=d, stability=2.0) for d in (1, 4, 9)]
    new = card(learner, state=NEW)
    assert least(learner, settings) == [cards[2].id, cards[1].id, cards[0].id]
    grade(learner, settings, new.id)
    kept = least(learner, settings)
    assert kept == listed_afresh(learner, settings)
    assert new.id in kept


def test_a_day_longer_than_24_hours_is_listed_afresh(learner):
    """New York's clocks go back on 3 November 2024: that study day has 25 hours, and a card
    answered in its first hour is a day old at its end."""
    settings = LearnerSettingsFactory(user=learner, time_zone="America/New_York", day_starts_at=4)
    now = dt.datetime(2024, 11, 3, 8, 30, tzinfo=UTC)  # 04:30 EDT, the day's first hour
    assert tally.as_of(settings, now) - dt.timedelta(hours=25) <= now
    cards = [card(learner, state=REVIEW, days_ago=1 + i, stability=1.0 + i) for i in range(14)]
    least(learner, settings, now, limit=3)
    grade(learner, settings, cards[0].id, rating=1, now=now)
    later = now + dt.timedelta(hours=3)
    assert least(learner, settings, later, limit=3) == listed_afresh(learner, settings, later, 3)


def test_an_edit_of_a_question_that_moves_no_card_leaves_the_figures(learner, other_learner):
    settings = LearnerSettingsFactory(user=learner, time_zone="UTC", day_starts_at=4)
    cards = collection(learner, 4)
    other = card(other_learner, state=NEW)
    figures(learner, settings)
    counted_at = set(Tally.objects.filter(user=learner).values_list("as_of", flat=True))
    question = cards[2].question
    question.prompt = "Reworded?"
    question.save()
    assert set(Tally.objects.filter(user=learner).values_list("as_of", flat=True)) == counted_at
    # Moving another learner's card counts only theirs again.
    moved = other.question
    moved.deck = DeckFactory()
    moved.save()
    assert set(Tally.objects.filter(user=learner).values_list("as_of", flat=True)) == counted_at
    assert set(Tally.objects.filter(user=other_learner).values_list("as_of", flat=True)) == {None}


@pytest.mark.django_db(transaction=True)
def test_the_migration_makes_a_tally_row_for_each_pair_with_cards(learner, other_learner):
    from django.db.migrations.executor import MigrationExecutor

    made = [card(learner, state=REVIEW), card(learner, state=NEW), card(other_learner, state=NEW)]
    executor = MigrationExecutor(connection)
    executor.migrate([("studyapp", "0009_fewer_indexes")])
    executor.loader.build_graph()
    executor.migrate([("studyapp", "0010_tallies")])
    pairs = set(Tally.objects.values_list("user_id", "deck_id", "source_id", "as_of"))
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert pairs == {(c.user_id, c.deck_id, c.source_id, None) for c in made}


@pytest.mark.django_db(transaction=True)
def test_the_migration_of_the_due_figures_has_every_tally_counted_again(learner, settings):
    from django.db.migrations.executor import MigrationExecutor

    card(learner, state=REVIEW, days_ago=10, interval=2)
    figures(learner, settings)
    executor = MigrationExecutor(connection)
    executor.migrate([("studyapp", "0010_tallies")])
    assert set(Tally.objects.values_list("as_of", flat=True)) == {tally.as_of(settings, NOW)}
    executor.loader.build_graph()
    executor.migrate([("studyapp", "0011_tally_due")])
    assert set(Tally.objects.values_list("as_of", flat=True)) == {None}
    assert figures(learner, settings) == counted_afresh(learner, settings)


def test_a_deck_whose_cards_are_all_retired_leaves_mastery(learner, settings):
    deck = DeckFactory()
    retired = card(learner, deck, state=REVIEW)
    kept = card(learner, state=REVIEW)
    assert {m.slug for m in stats.mastery(user=learner, settings=settings, now=NOW, by="deck")} == {
        deck.slug,
        kept.deck.slug,
    }
    question = retired.question
    question.is_active = False
    question.save()
    rows = stats.mastery(user=learner, settings=settings, now=NOW, by="deck")
    assert [m.slug for m in rows] == [kept.deck.slug]
