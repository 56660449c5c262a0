"""marsad alerts_evaluate: apply the alert rules to every project (open, update and close alerts)."""

from django.core.management.base import BaseCommand

from marsad.alerts.services import alerts_evaluate_all
from marsad.core.commands import add_today_argument, parse_today, progress_bar


class Command(BaseCommand):
    help = (
        "Applique les règles d'alerte à tous les projets : ouvre les alertes dont la condition apparaît, "
        "met à jour celles dont les constats changent, ferme celles dont la condition a disparu."
    )

    def add_arguments(self, parser) -> None:
        add_today_argument(parser)

    def handle(self, *args, **options) -> None:
        today = parse_today(options["today"])
        with progress_bar("Projets", shown=self.stdout.isatty()) as advance:
            summary = alerts_evaluate_all(today=today, progress=advance)
        self.stdout.write(
            f"{summary.projects} projets évalués : {summary.opened} alertes ouvertes, "
            f"{summary.updated} mises à jour, {summary.closed} closes ; "
            f"{summary.notified} courriels envoyés."
        )
