"""Talking to a live Marsad (the ``marsad_live`` fixture) as a sending system does: clients registered
with the real command, requests signed with real keys, real HTTP."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from marsad.exchange.signing import public_key_text


@dataclass
class LiveClient:
    base_url: str
    client_id: str
    token: str
    key_id: str
    private: Ed25519PrivateKey

    def signed_headers(self, body: bytes, key: str | None = None) -> dict:
        stamp = str(int(time.time()))
        signature = base64.b64encode(self.private.sign(stamp.encode() + b"." + body)).decode()
        return {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Marsad-Key-Id": self.key_id,
            "Marsad-Timestamp": stamp,
            "Marsad-Signature": signature,
            "Idempotency-Key": key or uuid.uuid4().hex,
        }

    def submit(self, http: httpx.Client, records: list, *, key: str | None = None) -> httpx.Response:
        body = json.dumps({"records": records}, ensure_ascii=False).encode()
        return http.post(
            f"{self.base_url}/api/v1/exchange/submissions",
            content=body,
            headers=self.signed_headers(body, key),
        )

    def changes(self, http: httpx.Client, after: str | None, limit: int = 1000) -> dict:
        params = {"limit": limit, **({"after": after} if after else {})}
        response = http.get(
            f"{self.base_url}/api/v1/exchange/changes",
            params=params,
            headers={"Authorization": f"Bearer {self.token}"},
        )
        response.raise_for_status()
        return response.json()

    def all_changes(self, http: httpx.Client, after: str | None = None) -> tuple[list[dict], str | None]:
        events = []
        while True:
            page = self.changes(http, after)
            events.extend(page["events"])
            after = page["next"]
            if not page["has_more"]:
                return events, after


def register(live, organisation: str, client_id: str, *, rate: int = 100000) -> LiveClient:
    private = Ed25519PrivateKey.generate()
    token_file = live.var / f"{client_id}.token"
    output = live.manage(
        "client", "create", "--organisation", organisation, "--client-id", client_id, "--name", client_id,
        "--public-key", public_key_text(private.public_key()), "--key-id", f"{client_id}-key",
        "--rate", str(rate), "--token-file", str(token_file),
    )  # fmt: skip
    assert f"Client {client_id} enregistré" in output, output
    return LiveClient(live.url, client_id, token_file.read_text().strip(), f"{client_id}-key", private)
