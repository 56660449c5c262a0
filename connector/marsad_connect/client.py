"""HTTP to the platform's exchange API: signed submissions with retries, and the platform's public keys.

Retries are for what time can cure: connection errors, timeouts, 5xx, 409 (the same key is still being
processed) and 429 (rate limit, honouring ``Retry-After``). A refusal that repeating cannot change
(400, 401, 403, 413, 422) is returned at once. Every attempt takes a fresh timestamp and signature;
the body bytes and the idempotency key never change, which is what lets the platform replay instead of
writing twice.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import __version__, faults
from .signing import signature_headers

log = logging.getLogger("marsad_connect")

SUBMISSIONS = "/api/v1/exchange/submissions"
KEYS = "/api/v1/exchange/keys"
RETRYABLE = {409, 429, 500, 502, 503, 504}
AUTH_REFUSED = {401, 403}
BATCH_REFUSED = {400, 413, 422}

# Outcome kinds of a submission.
ACCEPTED = "accepted"  # 200/201 with a receipt
AUTH = "auth"  # 401/403: the client, its key or its clock is refused
REFUSED = "refused"  # 400/413/422: the batch as a whole is refused
UNREACHABLE = "unreachable"  # retries exhausted
UNEXPECTED = "unexpected"  # another status (404: wrong address…)
STOPPED = "stopped"  # asked to stop while waiting to retry


@dataclass
class RetryPolicy:
    """Exponential backoff with jitter: ``base × 2^(n-1)`` capped at ``max_delay``, jittered down by up
    to ``jitter`` of itself so that many connectors do not retry in step."""

    attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    jitter: float = 0.5
    max_retry_after: float = 900.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return ceiling * (1 - self.jitter * rng.random())


@dataclass
class Outcome:
    kind: str
    status: int | None = None
    receipt: dict[str, Any] | None = None
    raw: str = ""
    replay: bool = False
    problem: dict[str, Any] | None = None
    error: str = ""
    attempts: int = 0
    delays: list[float] = field(default_factory=list)


def retry_after(value: str | None, cap: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), within ``cap``."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, min(seconds, cap))


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        document = None
    if isinstance(document, dict):
        return document
    return {"status": response.status_code, "title": response.reason_phrase, "detail": response.text[:500]}


def describe(problem: dict[str, Any] | None) -> str:
    if not problem:
        return ""
    parts = [str(problem.get(name)) for name in ("status", "title", "detail") if problem.get(name)]
    return " — ".join(parts)


class PlatformClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        key_id: str,
        private_key: Ed25519PrivateKey,
        *,
        timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        stop: threading.Event | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ):
        self.key_id = key_id
        self.private_key = private_key
        self.retry = retry or RetryPolicy()
        self.stop = stop or threading.Event()
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.clock = clock
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            headers={"Authorization": f"Bearer {token}", "User-Agent": f"marsad-connect/{__version__}"},
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait(self, seconds: float) -> bool:
        """Sleep unless asked to stop; True when the wait ended because of a stop request."""
        return self.stop.wait(seconds)

    def fetch_keys(self) -> dict[str, Any]:
        """The platform's public keys (retired ones included) as served at ``/api/v1/exchange/keys``."""
        response = self.http.get(KEYS, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("réponse inattendue de /api/v1/exchange/keys")
        return document

    def submit(
        self,
        body: bytes,
        idempotency_key: str,
        *,
        on_attempt: Callable[[int], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> Outcome:
        """POST one batch, retrying what may succeed later. ``on_attempt`` runs before each request,
        ``on_error`` after each failed one (the runner records both in the state)."""
        outcome = Outcome(kind=UNREACHABLE)
        for attempt in range(1, self.retry.attempts + 1):
            outcome.attempts = attempt
            if on_attempt:
                on_attempt(attempt)
            timestamp = int(self.clock())
            headers = {
                "Content-Type": "application/json",
                "Accept": "application/json, application/problem+json",
                "Idempotency-Key": idempotency_key,
                **signature_headers(self.key_id, self.private_key, body, timestamp),
            }
            wait: float | None = None
            try:
                response = self.http.post(SUBMISSIONS, content=body, headers=headers)
            except httpx.TransportError as error:
                outcome.error = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            else:
                status = response.status_code
                outcome.status = status
                if status in (200, 201):
                    try:
                        receipt = response.json()
                    except ValueError:
                        receipt = None
                    if isinstance(receipt, dict) and ("submission_id" in receipt or "results" in receipt):
                        outcome.kind = ACCEPTED
                        outcome.receipt = receipt
                        outcome.raw = response.text
                        outcome.replay = response.headers.get("Marsad-Replay", "").lower() == "true"
                        return outcome
                    outcome.error = f"HTTP {status} sans reçu lisible"
                elif status in RETRYABLE:
                    outcome.problem = _problem(response)
                    outcome.error = f"HTTP {status} {describe(outcome.problem)}"
                    wait = retry_after(response.headers.get("Retry-After"), self.retry.max_retry_after)
                else:
                    outcome.problem = _problem(response)
                    outcome.error = f"HTTP {status} {describe(outcome.problem)}"
                    if on_error:
                        on_error(outcome.error)
                    if status in AUTH_REFUSED:
                        outcome.kind = AUTH
                    elif status in BATCH_REFUSED:
                        outcome.kind = REFUSED
                    else:
                        outcome.kind = UNEXPECTED
                    return outcome
            if on_error:
                on_error(outcome.error)
            if attempt == self.retry.attempts:
                break
            delay = wait if wait is not None else self.retry.delay(attempt, self.rng)
            faults.point("retry_wait")
            outcome.delays.append(delay)
            log.warning("Tentative %d échouée (%s) ; nouvel essai dans %.1f s", attempt, outcome.error, delay)
            if self.wait(delay):
                outcome.kind = STOPPED
                return outcome
        outcome.kind = UNREACHABLE
        return outcome


def encode_body(records: list[dict[str, Any]], *, dry_run: bool) -> bytes:
    """The request body: compact UTF-8 JSON, built once per batch and stored as sent."""
    return json.dumps(
        {"records": records, "dry_run": dry_run}, ensure_ascii=False, separators=(",", ":")
    ).encode()
