"""In Chromium: no script runs from the bank's text or from what a visitor types, and the
Content-Security-Policy is never violated on any page.

The payload bank puts script and markup into every field (and the visitor types more into the
login, signup and answer fields). Each page is checked twice over: with the policy enforced, and
with Chromium told to ignore it (bypass_csp), so escaping alone must keep the payloads inert.
A payload that ran would set window.__xss or open an alert() dialog.

Every page of the ordinary bank (and the admin's) is walked with the policy on, listening for
`securitypolicyviolation` events and console errors: the app has no inline script or style for
the policy to refuse, and htmx injects none (base.html's htmx-config).
"""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from studyapp.models import Choice, Kind

from .conftest import (
    LEARNER_PAGES,
    PASSWORD,
    VISITOR_PAGES,
    DeckFactory,
    QuestionFactory,
    SourceFactory,
    log_in,
    visit_pages,
    visit_study,
    wait_stage,
)

pytestmark = pytest.mark.e2e

XSS = "window.__xss=1;alert(1)"
PAYLOADS = (
    f"<script>{XSS}</script>"
    f'"><img src=x onerror="{XSS}">'
    f"' autofocus onfocus='{XSS}' x='"
    f"<svg onload={XSS}>"
    "{{ 7*7 }}"
)

WATCH = """() => {
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__violations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')
      + ' (' + (e.sample || '') + ')');
  });
}"""


def payload(field: str) -> str:
    return f"{field}:{PAYLOADS}"


USERNAME = payload("u")[:150]  # the username fields' maxlength
DECK_NAME = payload("deck")[:100]  # Deck.name's max_length


class Watcher:
    """Listens on a page: alert dialogs, console errors, policy violations, window.__xss."""

    def __init__(self, page):
        self.page = page
        self.dialogs: list[str] = []
        self.console: list[str] = []
        self.found: dict[str, list[str]] = {}
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console.append(f"exception: {error}"))
        page.add_init_script(script=f"({WATCH})()")

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message):
        # Chromium reports a refused inline script or style here too. A response's 4xx status
        # (the lockout page's 429) is no error of the page's.
        if message.type in ("error", "warning") and not message.text.startswith(
            "Failed to load resource: the server responded with a status of 4"
        ):
            self.console.append(f"{message.type}: {message.text}")

    def check(self, page, name: str) -> None:
        """Called on every page and every study state."""
        problems = [f"alert({d!r})" for d in self.dialogs]
        if page.evaluate("typeof window.__xss") != "undefined":
            problems.append("window.__xss was set: a payload ran")
        problems += page.evaluate("(window.__violations || []).splice(0)")
        problems += self.console
        self.dialogs.clear()
        self.console.clear()
        self.found[name] = problems

    def assert_clean(self, expected: set[str] = frozenset()):
        missing = expected - set(self.found)
        assert not missing, f"pages not visited: {missing}"
        bad = {name: problems for name, problems in self.found.items() if problems}
        assert not bad, f"Scripts ran, or the policy was violated: {bad}"


@pytest.fixture
def new_page(browser, live_server) -> Callable:
    """A page in a new context, with or without the policy enforced, optionally logged in."""
    contexts = []

    def open_(*, user=None, bypass_csp=False):
        context = browser.new_context(base_url=live_server.url, bypass_csp=bypass_csp)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        watcher = Watcher(page)
        if user is not None:
            log_in(page, live_server.url, user)
        return page, watcher

    yield open_
    for context in contexts:
        context.close()


# --- The payload bank --------------------------------------------------------------------------

KINDS = [Kind.FLASHCARD, Kind.MULTIPLE_CHOICE, Kind.TRUE_FALSE, Kind.TYPED, Kind.CLOZE]


@pytest.fixture
def payload_bank(transactional_db):
    quote = payload("quote")
    source = SourceFactory(
        slug="payload-source",
        title=payload("title"),
        publisher=payload("publisher"),
        byline=payload("byline"),
        text=f"{payload('text')}\n\nQuoted: {quote}\n\nThe end.",
    )
    questions = {}
    for kind in KINDS:
        deck = DeckFactory(
            slug=f"deck-{kind}".replace("_", "-"),
            name=DECK_NAME,
            description=payload("description"),
        )
        fields = {
            "uid": f"payload-{kind}".replace("_", "-"),
            "deck": deck,
            "source": source,
            "kind": kind,
            "prompt": payload("prompt") + (" ____" if kind == Kind.CLOZE else ""),
            "answer": "True" if kind == Kind.TRUE_FALSE else payload("answer"),
            "accepted_answers": [payload("accepted")] if kind == Kind.TYPED else [],
            "explanation": payload("explanation"),
            "source_quote": quote,
            "tags": payload("tags"),
        }
        questions[kind] = QuestionFactory(**fields)
        if kind == Kind.MULTIPLE_CHOICE:
            Choice.objects.create(question=questions[kind], position=1, text=payload("wrong"))
            Choice.objects.create(
                question=questions[kind], position=2, text=payload("answer"), is_correct=True
            )
    DeckFactory(slug="deck-empty", name=DECK_NAME)
    return questions


def answer_and_grade(page, kind: str, check) -> None:
    """Answer the card on the stage (typing a payload where there is a field) and grade it."""
    stage = page.locator("#stage")
    if kind == Kind.FLASHCARD:
        stage.get_by_role("button", name="Show answer").click()
    elif kind in (Kind.MULTIPLE_CHOICE, Kind.TRUE_FALSE):
        stage.locator("button[name=response]").first.click()
    else:
        stage.get_by_role("textbox").fill(payload("response"))
        stage.get_by_role("button", name="Check").click()
    wait_stage(page, "feedback")
    expect(stage.locator(".explanation")).to_contain_text("<script>")  # shown as text
    check(page, f"feedback-{kind}")
    stage.locator("button[name=rating]").first.click()
    wait_stage(page, "question", "done")
    check(page, f"after-grade-{kind}")


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["policy", "escaping-only"])
def test_payloads_never_run(new_page, payload_bank, learner, staff, bypass_csp):
    # A visitor types payloads at login (up to the lockout page) and at signup.
    page, watcher = new_page(bypass_csp=bypass_csp)
    page.goto("/accounts/login/")
    for attempt in range(5):
        page.get_by_label("Username").fill(USERNAME)
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        watcher.check(page, f"login-{attempt}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Too many failed logins")
    expect(page.locator("main")).to_contain_text(USERNAME)
    page.goto("/signup/")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label(re.compile(r"^Password:?$")).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_load_state()
    expect(page.get_by_label("Username")).to_have_value(USERNAME)
    watcher.check(page, "signup")
    watcher.assert_clean({"login-4", "signup"})

    # The learner studies every kind, typing payloads as answers.
    page, watcher = new_page(user=learner, bypass_csp=bypass_csp)
    watcher.check(page, "dashboard")
    for kind, question in payload_bank.items():
        page.goto(f"/study/?deck={question.deck.slug}")
        wait_stage(page, "question")
        expect(page.locator("#stage .prompt")).to_have_text(question.prompt)
        watcher.check(page, f"question-{kind}")
        answer_and_grade(page, kind, watcher.check)
    page.goto("/study/?deck=deck-empty")
    wait_stage(page, "done")
    watcher.check(page, "done")
    for name, url in {"sources": "/sources/", "reader": "/sources/payload-source/",
                      "progress": "/progress/"}.items():  # fmt: skip
        page.goto(url)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        watcher.check(page, name)
    watcher.assert_clean({"dashboard", "feedback-typed", "done", "reader", "progress"})

    # Staff reads it all in the admin.
    page, watcher = new_page(user=staff, bypass_csp=bypass_csp)
    typed = payload_bank[Kind.TYPED]
    choice = payload_bank[Kind.MULTIPLE_CHOICE]
    for url in [
        "/admin/studyapp/question/",
        f"/admin/studyapp/question/{typed.pk}/change/",
        f"/admin/studyapp/question/{choice.pk}/change/",
        "/admin/studyapp/source/",
        f"/admin/studyapp/source/{typed.source.pk}/change/",
        "/admin/studyapp/deck/",
        f"/admin/studyapp/deck/{typed.deck.pk}/change/",
        "/admin/studyapp/review/",
        "/admin/studyapp/card/",
    ]:
        assert page.goto(url).ok, url
        watcher.check(page, url)
    watcher.assert_clean()


# --- The policy on every page of the ordinary bank --------------------------------------------


def test_no_page_violates_the_policy(new_page, bank, learner, staff):
    page, watcher = new_page()
    visit_pages(page, VISITOR_PAGES, watcher.check)
    watcher.assert_clean({"login", "signup"})
    page, watcher = new_page(user=learner)
    visit_pages(page, LEARNER_PAGES | {"progress": "/progress/"}, watcher.check)
    visit_study(page, bank, watcher.check)
    # Undo: one more HTMX swap.
    page.keyboard.press("u")
    wait_stage(page, "question")
    watcher.check(page, "after-undo")
    watcher.assert_clean({"dashboard", "progress", "done", "after-undo"})

    page, watcher = new_page(user=staff)
    question = bank.questions[Kind.MULTIPLE_CHOICE]
    urls = ["/admin/", "/admin/studyapp/", "/admin/password_change/"]
    for model in ("question", "source", "deck", "card", "review", "learnersettings"):
        urls.append(f"/admin/studyapp/{model}/")
    urls += [
        "/admin/studyapp/question/add/",
        f"/admin/studyapp/question/{question.pk}/change/",
        f"/admin/studyapp/deck/{question.deck.pk}/change/",
        f"/admin/studyapp/source/{question.source.pk}/change/",
        "/admin/auth/user/",
    ]
    for url in urls:
        assert page.goto(url).ok, url
        watcher.check(page, url)
    # The question form's inline "Add another Choice" row is built by the admin's scripts.
    page.goto(f"/admin/studyapp/question/{question.pk}/change/")
    rows = page.locator("tr.dynamic-choices")
    count = rows.count()
    page.locator(".add-row a.addlink").click()
    expect(rows).to_have_count(count + 1)
    watcher.check(page, "admin inline row")
    watcher.assert_clean()


def test_the_policy_is_enforced_in_the_browser(new_page, bank, learner):
    """The watcher sees a violation when there is one, and an injected handler doesn't run: the
    policy would stop a payload even if escaping failed."""
    page, watcher = new_page(user=learner)
    page.evaluate(
        """() => document.body.insertAdjacentHTML('beforeend',
             '<style>body{}</style><img src="/static/none.png" onerror="window.__xss=1">')"""
    )
    page.wait_for_timeout(300)
    watcher.check(page, "injected")
    problems = " ".join(watcher.found["injected"])
    assert "style-src" in problems and "script-src" in problems, problems
    assert "window.__xss was set" not in problems
