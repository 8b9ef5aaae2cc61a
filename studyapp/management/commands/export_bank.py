from pathlib import Path

from django.core.management.base import BaseCommand

from studyapp import bank


class Command(BaseCommand):
    help = "Write the database's question bank as fixtures (default: fixtures/)."

    def add_arguments(self, parser):
        parser.add_argument("--to", type=Path, default=None, help="folder to write into")

    def handle(self, *args, to, **options):
        for path in bank.export(to or bank.default_paths()[0]):
            self.stdout.write(f"wrote {bank.display(path)}")
