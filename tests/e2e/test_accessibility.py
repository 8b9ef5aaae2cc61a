"""axe-core on every page and every state of the study page, in light and dark.

axe-core comes from the PyPI package axe-playwright-python, which bundles axe.min.js.
Serious and critical violations fail; minor and moderate ones are printed (run with -s).
"""

import json

import pytest
from playwright.sync_api import expect

from .conftest import LEARNER_PAGES, VISITOR_PAGES, visit_pages, visit_study, write_artifact

pytestmark = pytest.mark.e2e

axe_sync = pytest.importorskip(
    "axe_playwright_python.sync_playwright",
    reason="axe-playwright-python is not installed (pip install -e '.[dev]'): axe checks skipped",
)
BLOCKING = {"serious", "critical"}


def describe(violation) -> str:
    targets = "; ".join(
        " ".join(node["target"]) if isinstance(node["target"], list) else str(node["target"])
        for node in violation["nodes"][:4]
    )
    more = f" (+{len(violation['nodes']) - 4} more)" if len(violation["nodes"]) > 4 else ""
    return f"{violation['id']} [{violation['impact']}] {violation['help']}: {targets}{more}"


@pytest.fixture
def axe_check():
    axe = axe_sync.Axe()
    found = {}

    def check(page, name):
        results = axe.run(page, options={"resultTypes": ["violations"]})
        found[name] = results.response["violations"]

    yield check, found


def report(found: dict, scheme: str) -> None:
    minor = {
        name: [describe(v) for v in violations if v["impact"] not in BLOCKING]
        for name, violations in found.items()
    }
    blocking = {
        name: [describe(v) for v in violations if v["impact"] in BLOCKING]
        for name, violations in found.items()
    }
    write_artifact(
        f"axe-{scheme}.json",
        {
            "blocking": {k: v for k, v in blocking.items() if v},
            "minor": {k: v for k, v in minor.items() if v},
        },
    )
    for name, lines in minor.items():
        for line in lines:
            print(f"axe {scheme} {name}: {line}")
    blocking = {name: lines for name, lines in blocking.items() if lines}
    assert not blocking, "Serious or critical accessibility violations:\n" + json.dumps(
        blocking, indent=2
    )


def check_progress(page, check) -> None:
    """The progress page, when there is one."""
    response = page.goto("/progress/")
    if response.status != 404:
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        check(page, "progress")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_on_every_page_and_study_state(open_page, bank, learner, axe_check, scheme):
    check, found = axe_check
    visit_pages(open_page(scheme=scheme), VISITOR_PAGES, check)
    page = open_page(scheme=scheme, user=learner)
    visit_pages(page, LEARNER_PAGES, check)
    check_progress(page, check)
    visit_study(page, bank, check)
    assert {"login", "signup", "dashboard", "settings", "done", "feedback-typed-near_miss"} <= set(
        found
    )
    report(found, scheme)


def test_axe_at_375px(open_page, bank, learner, axe_check):
    check, found = axe_check
    page = open_page(width=375, user=learner)
    visit_pages(page, LEARNER_PAGES, check)
    check_progress(page, check)
    visit_study(page, bank, check)
    report(found, "narrow")
