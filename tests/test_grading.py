"""Tests for studyapp.grading: pure Python, no database, no Django settings needed."""

from __future__ import annotations

import dataclasses
import time

import pytest

from studyapp.grading import Verdict, grade, normalize, values

JIANGSU_GDP = "12.82 trillion yuan"
CLUSTERS = (
    "biomedicine, intelligent manufacturing equipment, integrated circuits, smart grids, "
    "and new energy"
)


def outcome(given: str, answer: str, accepted: tuple[str, ...] = ()) -> str:
    return grade(given=given, answer=answer, accepted=accepted).outcome


# --- normalize ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Total Factor Productivity", "total factor productivity"),
        ("  means   of\tlabour \n", "means of labour"),
        ("The means of labour.", "means of labour"),
        ("a study session, an outline", "study session outline"),
        ("Jiangsu Province!", "jiangsu province"),
        ("Xi's remarks", "xis remarks"),
        ("high-tech", "high tech"),
    ],
)
def test_normalize_folds_case_drops_punctuation_articles_and_extra_space(
    text: str, expected: str
) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("\u201cmeans of labour\u201d", '"means of labour"'),
        ("Xi\u2019s remarks", "Xi's remarks"),
        ("high\u2013end", "high-end"),
        ("high\u2014end", "high-end"),
        ("\uff2a\uff49\uff41\uff4e\uff47\uff53\uff55", "Jiangsu"),  # full-width letters (NFKC)
        ("Heilong\u200bjiang", "Heilongjiang"),  # zero-width space
    ],
)
def test_normalize_treats_unicode_quotes_dashes_and_widths_as_plain(text: str, plain: str) -> None:
    assert normalize(text) == normalize(plain)


def test_normalize_keeps_decimal_point_so_numbers_do_not_merge() -> None:
    assert normalize("12.82 trillion") == "12.82 trillion"
    assert normalize("12.82 trillion") != normalize("1282 trillion")


def test_normalize_drops_thousands_commas_but_splits_lists() -> None:
    assert normalize("12,820 billion") == "12820 billion"
    assert normalize("grids,energy") == "grids energy"


def test_normalize_keeps_percent_and_currency_symbols() -> None:
    assert normalize("41.3 %") == "41.3%"
    assert normalize("$5") != normalize("\u00a55")


# --- values -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "12.82 trillion yuan",
        "12.82 trillion",
        "12.82tn",
        "12.82 tn",
        "RMB 12.82 trillion",
        "12,820 billion",
        "\u00a512.82 trillion",
    ],
)
def test_values_trillion_forms_are_the_same_number(text: str) -> None:
    assert values(text) == {"12820000000000"}


@pytest.mark.parametrize(
    "text",
    ["$1.78 trillion", "US$1.78 trillion", "1.78 trillion dollars", "1.78 trillion US dollars"],
)
def test_values_leave_the_currency_out(text: str) -> None:
    assert values(text) == {"1780000000000"}


@pytest.mark.parametrize(("text", "expected"), [("12,820", "12820"), ("1,234,567.50", "1234567.5")])
def test_values_read_commas_as_thousands_separators(text: str, expected: str) -> None:
    assert values(text) == {expected}


@pytest.mark.parametrize("text", ["41.3 percent", "41.3%", "41.3 %", "41.3 per cent", "41.30%"])
def test_values_percent_forms_are_the_same(text: str) -> None:
    assert values(text) == {"41.3%"}


@pytest.mark.parametrize(
    "text",
    [
        "March 5, 2024",
        "March 5 2024",
        "5 March 2024",
        "5th of March, 2024",
        "2024-03-05",
        "Mar. 5, 2024",
        "Mar 5, 2024",
        "March 5th, 2024",
        "MARCH 05, 2024",
    ],
)
def test_values_full_date_forms_are_the_same(text: str) -> None:
    assert values(text) == {"2024-03-05"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("September 2023", "2023-09"),
        ("Sept. 2023", "2023-09"),
        ("2023-09", "2023-09"),
        ("March 5", "--03-05"),
        ("5 March", "--03-05"),
        ("2023", "2023"),
    ],
)
def test_values_partial_dates_and_years(text: str, expected: str) -> None:
    assert values(text) == {expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("eight", "8"),
        ("ten", "10"),
        ("nineteen", "19"),
        ("twenty-five", "25"),
        ("second", "2"),
        ("2nd", "2"),
        ("2", "2"),
        ("first", "1"),
        ("14th", "14"),
        ("twenty-first", "21"),
        ("three million", "3000000"),
        ("forty percent", "40%"),
    ],
)
def test_values_number_words_and_ordinals_are_numbers(text: str, expected: str) -> None:
    assert values(text) == {expected}


def test_values_finds_every_value_in_a_source_sentence() -> None:
    sentence = (
        "As one of the engines driving China\u2019s economic growth, Jiangsu\u2019s GDP reached "
        "12.82 trillion yuan ($1.78 trillion) last year, ranking second in China."
    )
    assert values(sentence) == {"1", "12820000000000", "1780000000000", "2"}


@pytest.mark.parametrize("text", ["6G technology", "G20", "means of labour", "May 12.5 units"])
def test_values_ignore_digits_inside_words_and_non_dates(text: str) -> None:
    assert not values(text) & {"6", "20", "--05-12"}


# --- grade: correct -----------------------------------------------------------------------------


def test_identical_answer_is_correct_and_reports_the_answer() -> None:
    verdict = grade(given="Jiangsu Province", answer="Jiangsu Province")
    assert verdict == Verdict("correct", "Jiangsu Province", "Jiangsu Province")
    assert verdict.is_correct


@pytest.mark.parametrize(
    "given",
    [
        "jiangsu province",
        "JIANGSU PROVINCE",
        "The Jiangsu Province.",
        "  Jiangsu   Province!  ",
        "\u201cJiangsu Province\u201d",
    ],
)
def test_case_punctuation_articles_and_spacing_are_ignored(given: str) -> None:
    assert outcome(given, "Jiangsu Province") == "correct"


@pytest.mark.parametrize(
    "given",
    [
        "12.82 trillion yuan",
        "12.82 trillion",
        "RMB 12.82 trillion",
        "12.82tn",
        "12.82 tn yuan",
        "12,820 billion yuan",
        "\u00a512.82 trillion",
        "12.82 trillion renminbi",
    ],
)
def test_trillion_forms_are_the_same_number(given: str) -> None:
    assert outcome(given, JIANGSU_GDP) == "correct"


@pytest.mark.parametrize(
    "given", ["$1.78 trillion", "US$1.78 trillion", "1.78 trillion dollars", "1.78 trillion"]
)
def test_dollar_forms_are_the_same_amount(given: str) -> None:
    assert outcome(given, "$1.78 trillion") == "correct"


@pytest.mark.parametrize("given", ["41.3%", "41.3 percent", "41.3 per cent", "41.3 %"])
def test_percent_forms_are_correct(given: str) -> None:
    assert outcome(given, "41.3 percent") == "correct"


@pytest.mark.parametrize(
    "given", ["March 5, 2024", "5 March 2024", "2024-03-05", "Mar. 5, 2024", "on March 5th, 2024"]
)
def test_date_forms_are_correct(given: str) -> None:
    assert outcome(given, "March 5, 2024") == "correct"


@pytest.mark.parametrize("given", ["September 2023", "Sept 2023", "2023-09", "in September 2023"])
def test_month_and_year_forms_are_correct(given: str) -> None:
    assert outcome(given, "September 2023") == "correct"


@pytest.mark.parametrize("given", ["8 consecutive years", "eight consecutive years"])
def test_number_words_equal_digits(given: str) -> None:
    assert outcome(given, "eight consecutive years") == "correct"


@pytest.mark.parametrize("given", ["second", "2nd", "2", "two"])
def test_ordinals_and_cardinals_are_the_same_number(given: str) -> None:
    assert outcome(given, "second") == "correct"


def test_ordinal_inside_a_name_matches_its_digits() -> None:
    assert outcome("2nd Session of 14th NPC", "Second Session of the 14th NPC") == "correct"


def test_list_with_or_without_final_comma_is_correct() -> None:
    given = CLUSTERS.replace("grids, and", "grids and")
    assert outcome(given, CLUSTERS) == "correct"


def test_accepted_form_is_correct_and_is_the_match() -> None:
    verdict = grade(given="Politburo", answer="Political Bureau", accepted=("Politburo",))
    assert verdict == Verdict("correct", "Political Bureau", "Politburo")


# --- grade: wrong -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        "12.83 trillion",
        "12.82 million yuan",
        "12.82 billion",
        "1282 trillion",
        "12.82",
        "$12.82 trillion",  # a different currency is a different amount
    ],
)
def test_different_amount_is_wrong(given: str) -> None:
    assert outcome(given, JIANGSU_GDP) == "wrong"


@pytest.mark.parametrize("given", ["49.9%", "41.4 percent", "41.3", "4.13%"])
def test_different_percent_is_wrong(given: str) -> None:
    assert outcome(given, "41.3 percent") == "wrong"


@pytest.mark.parametrize(
    ("given", "answer"), [("2023", "2024"), ("September 2024", "September 2023")]
)
def test_different_year_is_wrong(given: str, answer: str) -> None:
    assert outcome(given, answer) == "wrong"


@pytest.mark.parametrize("given", ["March 5", "5 March", "March 2024", "March 6, 2024", "2024"])
def test_incomplete_or_different_date_is_wrong(given: str) -> None:
    assert outcome(given, "March 5, 2024") == "wrong"


@pytest.mark.parametrize("given", ["eight years", "nine consecutive years", "consecutive years"])
def test_number_answer_needs_the_same_number_and_words(given: str) -> None:
    assert outcome(given, "eight consecutive years") == "wrong"


def test_list_in_another_order_is_wrong() -> None:
    reordered = (
        "new energy, smart grids, integrated circuits, intelligent manufacturing equipment, "
        "and biomedicine"
    )
    assert outcome(reordered, CLUSTERS) == "wrong"


@pytest.mark.parametrize("given", ["", "   ", "\n\t", "!!!", "the", "___"])
def test_empty_whitespace_or_punctuation_only_is_wrong(given: str) -> None:
    verdict = grade(given=given, answer="Jiangsu Province")
    assert verdict == Verdict("wrong", "Jiangsu Province", None)


@pytest.mark.parametrize(("given", "answer"), [("Guangdong", "Jiangsu"), ("Hunan", "Hainan")])
def test_other_words_are_wrong(given: str, answer: str) -> None:
    assert outcome(given, answer) == "wrong"


# --- grade: near misses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "answer"),
    [
        ("biomedecine", "biomedicine"),
        ("Heilongjang", "Heilongjiang"),
        ("Heilongjang Province", "Heilongjiang Province"),
        ("means of labor", "means of labour"),
        ("totla factor productivity", "total factor productivity"),  # swapped letters
        (CLUSTERS.replace("biomedicine", "biomedecine"), CLUSTERS),
    ],
)
def test_typo_is_a_near_miss(given: str, answer: str) -> None:
    verdict = grade(given=given, answer=answer)
    assert verdict == Verdict("near_miss", answer, answer)
    assert not verdict.is_correct


def test_near_miss_reports_the_closest_accepted_form() -> None:
    verdict = grade(given="Politburro", answer="Political Bureau", accepted=("Politburo",))
    assert verdict == Verdict("near_miss", "Political Bureau", "Politburo")


def test_correct_form_wins_over_a_near_miss() -> None:
    verdict = grade(given="Politburo", answer="Politbur", accepted=("Politburo",))
    assert verdict.outcome == "correct"
    assert verdict.matched == "Politburo"


@pytest.mark.parametrize(
    ("given", "answer"),
    [
        ("12.83 trillion yuan", JIANGSU_GDP),
        ("41.4 percent", "41.3 percent"),
        ("2023", "2024"),
        ("March 6, 2024", "March 5, 2024"),
        ("Marhc 5, 2024", "March 5, 2024"),
        ("nine consecutive years", "eight consecutive years"),
        ("5G technology", "6G technology"),
    ],
)
def test_numbers_and_dates_are_never_near_misses(given: str, answer: str) -> None:
    assert outcome(given, answer) == "wrong"


@pytest.mark.parametrize(("given", "answer"), [("CPD", "CPC"), ("NPV", "NPC"), ("AIs", "AI")])
def test_short_answers_are_never_near_misses(given: str, answer: str) -> None:
    assert outcome(given, answer) == "wrong"


def test_list_missing_an_item_is_wrong_not_near() -> None:
    assert outcome(CLUSTERS.replace("smart grids, ", ""), CLUSTERS) == "wrong"


# --- grade: hostile input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        "a" * 1_000_000,
        "9" * 1_000_000,
        "12.82 trillion " * 70_000,
        JIANGSU_GDP + " " * 1_000_000,
    ],
    ids=["letters", "digits", "repeated-answer", "answer-padded"],
)
def test_megabyte_input_is_wrong_quickly(given: str) -> None:
    start = time.perf_counter()
    verdict = grade(given=given, answer=JIANGSU_GDP, accepted=("12.82 trillion",))
    assert time.perf_counter() - start < 0.5
    assert verdict.outcome == "wrong"


def test_longest_allowed_input_is_graded_quickly() -> None:
    given = "biomedecine " * 150  # under the length cap, so it is parsed and compared
    start = time.perf_counter()
    verdict = grade(given=given, answer=CLUSTERS)
    assert time.perf_counter() - start < 0.5
    assert verdict.outcome == "wrong"


# --- API shape ----------------------------------------------------------------------------------


def test_grade_takes_keyword_arguments_only() -> None:
    with pytest.raises(TypeError):
        grade("Jiangsu", "Jiangsu")  # type: ignore[call-arg]


def test_verdict_is_immutable() -> None:
    verdict = grade(given="Jiangsu", answer="Jiangsu")
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.outcome = "wrong"  # type: ignore[misc]
