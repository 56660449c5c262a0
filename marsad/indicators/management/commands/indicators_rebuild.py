"""marsad indicators_rebuild: recompute every monthly fact and rollup from the registry's versions."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from marsad.indicators.services import indicators_rebuild


class Command(BaseCommand):
    help = (
        "Recalcule tous les faits mensuels et les agrégats des indicateurs à partir des versions reçues "
        "(les mêmes lignes que la mise à jour au fil de l'eau)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--today",
            help="date du jour à utiliser (AAAA-MM-JJ), par défaut aujourd'hui à Casablanca",
        )

    def handle(self, *args, **options) -> None:
        today = None
        if options["today"]:
            try:
                today = date.fromisoformat(options["today"])
            except ValueError:
                raise CommandError(
                    f"Date invalide « {options['today']} » : attendu AAAA-MM-JJ. "
                    "/ تاريخ غير صالح: الصيغة المنتظرة AAAA-MM-JJ."
                ) from None
        columns = (TextColumn("Projets"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, disable=not self.stdout.isatty()) as bar:
            task = bar.add_task("rebuild", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = indicators_rebuild(today=today, progress=advance)
        self.stdout.write(
            f"{summary.projects} projets, {summary.months} faits mensuels, {summary.outputs} réalisations "
            f"mensuelles, {summary.rollups} agrégats."
        )
