from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studyapp import bank, csv_bank


class Command(BaseCommand):
    help = (
        "Check a CSV of questions (see README, 'The question bank'), then load it in one "
        "transaction, updating questions in place by uid. Nothing is written if any row is wrong."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the CSV file")

    def handle(self, *args, file, **options):
        try:
            counts = csv_bank.import_csv(file)
        except bank.BankError as exc:
            raise CommandError(
                f"Nothing was imported; {len(exc.problems)} problem(s):\n{exc}"
            ) from None
        self.stdout.write(
            f"questions: {counts.created['questions']} created, "
            f"{counts.updated['questions']} updated, {counts.unchanged['questions']} unchanged"
        )
