from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from backoffice.roles import matrix_markdown


class Command(BaseCommand):
    help = "Write docs/permissions.md from the permission matrix in backoffice/roles.py."

    def handle(self, *args, **options):
        path = Path(settings.BASE_DIR) / "docs" / "permissions.md"
        path.write_text(matrix_markdown())
        self.stdout.write(f"Wrote {path}")
