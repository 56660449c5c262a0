"""The connector's configuration file (YAML): platform, credentials, state, source, mapping, batching.

Relative paths (and ``sqlite:///relative.db`` URLs) are taken from the configuration file's folder,
so that a configuration and its mapping can be moved together. ``$VARIABLES`` and ``~`` are expanded
in paths. The token is better given through an environment variable (``token_env``) than written here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .client import RetryPolicy
from .mapping import Mapping, MappingError
from .sources import resolve_path

MAX_BATCH = 1000
DEFAULT_BATCH = 500
TOP_KEYS = {"platform", "state", "reports", "batch_size", "source", "mapping"}
PLATFORM_KEYS = {"url", "token", "token_env", "key_id", "private_key", "timeout", "verify_receipts", "retry"}
RETRY_KEYS = {"attempts", "base_delay", "max_delay", "jitter", "max_retry_after"}
SOURCE_KEYS = {
    "sql": {"kind", "url", "query", "initial_watermark"},
    "folder": {"kind", "path", "pattern", "encoding", "delimiter", "sheet", "min_age_seconds"},
    "json": {
        "kind",
        "url",
        "headers",
        "token_env",
        "since_param",
        "items_key",
        "timeout",
        "initial_watermark",
    },
}
REQUIRED_SOURCE_KEYS = {"sql": ("url", "query"), "folder": ("path",), "json": ("url",)}


class ConfigError(Exception):
    """The configuration (or the mapping it names) cannot be used as written."""


@dataclass
class Config:
    path: Path
    base_dir: Path
    url: str
    token: str | None
    token_env: str | None
    key_id: str
    private_key: Path
    state: Path
    reports: Path
    batch_size: int
    timeout: float
    verify_receipts: str
    retry: RetryPolicy
    source: dict[str, Any]
    mapping: Mapping

    def require_token(self) -> str:
        if self.token:
            return self.token
        where = f"la variable d'environnement {self.token_env}" if self.token_env else "platform.token"
        raise ConfigError(f"Jeton d'accès absent : renseignez {where}.")


def _check_keys(section: MappingABC, allowed: set[str], where: str) -> None:
    unknown = sorted(set(map(str, section)) - allowed)
    if unknown:
        raise ConfigError(
            f"{where} : clé(s) inconnue(s) {', '.join(unknown)} (permises : {', '.join(sorted(allowed))})."
        )


def _section(raw: Any, name: str) -> MappingABC:
    value = raw.get(name)
    if not isinstance(value, MappingABC):
        raise ConfigError(f"La section « {name} » est obligatoire.")
    return value


def _number(section: MappingABC, name: str, default: float, where: str) -> float:
    value = section.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{where}.{name} : un nombre positif est attendu.")
    return float(value)


def load_config(path: str | Path) -> Config:
    path = Path(path).resolve()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"Configuration illisible ({path}) : {error.strerror or error}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"Configuration YAML invalide ({path}) : {error}") from error
    if not isinstance(raw, MappingABC):
        raise ConfigError(f"Configuration vide ou mal formée : {path}")
    _check_keys(raw, TOP_KEYS, "configuration")
    base = path.parent

    platform = _section(raw, "platform")
    _check_keys(platform, PLATFORM_KEYS, "platform")
    for name in ("url", "key_id", "private_key"):
        if not isinstance(platform.get(name), str) or not platform[name]:
            raise ConfigError(f"platform.{name} est obligatoire.")
    url = platform["url"]
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"platform.url : une adresse http(s) est attendue, pas {url!r}.")
    token_env = platform.get("token_env")
    token = platform.get("token") or (os.environ.get(str(token_env)) if token_env else None)
    verify = str(platform.get("verify_receipts", "auto"))
    if verify not in ("auto", "always", "never"):
        raise ConfigError("platform.verify_receipts : auto, always ou never.")
    retry_raw = platform.get("retry") or {}
    if not isinstance(retry_raw, MappingABC):
        raise ConfigError("platform.retry : une table est attendue.")
    _check_keys(retry_raw, RETRY_KEYS, "platform.retry")
    defaults = RetryPolicy()
    attempts = retry_raw.get("attempts", defaults.attempts)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ConfigError("platform.retry.attempts : un entier au moins égal à 1 est attendu.")
    retry = RetryPolicy(
        attempts=attempts,
        base_delay=_number(retry_raw, "base_delay", defaults.base_delay, "platform.retry"),
        max_delay=_number(retry_raw, "max_delay", defaults.max_delay, "platform.retry"),
        jitter=min(1.0, _number(retry_raw, "jitter", defaults.jitter, "platform.retry")),
        max_retry_after=_number(retry_raw, "max_retry_after", defaults.max_retry_after, "platform.retry"),
    )

    batch_size = raw.get("batch_size", DEFAULT_BATCH)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH:
        raise ConfigError(f"batch_size : un entier entre 1 et {MAX_BATCH} est attendu.")
    if not isinstance(raw.get("state"), str):
        raise ConfigError("state : le chemin du fichier d'état est obligatoire.")
    state = resolve_path(raw["state"], base)
    reports = resolve_path(str(raw["reports"]), base) if raw.get("reports") else state.parent / "reports"

    source = dict(_section(raw, "source"))
    kind = source.get("kind")
    if kind not in SOURCE_KEYS:
        raise ConfigError(f"source.kind : sql, folder ou json (pas {kind!r}).")
    _check_keys(source, SOURCE_KEYS[kind], f"source ({kind})")
    for name in REQUIRED_SOURCE_KEYS[kind]:
        if not source.get(name):
            raise ConfigError(f"source.{name} est obligatoire pour une source {kind}.")

    mapping_raw = raw.get("mapping")
    try:
        if isinstance(mapping_raw, str):
            mapping = Mapping.load(resolve_path(mapping_raw, base))
        elif isinstance(mapping_raw, MappingABC):
            mapping = Mapping.from_dict(mapping_raw)
        else:
            raise ConfigError("mapping : un chemin de fichier ou un mapping en ligne est obligatoire.")
    except MappingError as error:
        raise ConfigError(f"Mapping : {error}") from error

    return Config(
        path=path,
        base_dir=base,
        url=url,
        token=token,
        token_env=str(token_env) if token_env else None,
        key_id=platform["key_id"],
        private_key=resolve_path(platform["private_key"], base),
        state=state,
        reports=reports,
        batch_size=batch_size,
        timeout=_number(platform, "timeout", 120, "platform"),
        verify_receipts=verify,
        retry=retry,
        source=source,
        mapping=mapping,
    )
