import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studyapp import ingest


class Command(BaseCommand):
    help = (
        "Add a text document: web boilerplate is removed and reported, the text is kept under "
        "seeds/ and as a Source, and draft questions (inactive, tagged draft) are proposed. "
        "Ingesting the same file again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--slug", default="", help="default: from the file name")
        parser.add_argument("--title", default="")
        parser.add_argument("--publisher", default="")
        parser.add_argument("--date", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD")

    def handle(self, *args, file, slug, title, publisher, date, **options):
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}") from None
        try:
            done = ingest.ingest(
                name=str(file), content=content, slug=slug, title=title,
                publisher=publisher, published_on=date,
            )  # fmt: skip
        except ingest.IngestError as exc:
            raise CommandError(str(exc)) from None
        state = "added" if done.created else "updated" if done.changed else "unchanged"
        self.stdout.write(f"{done.source.slug}: {state} (seeds/{done.source.seed_file})")
        for what, line in done.removed:
            self.stdout.write(f"  removed {what}: {line[:100]}")
        self.stdout.write(
            f"drafts: {done.drafts_created} created, {done.drafts_kept} already there, "
            f"{len(done.drafts_refused)} refused"
        )
