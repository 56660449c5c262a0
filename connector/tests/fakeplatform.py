"""A small stand-in for the platform's exchange API, served on loopback in a thread.

It follows the published contract (bearer token, Ed25519 request signatures within ±300 s,
idempotency keys with replay and 422 on a different body, signed receipts, public keys) and keeps
every version it writes, so that tests can count versions and spot a duplicate. It is a test double
of the contract, not of the platform's rules: it rejects a record only for an unknown programme code
or a withdrawal of an unknown project.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PROGRAMMES = {"VSB", "HMR", "RQSE", "MANU", "PU", "VN", "ZAE", "CE", "PDR", "PAC"}
KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass
class Scripted:
    """A response given instead of normal processing, for one request."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class FakePlatform:
    def __init__(self, client_key: Ed25519PublicKey, token: str = "secret-token", key_id: str = "si-test"):
        self.client_key = client_key
        self.token = token
        self.client_key_id = key_id
        self.server_key = Ed25519PrivateKey.generate()
        self.server_key_id = "marsad-2026-01"
        self.lock = threading.Lock()
        self.script: list[Scripted] = []
        self.receipts: dict[str, tuple[str, dict[str, Any]]] = {}  # key → (digest, receipt)
        self.versions: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.requests: list[dict[str, Any]] = []
        self.writes = 0  # submissions that wrote (not replays, not dry runs)
        self.replays = 0
        self.sequence = 0
        self.tamper = False  # alter receipts after signing them
        self.after_commit: Callable[[], None] | None = None
        self.keys_available = True
        self.sign_dry_runs = True
        self.server: ThreadingHTTPServer | None = None

    # --- Serving ---------------------------------------------------------------------------------

    def start(self) -> FakePlatform:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.startswith("/api/v1/exchange/keys") and platform.keys_available:
                    self.reply(200, platform.keys_document())
                else:
                    self.reply(404, {"status": 404, "title": "Introuvable"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                status, headers, document = platform.handle(dict(self.headers), body, self.path)
                self.reply(status, document, headers)

            def reply(self, status: int, document: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(document, ensure_ascii=False).encode()
                self.send_response(status)
                problem = status >= 400
                self.send_header(
                    "Content-Type", "application/problem+json" if problem else "application/json"
                )
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    # --- Contract --------------------------------------------------------------------------------

    def keys_document(self) -> dict[str, Any]:
        raw = self.server_key.public_key().public_bytes_raw()
        return {
            "keys": [
                {
                    "key_id": self.server_key_id,
                    "algorithm": "ed25519",
                    "public_key": base64.b64encode(raw).decode(),
                    "created_at": "2026-01-01T00:00:00Z",
                    "retired_at": None,
                }
            ]
        }

    def sign(self, receipt: dict[str, Any]) -> dict[str, Any]:
        value = self.server_key.sign(rfc8785.dumps(receipt))
        receipt["signature"] = {
            "key_id": self.server_key_id,
            "algorithm": "ed25519",
            "value": base64.b64encode(value).decode(),
        }
        return receipt

    @staticmethod
    def problem(status: int, title: str) -> dict[str, Any]:
        return {"type": "about:blank", "status": status, "title": title}

    def handle(self, headers: dict[str, str], body: bytes, path: str) -> tuple[int, dict[str, str], Any]:
        headers = {name.lower(): value for name, value in headers.items()}
        self.requests.append({"headers": headers, "body": body, "at": time.time()})
        with self.lock:
            if self.script:
                scripted = self.script.pop(0)
                return (
                    scripted.status,
                    scripted.headers,
                    scripted.body or self.problem(scripted.status, "scripted"),
                )
        if path != "/api/v1/exchange/submissions":
            return 404, {}, self.problem(404, "Introuvable")
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, self.problem(401, "Jeton invalide")
        try:
            timestamp = int(headers["marsad-timestamp"])
            signature = base64.b64decode(headers["marsad-signature"])
            if headers["marsad-key-id"] != self.client_key_id or abs(time.time() - timestamp) > 300:
                raise ValueError
            self.client_key.verify(signature, f"{timestamp}.".encode() + body)
        except (KeyError, ValueError, InvalidSignature):
            return 401, {}, self.problem(401, "Signature invalide")
        key = headers.get("idempotency-key", "")
        if not KEY_PATTERN.fullmatch(key):
            return 400, {}, self.problem(400, "Idempotency-Key absente ou mal formée")
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        with self.lock:
            if key in self.receipts:
                stored_digest, receipt = self.receipts[key]
                if stored_digest != digest:
                    return 422, {}, self.problem(422, "Même clé, autre corps")
                self.replays += 1
                return 200, {"Marsad-Replay": "true"}, receipt
            try:
                envelope = json.loads(body)
                records = envelope["records"]
                dry_run = bool(envelope.get("dry_run", False))
            except (ValueError, KeyError, TypeError):
                return 422, {}, self.problem(422, "Enveloppe invalide")
            if len(records) > 1000:
                return 413, {}, self.problem(413, "Lot trop grand")
            receipt = self.process(key, digest, records, dry_run)
            if not dry_run:
                self.receipts[key] = (digest, receipt)
                self.writes += 1
        if not dry_run and self.after_commit is not None:
            self.after_commit()
        if self.tamper:  # the answer is altered on its way, not the stored receipt
            receipt = copy.deepcopy(receipt)
            receipt["counts"]["created"] += 1
        return (200 if dry_run else 201), {}, receipt

    def process(self, key: str, digest: str, records: list[dict[str, Any]], dry_run: bool) -> dict[str, Any]:
        counts = dict.fromkeys(("received", "created", "updated", "unchanged", "withdrawn", "rejected"), 0)
        counts["received"] = len(records)
        results = []
        for index, record in enumerate(records):
            ident = (record.get("operator"), record.get("operator_ref"))
            history = self.versions.get(ident, [])
            problems = []
            canonical = hashlib.sha256(rfc8785.dumps(record)).hexdigest()
            if record.get("withdrawn") is True:
                if not history:
                    problems.append(
                        {"code": "unknown_project", "severity": "error", "pointer": "/operator_ref"}
                    )
                    outcome = "rejected"
                elif history[-1].get("withdrawn"):
                    outcome = "unchanged"
                else:
                    outcome = "withdrawn"
            elif record.get("programme") not in PROGRAMMES:
                problems.append(
                    {
                        "code": "unknown_code",
                        "severity": "error",
                        "pointer": "/programme",
                        "status": 422,
                        "message_fr": "Code inconnu du référentiel",
                        "message_ar": "رمز غير معروف",
                    }
                )
                outcome = "rejected"
            elif history and hashlib.sha256(rfc8785.dumps(history[-1])).hexdigest() == canonical:
                outcome = "unchanged"
            else:
                outcome = "updated" if history else "created"
            counts[outcome] += 1
            if outcome in ("created", "updated", "withdrawn") and not dry_run:
                self.versions.setdefault(ident, []).append(record)
            results.append(
                {
                    "index": index,
                    "operator": ident[0],
                    "operator_ref": ident[1],
                    "outcome": outcome,
                    "project_id": None if outcome == "rejected" else f"MRS-{abs(hash(ident)) % 10**6:06d}",
                    "version": len(self.versions.get(ident, [])) or None,
                    "sha256": canonical,
                    "problems": problems,
                }
            )
        self.sequence += 1
        receipt = {
            "schema": "marsad.receipt/1",
            "submission_id": f"SUB-{self.sequence:06d}",
            "client_id": self.client_key_id,
            "idempotency_key": key,
            "dry_run": dry_run,
            "received_at": "2026-11-23T08:00:00Z",
            "processed_at": "2026-11-23T08:00:01Z",
            "request_digest": digest,
            "counts": counts,
            "results": results,
            "ledger": {"seq": self.sequence, "hash": hashlib.sha256(key.encode()).hexdigest()},
        }
        if dry_run and not self.sign_dry_runs:
            return receipt
        return self.sign(receipt)

    # --- For assertions --------------------------------------------------------------------------

    def current(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The last version of every project (withdrawals included)."""
        return {ident: history[-1] for ident, history in self.versions.items()}

    def duplicate_versions(self) -> list[tuple[str, str]]:
        """Projects with two consecutive identical versions: what a double write would leave."""
        found = []
        for ident, history in self.versions.items():
            hashes = [rfc8785.dumps(version) for version in history]
            if any(first == second for first, second in itertools.pairwise(hashes)):
                found.append(ident)
        return found
