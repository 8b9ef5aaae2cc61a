"""A whole study session, by keyboard, by mouse and without JavaScript.

The bank has five new cards, studied in id order: flashcard, multiple choice, true/false, typed,
cloze. Right answers are graded Easy, so they leave today's queue; the typed answer is wrong
first (Again, due again in a minute), so it comes back after the cloze (learn-ahead), then is a
near miss (Again), then right. Seven answers in all.
"""

import re

import pytest
from playwright.sync_api import expect

from studyapp.models import Kind, Review

from .conftest import (
    STAGE,
    answer_with_mouse,
    grade_with_mouse,
    log_in,
    prompt_of,
    response_for,
    wait_stage,
    walk_session,
)

pytestmark = pytest.mark.e2e


def grade_button(page, label: str):
    return page.locator(f"{STAGE} .grades").get_by_role("button", name=re.compile(rf"\b{label}\b"))


def grade_buttons(page) -> list[str]:
    return [
        " ".join(text.split()) for text in page.locator(f"{STAGE} .grades button").all_inner_texts()
    ]


def expect_feedback(page, question, verdict: str | None):
    """The feedback shows the verdict, the answer, the explanation and the source sentence."""
    card = wait_stage(page, "feedback")
    expect(card.locator(".prompt")).to_have_text(question.prompt)
    if verdict is None:
        expect(card.locator(".verdict")).to_have_count(0)
    else:
        expect(card.locator(".verdict")).to_contain_text(verdict)
    expect(card.locator(".answer")).to_have_text(f"Answer: {question.answer}")
    expect(card.locator(".explanation")).to_have_text(question.explanation)
    expect(card.locator("blockquote")).to_have_text(question.source_quote)
    source_link = card.locator("figcaption a")
    expect(source_link).to_have_text(question.source.display_title)
    expect(source_link).to_have_attribute(
        "href", f"/sources/{question.source.slug}/#q-{question.uid}"
    )
    return card


def expect_question(page, question):
    card = wait_stage(page, "question")
    expect(card.locator(".prompt")).to_have_text(question.prompt)
    return card


def expect_counters(page, left: int, done: int):
    expect(page.locator("#counters")).to_contain_text(re.compile(rf"{left}\s+left"))
    expect(page.locator("#counters")).to_contain_text(re.compile(rf"{done}\s+done today"))


def test_a_session_with_the_keyboard_only(page, bank):
    q = bank.questions
    keys = page.keyboard
    page.goto("/study/")
    expect(page.get_by_role("heading", level=1)).to_have_text("All decks")
    expect_counters(page, 5, 0)

    # Flashcard: space shows the answer; any of the four grades; Good has the focus.
    expect_question(page, q[Kind.FLASHCARD])
    expect(page.get_by_role("button", name="Show answer")).to_be_focused()
    keys.press("Space")
    expect_feedback(page, q[Kind.FLASHCARD], None)
    assert [b.split()[:2] for b in grade_buttons(page)] == [
        ["1", "Again"], ["2", "Hard"], ["3", "Good"], ["4", "Easy"]
    ]  # fmt: skip
    expect(grade_button(page, "Good")).to_be_focused()
    keys.press("4")

    # Multiple choice: b is the second option, the right one.
    card = expect_question(page, q[Kind.MULTIPLE_CHOICE])
    expect(card.locator(".options button")).to_have_text(
        ["a first", "b second", "c third", "d fourth"]
    )
    expect_counters(page, 4, 1)
    keys.press("b")
    card = expect_feedback(page, q[Kind.MULTIPLE_CHOICE], "Right")
    expect(card.locator(".response")).to_have_text("Your answer: second")
    assert [b.split()[:2] for b in grade_buttons(page)] == [
        ["2", "Hard"],
        ["3", "Good"],
        ["4", "Easy"],
    ]
    expect(grade_button(page, "Good")).to_be_focused()
    keys.press("4")

    # True or false: a is True.
    expect_question(page, q[Kind.TRUE_FALSE])
    keys.press("a")
    expect_feedback(page, q[Kind.TRUE_FALSE], "Right")
    keys.press("4")

    # Typed, wrong: only Again, and it has the focus.
    card = expect_question(page, q[Kind.TYPED])
    expect(card.get_by_role("textbox", name="Your answer")).to_be_focused()
    keys.type(response_for(q[Kind.TYPED], "wrong"))
    keys.press("Enter")
    card = expect_feedback(page, q[Kind.TYPED], "Not quite")
    expect(card.locator(".response")).to_have_text("Your answer: Guangdong")
    assert [b.split()[:2] for b in grade_buttons(page)] == [["1", "Again"]]
    expect(grade_button(page, "Again")).to_be_focused()
    keys.press("4")  # not offered: nothing happens
    expect(card).to_be_visible()
    keys.press("1")

    # Cloze, right.
    card = expect_question(page, q[Kind.CLOZE])
    expect(card.get_by_role("textbox", name="Fill the blank")).to_be_focused()
    expect_counters(page, 2, 4)  # the typed card is learning again, the cloze is new
    keys.type("breakthroughs")
    keys.press("Enter")
    expect_feedback(page, q[Kind.CLOZE], "Right")
    keys.press("4")

    # u takes the cloze's grade back: the cloze is on screen again and the counters go back.
    # The typed card now on screen has the focus in its field, where u is a letter: Escape
    # leaves the field first.
    card = expect_question(page, q[Kind.TYPED])
    expect_counters(page, 1, 5)
    field = card.get_by_role("textbox", name="Your answer")
    expect(field).to_be_focused()
    keys.press("u")
    expect(field).to_have_value("u")
    keys.press("Backspace")
    keys.press("Escape")
    expect(field).not_to_be_focused()
    keys.press("u")
    card = expect_question(page, q[Kind.CLOZE])
    expect_counters(page, 2, 4)
    expect(card.get_by_role("textbox")).to_be_focused()
    keys.type("breakthroughs")
    keys.press("Enter")
    expect_feedback(page, q[Kind.CLOZE], "Right")
    keys.press("4")

    # The typed card comes back: one letter off is a near miss, graded Again.
    card = expect_question(page, q[Kind.TYPED])
    expect(card.get_by_role("textbox")).to_be_focused()
    keys.type(response_for(q[Kind.TYPED], "near_miss"))
    keys.press("Enter")
    card = expect_feedback(page, q[Kind.TYPED], "Almost")
    expect(card.locator(".verdict")).to_contain_text("counted as wrong")
    assert [b.split()[:2] for b in grade_buttons(page)] == [["1", "Again"]]
    keys.press("1")

    # And then right, with an accepted form of the answer.
    card = expect_question(page, q[Kind.TYPED])
    expect(card.get_by_role("textbox")).to_be_focused()
    keys.type(response_for(q[Kind.TYPED], "right"))
    keys.press("Enter")
    card = expect_feedback(page, q[Kind.TYPED], "Right")
    expect(card.locator(".response")).to_have_text("Your answer: jiangsu province")
    keys.press("4")

    # The summary.
    done = wait_stage(page, "done")
    expect(done.get_by_role("heading")).to_have_text("Session complete")
    expect(done.locator(".summary")).to_contain_text(re.compile(r"Cards studied\s*7"))
    expect(done.locator(".summary")).to_contain_text(re.compile(r"Right answers\s*5"))
    expect(done.get_by_role("link", name="Practice now")).to_be_focused()
    expect_counters(page, 0, 7)
    assert Review.objects.count() == 7


def test_a_session_with_the_mouse_updates_counters_in_place(page, bank):
    q = bank.questions
    page.get_by_role("link", name="Study all decks").click()
    expect_counters(page, 5, 0)
    page.evaluate("window.__marker = 1")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    expect_question(page, q[Kind.FLASHCARD])
    answer_with_mouse(page, q[Kind.FLASHCARD])
    expect_feedback(page, q[Kind.FLASHCARD], None)
    grade_with_mouse(page, "Good")  # learning again in ten minutes
    expect_counters(page, 5, 1)

    expect_question(page, q[Kind.MULTIPLE_CHOICE])
    answer_with_mouse(page, q[Kind.MULTIPLE_CHOICE], "wrong")
    card = expect_feedback(page, q[Kind.MULTIPLE_CHOICE], "Not quite")
    expect(card.locator(".response")).to_have_text("Your answer: first")
    grade_with_mouse(page, "Again")
    expect_counters(page, 5, 2)

    expect_question(page, q[Kind.TRUE_FALSE])
    answer_with_mouse(page, q[Kind.TRUE_FALSE])
    expect_feedback(page, q[Kind.TRUE_FALSE], "Right")
    grade_with_mouse(page, "Easy")
    expect_counters(page, 4, 3)

    expect_question(page, q[Kind.TYPED])
    answer_with_mouse(page, q[Kind.TYPED], "near_miss")
    expect_feedback(page, q[Kind.TYPED], "Almost")
    grade_with_mouse(page, "Again")
    expect_counters(page, 4, 4)

    expect_question(page, q[Kind.CLOZE])
    answer_with_mouse(page, q[Kind.CLOZE])
    expect_feedback(page, q[Kind.CLOZE], "Right")
    grade_with_mouse(page, "Easy")
    expect_counters(page, 3, 5)

    # Undo with the button.
    page.get_by_role("button", name=re.compile("^Undo")).click()
    expect_question(page, q[Kind.CLOZE])
    expect_counters(page, 4, 4)
    answer_with_mouse(page, q[Kind.CLOZE])
    grade_with_mouse(page, "Easy")
    expect_counters(page, 3, 5)

    # Learning cards come back, earliest due first: the multiple choice and the typed
    # (a minute), then the flashcard (ten minutes). Right and Easy ends them all.
    seen = []
    while True:
        if wait_stage(page, "question", "done").get_attribute("data-stage") == "done":
            break
        question = bank.by_prompt(prompt_of(page))
        seen.append(question.kind)
        answer_with_mouse(page, question)
        expect_feedback(page, question, None if question.kind == Kind.FLASHCARD else "Right")
        grade_with_mouse(page, "Easy")
        assert len(seen) <= 3, seen
    assert seen == [Kind.MULTIPLE_CHOICE, Kind.TYPED, Kind.FLASHCARD]
    expect(page.locator(STAGE)).to_contain_text("Session complete")
    expect(page.locator(".summary")).to_contain_text(re.compile(r"Cards studied\s*8"))
    expect(page.locator(".summary")).to_contain_text(re.compile(r"Right answers\s*6"))
    expect_counters(page, 0, 8)

    # All of it happened in one page: no navigation, the page's own state survived.
    assert navigations == []
    assert page.evaluate("window.__marker") == 1


def test_without_javascript_a_card_is_answered_and_graded(open_page, bank, learner):
    q = bank.questions
    page = open_page(javascript=False, user=learner)
    page.goto("/study/")
    expect_counters(page, 5, 0)

    expect_question(page, q[Kind.FLASHCARD])
    page.get_by_role("button", name="Show answer").click()
    expect(page).to_have_url(re.compile(r"/card/\d+/reveal/\?"))
    expect_feedback(page, q[Kind.FLASHCARD], None)
    page.get_by_role("button", name=re.compile(r"\bEasy\b")).click()

    expect(page).to_have_url(re.compile(r"/study/\?continue=1$"))
    expect_question(page, q[Kind.MULTIPLE_CHOICE])
    expect_counters(page, 4, 1)
    page.get_by_role("button", name="b second").click()
    expect_feedback(page, q[Kind.MULTIPLE_CHOICE], "Right")
    page.get_by_role("button", name=re.compile(r"\bGood\b")).click()

    expect_question(page, q[Kind.TRUE_FALSE])
    expect_counters(page, 4, 2)  # the multiple choice is learning again, due in ten minutes
    page.get_by_role("button", name="b False").click()
    expect_feedback(page, q[Kind.TRUE_FALSE], "Not quite")
    page.get_by_role("button", name=re.compile(r"\bAgain\b")).click()

    expect_question(page, q[Kind.TYPED])
    page.get_by_role("textbox", name="Your answer").fill("Jiangsu")
    page.get_by_role("textbox", name="Your answer").press("Enter")
    expect_feedback(page, q[Kind.TYPED], "Right")
    page.get_by_role("button", name=re.compile(r"\bEasy\b")).click()

    expect_question(page, q[Kind.CLOZE])
    expect_counters(page, 3, 4)
    # Undo works too: the typed card is back.
    page.get_by_role("button", name=re.compile("^Undo")).click()
    expect_question(page, q[Kind.TYPED])
    expect_counters(page, 4, 3)
    assert Review.objects.count() == 3


def test_without_javascript_the_last_grade_shows_the_summary(open_page, bank, learner):
    """Each plain POST redirects to a full page load of the study page, which must go on with the
    same sitting (it once started a new one, and the summary said 'Nothing due')."""
    page = open_page(javascript=False, user=learner)
    page.goto("/study/?deck=definitions")  # flashcard, true/false, cloze
    for _ in range(3):
        question = bank.by_prompt(prompt_of(page))
        if question.kind == Kind.FLASHCARD:
            page.get_by_role("button", name="Show answer").click()
        elif question.kind == Kind.TRUE_FALSE:
            page.get_by_role("button", name="a True").click()
        else:
            page.get_by_role("textbox").fill(response_for(question, "right"))
            page.get_by_role("button", name="Check").click()
        wait_stage(page, "feedback")
        page.get_by_role("button", name=re.compile(r"\bEasy\b")).click()
    done = wait_stage(page, "done")
    assert Review.objects.count() == 3
    expect(done.get_by_role("heading")).to_have_text("Session complete")


def test_without_javascript_practice_moves_on(open_page, bank, learner):
    """Practice keeps the cards already practised in the sitting; the redirect after each grade
    must not forget them (it once did, and practice showed the first card forever)."""
    page = open_page(javascript=False, user=learner)
    q = bank.questions
    page.goto("/study/?practice=1")
    expect(page.get_by_role("heading", level=1)).to_have_text("Practice: All decks")
    expect_question(page, q[Kind.FLASHCARD])
    expect(page.locator("#counters")).to_contain_text(re.compile(r"5\s+left\s+0\s+practised"))
    states = walk_session(page, bank)
    assert states == [
        f"{stage}-{kind}" + ("-right" if stage == "feedback" else "")
        for kind in q
        for stage in ("question", "feedback")
    ] + ["done"]
    expect(page.locator("#counters")).to_contain_text(re.compile(r"0\s+left\s+5\s+practised"))
    done = wait_stage(page, "done")
    expect(done.get_by_role("heading")).to_have_text("Session complete")
    expect(done.locator(".summary")).to_contain_text(re.compile(r"Cards studied\s*5"))
    assert Review.objects.filter(is_practice=True).count() == 5


def test_log_in_and_out_without_javascript(open_page, live_server, learner, bank):
    page = open_page(javascript=False)
    log_in(page, live_server.url, learner)
    expect(page.get_by_role("heading", level=1)).to_have_text("Today")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
