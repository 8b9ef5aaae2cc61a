"""How long a grade takes to bring the next card, measured in the browser over 30 flashcards.

Figures are printed (run with -s) and written to tests/e2e/artifacts/timing.json; no bound is
asserted, since a shared CI machine's wall clock proves nothing.
"""

import statistics

import pytest
from playwright.sync_api import expect

from studyapp.models import Kind, Review
from tests.factories import DeckFactory, QuestionFactory, SourceFactory

from .conftest import STAGE, wait_stage, write_artifact

pytestmark = pytest.mark.e2e

CARDS = 30

# The grade key's keydown (capture phase, before keys.js clicks) starts the clock; the first
# animation frame after the next card is in #stage stops it.
INSTRUMENT = """() => {
  window.__gradeTimes = [];
  window.__t0 = null;
  document.addEventListener('keydown', e => {
    if ('1234'.includes(e.key)) window.__t0 = performance.now();
  }, true);
  new MutationObserver(() => {
    if (window.__t0 === null) return;
    const next = document.querySelector('#stage article[data-stage="question"], #stage article[data-stage="done"]');
    if (!next) return;
    const t0 = window.__t0;
    window.__t0 = null;
    requestAnimationFrame(() => window.__gradeTimes.push(performance.now() - t0));
  }).observe(document.getElementById('stage'), {childList: true, subtree: true});
}"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def test_grade_to_next_card_over_30_cards(page, learner, roomy_settings):
    deck = bank_of_flashcards()
    page.goto(f"/study/?deck={deck.slug}")
    expect(page.locator("#counters")).to_contain_text(f"{CARDS} left")
    page.evaluate(INSTRUMENT)
    prompts = []
    for n in range(1, CARDS + 1):
        card = wait_stage(page, "question")
        prompts.append(card.locator(".prompt").inner_text())
        page.keyboard.press("Space")
        wait_stage(page, "feedback")
        page.keyboard.press("4")
        # A function, not an expression: Playwright evals an expression string in the page,
        # which the Content-Security-Policy (no 'unsafe-eval') refuses.
        page.wait_for_function("n => window.__gradeTimes.length >= n", arg=n)
    wait_stage(page, "done")
    expect(page.locator(STAGE)).to_contain_text(f"Cards studied\n{CARDS}", use_inner_text=True)

    times = page.evaluate("window.__gradeTimes")
    assert len(times) == CARDS
    assert len(set(prompts)) == CARDS
    assert Review.objects.filter(user=learner, card__question__deck=deck).count() == CARDS
    figures = {
        "cards": CARDS,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "max_ms": round(max(times), 1),
        "mean_ms": round(statistics.fmean(times), 1),
        "all_ms": [round(t, 1) for t in times],
    }
    write_artifact("timing.json", figures)
    print(
        f"\ngrade key to next card over {CARDS} cards: p50 {figures['p50_ms']} ms, "
        f"p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms"
    )


def bank_of_flashcards():
    deck = DeckFactory(slug="timing", name="Timing")
    source = SourceFactory(slug="timing-source")
    for n in range(CARDS):
        QuestionFactory(
            uid=f"timing-{n:02d}",
            deck=deck,
            source=source,
            kind=Kind.FLASHCARD,
            prompt=f"Timing card {n:02d}: what drives new quality productive forces?",
            answer="Revolutionary technological breakthroughs",
            accepted_answers=[],
            source_quote="New quality productive forces are driven by revolutionary technological breakthroughs.",
        )
    return deck
