import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Make sure a local staff account exists for studying and the admin. Its generated "
        "password is kept in .local-account (not in the code, not in git)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        secret_file = Path(settings.BASE_DIR) / ".local-account"
        user = User.objects.filter(username=username).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser(username=username, password=password, email="")
            secret_file.write_text(f"{username} {password}\n", encoding="utf-8")
            secret_file.chmod(0o600)
        else:
            saved = secret_file.read_text().split() if secret_file.is_file() else []
            password = saved[1] if saved[:1] == [username] and len(saved) == 2 else None
            if password and not user.check_password(password):
                password = None  # changed since; we don't know the new one
        self.stdout.write("Study at http://127.0.0.1:8000/ and edit the bank at /admin/")
        if password:
            self.stdout.write(
                f"Log in as {username} with password {password} (kept in .local-account)."
            )
        else:
            self.stdout.write(
                f"Log in as {username}; to set its password: "
                f"python manage.py changepassword {username}"
            )
