from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from marsad.registry.rules import rules_markdown


class Command(BaseCommand):
    help = "Write docs/validation-rules.md from the rules (codes, severities, messages in French and Arabic)."

    def handle(self, *args, **options):
        path = Path(settings.BASE_DIR) / "docs" / "validation-rules.md"
        path.write_text(rules_markdown(), encoding="utf-8")
        self.stdout.write(f"Wrote {path}")
