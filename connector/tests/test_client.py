import base64
import random
import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from fakeplatform import Scripted
from marsad_connect import client as http
from marsad_connect.client import PlatformClient, RetryPolicy, encode_body, retry_after

BODY = encode_body(
    [{"operator": "MA-ALOMRANE-DOE", "operator_ref": "DOE-PU-001", "programme": "PU"}], dry_run=False
)


@pytest.fixture
def make_client(platform, client_key):
    made = []

    def make(url=None, token=None, attempts=4, **options):
        ticks = iter(range(10_000))
        start = time.time()  # read once: the real clock could pass a second between two attempts
        client = PlatformClient(
            url or platform.url,
            token or platform.token,
            platform.client_key_id,
            client_key,
            timeout=5,
            retry=RetryPolicy(attempts=attempts, base_delay=0.5, max_delay=4, jitter=0),
            clock=lambda: start + next(ticks),  # a new second at every attempt
            **options,
        )
        client.waits = []
        client.wait = lambda seconds: client.waits.append(seconds) or False
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_a_submission_is_accepted_with_its_receipt(platform, make_client):
    outcome = make_client().submit(BODY, "mc-1")

    assert (outcome.kind, outcome.status, outcome.attempts, outcome.replay) == (http.ACCEPTED, 201, 1, False)
    assert outcome.receipt["idempotency_key"] == "mc-1"
    assert outcome.receipt["counts"]["created"] == 1
    (request,) = platform.requests
    assert request["body"] == BODY
    assert request["headers"]["idempotency-key"] == "mc-1"
    assert request["headers"]["content-type"] == "application/json"
    assert request["headers"]["authorization"] == f"Bearer {platform.token}"


def test_503_then_201_retries_with_the_same_body_and_a_new_signature(platform, make_client, client_key):
    platform.script = [Scripted(503), Scripted(502)]
    attempts, errors = [], []

    outcome = make_client().submit(BODY, "mc-2", on_attempt=attempts.append, on_error=errors.append)

    assert (outcome.kind, outcome.status, outcome.attempts) == (http.ACCEPTED, 201, 3)
    assert attempts == [1, 2, 3]
    assert [error.split(" ")[:2] for error in errors] == [["HTTP", "503"], ["HTTP", "502"]]
    assert [r["body"] for r in platform.requests] == [BODY, BODY, BODY]
    assert {r["headers"]["idempotency-key"] for r in platform.requests} == {"mc-2"}
    stamps = [int(r["headers"]["marsad-timestamp"]) for r in platform.requests]
    assert stamps[1] == stamps[0] + 1
    assert stamps[2] == stamps[0] + 2
    signatures = [r["headers"]["marsad-signature"] for r in platform.requests]
    assert len(set(signatures)) == 3
    for stamp, signature in zip(stamps, signatures, strict=True):
        client_key.public_key().verify(base64.b64decode(signature), f"{stamp}.".encode() + BODY)


def test_backoff_doubles_up_to_the_cap(platform, make_client):
    platform.script = [Scripted(500)] * 5
    client = make_client(attempts=6)

    outcome = client.submit(BODY, "mc-3")

    assert outcome.kind == http.ACCEPTED
    assert client.waits == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_jitter_stays_below_the_exponential_ceiling():
    policy = RetryPolicy(base_delay=1, max_delay=60, jitter=0.5)
    rng = random.Random(3)

    delays = [policy.delay(attempt, rng) for attempt in (1, 2, 3, 4, 8)]

    for delay, ceiling in zip(delays, (1, 2, 4, 8, 60), strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == 5


def test_429_honours_retry_after(platform, make_client):
    platform.script = [Scripted(429, {"Retry-After": "7"}), Scripted(409, {"Retry-After": "2"})]
    client = make_client()

    outcome = client.submit(BODY, "mc-4")

    assert (outcome.kind, outcome.attempts) == (http.ACCEPTED, 3)
    assert client.waits == [7.0, 2.0]


def test_401_is_not_retried(platform, make_client):
    client = make_client(token="wrong-token")
    errors = []

    outcome = client.submit(BODY, "mc-5", on_error=errors.append)

    assert (outcome.kind, outcome.status, outcome.attempts) == (http.AUTH, 401, 1)
    assert outcome.problem["title"] == "Jeton invalide"
    assert errors == ["HTTP 401 401 — Jeton invalide"]
    assert client.waits == []
    assert len(platform.requests) == 1


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, http.REFUSED), (413, http.REFUSED), (422, http.REFUSED), (403, http.AUTH), (404, http.UNEXPECTED)],
)
def test_refusals_that_repeating_cannot_change(platform, make_client, status, kind):
    platform.script = [Scripted(status)]
    client = make_client()

    outcome = client.submit(BODY, "mc-6")

    assert (outcome.kind, outcome.status, outcome.attempts) == (kind, status, 1)
    assert client.waits == []


def test_a_replay_is_recognised(platform, make_client):
    client = make_client()
    first = client.submit(BODY, "mc-7")

    second = client.submit(BODY, "mc-7")

    assert (second.kind, second.status, second.replay) == (http.ACCEPTED, 200, True)
    assert second.receipt == first.receipt
    assert platform.writes == 1


def test_an_unreachable_platform_after_all_attempts(make_client):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(url=f"http://127.0.0.1:{port}", attempts=3)
    errors = []

    outcome = client.submit(BODY, "mc-8", on_error=errors.append)

    assert (outcome.kind, outcome.attempts, outcome.status) == (http.UNREACHABLE, 3, None)
    assert client.waits == [0.5, 1.0]
    assert [error.split(":")[0] for error in errors] == ["ConnectError"] * 3


def test_a_200_without_a_receipt_is_retried(platform, make_client):
    platform.script = [Scripted(200, body={"hello": "proxy"})]

    outcome = make_client().submit(BODY, "mc-9")

    assert (outcome.kind, outcome.attempts) == (http.ACCEPTED, 2)


def test_a_stop_request_interrupts_the_wait(platform, make_client):
    platform.script = [Scripted(503)]
    client = make_client()
    client.wait = lambda seconds: True

    outcome = client.submit(BODY, "mc-10")

    assert (outcome.kind, outcome.attempts) == (http.STOPPED, 1)


def test_retry_after_values():
    future = datetime.now(UTC) + timedelta(seconds=120)

    assert retry_after("30", 900) == 30.0
    assert retry_after("5000", 900) == 900.0
    assert retry_after("-3", 900) == 0.0
    assert 110 <= retry_after(format_datetime(future, usegmt=True), 900) <= 120
    assert retry_after("soon", 900) is None
    assert retry_after(None, 900) is None


def test_the_keys_are_fetched(platform, make_client):
    assert make_client().fetch_keys() == platform.keys_document()
