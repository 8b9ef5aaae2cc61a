"""Grading of typed and cloze answers.

Pure Python (standard library only) so it can be unit-tested without Django and reused
outside a request. Every pattern is compiled once at import: ``grade`` runs on every answer.

A given answer is ``correct`` when it says the same thing as the question's answer or one of its
accepted forms, ``near_miss`` when it is a typo away from one, ``wrong`` otherwise. Sameness is
decided in two ways:

* text: the ``normalize`` forms are equal (case, punctuation, articles, spacing ignored);
* values: both carry numbers/percents/dates, the ``values`` are equal and in the same order, the
  other words agree, and they do not name different currencies. This makes "12.82tn" equal to
  "RMB 12.82 trillion" and "5 March 2024" equal to "March 5, 2024".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

__all__ = ["Outcome", "Verdict", "grade", "normalize", "values"]

Outcome = Literal["correct", "near_miss", "wrong"]


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    expected: str  # the canonical answer (the question's `answer`)
    matched: str | None  # which accepted form matched (or was nearly matched), else None

    @property
    def is_correct(self) -> bool:
        return self.outcome == "correct"


# --- Limits -------------------------------------------------------------------------------------

# Answers are at most 1,000 characters (see bank.py); a post far longer than any form cannot be a
# good answer, and refusing it before any parsing bounds the work a malicious post can cause.
_MAX_GIVEN_CHARS = 2_000
# Near misses are for words only: a short answer ("CPC", "G20") one edit away is another answer.
_MIN_NEAR_MISS_CHARS = 4
# Allowed typos grow with length (one per five characters) but stay few, so a list with a
# missing item is wrong rather than nearly right.
_CHARS_PER_TYPO = 5
_MAX_TYPOS = 3

# --- Text preparation ---------------------------------------------------------------------------

# NFKC leaves typographic quotes and dashes alone, so map them by hand. Apostrophes are deleted
# (not spaced) so "Jiangsu's" stays one word; invisible format characters are deleted so a pasted
# zero-width space cannot split a word.
_APOSTROPHES = "'\u2018\u2019\u201a\u201b\u2032\u02bc\u0060\u00b4"
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_PLAIN = {
    **{ord(c): None for c in _APOSTROPHES + _INVISIBLE},
    **{ord(c): '"' for c in _DOUBLE_QUOTES},
    **{ord(c): "-" for c in _DASHES},
}


def _prepare(text: str) -> str:
    """NFKC, case-folded, plain quotes and dashes: the common first step of every comparison."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_PLAIN)


# Currency symbols are kept: deleting them would make "¥5" and "$5" normalize alike.
_CURRENCY_SYMBOLS = "$\u00a2\u00a3\u00a4\u00a5\u20a0-\u20cf"
# Thousands separators go ("12,820" is 12820); other commas separate list items.
_THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# Anything that is not a word character, space, percent sign, combining mark or currency symbol is
# punctuation, except a decimal point ("12.82" must not become "1282"). "_" fills cloze blanks.
_PUNCTUATION = re.compile(rf"(?!(?<=\d)\.(?=\d))[^\w\s%\u0300-\u036f{_CURRENCY_SYMBOLS}]|_")
_SPACE_BEFORE_PERCENT = re.compile(r"\s+%")
_ARTICLES = frozenset({"a", "an", "the"})


def normalize(text: str) -> str:
    """Return ``text`` in the form used to compare answers as text.

    Unicode-normalized (NFKC; curly quotes and dashes made plain), case-folded, punctuation
    replaced by spaces (apostrophes deleted; decimal points, "%" and currency symbols kept;
    thousands commas dropped), the articles "a", "an" and "the" dropped, whitespace collapsed.

    >>> normalize("  The “Means” of Labour! ")
    'means of labour'
    """
    text = _THOUSANDS_COMMA.sub("", _prepare(text))
    text = _SPACE_BEFORE_PERCENT.sub("%", _PUNCTUATION.sub(" ", text))
    return " ".join(word for word in text.split() if word not in _ARTICLES)


# --- Values -------------------------------------------------------------------------------------

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9,
    "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}  # fmt: skip
_UNITS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
]  # fmt: skip
_UNIT_ORDINALS = [
    "zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth",
]  # fmt: skip
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_TEN_ORDINALS = [
    "twentieth", "thirtieth", "fortieth", "fiftieth", "sixtieth", "seventieth", "eightieth",
    "ninetieth",
]  # fmt: skip
# Ordinals count as their number: "second" is 2, the same as "2nd" and "two".
_WORD_NUMBERS = {
    **{w: n for n, w in enumerate(_UNITS)},
    **{w: n for n, w in enumerate(_UNIT_ORDINALS)},
    **{w: 20 + 10 * n for n, w in enumerate(_TENS)},
    **{w: 20 + 10 * n for n, w in enumerate(_TEN_ORDINALS)},
}
_SCALES = {
    "hundred": 2, "thousand": 3, "million": 6, "mn": 6, "billion": 9, "bn": 9,
    "trillion": 12, "tn": 12, "trn": 12,
}  # fmt: skip
_CURRENCIES = {
    "$": "USD", "us$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD",
    "\u00a5": "CNY", "\u5143": "CNY", "rmb": "CNY", "cny": "CNY", "yuan": "CNY", "renminbi": "CNY",
    "\u20ac": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
}  # fmt: skip


def _alternation(words: Iterable[str]) -> str:
    # Longest first, so "sept" is tried before "sep" and "eighteen" before "eight".
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


def _scale(name: str) -> str:
    return rf"(?P<{name}>(?:\s*(?:{_alternation(_SCALES)})\b)+)"


def _percent(name: str) -> str:
    return rf"(?P<{name}>\s*(?:%|per\s*cent\b|pct\b))"


_MONTH = rf"(?:{_alternation(_MONTHS)})\b\.?"
# A day or year must not run into a word or a decimal: "May 12.5" is not a date.
_DAY = r"(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?(?!\w|\.\d)"
_YEAR = r"\d{4}(?!\w|\.\d)"
# What may follow "twenty-": "one" to "nine", "first" to "ninth".
_TENS_UNIT = _alternation([*_UNITS[1:10], *_UNIT_ORDINALS[1:10]])

# One scanner, tried left to right; at each position the first alternative that matches wins, so
# dates come before bare numbers and currencies before plain words.
_SCANNER = re.compile(
    rf"""
    (?P<iso>(?<![\w.])(?P<iy>\d{{4}})-(?P<im>0[1-9]|1[0-2])(?:-(?P<id>3[01]|[12]\d|0[1-9]))?
        (?![\w-]))
    | (?P<mdy>(?P<m1>{_MONTH})\s*(?P<d1>{_DAY})(?:\s*,?\s*(?P<y1>{_YEAR}))?)
    | (?P<dmy>(?<![\w.])(?P<d2>{_DAY})\s*(?:of\s+)?(?P<m2>{_MONTH})(?:\s*,?\s*(?P<y2>{_YEAR}))?)
    | (?P<my>(?P<m3>{_MONTH}),?\s*(?:of\s+)?(?P<y3>{_YEAR}))
    | (?P<cur>us\$|u\.s\.\s*dollars?\b|us\s+dollars?\b|[$\u00a5\u20ac\u5143]
        |(?:{_alternation(k for k in _CURRENCIES if k.isalpha() and k.isascii())})\b)
    | (?P<number>(?<![\w.])(?P<digits>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)
        (?:(?:st|nd|rd|th)\b|{_scale("scale")})?{_percent("pct")}?(?![^\W_]))
    | (?P<wnumber>\b(?:(?P<tens>{_alternation(_TENS)})[\s-]+(?P<unit>{_TENS_UNIT})
        |(?P<word_number>{_alternation(_WORD_NUMBERS)}))
        \b{_scale("wscale")}?{_percent("wpct")}?)
    | (?P<word>[^\W_]+)
    """,
    re.VERBOSE,
)


def _shift(number: str, exponent: int) -> str:
    """Canonical decimal string of ``number`` * 10**exponent, exact (string arithmetic).

    Decimal/float would round long inputs, letting two different numbers compare equal.
    """
    whole, _, fraction = number.replace(",", "").partition(".")
    if exponent:
        fraction = fraction.ljust(exponent, "0")
        whole, fraction = whole + fraction[:exponent], fraction[exponent:]
    whole, fraction = whole.lstrip("0") or "0", fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def _scale_exponent(scale: str | None) -> int:
    return sum(_SCALES[word] for word in scale.split()) if scale else 0


def _date(year: str | None, month: str, day: str | None) -> str:
    month_number = _MONTHS[month.rstrip(".")]
    if day is None:
        return f"{year}-{month_number:02d}"
    day_number = int(day.rstrip("stndrh"))
    return f"{year or '-'}-{month_number:02d}-{day_number:02d}"


def _value(match: re.Match[str]) -> str:
    """Canonical string of a date, number or number-word match (see ``values``)."""
    group = match.group
    if group("iso"):
        return f"{group('iy')}-{group('im')}" + (f"-{group('id')}" if group("id") else "")
    if group("mdy"):
        return _date(group("y1"), group("m1"), group("d1"))
    if group("dmy"):
        return _date(group("y2"), group("m2"), group("d2"))
    if group("my"):
        return _date(group("y3"), group("m3"), None)
    if group("number"):
        return _shift(group("digits"), _scale_exponent(group("scale"))) + (
            "%" if group("pct") else ""
        )
    if group("tens"):
        number = _WORD_NUMBERS[group("tens")] + _WORD_NUMBERS[group("unit")]
    else:
        number = _WORD_NUMBERS[group("word_number")]
    return _shift(str(number), _scale_exponent(group("wscale"))) + ("%" if group("wpct") else "")


def values(text: str) -> set[str]:
    """Return the numbers, percents and dates in ``text`` as canonical strings.

    The same value written differently gives the same string:

    * numbers: plain decimals, scale words applied, no thousands separators, no leading or
      trailing zeros: "12.82 trillion yuan", "12.82tn", "RMB 12,820 billion" -> "12820000000000";
      "$1.78 trillion" -> "1780000000000" (the currency is not part of the value).
      Words and ordinals count as numbers: "eight" -> "8", "second"/"2nd" -> "2",
      "twenty-first" -> "21", "three million" -> "3000000".
    * percents: the number followed by "%": "41.3 percent", "41.3 per cent", "41.3%" -> "41.3%".
    * dates (ISO 8601): "March 5, 2024", "5 March 2024", "Mar. 5, 2024", "2024-03-05" ->
      "2024-03-05"; "September 2023" -> "2023-09"; without a year, "March 5" -> "--03-05".
    * years are numbers: "2023" -> "2023".

    Digits inside words ("6G", "G20") are not values.
    """
    return {
        _value(m) for m in _SCANNER.finditer(_prepare(text)) if m.lastgroup not in ("cur", "word")
    }


# --- Grading ------------------------------------------------------------------------------------

# Words that may differ between two answers carrying the same values: "(on) March 5, 2024".
_VALUE_FILLERS = _ARTICLES | {"on", "in", "of", "at", "by"}


@dataclass(frozen=True)
class _Reading:
    """What grading needs to know about one piece of text."""

    text: str  # normalize(text)
    values: tuple[str, ...]  # canonical values, in order
    tokens: tuple[str, ...]  # words and values ("=" + value) in order, fillers/currencies dropped
    currencies: frozenset[str]
    has_digit: bool


def _read(text: str) -> _Reading:
    found: list[str] = []
    tokens: list[str] = []
    currencies: set[str] = set()
    for match in _SCANNER.finditer(_prepare(text)):
        kind = match.lastgroup
        if kind == "word":
            if match.group() not in _VALUE_FILLERS:
                tokens.append(match.group())
        elif kind == "cur":
            # "us$", "u.s. dollars", "us dollars" all end in "$" or a "dollar" word.
            symbol = match.group().split()[-1].split(".")[-1]
            currencies.add(_CURRENCIES.get(symbol, "USD"))
        else:
            found.append(_value(match))
            tokens.append("=" + found[-1])
    normal = normalize(text)
    return _Reading(
        normal, tuple(found), tuple(tokens), frozenset(currencies), any(c.isdigit() for c in normal)
    )


# Answers and accepted forms repeat across requests: read each once. Given text is never cached,
# so posts cannot fill the cache.
_read_form = lru_cache(maxsize=4096)(_read)


def _same_values(given: _Reading, form: _Reading) -> bool:
    if not (given.values and form.values) or given.tokens != form.tokens:
        return False
    # A currency may be left out, but "$1.78 trillion" is not "1.78 trillion yuan".
    return not (given.currencies and form.currencies and given.currencies != form.currencies)


def _typo_budget(length: int) -> int:
    return min(_MAX_TYPOS, max(1, length // _CHARS_PER_TYPO))


def _distance_within(a: str, b: str, limit: int) -> int | None:
    """Edit distance (insert, delete, substitute, swap adjacent) if at most ``limit``, else None.

    Only cells within ``limit`` of the diagonal are computed and the loop stops once a row exceeds
    the limit, so the cost is O(len * limit), not O(len**2).
    """
    n, m = len(a), len(b)
    if abs(n - m) > limit:
        return None
    over = limit + 1  # any value above the limit is as good as infinite
    before: list[int] = []
    previous = [min(j, over) for j in range(m + 1)]
    for i in range(1, n + 1):
        current = [over] * (m + 1)
        current[0] = min(i, over)
        row_best = current[0]
        for j in range(max(1, i - limit), min(m, i + limit) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cell = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cell = min(cell, before[j - 2] + 1)
            current[j] = min(cell, over)
            row_best = min(row_best, current[j])
        if row_best > limit:
            return None
        before, previous = previous, current
    return previous[m] if previous[m] <= limit else None


def _near_distance(given: _Reading, form: _Reading) -> int | None:
    # A different digit or date is a different answer, not a typo: only words can nearly match.
    if given.values or form.values or given.has_digit or form.has_digit:
        return None
    if min(len(given.text), len(form.text)) < _MIN_NEAR_MISS_CHARS:
        return None
    return _distance_within(given.text, form.text, _typo_budget(len(form.text)))


def grade(*, given: str, answer: str, accepted: Sequence[str] = ()) -> Verdict:
    """Grade the learner's ``given`` text against ``answer`` and its ``accepted`` forms.

    ``correct`` if it matches any form as text or by values (see the module docstring);
    ``near_miss`` if, failing that, it is within a few typos of a word-only form of four or more
    characters; ``wrong`` otherwise, including for empty input and input far longer than any form.
    ``matched`` is the form that matched (the closest one for a near miss).
    """
    forms = [form for form in dict.fromkeys((answer, *accepted)) if form.strip()]
    # Checked before any parsing, so the cost of a huge post is one len().
    limit = max(_MAX_GIVEN_CHARS, 2 * max((len(form) for form in forms), default=0))
    if not forms or len(given) > limit or not given.strip():
        return Verdict("wrong", answer, None)
    reading = _read(given)
    if not reading.text:  # punctuation or articles only
        return Verdict("wrong", answer, None)

    readings = [(form, _read_form(form)) for form in forms]
    for form, form_reading in readings:
        if form_reading.text and (
            reading.text == form_reading.text or _same_values(reading, form_reading)
        ):
            return Verdict("correct", answer, form)

    closest: tuple[int, str] | None = None
    for form, form_reading in readings:
        distance = _near_distance(reading, form_reading)
        if distance is not None and (closest is None or distance < closest[0]):
            closest = (distance, form)
    if closest is not None:
        return Verdict("near_miss", answer, closest[1])
    return Verdict("wrong", answer, None)
