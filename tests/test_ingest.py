"""Bringing in a new document: boilerplate removed, kept under seeds/, drafts proposed by rules."""

import io
from pathlib import Path

import pytest
from django.core import serializers
from django.core.management import CommandError, call_command
from django.urls import reverse

from studyapp import bank, ingest
from studyapp.models import Choice, Deck, Kind, Question, Source

from .factories import DeckFactory

pytestmark = pytest.mark.django_db

# The seeds use typographic apostrophes.
# ruff: noqa: RUF001

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
DECKS = [
    "definitions",
    "dates-events",
    "provincial-targets",
    "national-priorities",
    "people-bodies",
]


@pytest.fixture
def seeds_dir(tmp_path, settings):
    settings.SEEDS_DIR = tmp_path
    for slug in DECKS:
        DeckFactory(slug=slug)
    return tmp_path


def ingest_seed(name, slug=None):
    content = (SEEDS / f"{name}.txt").read_bytes()
    return ingest.ingest(name=f"{name}.txt", content=content, slug=slug or f"new-{name}")


def drafts_of(source):
    return list(Question.objects.filter(source=source).prefetch_related("choices"))


def test_boilerplate_is_removed_and_reported():
    text = (SEEDS / "pakistan-today-xi-jiangsu-deliberation.txt").read_text(encoding="utf-8")
    cleaned, removed = ingest.clean(text)
    kinds = {what for what, _ in removed}
    assert {"author byline", "author bio", "comment form", "page tail"} <= kinds
    for gone in ["LEAVE A REPLY", "Please enter your comment!", "Mian Abrar", "Must Read",
                 "Shehbaz Sharif", "tweets as @mian_abrar"]:  # fmt: skip
        assert gone not in cleaned
    assert "Jiangsu’s GDP reached 12.82 trillion yuan ($1.78 trillion) last year" in cleaned


@pytest.mark.parametrize(
    ("name", "gone", "kept"),
    [
        ("china-insight-xi-remarks-timeline", ["Photo from Xinhua", "originally published on China Insight"], "January 31, 2024"),
        ("peoples-daily-two-sessions-explainer", ["(Web editor:", "as an intern", "Related Stories", "stay tuned"], "AI Plus initiative"),
        ("xi-growth-depends-on-new-productive-forces", ["Leave a Reply", "Be the first to comment", "will not be published"], "Heilongjiang"),
    ],
)  # fmt: skip
def test_each_seed_loses_its_page_furniture_and_keeps_its_article(name, gone, kept):
    cleaned, _ = ingest.clean((SEEDS / f"{name}.txt").read_text(encoding="utf-8"))
    assert all(g not in cleaned for g in gone)
    assert kept in cleaned


def test_a_document_is_kept_under_seeds_and_as_a_source(seeds_dir):
    done = ingest_seed("pakistan-today-xi-jiangsu-deliberation", slug="jiangsu-report")
    source = Source.objects.get(slug="jiangsu-report")
    assert done.created and source.seed_file == "jiangsu-report.txt"
    assert (seeds_dir / "jiangsu-report.txt").read_text(encoding="utf-8") == source.text
    assert "LEAVE A REPLY" not in source.text


def test_drafts_include_the_dated_events_figures_and_provincial_lists(seeds_dir):
    answers = set()
    for path in sorted(SEEDS.glob("*.txt")):
        answers |= {q.answer for q in drafts_of(ingest_seed(path.stem).source)}
    for fact in ["September 2023", "September 7, 2023", "December 12, 2023", "January 31, 2024",
                 "March 5, 2024", "12.82 trillion yuan", "41.3 percent", "49.9 percent",
                 "eight consecutive years", "ranking second"]:  # fmt: skip
        assert fact in answers, fact
    lists = " | ".join(a for a in answers if " and " in a)
    for province_list in [
        "biomedicine, intelligent manufacturing equipment, integrated circuits, smart grids, and new energy",
        "integrated circuits, new energy storage and commercial spaceflight",  # Guangdong
        "6G technology and humanoid robots",  # Guangdong's future industries
        "new materials, biomedicine and other emerging industries",  # Liaoning
        "the seed industry and aerospace",  # Hainan
    ]:
        assert province_list in lists, province_list


def test_drafts_are_inactive_tagged_and_sound_by_the_bank_rules(seeds_dir):
    source = ingest_seed("china-insight-xi-remarks-timeline").source
    drafts = drafts_of(source)
    assert drafts and all(not q.is_active and "draft" in q.tag_list for q in drafts)
    kinds = {q.kind for q in drafts}
    assert {Kind.CLOZE, Kind.MULTIPLE_CHOICE, Kind.FLASHCARD} <= kinds
    for q in drafts:
        choices = [(c.text, c.is_correct) for c in q.choices.all()]
        assert bank.question_problems(
            kind=q.kind, prompt=q.prompt, answer=q.answer, source_quote=q.source_quote,
            source_text=source.text,
        ) + bank.choice_problems(kind=q.kind, answer=q.answer, choices=choices) == []  # fmt: skip


def test_a_date_multiple_choice_draft_offers_other_dates_as_distractors(seeds_dir):
    source = ingest_seed("china-insight-xi-remarks-timeline").source
    mc = next(
        q
        for q in drafts_of(source)
        if q.kind == Kind.MULTIPLE_CHOICE and q.answer == "January 31, 2024"
    )
    options = [c.text for c in mc.choices.all()]
    assert len(options) == 4 and len(set(options)) == 4
    assert all(o.endswith(("2023", "2024")) for o in options)
    assert [c.text for c in mc.choices.all() if c.is_correct] == ["January 31, 2024"]


def test_typed_and_cloze_drafts_carry_accepted_forms(seeds_dir):
    source = ingest_seed("china-insight-xi-remarks-timeline").source
    cloze = next(
        q for q in drafts_of(source) if q.kind == Kind.CLOZE and q.answer == "March 5, 2024"
    )
    assert {"5 March 2024", "2024-03-05"} <= set(cloze.accepted_answers)
    assert cloze.prompt.count("____") == 1
    figures = drafts_of(ingest_seed("pakistan-today-xi-jiangsu-deliberation").source)
    gdp = next(q for q in figures if q.kind == Kind.TYPED and q.answer == "12.82 trillion yuan")
    assert "12.82 trillion" in gdp.accepted_answers


def test_a_document_with_no_facts_gets_no_drafts(seeds_dir):
    text = ("We walked along the river and talked about books.\n\nThe weather was mild and the "
            "tea was good, and nobody was in a hurry to leave the garden.\n")  # fmt: skip
    done = ingest.ingest(name="walk.txt", content=text.encode(), slug="a-walk")
    assert done.drafts_created == 0 and Question.objects.count() == 0


def test_boilerplate_never_becomes_a_draft(seeds_dir):
    for path in sorted(SEEDS.glob("*.txt")):
        done = ingest_seed(path.stem)
        removed = [line for _, line in done.removed]
        for q in drafts_of(done.source):
            assert not any(line and line in q.source_quote for line in removed), q.uid
            assert not any(
                word in q.prompt for word in ["Reply", "comment", "@", "Photo", "Web editor"]
            )


def test_ingesting_the_same_file_again_changes_nothing(seeds_dir):
    first = ingest_seed("pakistan-today-xi-jiangsu-deliberation")

    def rows():
        return serializers.serialize(
            "json", [*Source.objects.all(), *Question.objects.all(), *Choice.objects.all()]
        )

    before = rows()
    again = ingest_seed("pakistan-today-xi-jiangsu-deliberation")
    assert not again.created and not again.changed
    assert again.drafts_created == 0 and again.drafts_kept == first.drafts_created
    assert rows() == before


def test_an_editors_change_to_a_draft_survives_a_second_ingest(seeds_dir):
    source = ingest_seed("pakistan-today-xi-jiangsu-deliberation").source
    draft = drafts_of(source)[0]
    draft.prompt = "Edited by the editor"
    draft.save()
    ingest_seed("pakistan-today-xi-jiangsu-deliberation")
    draft.refresh_from_db()
    assert draft.prompt == "Edited by the editor"


def test_a_new_text_that_loses_a_quoted_sentence_is_refused(seeds_dir):
    source = ingest_seed("china-insight-xi-remarks-timeline", slug="timeline").source
    shorter = source.text.split("\n\n")[0].encode()
    with pytest.raises(ingest.IngestError, match="no longer holds the quotes of"):
        ingest.ingest(name="timeline.txt", content=shorter, slug="timeline")
    assert Source.objects.get(slug="timeline").text == source.text


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\xff\xfe\x00bad", "not UTF-8 text"), (b"LEAVE A REPLY\nMust Read\nteaser", "no text left"),
     (b"x" * 1_000_001, "larger than")],
)  # fmt: skip
def test_unusable_files_are_refused_with_a_reason(seeds_dir, content, message):
    with pytest.raises(ingest.IngestError, match=message):
        ingest.ingest(name="bad.txt", content=content)
    assert Source.objects.count() == 0


def test_the_ingest_command_reports_what_it_did(seeds_dir, capsys):
    path = SEEDS / "xi-growth-depends-on-new-productive-forces.txt"
    call_command("ingest", str(path), "--slug", "xi-growth-copy", "--title", "Growth")
    out = capsys.readouterr().out
    assert "xi-growth-copy: added (seeds/xi-growth-copy.txt)" in out
    assert "removed comment form: Leave a Reply" in out
    assert "drafts:" in out
    with pytest.raises(CommandError, match=r"no-such\.txt"):
        call_command("ingest", str(seeds_dir / "no-such.txt"))


def test_approving_a_sound_draft_activates_it_and_a_broken_one_is_refused(staff_client, seeds_dir):
    source = ingest_seed("china-insight-xi-remarks-timeline").source
    good, broken = drafts_of(source)[:2]
    broken.source_quote = "Words that are not in the document."
    broken.save()
    url = reverse("admin:studyapp_question_changelist")
    response = staff_client.post(
        url, {"action": "approve", "_selected_action": [good.id, broken.id]}, follow=True
    )
    page = response.content.decode()
    assert "1 draft(s) approved." in page
    assert f"{broken.uid}: source_quote: not found" in page
    good.refresh_from_db(), broken.refresh_from_db()
    assert good.is_active and "draft" not in good.tag_list
    assert not broken.is_active and "draft" in broken.tag_list


def test_the_drafts_filter_lists_only_drafts(staff_client, seeds_dir):
    source = ingest_seed("china-insight-xi-remarks-timeline").source
    drafts = set(drafts_of(source))
    other = Question.objects.create(
        uid="not-a-draft", deck=Deck.objects.first(), kind=Kind.FLASHCARD, prompt="Q?",
        answer="A", source=source, source_quote="January 31, 2024", tags="drafting-room",
    )  # fmt: skip
    response = staff_client.get(reverse("admin:studyapp_question_changelist"), {"drafts": "yes"})
    shown = set(response.context["cl"].result_list)
    assert other not in shown and shown == drafts


def test_staff_upload_a_document_in_the_admin(staff_client, seeds_dir):
    url = reverse("admin:studyapp_source_upload")
    assert staff_client.get(url).status_code == 200
    upload = io.BytesIO((SEEDS / "peoples-daily-two-sessions-explainer.txt").read_bytes())
    upload.name = "two-sessions.txt"
    response = staff_client.post(
        url,
        {"file": upload, "title": "Two Sessions", "publisher": "People's Daily Online"},
        follow=True,
    )
    source = Source.objects.get(slug="two-sessions")
    assert source.title == "Two Sessions"
    assert "draft question(s) proposed" in response.content.decode()
    assert set(response.context["cl"].result_list) == set(drafts_of(source))


def test_learners_cannot_upload(learner_client, seeds_dir):
    response = learner_client.get(reverse("admin:studyapp_source_upload"))
    assert response.status_code == 302 and Source.objects.count() == 0


def test_approved_drafts_are_exported_and_load_back(seeds_dir, tmp_path):
    source = ingest_seed("china-insight-xi-remarks-timeline").source
    for q in drafts_of(source):
        ingest.approve(q)
    out = tmp_path / "exported"
    bank.export(out)
    _, problems = bank.check([out])
    assert problems == []
    exported = (out / "questions-dates-events.json").read_text(encoding="utf-8")
    assert "January 31, 2024" in exported
