"""marsad demo_data: generate (or bring up to date) the deterministic demo dataset and the demo users."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from marsad.registry.demo import (
    BATCH_SIZE,
    DEFAULT_PROJECTS,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DEMO_TODAY,
    DemoDataError,
    demo_generate,
    demo_logins,
)
from marsad.territories.choices import Level
from marsad.territories.selectors import territory_list


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Date invalide : {value} (format AAAA-MM-JJ).") from None


class Command(BaseCommand):
    help = (
        "Génère le jeu de démonstration : des projets réalistes dans les 12 régions, avec leurs versions "
        "mensuelles, conventions et publications, écrits par les services du registre, et un utilisateur "
        "de démonstration par rôle. Déterministe (même graine, même taille : mêmes versions) et "
        "idempotent : une seconde exécution laisse les projets inchangés."
    )

    def add_arguments(self, parser):
        parser.add_argument("--projects", type=int, default=DEFAULT_PROJECTS, help="Nombre de projets.")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Graine du générateur.")
        parser.add_argument(
            "--today",
            type=_day,
            default=DEMO_TODAY,
            help=f"Date simulée du jour (AAAA-MM-JJ, par défaut {DEMO_TODAY.isoformat()}).",
        )
        parser.add_argument(
            "--no-users", action="store_true", help="Ne pas créer les utilisateurs de démonstration."
        )
        parser.add_argument(
            "--batch-size", type=int, default=BATCH_SIZE, help="Enregistrements par lot (1 à 1000)."
        )

    def handle(self, *args, **options):
        if options["projects"] < 1:
            raise CommandError("--projects doit être un entier positif.")
        if not 1 <= options["batch_size"] <= 1000:
            raise CommandError("--batch-size doit être compris entre 1 et 1000.")
        if options["today"] < date(2013, 1, 1):
            raise CommandError("--today doit être postérieure au 1er janvier 2013.")
        console = Console(file=self.stdout, force_terminal=None)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        try:
            with Progress(*columns, console=console, transient=False) as bar:

                def step(label: str, total: int):
                    task = bar.add_task(label, total=total)
                    return lambda n: bar.advance(task, n)

                summary = demo_generate(
                    projects=options["projects"],
                    seed=options["seed"],
                    today=options["today"],
                    users=not options["no_users"],
                    batch_size=options["batch_size"],
                    progress=step,
                )
        except DemoDataError as error:
            raise CommandError(str(error)) from error

        table = Table(title="Projets par programme")
        table.add_column("Programme")
        table.add_column("Projets", justify="right")
        for code, count in sorted(summary.by_programme.items(), key=lambda item: (-item[1], item[0])):
            table.add_row(code, str(count))
        console.print(table)
        table = Table(title="Projets par région")
        table.add_column("Région")
        table.add_column("Projets", justify="right")
        names = {region.code: region.name_fr for region in territory_list(level=Level.REGION)}
        for code, count in sorted(summary.by_region.items()):
            table.add_row(f"{code} {names.get(code, '')}", str(count))
        console.print(table)
        outcomes = ", ".join(f"{count} {name}" for name, count in sorted(summary.outcomes.items()))
        statuses = ", ".join(f"{count} {name}" for name, count in sorted(summary.by_status.items()))
        rate = summary.versions / summary.seconds if summary.seconds else 0
        console.print(
            f"{summary.projects} projets, {summary.records} enregistrements envoyés sur "
            f"{summary.months} mois ({outcomes}) : {summary.versions} versions écrites "
            f"en {summary.seconds:.1f} s ({rate:.0f} versions/s).",
            soft_wrap=True,
        )
        console.print(f"Statuts au {options['today'].isoformat()} : {statuses}.", soft_wrap=True)
        console.print(
            f"{summary.agreements_created} conventions et {summary.agencies_created} agences créées, "
            f"{summary.published} projets publiés, {summary.users_created} utilisateurs créés.",
            soft_wrap=True,
        )
        if not options["no_users"]:
            table = Table(title=f"Comptes de démonstration (mot de passe : {DEMO_PASSWORD})")
            table.add_column("Identifiant")
            table.add_column("Rôle")
            table.add_column("Périmètre")
            for username, role, scope in demo_logins():
                table.add_row(username, role, scope)
            console.print(table)
