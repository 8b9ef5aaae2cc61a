"""Draft questions proposed from a document's sentences, by rules an editor can follow.

Each rule looks at one sentence: dated events become cloze drafts (the date blanked), figures
and shares typed drafts (the figure asked for), definitions flashcards ("X refers to ..."),
enumerations cloze drafts (the list blanked). Where the document (or the bank) holds three other
values of the same type, a multiple-choice draft offers them as distractors. Drafts are
inactive and tagged `draft`; an editor reviews and approves them in the admin.
"""

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from .models import CLOZE_BLANK, Kind

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
MONTH = r"(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?|" + "|".join(MONTHS)
DATE = re.compile(
    rf"\b(?:(?:{MONTH})\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"  # March 5, 2024
    rf"|\d{{1,2}}\s+(?:{MONTH})\s+\d{{4}}"  # 5 March 2024
    rf"|(?:{MONTH})\s+\d{{4}}"  # September 2023
    rf"|(?:{MONTH})\s+\d{{1,2}}(?:st|nd|rd|th)?)\b"  # March 5
)
FIGURE = re.compile(
    r"(?:(?:RMB|US\$|\$)\s?)?\b\d[\d,]*(?:\.\d+)?"
    r"(?:\s?(?:percent|per cent|%)|\s?(?:trillion|billion|million)(?:\s(?:yuan|dollars|US dollars))?"
    r"|\s(?:yuan|dollars))"
    r"|\b(?:ranking|ranked|ranks)\s(?:first|second|third|fourth|fifth|\d+(?:st|nd|rd|th))\b"
    r"|\b(?:two|three|four|five|six|seven|eight|nine|ten|\d+)\sconsecutive\s(?:years|months)\b",
    re.I,
)
DEFINITION = re.compile(
    r"^(?P<subject>.{3,120}?)\s(?P<verb>refers to|is defined as|are defined as|means|mean|"
    r"are driven by|is driven by)\s(?P<rest>.{10,})$"
)
ENUMERATION = re.compile(
    # The last item runs to the next comma or stop, the others are found lazily before it.
    r"(?:\b(?:namely|such as|including)\s)(?P<items>[^.;:()]+?(?:,\s|\s)and\s[^,.;:()]+)"
    r"|(?P<items2>[\w-]+(?:\s[\w-]+){0,3}(?:,\s[\w-]+(?:\s[\w-]+){0,3})+\sand other\s[\w\s-]+?)"
    r"(?=[.;]|$)"
)
PROVINCES = re.compile(
    r"\b(Jiangsu|Guangdong|Liaoning|Hainan|Heilongjiang|Zhejiang|Shandong|Sichuan|Hubei|Henan|"
    r"Fujian|Anhui|Hunan|Hebei|Shanxi|Shaanxi|Yunnan|Guizhou|Jilin|Jiangxi|Gansu|Qinghai)\b"
)
SENTENCE_END = re.compile(r"(?<=[.!?])[”\"']?\s+(?=[A-Z“\"(])")


@dataclass
class Draft:
    uid: str
    kind: str
    deck: str
    prompt: str
    answer: str
    source_quote: str
    accepted_answers: list[str] = field(default_factory=list)
    choices: list[tuple[str, bool]] = field(default_factory=list)
    tags: str = "draft"
    rule: str = ""


def sentences(text: str) -> Iterator[str]:
    """Each sentence as an exact span of the text (so it can be the draft's quote)."""
    for line in text.splitlines():
        start = 0
        for end in [m.start() for m in SENTENCE_END.finditer(line)] + [len(line)]:
            piece = line[start:end].strip()
            start = end
            if len(piece.split()) >= 5:
                yield piece


def date_forms(value: str) -> list[str]:
    """Other ways to write a date, for typed and cloze answers."""
    m = re.fullmatch(rf"({MONTH})\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})", value)
    if not m:
        return []
    month = next(name for name in MONTHS if name.startswith(m[1].rstrip(".")[:3]))
    day, year = int(m[2]), m[3]
    number = MONTHS.index(month) + 1
    return [f"{month} {day}, {year}", f"{day} {month} {year}", f"{year}-{number:02d}-{day:02d}"]


def figure_forms(value: str) -> list[str]:
    forms = {value}
    bare = re.sub(r"^(RMB|US\$|\$)\s?|\s(yuan|dollars|US dollars)$", "", value)
    forms |= {bare, bare.replace(" percent", "%").replace(" per cent", "%")}
    return sorted(f for f in forms if f != value)


def _uid(slug: str, rule: str, quote: str, answer: str) -> str:
    digest = hashlib.sha1(f"{quote}\n{answer}".encode()).hexdigest()[:10]
    return f"draft-{slug}-{rule}-{digest}"[:120]


def _deck(rule: str, sentence: str) -> str:
    if rule == "date":
        return "dates-events"
    if rule == "definition":
        return "definitions"
    return "provincial-targets" if PROVINCES.search(sentence) else "national-priorities"


def _blank(sentence: str, start: int, end: int) -> str:
    return sentence[:start] + CLOZE_BLANK + sentence[end:]


def propose(
    *, slug: str, title: str, text: str, known: dict[str, list[str]] | None = None
) -> list[Draft]:
    """Drafts for one document. known: values of each type ("date", "figure") elsewhere in the
    bank, for multiple-choice distractors when the document holds too few of its own."""
    doc = f"“{title}”" if title else "the document"
    found: list[Draft] = []
    values: dict[str, list[str]] = {"date": [], "figure": []}
    for sentence in sentences(text):
        for rule, pattern in (("date", DATE), ("figure", FIGURE)):
            for m in pattern.finditer(sentence):
                values[rule].append(m[0])
    for sentence in sentences(text):
        found += _from_values(slug, doc, sentence, values, known or {})
        found += _from_definition(slug, doc, sentence)
        found += _from_enumeration(slug, doc, sentence)
    unique: dict[str, Draft] = {}
    for draft in found:
        unique.setdefault(draft.uid, draft)
    return list(unique.values())


def _from_values(slug, doc, sentence, values, known) -> list[Draft]:
    drafts = []
    for rule, pattern in (("date", DATE), ("figure", FIGURE)):
        for m in pattern.finditer(sentence):
            value = m[0]
            blanked = _blank(sentence, m.start(), m.end())
            tags = f"draft {rule} doc::{slug}"
            if rule == "date":
                drafts.append(Draft(
                    _uid(slug, "date-cloze", sentence, value), Kind.CLOZE, _deck(rule, sentence),
                    blanked, value, sentence, date_forms(value), tags=tags, rule=rule,
                ))  # fmt: skip
            else:
                drafts.append(Draft(
                    _uid(slug, "figure-typed", sentence, value), Kind.TYPED, _deck(rule, sentence),
                    f"According to {doc}, which figure completes this sentence: “{blanked}”",
                    value, sentence, figure_forms(value), tags=tags, rule=rule,
                ))  # fmt: skip
            others = _distractors(value, values[rule] + known.get(rule, []))
            if len(others) == 3:
                options = sorted([(value, True)] + [(o, False) for o in others],
                                 key=lambda c: hashlib.sha1(c[0].encode()).hexdigest())  # fmt: skip
                drafts.append(Draft(
                    _uid(slug, f"{rule}-mc", sentence, value), Kind.MULTIPLE_CHOICE,
                    _deck(rule, sentence), f"According to {doc}, what fills the blank: “{blanked}”",
                    value, sentence, choices=options, tags=tags, rule=rule,
                ))  # fmt: skip
    return drafts


def _shape(value: str) -> str:
    """What makes two values comparable: a date's form (with or without day and year), a
    figure's unit."""
    if DATE.fullmatch(value):
        return "date" + "".join(sorted({"d" if re.search(r"\b\d{1,2}\b", value) else "",
                                         "y" if re.search(r"\d{4}", value) else ""}))  # fmt: skip
    return re.sub(r"[\d.,\s$]|rmb|us", "", value.lower())


def _distractors(value: str, pool: list[str]) -> list[str]:
    """Three other values of the same type: dates of the same form for a date; for a figure,
    figures of the same unit."""
    shape = _shape(value)
    seen, picked = {value.lower()}, []
    for other in pool:
        if other.lower() in seen or _shape(other) != shape:
            continue
        seen.add(other.lower())
        picked.append(other)
        if len(picked) == 3:
            break
    return picked


def _from_definition(slug, doc, sentence) -> list[Draft]:
    m = DEFINITION.match(sentence.rstrip("."))
    if not m:
        return []
    # The subject is what follows the last comma ("With X, new forces mean ..."), unquoted.
    subject, verb = m["subject"].rsplit(", ", 1)[-1].strip(" ,“”\"'"), m["verb"]
    if re.search(r"\b(not|n't|never)$", subject) or len(subject.split()) > 12:
        return []
    question = {"refers to": "What does {s} refer to", "means": "What does {s} mean",
                "mean": "What do {s} mean", "is defined as": "How is {s} defined",
                "are defined as": "How are {s} defined", "are driven by": "What are {s} driven by",
                "is driven by": "What is {s} driven by"}[verb].format(s=subject)  # fmt: skip
    return [Draft(
        _uid(slug, "definition", sentence, m["rest"]), Kind.FLASHCARD, "definitions",
        f"{question}, according to {doc}?", m["rest"].strip(), sentence,
        tags=f"draft definition doc::{slug}", rule="definition",
    )]  # fmt: skip


def _from_enumeration(slug, doc, sentence) -> list[Draft]:
    drafts = []
    for m in ENUMERATION.finditer(sentence):
        key = "items" if m["items"] else "items2"
        items = m[key].strip()
        start, end = m.start(key), m.start(key) + len(items)
        province = PROVINCES.search(sentence)
        tags = f"draft list doc::{slug}" + (f" province::{province[0].lower()}" if province else "")
        drafts.append(Draft(
            _uid(slug, "list", sentence, items), Kind.CLOZE, _deck("list", sentence),
            _blank(sentence, start, end), items, sentence,
            [items.replace(", and ", " and "), items.replace(" and ", ", ")],
            tags=tags, rule="list",
        ))  # fmt: skip
    return drafts
