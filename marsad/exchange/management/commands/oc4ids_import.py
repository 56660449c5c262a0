"""marsad oc4ids_import FILE [--dry-run]: read an OC4IDS 0.9.5 project package into the registry."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from marsad.audit.services import SystemActor
from marsad.exchange.interchange.oc4ids import PackageError, records_from_package
from marsad.registry.choices import Outcome, SourceKind
from marsad.registry.services import records_apply

BATCH_SIZE = 500
OUTCOMES = ("received", "created", "updated", "unchanged", "withdrawn", "rejected")


class Command(BaseCommand):
    help = (
        "Importe un paquet de projets OC4IDS 0.9.5 (le nôtre ou celui d'un autre éditeur) : chaque projet "
        "devient un enregistrement Marsad, vérifié par les règles du registre et écrit comme une version. "
        "Affiche les comptes et les projets rejetés avec leurs problèmes."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Fichier JSON du paquet de projets OC4IDS.")
        parser.add_argument("--dry-run", action="store_true", help="Vérifier seulement : rien n'est écrit.")
        parser.add_argument(
            "--batch-size", type=int, default=BATCH_SIZE, help="Enregistrements par lot (1 à 1000)."
        )

    def handle(self, *args, **options):
        with translation.override("fr"):
            self._import(options)

    def _import(self, options) -> None:
        path = Path(options["file"])
        if not 1 <= options["batch_size"] <= 1000:
            raise CommandError(_("--batch-size doit être compris entre 1 et 1000."))
        try:
            with path.open("rb") as handle:
                package = json.load(handle, parse_float=Decimal)
        except OSError as error:
            raise CommandError(
                _("Fichier illisible : %(path)s (%(error)s).") % {"path": path, "error": error.strerror}
            ) from error
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CommandError(_("%(path)s n'est pas un fichier JSON valide.") % {"path": path}) from error
        try:
            pairs = records_from_package(package)
        except PackageError as error:
            raise CommandError(
                _(
                    "%(path)s n'est pas un paquet de projets OC4IDS "
                    "(il faut un objet avec une liste « projects »)."
                )
                % {"path": path}
            ) from error

        console = Console(file=self.stdout, force_terminal=None)
        actor = SystemActor("oc4ids_import")
        counts = dict.fromkeys(OUTCOMES, 0)
        rejected: list[tuple[str, object]] = []
        size = options["batch_size"]
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(_("Projets"), total=len(pairs))
            for start in range(0, len(pairs), size):
                batch = pairs[start : start + size]
                result = records_apply(
                    actor=actor,
                    records=[record for record, _pointer in batch],
                    source_kind=SourceKind.COMMAND,
                    source_id=path.name[:64],
                    dry_run=options["dry_run"],
                )
                for name, count in result.counts.items():
                    counts[name] = counts.get(name, 0) + count
                for (_record, pointer), outcome in zip(batch, result.results, strict=True):
                    if outcome.outcome == Outcome.REJECTED:
                        rejected.append((pointer, outcome))
                bar.advance(task, len(batch))

        verb = _("vérifiés (rien n'a été écrit)") if options["dry_run"] else _("importés")
        console.print(
            _(
                "%(received)s projets %(verb)s : %(created)s créés, %(updated)s mis à jour, "
                "%(unchanged)s inchangés, %(rejected)s rejetés."
            )
            % {**counts, "verb": verb},
            soft_wrap=True,
        )
        for pointer, outcome in rejected:
            label = outcome.operator_ref or "?"
            console.print(
                _("Rejeté : %(pointer)s (%(reference)s)") % {"pointer": pointer, "reference": label},
                markup=False,
                highlight=False,
            )
            for problem in outcome.errors:
                found = problem.as_dict()
                console.print(
                    f"  {found['pointer'] or '/'} [{found['code']}] {found['message_fr']}",
                    soft_wrap=True,
                    markup=False,
                    highlight=False,
                )
