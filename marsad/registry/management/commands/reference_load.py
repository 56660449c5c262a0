from django.core.management.base import BaseCommand

from marsad.accounts.services import organisations_load
from marsad.audit.services import SystemActor
from marsad.registry.services import reference_load


class Command(BaseCommand):
    help = (
        "Load the reference catalogue (programmes, statuses, milestone types, indicators) and organisations."
    )

    def handle(self, *args, **options):
        actor = SystemActor("reference_load")
        organisations = organisations_load(actor=actor)
        catalogue = reference_load(actor=actor)
        created, updated = sum(catalogue.created.values()), sum(catalogue.updated.values())
        self.stdout.write(
            f"Organisations: {organisations.created} created, {organisations.unchanged} unchanged. "
            f"Catalogue: {created} created, {updated} updated."
        )
