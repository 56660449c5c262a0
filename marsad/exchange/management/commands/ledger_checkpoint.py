"""marsad ledger_checkpoint: sign the ledger's current head (the scheduler runs it periodically)."""

from django.core.management.base import BaseCommand

from marsad.audit.services import SystemActor
from marsad.exchange.services import ledger_checkpoint


class Command(BaseCommand):
    help = (
        "Signe la tête du registre chaîné avec la clé de la plateforme (rien à faire si elle n'a pas bougé)."
    )

    def handle(self, *args, **options):
        checkpoint = ledger_checkpoint(actor=SystemActor("ledger_checkpoint"))
        if checkpoint is None:
            self.stdout.write("Tête déjà signée : rien à faire.")
        else:
            self.stdout.write(f"Tête n° {checkpoint.seq} signée avec la clé {checkpoint.key_id}.")
