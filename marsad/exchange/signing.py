"""Ed25519 signatures (DESIGN §6): checking what clients sign, and signing what the platform issues.

A client signs the bytes ``timestamp + "." + raw body`` and sends ``Marsad-Key-Id``,
``Marsad-Timestamp`` (Unix seconds) and ``Marsad-Signature`` (base64). The platform signs its
receipts and ledger checkpoints over their RFC 8785 canonical JSON with its own key. Its private keys
live as PEM files in ``MARSAD_KEYS_DIR`` (``var/keys`` by default; in production a secret mounted on
every web and worker host); their public halves are in the database, retired ones included, and
served at ``/api/v1/exchange/keys``.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from datetime import datetime
from pathlib import Path

import orjson
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.utils import timezone

from marsad.registry.canonical import plain_json

from .models import PlatformKey

ALGORITHM = "ed25519"


def public_key_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key from the base64 of its 32 raw bytes; ValueError when it is not one."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("not base64") from error
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def signed_bytes(timestamp: str, body: bytes) -> bytes:
    return timestamp.encode() + b"." + body


def verify(public_key: str, signature: str, message: bytes) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        load_public_key(public_key).verify(raw, message)
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


# --- The platform's keys ---------------------------------------------------------------------------


def keys_dir() -> Path:
    return Path(getattr(settings, "MARSAD_KEYS_DIR", settings.VAR_DIR / "keys"))


def _private_path(key_id: str) -> Path:
    return keys_dir() / f"{key_id}.pem"


def _load_private(key_id: str) -> Ed25519PrivateKey | None:
    path = _private_path(key_id)
    if not path.exists():
        return None
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    return key if isinstance(key, Ed25519PrivateKey) else None


def platform_key_create(*, now: datetime | None = None) -> PlatformKey:
    """A new signing key: the private half written to the keys folder (mode 0600), the public half
    recorded. Earlier keys are retired (they stay published)."""
    now = now or timezone.now()
    key_id = f"marsad-{now:%Y%m%d}-{secrets.token_hex(4)}"
    private = Ed25519PrivateKey.generate()
    folder = keys_dir()
    folder.mkdir(parents=True, exist_ok=True)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(_private_path(key_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    PlatformKey.objects.filter(retired_at__isnull=True).update(retired_at=now)
    return PlatformKey.objects.create(
        key_id=key_id, public_key=public_key_text(private.public_key()), created_at=now
    )


def platform_signer() -> tuple[str, Ed25519PrivateKey]:
    """The current signing key, created on first use (a fresh installation has none)."""
    for key in PlatformKey.objects.filter(retired_at__isnull=True).order_by("-created_at", "-id"):
        private = _load_private(key.key_id)
        if private is not None:
            return key.key_id, private
    key = platform_key_create()
    private = _load_private(key.key_id)
    assert private is not None
    return key.key_id, private


# RFC 8785 canonical JSON. ``rfc8785`` is the reference; orjson writes the same bytes, ten times
# faster, for a value made only of dicts, lists, strings, booleans, null and integers (exact types,
# not subclasses): it escapes exactly what RFC 8785 escapes (``"``, ``\\`` and U+0000 to U+001F, with
# the short forms \b \t \n \f \r and lowercase \u00xx otherwise; U+007F, U+2028 and U+2029 as they
# are), and refuses lone surrogates, keys that are not exactly ``str`` and (with OPT_STRICT_INTEGER)
# integers beyond ±(2**53 - 1), which RFC 8785 refuses too. Object names sort by code point in
# orjson and by UTF-16 code unit in RFC 8785; the two orders differ only between a character from
# U+E000 to U+FFFF and one beyond U+FFFF, so the names of every object must stay in the Basic
# Multilingual Plane. Floats (ECMAScript number formatting: 1.0 is ``1``) and anything else go to
# ``rfc8785``, which also raises what it raises.

_ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


def canonical_bytes(value) -> bytes:
    """The RFC 8785 canonical JSON of ``value``: what ``rfc8785.dumps`` gives, and raises."""
    try:
        if plain_json(value, bmp_names=True):
            return orjson.dumps(value, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError (a lone surrogate, a large integer...) or a key not str
        pass
    return rfc8785.dumps(value)


def _utf16_order(key: str) -> bytes:
    return key.encode("utf-16-be")


def _object(members: dict[str, bytes]) -> bytes:
    """An RFC 8785 object from its members' serialised values (names sorted by UTF-16 code units)."""
    return (
        b"{"
        + b",".join(canonical_bytes(k) + b":" + members[k] for k in sorted(members, key=_utf16_order))
        + b"}"
    )


def sign_document(document: dict) -> dict:
    """``document`` with a ``signature`` member over the canonical JSON of the rest."""
    return sign_document_sealed(document)[0]


def sign_document_sealed(document: dict) -> tuple[dict, bytes]:
    """``document`` signed, and the canonical JSON of the signed document (what a ledger entry
    seals). Each member's value is serialised once: the signed form is the same members and the
    signature."""
    members = {k: canonical_bytes(v) for k, v in document.items() if k != "signature"}
    key_id, private = platform_signer()
    value = base64.b64encode(private.sign(_object(members))).decode()
    signature = {"key_id": key_id, "algorithm": ALGORITHM, "value": value}
    signed = {**{k: v for k, v in document.items() if k != "signature"}, "signature": signature}
    return signed, _object({**members, "signature": canonical_bytes(signature)})


def verify_document(document: dict, keys: dict[str, str]) -> bool:
    """Check a signed document against public keys by key id (what ``/exchange/keys`` serves)."""
    signature = document.get("signature")
    if not isinstance(signature, dict) or signature.get("algorithm") != ALGORITHM:
        return False
    public = keys.get(str(signature.get("key_id")))
    if public is None:
        return False
    body = {k: v for k, v in document.items() if k != "signature"}
    return verify(public, str(signature.get("value", "")), canonical_bytes(body))
