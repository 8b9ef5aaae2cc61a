"""Browser tests: Debian's Chromium driven by Playwright's sync API against pytest-django's
live server.

Playwright's sync API runs an event loop in the test thread, which makes Django refuse ORM calls
from it ("you cannot call this from an async context"): the tests build their data with the
factories in that same thread, so the guard is switched off for the e2e run.

When Chromium is missing every test here is skipped and the terminal summary says so.
"""

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import expect

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from studyapp.models import Kind, Question
from tests.factories import (
    PASSWORD,
    SOURCE_TEXT,
    DeckFactory,
    LearnerSettingsFactory,
    QuestionFactory,
    SourceFactory,
    multiple_choice,
)

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
# STUDYAPP_CHROMIUM points the tests at another build (or at nothing, to see the skip).
CHROMIUM = Path(os.environ.get("STUDYAPP_CHROMIUM", "/usr/bin/chromium"))
NO_CHROMIUM = "Chromium is not installed (apt-get install chromium): browser tests skipped"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDE, NARROW = 1280, 375
SCHEMES = ("light", "dark")
_SKIPPED_KEY = pytest.StashKey[int]()


# --- Skipping without Chromium -----------------------------------------------------------------


def _is_e2e(item) -> bool:
    return HERE in Path(str(item.path)).resolve().parents


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skipped = 0
    for item in items:
        if _is_e2e(item):
            item.add_marker(pytest.mark.skip(reason=NO_CHROMIUM))
            skipped += 1
    config.stash[_SKIPPED_KEY] = skipped


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = config.stash.get(_SKIPPED_KEY, 0)
    if skipped:
        terminalreporter.write_line(f"{NO_CHROMIUM} ({skipped} tests)")


# --- The browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# --- The bank ----------------------------------------------------------------------------------


@dataclass
class Bank:
    """One question of each kind over two decks and two documents, and how to answer each."""

    decks: list
    sources: list
    questions: dict[str, Question] = field(default_factory=dict)  # by kind

    def by_prompt(self, prompt: str) -> Question:
        prompt = " ".join(prompt.split())
        for question in self.questions.values():
            if " ".join(question.prompt.split()) == prompt:
                return question
        return Question.objects.get(prompt=prompt)


# Typed answers the tests give, by outcome.
TYPED_RESPONSES = {"right": "jiangsu province", "wrong": "Guangdong", "near_miss": "Jiangsy"}
CLOZE_RESPONSES = {"right": "breakthroughs", "wrong": "markets", "near_miss": "breakthroughz"}


def quote(source, sentence: str) -> str:
    assert sentence in source.text, f"{sentence!r} is not in {source.slug}"
    return sentence


@pytest.fixture
def bank(transactional_db) -> Bank:
    concepts = DeckFactory(
        slug="definitions",
        name="Definitions",
        description="What the term means and where it comes from.",
    )
    figures = DeckFactory(
        slug="provincial-targets",
        name="Provincial targets",
        description="Numbers from the provincial reports.",
    )
    report = SourceFactory(slug="jiangsu-report", title="Jiangsu's economy in 2023")
    second = SourceFactory(
        slug="untitled-brief",
        title="",
        publisher="State Council Information Office",
        text=SOURCE_TEXT + "\n\nA second paragraph about digital infrastructure and AI.",
    )
    bank = Bank(decks=[concepts, figures], sources=[report, second])
    q = bank.questions
    # Created in study order: new cards come in id order.
    q[Kind.FLASHCARD] = QuestionFactory(
        uid="fc-drivers",
        deck=concepts,
        source=report,
        kind=Kind.FLASHCARD,
        prompt="What drives new quality productive forces?",
        answer="Revolutionary technological breakthroughs",
        accepted_answers=[],
        explanation="The report names technological breakthroughs as the driver.",
        source_quote=quote(
            report,
            "New quality productive forces are driven by revolutionary technological breakthroughs.",
        ),
    )
    q[Kind.MULTIPLE_CHOICE] = multiple_choice(
        uid="mc-order",
        deck=figures,
        source=report,
        prompt="Which option is the right one in this test bank?",
        accepted_answers=[],
        explanation="The factory makes the second option right.",
        source_quote=quote(report, "ranking second in China"),
    )
    q[Kind.TRUE_FALSE] = QuestionFactory(
        uid="tf-first-put-forward",
        deck=concepts,
        source=second,
        kind=Kind.TRUE_FALSE,
        prompt="True or false: the term was first put forward in September 2023.",
        answer="True",
        accepted_answers=[],
        explanation="It was first put forward in September 2023.",
        source_quote=quote(second, "The term was first put forward in September 2023."),
    )
    q[Kind.TYPED] = QuestionFactory(
        uid="typed-second-province",
        deck=figures,
        source=report,
        kind=Kind.TYPED,
        prompt="Which province's GDP ranked second in China last year?",
        answer="Jiangsu",
        accepted_answers=["Jiangsu Province"],
        explanation="Jiangsu's GDP of 12.82 trillion yuan ranked second in China.",
        source_quote=quote(
            report,
            "Jiangsu's GDP reached 12.82 trillion yuan ($1.78 trillion) last year, ranking second in China.",
        ),
    )
    q[Kind.CLOZE] = QuestionFactory(
        uid="cloze-driven-by",
        deck=concepts,
        source=report,
        kind=Kind.CLOZE,
        prompt="New quality productive forces are driven by revolutionary technological ____.",
        answer="breakthroughs",
        accepted_answers=[],
        explanation="The sentence ends with 'breakthroughs'.",
        source_quote=quote(
            report,
            "New quality productive forces are driven by revolutionary technological breakthroughs.",
        ),
    )
    return bank


# --- Pages -------------------------------------------------------------------------------------


def log_in(page, base_url: str, user) -> None:
    """Through the real login form."""
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")


@pytest.fixture
def open_page(browser, live_server) -> Iterator[Callable]:
    """Open a page in a new context: open_page(width=1280, scheme="light", javascript=True,
    user=None). With a user, it is logged in through the login form. JavaScript errors on
    any page fail the test."""
    contexts, errors = [], []

    def open_(*, width=WIDE, height=800, scheme="light", javascript=True, user=None):
        context = browser.new_context(
            viewport={"width": width, "height": height},
            color_scheme=scheme,
            java_script_enabled=javascript,
            base_url=live_server.url,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        if user is not None:
            log_in(page, live_server.url, user)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def page(open_page, live_server, bank, learner):
    """A learner logged in through the login form, on the dashboard, with the five-question bank."""
    return open_page(user=learner)


# --- Study-page helpers ------------------------------------------------------------------------

STAGE = "#stage article[data-stage]"


def stage_name(page) -> str:
    return page.locator(STAGE).get_attribute("data-stage")


def wait_stage(page, *names: str):
    """Wait until the stage shows one of `names`, settled (HTMX has wired up the new content
    and moved the focus), and return its article."""
    selector = ", ".join(
        f'#stage:not(.htmx-settling) article[data-stage="{name}"]' for name in names
    )
    article = page.locator(selector)
    article.wait_for(state="visible")
    return article


def prompt_of(page) -> str:
    return page.locator(f"{STAGE} .prompt").inner_text()


def counters(page) -> tuple[int, int]:
    """(left, done) as the counters show them."""
    text = page.locator("#counters").inner_text()
    left = re.search(r"(\d+)\s+left", text)
    done = re.search(r"(\d+)\s+(?:done today|practised)", text)
    assert left and done, f"unexpected counters: {text!r}"
    return int(left[1]), int(done[1])


def response_for(question: Question, outcome: str) -> str:
    if question.kind == Kind.TYPED:
        return TYPED_RESPONSES[outcome]
    if question.kind == Kind.CLOZE:
        return CLOZE_RESPONSES[outcome]
    raise ValueError(question.kind)


def choice_label(question: Question, outcome: str) -> str:
    """The visible text of the option to pick for a choice question."""
    if question.kind == Kind.TRUE_FALSE:
        right = question.answer
        return right if outcome == "right" else ("False" if right == "True" else "True")
    choices = list(question.choices.order_by("position"))
    return next(c.text for c in choices if c.is_correct == (outcome == "right"))


def answer_with_mouse(page, question: Question, outcome: str = "right") -> None:
    """Answer the question on screen by pointing and clicking (and typing into the field)."""
    card = page.locator(STAGE)
    if question.kind == Kind.FLASHCARD:
        card.get_by_role("button", name="Show answer").click()
    elif question.kind in (Kind.MULTIPLE_CHOICE, Kind.TRUE_FALSE):
        label = choice_label(question, outcome)
        card.get_by_role("button", name=re.compile(rf"^\s*\w\s+{re.escape(label)}\s*$")).click()
    else:
        field = card.get_by_role("textbox")
        field.click()
        field.fill(response_for(question, outcome))
        card.get_by_role("button", name="Check").click()
    wait_stage(page, "feedback")


def grade_with_mouse(page, label: str) -> None:
    page.locator(STAGE).get_by_role("button", name=re.compile(rf"\b{label}\b")).click()
    wait_stage(page, "question", "done")


def walk_session(
    page,
    bank: Bank,
    *,
    visit: Callable[[object, str], None] = lambda page, state: None,
    typed_plan=("right",),
    limit: int = 20,
) -> list[str]:
    """Go through the study page with the mouse until it is done, answering right (Easy) except
    the typed question, which follows `typed_plan` (e.g. wrong, near_miss, right). `visit(page,
    state)` is called on every state shown: question-<kind>, feedback-<kind>-<outcome>, done.
    Returns the states in order."""
    plan = list(typed_plan)
    states = []
    for _ in range(limit):
        wait_stage(page, "question", "done")
        if stage_name(page) == "done":
            states.append("done")
            visit(page, "done")
            return states
        question = bank.by_prompt(prompt_of(page))
        states.append(f"question-{question.kind}")
        visit(page, states[-1])
        outcome = (plan.pop(0) if plan else "right") if question.kind == Kind.TYPED else "right"
        answer_with_mouse(page, question, outcome)
        states.append(f"feedback-{question.kind}-{outcome}")
        visit(page, states[-1])
        grade_with_mouse(page, "Easy" if outcome == "right" else "Again")
    raise AssertionError(f"The session did not end after {limit} cards: {states}")


# --- Every page and every state --------------------------------------------------------------

# Pages of a logged-in learner, and of a visitor.
LEARNER_PAGES = {
    "dashboard": "/",
    "sources": "/sources/",
    "source": "/sources/jiangsu-report/",
    "untitled-source": "/sources/untitled-brief/",
    "settings": "/settings/",
}
VISITOR_PAGES = {"login": "/accounts/login/", "signup": "/signup/"}
ALL_STUDY_STATES = {
    "question-flashcard", "feedback-flashcard-right",
    "question-multiple_choice", "feedback-multiple_choice-right",
    "question-true_false", "feedback-true_false-right",
    "question-typed", "feedback-typed-wrong", "feedback-typed-near_miss", "feedback-typed-right",
    "question-cloze", "feedback-cloze-right",
    "done",
}  # fmt: skip
TYPED_PLAN = ("wrong", "near_miss", "right")


def visit_pages(page, pages: dict, check) -> None:
    for name, url in pages.items():
        response = page.goto(url)
        assert response.ok, f"{url}: {response.status}"
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        check(page, name)


def visit_study(page, bank, check) -> None:
    page.goto("/study/")
    states = walk_session(page, bank, visit=check, typed_plan=TYPED_PLAN)
    assert set(states) == ALL_STUDY_STATES


# --- Layout and colour checks ------------------------------------------------------------------

OVERFLOW_JS = """() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  const clipped = el => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    }
    return false;
  };
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (typeof el.className === 'string' && el.className ? '.' + el.className.split(' ').join('.') : '');
  const wide = [...document.querySelectorAll('body *')].filter(el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.right > width + 1 && !clipped(el) && !el.closest('.visually-hidden, .skip');
  }).slice(0, 8).map(el => name(el) + ' right=' + Math.round(el.getBoundingClientRect().right));
  return {scrollWidth: root.scrollWidth, clientWidth: width, wide};
}"""

UNREACHABLE_JS = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('button, a.button, input[type=submit]')].filter(el => {
    if (el.closest('.visually-hidden')) return false;
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    const hidden = r.width === 0 || r.height === 0 || style.visibility === 'hidden';
    return hidden || r.left < 0 || r.right > width + 0.5;
  }).map(el => el.textContent.trim().replace(/\\s+/g, ' ') + ' ['
    + Math.round(el.getBoundingClientRect().left) + ', '
    + Math.round(el.getBoundingClientRect().right) + ']');
}"""


def assert_fits(page, where: str) -> None:
    """No horizontal scrolling, and every button visible within the viewport's width."""
    found = page.evaluate(OVERFLOW_JS)
    assert found["scrollWidth"] <= found["clientWidth"], f"{where} scrolls sideways: {found}"
    unreachable = page.evaluate(UNREACHABLE_JS)
    assert not unreachable, f"{where}: buttons hidden or outside the viewport: {unreachable}"


def luminance(css_colour: str) -> float:
    """WCAG relative luminance of a computed rgb()/rgba() colour."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", css_colour)[:3]]
    assert len(numbers) == 3, css_colour

    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = map(channel, numbers)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def body_colours(page) -> tuple[str, str]:
    return tuple(
        page.evaluate(
            "() => { const s = getComputedStyle(document.body); return [s.backgroundColor, s.color]; }"
        )
    )


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def write_artifact(name: str, data) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


@pytest.fixture
def roomy_settings(learner):
    """Enough new cards a day for a long session."""
    settings = LearnerSettingsFactory(user=learner)
    settings.new_per_day = 200
    settings.save()
    return settings
