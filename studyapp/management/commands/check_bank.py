from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studyapp import bank


class Command(BaseCommand):
    help = "Check the question bank without loading it; exits non-zero on any problem."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", type=Path, help="fixture files or folders")

    def handle(self, *args, paths, **options):
        loaded, problems = bank.check(paths or bank.default_paths())
        if problems:
            raise CommandError(
                f"{len(problems)} problem(s):\n" + "\n".join(str(p) for p in problems)
            )
        self.stdout.write(
            f"The bank is sound: {len(loaded.sources)} sources, {len(loaded.decks)} decks, "
            f"{len(loaded.questions)} questions, {len(loaded.choices)} choices."
        )
