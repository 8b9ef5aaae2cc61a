from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studyapp import bank


class Command(BaseCommand):
    help = (
        "Check the question bank, then load it in one transaction, updating rows in place. "
        "With no paths: all of fixtures/, and active questions missing from it are deactivated."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", type=Path, help="fixture files or folders")

    def handle(self, *args, paths, **options):
        try:
            counts = bank.load(paths or bank.default_paths(), deactivate_missing=not paths)
        except bank.BankError as exc:
            raise CommandError(
                f"The bank was not loaded; {len(exc.problems)} problem(s):\n{exc}"
            ) from None
        for line in counts.lines():
            self.stdout.write(line)
