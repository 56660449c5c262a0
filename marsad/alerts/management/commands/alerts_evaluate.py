"""marsad alerts_evaluate: apply the alert rules to every project (open, update and close alerts)."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from marsad.alerts.services import alerts_evaluate_all


class Command(BaseCommand):
    help = (
        "Applique les règles d'alerte à tous les projets : ouvre les alertes dont la condition apparaît, "
        "met à jour celles dont les constats changent, ferme celles dont la condition a disparu."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--today",
            help="date du jour à utiliser (AAAA-MM-JJ), par défaut aujourd'hui à Casablanca",
        )

    def handle(self, *args, **options) -> None:
        today = None
        if options["today"] is not None:
            try:
                today = date.fromisoformat(options["today"])
            except ValueError:
                raise CommandError(
                    f"Date invalide « {options['today']} » : attendu AAAA-MM-JJ. "
                    "/ تاريخ غير صالح: الصيغة المنتظرة AAAA-MM-JJ."
                ) from None
        columns = (TextColumn("Projets"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, disable=not self.stdout.isatty()) as bar:
            task = bar.add_task("alerts", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = alerts_evaluate_all(today=today, progress=advance)
        self.stdout.write(
            f"{summary.projects} projets évalués : {summary.opened} alertes ouvertes, "
            f"{summary.updated} mises à jour, {summary.closed} closes ; "
            f"{summary.notified} courriels envoyés."
        )
