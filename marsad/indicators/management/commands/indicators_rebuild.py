"""marsad indicators_rebuild: recompute every monthly fact and rollup from the registry's versions."""

from django.core.management.base import BaseCommand

from marsad.core.commands import add_today_argument, parse_today, progress_bar
from marsad.indicators.services import indicators_rebuild


class Command(BaseCommand):
    help = (
        "Recalcule tous les faits mensuels et les agrégats des indicateurs à partir des versions reçues "
        "(les mêmes lignes que la mise à jour au fil de l'eau)."
    )

    def add_arguments(self, parser) -> None:
        add_today_argument(parser)

    def handle(self, *args, **options) -> None:
        today = parse_today(options["today"])
        with progress_bar("Projets", shown=self.stdout.isatty()) as advance:
            summary = indicators_rebuild(today=today, progress=advance)
        self.stdout.write(
            f"{summary.projects} projets, {summary.months} faits mensuels, {summary.outputs} réalisations "
            f"mensuelles, {summary.rollups} agrégats."
        )
