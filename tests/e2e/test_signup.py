import re

import pytest
from playwright.sync_api import expect

from studyapp.models import Card

from .conftest import screenshot

pytestmark = pytest.mark.e2e


def deck_row(page, name: str):
    return page.locator("table.decks tbody tr").filter(has=page.get_by_text(name, exact=True))


def test_sign_up_lands_on_the_dashboard_with_decks_and_counts(open_page, bank):
    page = open_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")

    page.get_by_label("Username").fill("new-learner")
    page.get_by_label(re.compile(r"^Password:?$")).fill("a-Long-study-passphrase-42")
    page.get_by_label("Password confirmation").fill("a-Long-study-passphrase-42")
    page.get_by_role("button", name="Sign up").click()

    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Today")
    expect(page.locator(".today .lede")).to_contain_text("5 cards to study today.")
    expect(page.locator(".today .lede")).to_contain_text("0 answered today.")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    # Definitions: flashcard, true/false, cloze; Provincial targets: multiple choice, typed. All new.
    for name, new in [("Definitions", "3"), ("Provincial targets", "2")]:
        row = deck_row(page, name)
        expect(row).to_have_count(1)
        expect(row.locator("td.due")).to_have_text("0")
        expect(row.locator("td.learning")).to_have_text("0")
        expect(row.locator("td.new")).to_have_text(new)
        expect(row.get_by_role("link", name=f"Study {name}")).to_be_visible()
        expect(row.get_by_role("link", name=f"Practice {name}")).to_be_visible()
    assert Card.objects.filter(user__username="new-learner").count() == 5
    screenshot(page, "signup-dashboard-1280-light")


def test_sign_up_refuses_mismatched_passwords(open_page, bank):
    page = open_page()
    page.goto("/signup/")
    page.get_by_label("Username").fill("new-learner")
    page.get_by_label(re.compile(r"^Password:?$")).fill("a-Long-study-passphrase-42")
    page.get_by_label("Password confirmation").fill("another-passphrase-43")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")
    expect(page.locator(".errorlist")).to_contain_text(re.compile(r"didn.t match"))
