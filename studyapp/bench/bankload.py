"""load_bank on a generated bank: 10k questions of every kind (multiple choice with four
choices) in one fixture file per deck, their sources' texts in a seeds directory of their own
(settings.SEEDS_DIR overridden), all in a temporary directory. Timed: the first load into an
empty bank, then a second load of the same files, which must change nothing."""

from __future__ import annotations

import io
import json
import random
import tempfile
import time
from pathlib import Path

from django.core.management import call_command
from django.test.utils import override_settings

from .data import DECKS, join_text, question_specs, source_texts


def write_bank(directory: Path, questions: int, *, seed: int = 2024) -> tuple[Path, Path]:
    """Fixture files and seed texts for `questions` questions; returns (fixtures, seeds)."""
    rng = random.Random(seed)
    fixtures, seeds = directory / "fixtures", directory / "seeds"
    fixtures.mkdir(parents=True)
    seeds.mkdir()
    sources = source_texts(rng)
    source_records = []
    for i, (slug, sentences) in enumerate(sources):
        text = join_text(sentences)
        (seeds / f"{slug}.txt").write_text(text, encoding="utf-8")
        source_records.append(
            {
                "model": "studyapp.source",
                "fields": {
                    "slug": slug,
                    "title": f"Synthetic report {i + 1}",
                    "publisher": "Bench Daily",
                    "byline": "",
                    "published_on": "2024-03-05",
                    "seed_file": f"{slug}.txt",
                    "text": text,
                },
            }
        )
    decks = [f"bench-deck-{i + 1}" for i in range(DECKS)]
    per_deck: dict[str, list[dict]] = {slug: [] for slug in decks}
    for spec in question_specs(questions, rng, sources, inactive_share=0.0):
        deck = decks[spec.deck]
        per_deck[deck].append(
            {
                "model": "studyapp.question",
                "fields": {
                    "uid": spec.uid,
                    "deck": [deck],
                    "kind": spec.kind,
                    "prompt": spec.prompt,
                    "answer": spec.answer,
                    "accepted_answers": spec.accepted_answers,
                    "explanation": spec.explanation,
                    "source": [sources[spec.source][0]],
                    "source_quote": spec.source_quote,
                    "tags": spec.tags,
                    "is_active": True,
                },
            }
        )
        for position, text, correct in spec.choices:
            per_deck[deck].append(
                {
                    "model": "studyapp.choice",
                    "fields": {
                        "question": [spec.uid],
                        "position": position,
                        "text": text,
                        "is_correct": correct,
                    },
                }
            )
    files = {
        "sources.json": source_records,
        "decks.json": [
            {
                "model": "studyapp.deck",
                "fields": {"slug": slug, "name": f"Deck {i + 1}", "description": "", "position": i},
            }
            for i, slug in enumerate(decks)
        ],
    } | {f"questions-{deck}.json": records for deck, records in per_deck.items()}
    for name, records in files.items():
        (fixtures / name).write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n")
    return fixtures, seeds


def measure_bank(questions: int = 10_000, *, log=print) -> dict:
    with tempfile.TemporaryDirectory(prefix="studyapp-bench-bank-") as tmp:
        start = time.perf_counter()
        fixtures, seeds = write_bank(Path(tmp), questions)
        written = time.perf_counter() - start
        size = sum(f.stat().st_size for f in fixtures.glob("*.json"))
        files = len(list(fixtures.glob("*.json")))
        loads = []
        with override_settings(SEEDS_DIR=seeds):
            for label in ("first", "again"):
                out = io.StringIO()
                start = time.perf_counter()
                call_command("load_bank", str(fixtures), stdout=out)
                seconds = time.perf_counter() - start
                loads.append(
                    {
                        "load": label,
                        "seconds": round(seconds, 3),
                        "output": out.getvalue().strip().splitlines(),
                    }
                )
                log(f"  load_bank ({label}): {seconds:.2f} s")
    return {
        "questions": questions,
        "fixture_files": files,
        "fixture_bytes": size,
        "write_seconds": round(written, 2),
        "first_seconds": loads[0]["seconds"],
        "again_seconds": loads[1]["seconds"],
        "first_output": loads[0]["output"],
        "again_output": loads[1]["output"],
    }
