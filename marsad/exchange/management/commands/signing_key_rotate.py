"""marsad signing_key_rotate: a new platform signing key; earlier ones retire but stay published."""

from django.core.management.base import BaseCommand

from marsad.exchange.signing import keys_dir, platform_key_create


class Command(BaseCommand):
    help = (
        "Crée une nouvelle clé de signature de la plateforme (Ed25519). Les clés précédentes sont retirées "
        "mais restent publiées sur /api/v1/exchange/keys : les accusés déjà signés restent vérifiables."
    )

    def handle(self, *args, **options):
        key = platform_key_create()
        self.stdout.write(
            f"Clé {key.key_id} créée ; clé privée dans {keys_dir()} ; clé publique {key.public_key}"
        )
