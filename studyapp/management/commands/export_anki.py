from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studyapp import anki
from studyapp.models import Deck


class Command(BaseCommand):
    help = (
        "Write the bank's active questions as an Anki package (.apkg): one deck, or all of them. "
        "Importing a newer package into Anki updates the notes already there."
    )

    def add_arguments(self, parser):
        parser.add_argument("--deck", metavar="SLUG", help="only this deck (default: every deck)")
        parser.add_argument(
            "--output", metavar="FILE", type=Path, default=None,
            help="where to write (default: <deck>.apkg, or nqpf-study.apkg for every deck)",
        )  # fmt: skip

    def handle(self, *args, deck, output, **options):
        chosen = None
        if deck is not None:
            chosen = Deck.objects.filter(slug=deck).first()
            if chosen is None:
                known = ", ".join(Deck.objects.values_list("slug", flat=True)) or "none"
                raise CommandError(f"No deck {deck!r} (known: {known}).")
        export = anki.build(chosen)
        path = output or Path(anki.filename(chosen))
        path.write_bytes(export.data)
        self.stdout.write(f"wrote {path}: {export.notes} notes in {export.decks} deck(s)")
