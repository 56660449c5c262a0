"""Generated requests against the published OpenAPI document (schemathesis): every operation, valid
and invalid inputs, signed the way a sending system signs them.

Whatever a client sends, the platform never answers with a 5xx, every error is an RFC 9457 problem,
and every answer the document describes matches its schema. Requests reach the WSGI application
in-process (same thread, same test transaction), with a fixed seed. ``MARSAD_FUZZ_EXAMPLES`` sets the
examples per operation (50 by default, half valid and half invalid); ``make stress`` raises it. Run
on PostgreSQL too: an engine may refuse what another stores (a NUL character, say).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from schemathesis.transport.prepare import get_exclude_headers

from marsad.registry.tests.records import record

from .support import Sender, sender

EXAMPLES = int(os.environ.get("MARSAD_FUZZ_EXAMPLES", "50"))
PER_MODE = max(1, EXAMPLES // 2)
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
PROBLEM = "application/problem+json"
# What a sending system computes itself. A generated value is replaced, unless the case is an invalid
# one aimed at that very header (then it goes as generated, or stays absent).
SIGNING_HEADERS = (
    "authorization",
    "marsad-key-id",
    "marsad-timestamp",
    "marsad-signature",
    "idempotency-key",
)
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


def is_exchange(operation) -> bool:
    return operation.path.startswith("/api/v1/exchange/")


def wire_body(case) -> bytes | None:
    """The exact bytes the request carries, serialised once so that the signature covers them."""
    if isinstance(case.body, NotSet):
        return None
    if isinstance(case.body, bytes):
        return case.body
    return json.dumps(case.body, ensure_ascii=False).encode()


def aimed_headers(case) -> set[str]:
    """The signing headers an invalid case sets, spoils or removes on purpose."""
    meta = case.meta
    if meta is None or not meta.is_negative_at(ParameterLocation.HEADER):
        return set()
    data = meta.phase.data
    names = set(get_exclude_headers(case))  # the headers the case leaves out
    if data.parameter_location == ParameterLocation.HEADER:
        names.add(data.parameter)
    names |= {m.parameter for m in data.mutations if m.parameter_location == ParameterLocation.HEADER}
    return {name.lower() for name in names if name} & set(SIGNING_HEADERS)


def signed_headers(case, client: Sender, body: bytes | None) -> dict[str, str]:
    """What a sending system adds: its bearer token on exchange calls and, on a POST, a fresh
    Idempotency-Key and the Ed25519 signature of ``timestamp + "." + body``."""
    headers: dict[str, str] = {}
    if is_exchange(case.operation):
        headers["Authorization"] = f"Bearer {client.token}"
    if case.method.upper() == "POST":
        stamp = str(int(time.time()))
        signature = client.private.sign(stamp.encode() + b"." + (body or b""))
        headers.update(
            {
                "Marsad-Key-Id": client.key.key_id,
                "Marsad-Timestamp": stamp,
                "Marsad-Signature": base64.b64encode(signature).decode(),
                "Idempotency-Key": uuid.uuid4().hex,
            }
        )
    aimed = aimed_headers(case)
    return {name: value for name, value in headers.items() if name.lower() not in aimed}


def not_a_problem(response) -> str | None:
    """Why an error response is not an RFC 9457 problem, or None."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    if content_type.split(";")[0].strip() != PROBLEM:
        return f"error answered with Content-Type {content_type!r}, not {PROBLEM}"
    try:
        document = json.loads(response.content)
    except ValueError:
        return "problem body is not JSON"
    if not isinstance(document, dict) or document.get("status") != response.status_code:
        return "problem without the response's status"
    if not (isinstance(document.get("type"), str) and isinstance(document.get("title"), str)):
        return "problem without type and title"
    return None


def _text(data) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)


@dataclass
class Tally:
    """What the run sent and what came back, per operation."""

    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    modes: Counter = field(default_factory=Counter)
    guarded: set[str] = field(default_factory=set)
    aimed: int = 0
    valid_refused: int = 0  # valid requests, signed as a client signs them, answered 401
    failures: dict[tuple, dict] = field(default_factory=dict)

    def fail(self, key: tuple, case, response, message: str) -> None:
        """Keep the shortest reproduction of each distinct failure."""
        sent = response.request
        found = {
            "operation": case.operation.label,
            "message": message[:1500],
            "request": {
                "method": sent.method,
                "url": sent.url,
                "headers": dict(sent.headers),
                "body": _text(sent.body)[:2000],
            },
            "response": {
                "status": response.status_code,
                "content_type": response.headers.get("content-type", [""])[0],
                "body": _text(response.content)[:2000],
            },
        }
        known = self.failures.get(key)
        if known is None or len(json.dumps(found)) < len(json.dumps(known)):
            self.failures[key] = found

    def summary(self) -> dict:
        histogram: Counter = Counter()
        for counter in self.statuses.values():
            histogram.update(counter)
        guarded = [self.statuses[label] for label in sorted(self.guarded)]
        sent = sum(sum(counter.values()) for counter in guarded)
        passed = sent - sum(counter[401] for counter in guarded)
        return {
            "examples_per_operation": EXAMPLES,
            "operations": len(self.statuses),
            "cases": sum(histogram.values()),
            "modes": dict(self.modes),
            "status_histogram": {str(k): v for k, v in sorted(histogram.items())},
            "authenticated": {
                "operations": sorted(self.guarded),
                "cases": sent,
                "not_401": passed,
                "share": round(passed / sent, 3) if sent else 0.0,
                "aimed_at_signing_headers": self.aimed,
                "valid_requests_refused": self.valid_refused,
            },
            "per_operation": {
                label: {str(k): v for k, v in sorted(counter.items())}
                for label, counter in sorted(self.statuses.items())
            },
            "failures": list(self.failures.values()),
        }


def exercise(operation, mode: GenerationMode, client: Sender, tally: Tally) -> None:
    """Send the operation's generated cases in one mode, checking every answer."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=PER_MODE,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    def send(case) -> None:
        body = wire_body(case)
        headers = signed_headers(case, client, body)
        tally.aimed += bool(aimed_headers(case))
        response = case.call(headers=headers, **({"data": body} if body is not None else {}))
        tally.statuses[operation.label][response.status_code] += 1
        tally.modes[mode.value] += 1
        # A valid request the hook signed as a client does must pass; the session-authenticated
        # operations (alerts, targets) are sent without a session and answer 401 by design.
        if response.status_code == 401 and mode == GenerationMode.POSITIVE and is_exchange(operation):
            tally.valid_refused += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                key = (operation.label, type(failure).__name__, response.status_code)
                tally.fail(key, case, response, f"{failure.title}: {failure.message}")
        reason = not_a_problem(response)
        if reason:
            tally.fail((operation.label, "problem", response.status_code, reason), case, response, reason)

    try:
        send()
    except Unsatisfiable:
        # An operation that takes no input has no invalid request to make.
        assert mode == GenerationMode.NEGATIVE, operation.label
        tally.modes["negative_impossible"] += 1


@pytest.fixture(autouse=True)
def keys_dir(settings, tmp_path):
    settings.MARSAD_KEYS_DIR = tmp_path / "keys"


@pytest.fixture
def sending_system() -> Sender:
    """A registered client with a real key and a generous rate, which has already sent one batch (so
    that the feed and the receipts have content)."""
    client = sender(rate_per_minute=10**6)
    seeded = client.submit(Client(), [record(operator_ref=f"FZ-{n}") for n in range(3)])
    assert seeded.status_code == 201
    return client


@pytest.fixture
def application(sending_system):
    """The platform's WSGI application, called in the test's transaction. As in Django's test client,
    the start and end of a request must not close the connection (on PostgreSQL that would end the
    transaction); set up after the seeding request, as Django's client puts those receivers back.
    Django logs each 4xx as a warning; thousands of them would bury the figures, so only errors (a 5xx)
    are shown while it runs."""
    from config.wsgi import application  # sets logging up again: quieten after

    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield application
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)
    logger.setLevel(level)


@pytest.mark.django_db
@pytest.mark.dbsensitive
@pytest.mark.stress
def test_generated_requests_keep_the_contract(tmp_path, sending_system, application):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    tally = Tally()
    for result in schema.get_all_operations():
        operation = result.ok()
        if is_exchange(operation) and operation.definition.raw.get("security"):
            tally.guarded.add(operation.label)
        for mode in MODES:
            exercise(operation, mode, sending_system, tally)

    summary = tally.summary()
    report = tmp_path / "fuzz.json"
    report.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    auth = summary["authenticated"]
    print(
        f"\nfuzz: {summary['cases']} requests over {summary['operations']} operations "
        f"({EXAMPLES} examples per operation; {summary['modes']})",
        f"fuzz: authenticated exchange requests (not 401): {auth['not_401']}/{auth['cases']} = "
        f"{auth['share']:.1%} ({auth['aimed_at_signing_headers']} invalid on purpose in a signing header, "
        f"{auth['valid_requests_refused']} valid ones refused)",
        f"fuzz: statuses {summary['status_histogram']}",
        *(f"fuzz:   {label}: {statuses}" for label, statuses in summary["per_operation"].items()),
        f"fuzz: figures and failures written to {report}",
        sep="\n",
    )
    broken = [
        f"{f['operation']} -> {f['response']['status']}: {f['message'].splitlines()[0]}"
        for f in summary["failures"]
    ]
    for line in broken:
        print("fuzz: FAILURE", line)
    assert auth["share"] >= 0.5
    assert auth["valid_requests_refused"] == 0
    assert broken == []
