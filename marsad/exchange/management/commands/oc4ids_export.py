"""marsad oc4ids_export [--output FILE]: write the OC4IDS 0.9.5 project package of published projects."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from marsad.exchange.interchange import as_date_time, public_projects, with_relations
from marsad.exchange.interchange.oc4ids import package_chunks

API_PATH = "/api/v1/exports/oc4ids.json"


class Command(BaseCommand):
    help = (
        "Écrit le paquet de projets OC4IDS 0.9.5 des projets publiés et non retirés, projet par projet "
        "(mémoire bornée), dans un fichier ou sur la sortie standard."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", help="Fichier à écrire (par défaut : la sortie standard).")
        parser.add_argument(
            "--base-url",
            default="",
            help="Adresse publique de la plateforme (https://…), qui identifie le paquet ; à défaut, "
            "un URN daté.",
        )

    def handle(self, *args, **options):
        with translation.override("fr"):
            self._export(options)

    def _export(self, options) -> None:
        projects = public_projects()
        count = projects.count()
        latest = projects.order_by("-updated_at").values_list("updated_at", flat=True).first()
        published = latest or timezone.now()
        base_url = options["base_url"].rstrip("/")
        uri = base_url + API_PATH if base_url else "urn:marsad:oc4ids:" + as_date_time(published)
        chunks = package_chunks(with_relations(projects), published_date=published, uri=uri)
        if not options["output"]:
            for chunk in chunks:  # each chunk ends between two projects: whole UTF-8 characters
                self.stdout.write(chunk.decode("utf-8"), ending="")
            self.stdout.write("")
            return
        path = Path(options["output"])
        try:
            with path.open("wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
        except OSError as error:
            raise CommandError(
                _("Impossible d'écrire %(path)s (%(error)s).") % {"path": path, "error": error.strerror}
            ) from error
        self.stdout.write(_("%(count)s projets écrits dans %(path)s.") % {"count": count, "path": path})
