"""Test support: a registered client with a real Ed25519 key, and signed requests through
Django's test client (the same bytes and headers a sending system produces)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from marsad.accounts.models import Organisation
from marsad.audit.services import SystemActor
from marsad.exchange import services
from marsad.exchange.models import ApiClient, ClientKey
from marsad.exchange.signing import public_key_text

ADMIN = SystemActor("test")


@dataclass
class Sender:
    client: ApiClient
    token: str
    key: ClientKey
    private: Ed25519PrivateKey

    def headers(self, body: bytes, *, timestamp: int | None = None, key: str | None = None) -> dict:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        signature = base64.b64encode(self.private.sign(stamp.encode() + b"." + body)).decode()
        return {
            "HTTP_AUTHORIZATION": f"Bearer {self.token}",
            "HTTP_MARSAD_KEY_ID": self.key.key_id,
            "HTTP_MARSAD_TIMESTAMP": stamp,
            "HTTP_MARSAD_SIGNATURE": signature,
            "HTTP_IDEMPOTENCY_KEY": key if key is not None else uuid.uuid4().hex,
        }

    def submit(
        self, http, records=None, *, body: bytes | None = None, key: str | None = None, path="", **extra
    ):
        if body is None:
            body = json.dumps({"records": records}, ensure_ascii=False).encode()
        headers = self.headers(body, key=key)
        headers.update(extra)
        return http.post(
            "/api/v1/exchange/submissions" + path, data=body, content_type="application/json", **headers
        )


def sender(
    organisation: str = "MA-ALOMRANE-DOE", *, client_id: str = "", write_for: tuple[str, ...] = (), **options
) -> Sender:
    org = Organisation.objects.get(code=organisation)
    client, token = services.client_create(
        actor=ADMIN,
        client_id=client_id or f"si-{organisation.lower()}",
        name=f"Système d'information {organisation}",
        organisation=org,
        write_for=list(Organisation.objects.filter(code__in=write_for)),
        **options,
    )
    private = Ed25519PrivateKey.generate()
    key = services.client_key_add(
        actor=ADMIN, client=client, public_key=public_key_text(private.public_key())
    )
    return Sender(client, token, key, private)
