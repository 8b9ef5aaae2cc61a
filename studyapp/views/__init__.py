from .accounts import signup
from .progress import data_json, progress, reviews_csv
from .pages import dashboard, settings_page, source_detail, source_list
from .study import answer, bury, grade, reveal, study, suspend, undo

__all__ = [
    "answer", "bury", "data_json", "progress", "reviews_csv", "dashboard", "grade", "reveal", "settings_page", "signup",
    "source_detail", "source_list", "study", "suspend", "undo",
]  # fmt: skip
