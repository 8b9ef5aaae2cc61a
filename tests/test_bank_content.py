"""The shipped question bank: what a strict teacher would check before learners see it."""

import collections
import json
import re
from pathlib import Path

import pytest

from studyapp import bank, grading
from studyapp.models import Kind

ROOT = Path(__file__).resolve().parent.parent
INVENTORY = ROOT / "docs" / "bank-inventory.md"


def records(model):
    found = []
    for path in sorted((ROOT / "fixtures").glob("*.json")):
        found += [
            r["fields"] for r in json.loads(path.read_text(encoding="utf-8")) if r["model"] == model
        ]
    return found


QUESTIONS = records("studyapp.question")
ACTIVE = [q for q in QUESTIONS if q["is_active"]]
SOURCES = {s["slug"]: s["text"] for s in records("studyapp.source")}
CHOICES = collections.defaultdict(list)
for choice in records("studyapp.choice"):
    CHOICES[choice["question"][0]].append(choice)


def test_the_bank_is_sound_by_load_bank_rules(db):
    _, problems = bank.check(bank.default_paths())
    assert [str(p) for p in problems] == []


def test_there_are_at_least_100_active_questions():
    assert len(ACTIVE) >= 100


@pytest.mark.parametrize("kind", Kind.values)
def test_each_kind_is_at_least_a_tenth_of_the_bank(kind):
    share = sum(q["kind"] == kind for q in ACTIVE) / len(ACTIVE)
    assert share >= 0.10, f"{kind} is {share:.0%} of the bank"


def test_every_deck_and_every_document_has_questions():
    decks = {d["slug"] for d in records("studyapp.deck")}
    assert decks <= {q["deck"][0] for q in ACTIVE}
    assert set(SOURCES) <= {q["source"][0] for q in ACTIVE}


def test_every_quote_is_an_exact_span_of_its_source():
    missing = [q["uid"] for q in QUESTIONS if q["source_quote"] not in SOURCES[q["source"][0]]]
    assert missing == []


def test_every_question_has_an_explanation():
    assert [q["uid"] for q in ACTIVE if len(q["explanation"].strip()) < 20] == []


def test_no_two_questions_share_a_prompt():
    prompts = collections.Counter(grading.normalize(q["prompt"]) for q in QUESTIONS)
    assert [p for p, n in prompts.items() if n > 1] == []


def test_every_multiple_choice_has_four_distinct_options_and_one_right():
    for q in (q for q in ACTIVE if q["kind"] == Kind.MULTIPLE_CHOICE):
        options = CHOICES[q["uid"]]
        texts = [grading.normalize(c["text"]) for c in options]
        assert len(options) == 4 and len(set(texts)) == 4, q["uid"]
        assert sum(c["is_correct"] for c in options) == 1, q["uid"]


def test_no_other_kind_has_choices():
    assert {uid for uid in CHOICES} <= {
        q["uid"] for q in QUESTIONS if q["kind"] == Kind.MULTIPLE_CHOICE
    }


def test_the_value_of_a_date_or_figure_answer_is_in_its_quote():
    """Typed and cloze answers, and true statements, carry no number or date the quote lacks."""
    wrong = []
    for q in ACTIVE:
        if q["kind"] in (Kind.TYPED, Kind.CLOZE):
            taught = grading.values(q["answer"])
        elif q["kind"] == Kind.TRUE_FALSE and q["answer"] == "True":
            taught = grading.values(NOT_FIGURES.sub("", q["prompt"]))
        else:
            continue
        quoted = grading.values(q["source_quote"])
        if not _covered(taught, quoted):
            wrong.append((q["uid"], sorted(taught - quoted)))
    assert wrong == []


# Words that read as numbers but are names or idioms, not facts taught.
NOT_FIGURES = re.compile(r"Two Sessions|\bone of\b", re.I)


def _covered(taught: set[str], quoted: set[str]) -> bool:
    """A full date in the quote also carries its month and year."""
    extra = set()
    for value in quoted:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            extra |= {value[:7], value[:4], "--" + value[5:]}
        elif re.fullmatch(r"\d{4}-\d{2}", value):
            extra.add(value[:4])
    return taught <= quoted | extra


def test_every_typed_answer_and_accepted_form_grades_right():
    for q in (q for q in ACTIVE if q["kind"] in (Kind.TYPED, Kind.CLOZE)):
        for form in [q["answer"], *q["accepted_answers"]]:
            verdict = grading.grade(given=form, answer=q["answer"], accepted=q["accepted_answers"])
            assert verdict.is_correct, (q["uid"], form)


def test_prompts_name_their_subject():
    vague = re.compile(r"\b(this|that) (concept|term|province|report|document|article)\b", re.I)
    provinces = re.compile(r"Jiangsu|Guangdong|Liaoning|Hainan|Heilongjiang")
    unnamed = [
        q["uid"] for q in ACTIVE
        if vague.search(q["prompt"]) or ("the province" in q["prompt"] and not provinces.search(q["prompt"]))
    ]  # fmt: skip
    assert unnamed == []


def test_every_inventory_item_is_covered_by_questions_that_exist():
    uids = {q["uid"] for q in QUESTIONS}
    rows = [line for line in INVENTORY.read_text(encoding="utf-8").splitlines()
            if re.match(r"\| [a-z0-9-]+ \|", line) and not line.startswith("| id ")]  # fmt: skip
    assert len(rows) >= 40
    for row in rows:
        item = row.split("|")[1].strip()
        cited = set(re.findall(r"`([a-z0-9-]+)`", row.split("|")[-2]))
        assert cited, f"inventory item {item} names no question"
        assert cited <= uids, f"inventory item {item} names unknown questions {cited - uids}"


def test_every_question_is_in_the_inventory():
    cited = set(re.findall(r"`([a-z0-9-]+)`", INVENTORY.read_text(encoding="utf-8")))
    assert [q["uid"] for q in ACTIVE if q["uid"] not in cited] == []
