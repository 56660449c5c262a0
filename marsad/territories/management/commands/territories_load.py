"""marsad territories_load: load or refresh HCP's territories, census figures and boundaries."""

from django.core.management.base import BaseCommand
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from marsad.territories.services import territories_load


class Command(BaseCommand):
    help = (
        "Charge ou met à jour les régions, provinces, communes et arrondissements du HCP, leurs chiffres "
        "du RGPH 2024 et leurs limites. Sans doublon : une seconde exécution met à jour les lignes."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-boundaries", action="store_true", help="Ne pas (re)calculer les limites (plus rapide)."
        )

    def handle(self, *args, **options):
        console = Console(file=self.stdout, force_terminal=None)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=False) as bar:

            def step(label: str, total: int):
                task = bar.add_task(label, total=total)
                return lambda n: bar.advance(task, n)

            summary = territories_load(boundaries=not options["no_boundaries"], progress=step)

        table = Table(title="Territoires / الوحدات الترابية")
        table.add_column("Niveau")
        table.add_column("Unités", justify="right")
        table.add_column("Avec limite", justify="right")
        for level, count in summary.territories.items():
            table.add_row(level, str(count), str(summary.boundaries.get(level, 0)))
        console.print(table)
        console.print(
            f"{summary.created} créés, {summary.updated} mis à jour, "
            f"{summary.census_rows} lignes de recensement, "
            f"{summary.unmatched} unités sans limite (voir docs/boundaries-join.md). "
            "Source : HCP, RGPH 2024 et 2014 (CC BY 4.0)."
        )
