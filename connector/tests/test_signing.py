import base64
import copy
import json
import stat

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from marsad_connect.cli import main
from marsad_connect.signing import (
    KeyFileError,
    ReceiptError,
    body_digest,
    load_private_key,
    public_key_b64,
    public_keys,
    sign_request,
    signature_headers,
    verify_receipt,
    write_private_key,
)

PLATFORM_KEY = Ed25519PrivateKey.generate()


def keys_document(*entries: tuple[str, Ed25519PrivateKey, str | None]) -> dict:
    return {
        "keys": [
            {
                "key_id": key_id,
                "algorithm": "ed25519",
                "public_key": public_key_b64(key),
                "created_at": "2026-01-01T00:00:00Z",
                "retired_at": retired,
            }
            for key_id, key, retired in entries
        ]
    }


def signed_receipt(key: Ed25519PrivateKey = PLATFORM_KEY, key_id: str = "marsad-2026-01") -> dict:
    receipt = {
        "schema": "marsad.receipt/1",
        "submission_id": "SUB-000042",
        "client_id": "alomrane-si",
        "idempotency_key": "mc-0f1e2d",
        "dry_run": False,
        "received_at": "2026-11-23T08:00:00Z",
        "processed_at": "2026-11-23T08:00:01Z",
        "request_digest": body_digest(b'{"records":[],"dry_run":false}'),
        "counts": {"received": 1, "created": 1, "updated": 0, "unchanged": 0, "withdrawn": 0, "rejected": 0},
        "results": [
            {
                "index": 0,
                "operator": "MA-ALOMRANE-DOE",
                "operator_ref": "DOE-PU-001",
                "outcome": "created",
                "project_id": "MRS-000001",
                "version": 1,
                "sha256": "ab" * 32,
                "problems": [],
            }
        ],
        "ledger": {"seq": 7, "hash": "cd" * 32},
    }
    value = key.sign(rfc8785.dumps(receipt))
    receipt["signature"] = {
        "key_id": key_id,
        "algorithm": "ed25519",
        "value": base64.b64encode(value).decode(),
    }
    return receipt


def test_keygen_writes_an_owner_only_pem_and_the_raw_public_key(tmp_path):
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "secret" / "key.pem"

    write_private_key(key, path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert load_private_key(path).public_key().public_bytes_raw() == key.public_key().public_bytes_raw()
    assert len(base64.b64decode(public_key_b64(key))) == 32
    with pytest.raises(FileExistsError):
        write_private_key(key, path)


def test_loading_a_bad_key_file(tmp_path):
    with pytest.raises(KeyFileError, match="illisible"):
        load_private_key(tmp_path / "absent.pem")
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(KeyFileError, match="PEM PKCS#8"):
        load_private_key(tmp_path / "bad.pem")


def test_the_request_signature_covers_timestamp_dot_body():
    key = Ed25519PrivateKey.generate()
    body = b'{"records":[{"operator_ref":"DOE-PU-001"}],"dry_run":false}'

    headers = signature_headers("si-1", key, body, 1_795_000_000)

    assert headers["Marsad-Key-Id"] == "si-1"
    assert headers["Marsad-Timestamp"] == "1795000000"
    signature = base64.b64decode(headers["Marsad-Signature"])
    key.public_key().verify(signature, b"1795000000." + body)
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, b"1795000001." + body)
    with pytest.raises(InvalidSignature):
        key.public_key().verify(
            base64.b64decode(sign_request(key, 1_795_000_000, body + b" ")), b"1795000000." + body
        )


def test_a_receipt_signed_by_the_platform_verifies():
    assert (
        verify_receipt(signed_receipt(), keys_document(("marsad-2026-01", PLATFORM_KEY, None)))
        == "marsad-2026-01"
    )


def test_a_receipt_signed_with_a_retired_key_still_verifies():
    old = Ed25519PrivateKey.generate()
    keys = keys_document(
        ("marsad-2025-01", old, "2026-01-01T00:00:00Z"), ("marsad-2026-01", PLATFORM_KEY, None)
    )

    assert verify_receipt(signed_receipt(old, "marsad-2025-01"), keys) == "marsad-2025-01"
    assert verify_receipt(signed_receipt(old, "marsad-2025-01"), keys["keys"]) == "marsad-2025-01"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: r["counts"].update(created=2),
        lambda r: r["results"][0].update(outcome="updated"),
        lambda r: r.update(submission_id="SUB-000043"),
        lambda r: r.update(extra="added"),
        lambda r: r.pop("ledger"),
    ],
)
def test_a_tampered_receipt_fails(tamper):
    receipt = signed_receipt()
    tamper(receipt)

    with pytest.raises(ReceiptError, match="Signature invalide"):
        verify_receipt(receipt, keys_document(("marsad-2026-01", PLATFORM_KEY, None)))


def test_receipts_that_cannot_be_checked():
    keys = keys_document(("marsad-2026-01", PLATFORM_KEY, None))
    other = Ed25519PrivateKey.generate()

    with pytest.raises(ReceiptError, match="Clé de la plateforme inconnue"):
        verify_receipt(signed_receipt(other, "marsad-2099"), keys)
    with pytest.raises(ReceiptError, match="Signature invalide"):
        verify_receipt(signed_receipt(other, "marsad-2026-01"), keys)
    unsigned = signed_receipt()
    del unsigned["signature"]
    with pytest.raises(ReceiptError, match="pas signé"):
        verify_receipt(unsigned, keys)
    wrong = copy.deepcopy(signed_receipt())
    wrong["signature"]["algorithm"] = "rsa"
    with pytest.raises(ReceiptError, match="non pris en charge"):
        verify_receipt(wrong, keys)
    garbled = signed_receipt()
    garbled["signature"]["value"] = "***"
    with pytest.raises(ReceiptError, match="illisible"):
        verify_receipt(garbled, keys)


def test_public_keys_skip_unusable_entries():
    document = {
        "keys": [
            {"key_id": "a", "algorithm": "ed25519", "public_key": public_key_b64(PLATFORM_KEY)},
            {"key_id": "b", "algorithm": "rsa", "public_key": "AAAA"},
            {"key_id": "c", "algorithm": "ed25519", "public_key": "not base64!"},
            {"key_id": "d", "algorithm": "ed25519", "public_key": base64.b64encode(b"short").decode()},
        ]
    }

    keys = public_keys(document)

    assert list(keys) == ["a"]
    assert isinstance(keys["a"], Ed25519PublicKey)


def test_keygen_command(tmp_path, capsys):
    path = tmp_path / "key.pem"

    assert main(["keygen", "--out", str(path)]) == 0

    printed = capsys.readouterr().out.strip()
    assert base64.b64decode(printed) == load_private_key(path).public_key().public_bytes_raw()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert main(["keygen", "--out", str(path)]) == 1
    assert main(["keygen", "--out", str(path), "--force"]) == 0
    assert capsys.readouterr().out.strip() != printed


def test_verify_receipt_command(tmp_path, capsys):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(keys_document(("marsad-2026-01", PLATFORM_KEY, None))))
    good = tmp_path / "receipt.json"
    good.write_text(json.dumps(signed_receipt(), ensure_ascii=False))
    bad_receipt = signed_receipt()
    bad_receipt["counts"]["rejected"] = 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bad_receipt))

    assert main(["verify-receipt", str(good), "--keys", str(keys)]) == 0
    assert "Reçu authentique : SUB-000042 signé par la clé marsad-2026-01" in capsys.readouterr().out
    assert main(["verify-receipt", str(bad), "--keys", str(keys)]) == 4
    assert "NON authentique" in capsys.readouterr().out
    assert main(["verify-receipt", str(tmp_path / "absent.json"), "--keys", str(keys)]) == 1
