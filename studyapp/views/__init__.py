from .accounts import signup
from .exchange import anki_bank, anki_deck
from .pages import dashboard, settings_page, source_detail, source_list
from .progress import data_json, progress, reviews_csv
from .study import answer, bury, grade, reveal, study, suspend, undo

__all__ = [
    "anki_bank",
    "anki_deck",
    "answer",
    "bury",
    "dashboard",
    "data_json",
    "grade",
    "progress",
    "reveal",
    "reviews_csv",
    "settings_page",
    "signup",
    "source_detail",
    "source_list",
    "study",
    "suspend",
    "undo",
]  # fmt: skip
