"""Layout at 375 px, the dark colour scheme, and screenshots of the main states."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import (
    LEARNER_PAGES,
    NARROW,
    SCHEMES,
    VISITOR_PAGES,
    WIDE,
    assert_fits,
    body_colours,
    contrast,
    luminance,
    screenshot,
    visit_pages,
    visit_study,
)

pytestmark = pytest.mark.e2e


def test_no_sideways_scrolling_at_375px(open_page, bank, learner):
    checked = []

    def check(page, name):
        assert_fits(page, name)
        checked.append(name)

    visit_pages(open_page(width=NARROW), VISITOR_PAGES, check)
    page = open_page(width=NARROW, user=learner)
    visit_pages(page, LEARNER_PAGES, check)
    visit_study(page, bank, check)
    assert {"login", "signup", "dashboard", "sources", "source", "settings", "done"} <= set(checked)


def test_375px_navigation_and_actions_are_reachable(open_page, bank, learner):
    page = open_page(width=NARROW, user=learner)
    nav = page.get_by_role("navigation", name="Main")
    for name in ["Decks", "Study", "Documents", "Settings"]:
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_in_viewport()
    expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()
    for deck in ["Definitions", "Provincial targets"]:
        for action in ["Study", "Practice"]:
            link = page.get_by_role("link", name=f"{action} {deck}")
            link.scroll_into_view_if_needed()
            expect(link).to_be_in_viewport()
    page.get_by_role("link", name="Study Provincial targets").click()
    expect(page.get_by_role("button", name="b second")).to_be_in_viewport()


def test_dark_scheme_is_dark_and_readable(open_page, bank, learner):
    seen = []

    def check(page, name):
        background, text = body_colours(page)
        assert luminance(background) < 0.05, f"{name}: body background {background} is not dark"
        assert luminance(text) > 0.6, f"{name}: body text {text} is not light"
        assert contrast(background, text) >= 7, f"{name}: {text} on {background}"
        # The card (and the surfaces on it) are dark too.
        surfaces = page.evaluate(
            """() => [...document.querySelectorAll('.card, .top, table.decks, .doc-text, input, select, button:not(.primary):not(.link)')]
                .map(el => [el.className || el.tagName, getComputedStyle(el).backgroundColor, getComputedStyle(el).color])"""
        )
        for what, bg, colour in surfaces:
            if "rgba(0, 0, 0, 0)" in bg:
                continue
            assert luminance(bg) < 0.1, f"{name}: {what} background {bg} is light in dark mode"
            assert contrast(bg, colour) >= 4.5, f"{name}: {what} has {colour} on {bg}"
        seen.append(name)

    visit_pages(open_page(scheme="dark"), VISITOR_PAGES, check)
    page = open_page(scheme="dark", user=learner)
    visit_pages(page, LEARNER_PAGES, check)
    visit_study(page, bank, check)
    assert "done" in seen and "dashboard" in seen


def test_light_scheme_is_light(open_page, bank, learner):
    page = open_page(user=learner)
    background, text = body_colours(page)
    assert luminance(background) > 0.8 and luminance(text) < 0.05


@pytest.mark.parametrize("width", [WIDE, NARROW])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_screenshots(open_page, bank, learner, width, scheme):
    """Dashboard, every question kind, feedback, summary, documents and settings, for a person to
    look at: tests/e2e/artifacts/<state>-<width>-<scheme>.png."""
    suffix = f"{width}-{scheme}"
    visitor = open_page(width=width, scheme=scheme)
    visitor.goto("/accounts/login/")
    screenshot(visitor, f"login-{suffix}")
    page = open_page(width=width, scheme=scheme, user=learner)
    taken = []

    def shoot(page, name):
        taken.append(screenshot(page, f"{name}-{suffix}"))

    visit_pages(page, LEARNER_PAGES, shoot)
    visit_study(page, bank, shoot)
    assert all(path.stat().st_size > 0 for path in taken)


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_progress_page(open_page, bank, learner, width):
    page = open_page(width=width, user=learner)
    response = page.goto("/progress/")
    if response.status == 404:
        pytest.skip("/progress/ answers 404: the progress page is not built yet")
    assert response.ok, response.status
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_fits(page, "progress")
    screenshot(page, f"progress-{width}-light")


def test_progress_after_a_session_shows_the_reviews_just_made(page, bank):
    page.goto("/study/")
    page.get_by_role("button", name="Show answer").click()
    page.get_by_role("button", name=re.compile(r"\bEasy\b")).click()
    expect(page.locator("#counters")).to_contain_text("1 done today")
    page.goto("/progress/")
    expect(page.get_by_text("1 review in the last 30 days.")).to_be_visible()
    expect(page.locator(".today-stats")).to_contain_text(re.compile(r"Reviewed today\s*1\b"))
    assert page.locator("svg.chart rect.seg-new").count() == 1
