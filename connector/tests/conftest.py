"""Fixtures of the connector's tests: a client key, a fake platform on loopback, a simulated system."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fakeplatform import FakePlatform
from marsad_connect.signing import write_private_key
from marsad_connect.simulation import alomrane

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "alomrane"
TODAY_ISO = "2026-11-23"


@pytest.fixture
def client_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def key_file(tmp_path: Path, client_key: Ed25519PrivateKey) -> Path:
    path = tmp_path / "keys" / "client.pem"
    write_private_key(client_key, path)
    return path


@pytest.fixture
def platform(client_key: Ed25519PrivateKey) -> Iterator[FakePlatform]:
    fake = FakePlatform(client_key.public_key()).start()
    yield fake
    fake.stop()


@pytest.fixture
def sim_db(tmp_path: Path) -> Path:
    path = tmp_path / "si" / "si.sqlite3"
    alomrane.init(path, projects=40, seed=7)
    return path


@pytest.fixture
def write_config(tmp_path: Path, key_file: Path, platform: FakePlatform) -> Callable[..., Path]:
    """A connect.yaml for the simulated system and the fake platform; keyword arguments override."""

    def write(*, source: dict[str, Any] | None = None, mapping: Any = None, **overrides: Any) -> Path:
        config: dict[str, Any] = {
            "platform": {
                "url": platform.url,
                "token": platform.token,
                "key_id": platform.client_key_id,
                "private_key": str(key_file),
                "timeout": 10,
                "retry": {"attempts": 3, "base_delay": 0.01, "max_delay": 0.05},
            },
            "state": "state/connect.sqlite3",
            "batch_size": 15,
            "source": source
            or {
                "kind": "sql",
                "url": "sqlite:///si/si.sqlite3",
                "query": "SELECT * FROM operations WHERE date_maj > :watermark"
                " ORDER BY date_maj, code_operation",
                "initial_watermark": "",
            },
            "mapping": mapping if mapping is not None else str(EXAMPLES / "mapping.yaml"),
        }
        for name, value in overrides.items():
            if name in config and isinstance(config[name], dict) and isinstance(value, dict):
                config[name] = {**config[name], **value}
            else:
                config[name] = value
        path = tmp_path / "connect.yaml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        return path

    return write
