"""marsad client: register an operator's sending systems, manage their keys and tokens."""

import re
from datetime import timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction
from rich.console import Console
from rich.table import Table

from marsad.accounts.models import Organisation
from marsad.audit.services import SystemActor
from marsad.exchange import services
from marsad.exchange.models import ApiClient, ClientKey
from marsad.exchange.signing import load_public_key

ACTOR = SystemActor("client")


def _client(client_id: str) -> ApiClient:
    client = ApiClient.objects.filter(client_id=client_id).first()
    if client is None:
        raise CommandError(f"Client inconnu : {client_id}")
    return client


CLIENT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")


def _public_key(options) -> str:
    if options.get("public_key_file"):
        try:
            return Path(options["public_key_file"]).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Clé publique illisible ({options['public_key_file']}) : {error}") from None
    return (options.get("public_key") or "").strip()


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Gère les clients de l'API d'échange : create (enregistre un système émetteur et affiche son jeton, "
        "une seule fois), key-add (ajoute une clé Ed25519 ; les clés en cours restent valides pendant le "
        "recouvrement), key-revoke, token (nouveau jeton), revoke (révoque le client), list."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Enregistre un client.")
        create.add_argument("--organisation", required=True, help="Code de l'organisation (MA-…).")
        create.add_argument("--client-id", required=True, help="Identifiant (lettres, chiffres, tirets).")
        create.add_argument("--name", required=True)
        create.add_argument(
            "--write-for", nargs="*", default=[], help="Organisations (codes) pour qui il écrit."
        )
        create.add_argument("--public-key", help="Clé publique Ed25519 (base64 des 32 octets).")
        create.add_argument("--public-key-file")
        create.add_argument("--key-id", default="")
        create.add_argument("--no-submit", action="store_true", help="Lecture du flux seulement.")
        create.add_argument("--no-feed", action="store_true", help="Soumission seulement.")
        create.add_argument("--rate", type=_positive, default=120, help="Requêtes par minute (au moins 1).")
        create.add_argument(
            "--token-file", help="Écrit le jeton dans ce fichier (0600) au lieu de l'afficher."
        )
        add = sub.add_parser("key-add", help="Ajoute une clé (rotation).")
        add.add_argument("--client", required=True)
        add.add_argument("--public-key")
        add.add_argument("--public-key-file")
        add.add_argument("--key-id", default="")
        add.add_argument("--overlap-days", type=int, choices=range(0, 366), metavar="0-365", default=7)
        revoke_key = sub.add_parser("key-revoke", help="Révoque une clé.")
        revoke_key.add_argument("--key", required=True)
        token = sub.add_parser("token", help="Émet un nouveau jeton (l'ancien cesse de valoir).")
        token.add_argument("--client", required=True)
        token.add_argument("--token-file")
        revoke = sub.add_parser("revoke", help="Révoque le client et toutes ses clés.")
        revoke.add_argument("--client", required=True)
        sub.add_parser("list", help="Liste les clients et leurs clés.")

    def handle(self, *args, **options):
        action = options["action"]
        return getattr(self, "_" + action.replace("-", "_"))(options)

    def _token_out(self, token: str, path: str | None) -> None:
        if path:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(token + "\n", encoding="utf-8")
            target.chmod(0o600)
            self.stdout.write(f"Jeton écrit dans {target} (il ne sera plus affiché).")
        else:
            self.stdout.write(f"Jeton (affiché une seule fois) : {token}")

    @transaction.atomic
    def _create(self, options):
        if not CLIENT_ID.fullmatch(options["client_id"]):
            raise CommandError(
                f"Identifiant de client invalide : {options['client_id']} (2 à 64 caractères : minuscules, "
                "chiffres et tirets)."
            )
        organisation = Organisation.objects.filter(code=options["organisation"]).first()
        if organisation is None:
            raise CommandError(f"Organisation inconnue : {options['organisation']}")
        write_for = list(Organisation.objects.filter(code__in=options["write_for"]))
        missing = set(options["write_for"]) - {o.code for o in write_for}
        if missing:
            raise CommandError(f"Organisations inconnues : {', '.join(sorted(missing))}")
        public_key = _public_key(options)  # read and checked before anything is written
        try:
            if public_key:
                load_public_key(public_key)
        except ValueError:
            raise CommandError(
                "Clé publique invalide : base64 des 32 octets d'une clé Ed25519 attendu."
            ) from None
        try:
            client, token = services.client_create(
                actor=ACTOR, client_id=options["client_id"], name=options["name"], organisation=organisation,
                write_for=write_for, can_submit=not options["no_submit"],
                can_read_feed=not options["no_feed"],
                rate_per_minute=options["rate"],
            )  # fmt: skip
        except IntegrityError:
            raise CommandError(f"Le client {options['client_id']} existe déjà.") from None
        self.stdout.write(f"Client {client.client_id} enregistré pour {organisation.code}.")
        if public_key:
            self._add_key(client, options)
        self._token_out(token, options.get("token_file"))

    def _add_key(self, client: ApiClient, options) -> None:
        try:
            key = services.client_key_add(
                actor=ACTOR, client=client, public_key=_public_key(options), key_id=options.get("key_id", ""),
                overlap=timedelta(days=options.get("overlap_days", 7)),
            )  # fmt: skip
        except ValueError:
            raise CommandError(
                "Clé publique invalide : base64 des 32 octets d'une clé Ed25519 attendu."
            ) from None
        except IntegrityError:
            raise CommandError(f"La clé {options.get('key_id')} existe déjà.") from None
        self.stdout.write(f"Clé {key.key_id} ajoutée.")

    def _key_add(self, options):
        if not _public_key(options):
            raise CommandError("--public-key ou --public-key-file est requis.")
        self._add_key(_client(options["client"]), options)

    def _key_revoke(self, options):
        key = ClientKey.objects.select_related("client").filter(key_id=options["key"]).first()
        if key is None:
            raise CommandError(f"Clé inconnue : {options['key']}")
        services.client_key_revoke(actor=ACTOR, key=key)
        self.stdout.write(f"Clé {key.key_id} révoquée.")

    def _token(self, options):
        token = services.client_token_rotate(actor=ACTOR, client=_client(options["client"]))
        self._token_out(token, options.get("token_file"))

    def _revoke(self, options):
        client = _client(options["client"])
        services.client_revoke(actor=ACTOR, client=client)
        self.stdout.write(f"Client {client.client_id} révoqué.")

    @staticmethod
    def _key_state(key: ClientKey) -> str:
        if key.revoked_at:
            return " (révoquée)"
        return f" (expire le {key.expires_at:%Y-%m-%d})" if key.expires_at else ""

    def _list(self, options):
        table = Table("client", "organisation", "état", "clés")
        for client in ApiClient.objects.select_related("organisation").prefetch_related("keys"):
            keys = ", ".join(k.key_id + self._key_state(k) for k in client.keys.all())
            table.add_row(
                client.client_id, client.organisation.code, "révoqué" if client.revoked_at else "actif", keys
            )
        Console(file=self.stdout, width=160).print(table)
