"""Ed25519 keys, request signatures and receipt verification.

The operator holds its private key; the platform only ever sees the public key the operator registers.
Every submission is signed over ``timestamp + "." + raw body`` so that the platform can prove who sent
what and refuse replays outside a short window. Receipts come back signed by the platform over their
RFC 8785 canonical JSON; anyone holding the platform's public keys can check them offline, years later.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

RECEIPT_SCHEMA = "marsad.receipt/1"


class KeyFileError(Exception):
    """The private key file is missing, unreadable or not an Ed25519 key."""


class ReceiptError(Exception):
    """A receipt whose signature does not verify, or that cannot be checked."""


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public key as the platform registers it: base64 of the raw 32 bytes."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def write_private_key(key: Ed25519PrivateKey, path: str | Path, *, overwrite: bool = False) -> None:
    """Write the key as PKCS#8 PEM, readable by its owner only (0600 from creation, never wider)."""
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    descriptor = os.open(path, flags, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, pem)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise KeyFileError(f"Clé privée illisible ({path}) : {error.strerror or error}") from error
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise KeyFileError(f"Clé privée invalide ({path}) : PEM PKCS#8 non chiffré attendu.") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"Clé privée invalide ({path}) : une clé Ed25519 est attendue.")
    return key


def sign_request(key: Ed25519PrivateKey, timestamp: int, body: bytes) -> str:
    """``Marsad-Signature``: base64 of the Ed25519 signature of ``f"{timestamp}."`` + the raw body."""
    return base64.b64encode(key.sign(f"{timestamp}.".encode("ascii") + body)).decode("ascii")


def signature_headers(key_id: str, key: Ed25519PrivateKey, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Marsad-Key-Id": key_id,
        "Marsad-Timestamp": str(timestamp),
        "Marsad-Signature": sign_request(key, timestamp, body),
    }


def body_digest(body: bytes) -> str:
    """The digest a receipt names for the request body it answers."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def public_keys(keys: Any) -> dict[str, Ed25519PublicKey]:
    """Public keys by key id, from the document of ``/api/v1/exchange/keys`` (or its ``keys`` list).

    Retired keys are kept: a receipt signed before a rotation still verifies with the key of its day.
    """
    entries: Iterable[Any] = keys.get("keys", []) if isinstance(keys, Mapping) else keys
    found: dict[str, Ed25519PublicKey] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or str(entry.get("algorithm", "ed25519")).lower() != "ed25519":
            continue
        try:
            raw = base64.b64decode(str(entry["public_key"]), validate=True)
            found[str(entry["key_id"])] = Ed25519PublicKey.from_public_bytes(raw)
        except (KeyError, ValueError, TypeError):
            continue
    return found


def canonical_receipt(receipt: Mapping[str, Any]) -> bytes:
    """The bytes the platform signs: RFC 8785 canonical JSON of the receipt without ``signature``."""
    return rfc8785.dumps({name: value for name, value in receipt.items() if name != "signature"})


def verify_receipt(receipt: Any, keys: Any) -> str:
    """Check a receipt's signature with the platform key it names; returns that key id.

    ``keys`` is the document served at ``/api/v1/exchange/keys``, its ``keys`` list, or a mapping of
    key ids to public keys. Raises ``ReceiptError`` when the receipt cannot be trusted.
    """
    if not isinstance(receipt, Mapping):
        raise ReceiptError("Le reçu doit être un objet JSON.")
    signature = receipt.get("signature")
    if not isinstance(signature, Mapping):
        raise ReceiptError("Le reçu n'est pas signé (membre « signature » absent).")
    if str(signature.get("algorithm", "")).lower() != "ed25519":
        raise ReceiptError(f"Algorithme de signature non pris en charge : {signature.get('algorithm')!r}.")
    key_id = str(signature.get("key_id", ""))
    table = (
        dict(keys)
        if isinstance(keys, Mapping) and all(isinstance(v, Ed25519PublicKey) for v in keys.values())
        else public_keys(keys)
    )
    public = table.get(key_id)
    if public is None:
        raise ReceiptError(f"Clé de la plateforme inconnue : {key_id!r}.")
    try:
        value = base64.b64decode(str(signature.get("value", "")), validate=True)
    except ValueError as error:
        raise ReceiptError("Valeur de signature illisible (base64 attendu).") from error
    try:
        message = canonical_receipt(receipt)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as error:
        raise ReceiptError(f"Reçu non canonisable : {error}") from error
    try:
        public.verify(value, message)
    except InvalidSignature as error:
        raise ReceiptError(
            f"Signature invalide : le reçu a été modifié ou n'a pas été signé par {key_id}."
        ) from error
    return key_id
