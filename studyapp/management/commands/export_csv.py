import io
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studyapp import bank, csv_bank
from studyapp.models import Deck


class Command(BaseCommand):
    help = (
        "Write the bank's questions (active or not) as CSV, to standard output or a file. "
        "import_csv of what it writes changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", metavar="FILE", type=Path, help="default: standard output")
        parser.add_argument("--deck", metavar="SLUG", help="only this deck (default: every deck)")

    def handle(self, *args, output, deck, **options):
        chosen = None
        if deck is not None:
            chosen = Deck.objects.filter(slug=deck).first()
            if chosen is None:
                known = ", ".join(Deck.objects.values_list("slug", flat=True)) or "none"
                raise CommandError(f"No deck {deck!r} (known: {known}).")
        buffer = io.StringIO(newline="")
        try:
            n = csv_bank.export_csv(buffer, chosen)
        except bank.BankError as exc:
            raise CommandError(
                f"Nothing was written; {len(exc.problems)} question(s) the CSV can't carry:\n{exc}"
            ) from None
        if output is None:
            self.stdout.write(buffer.getvalue(), ending="")
        else:
            output.write_text(buffer.getvalue(), encoding="utf-8", newline="")
            self.stdout.write(f"wrote {n} questions to {output}")
