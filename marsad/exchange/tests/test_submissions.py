"""POST /api/v1/exchange/submissions: every problem the pipeline answers, replays, receipts and what
a batch writes (versions, projects, ledger, audit), through real signed HTTP requests."""

import hashlib
import json
import time

import pytest
import rfc8785
from django.test import Client

from marsad.audit.models import AuditEvent
from marsad.exchange import services, signing
from marsad.exchange.models import Submission
from marsad.registry import ledger
from marsad.registry.models import LedgerEntry, Project, ProjectVersion
from marsad.registry.tests.records import record

from .support import ADMIN, sender

pytestmark = pytest.mark.django_db

PATH = "/api/v1/exchange/submissions"


@pytest.fixture(autouse=True)
def keys_dir(settings, tmp_path):
    settings.MARSAD_KEYS_DIR = tmp_path / "keys"


@pytest.fixture
def doe():
    return sender()


def problem_type(response) -> str:
    assert response["Content-Type"] == "application/problem+json", response.content
    return response.json()["type"].rsplit("/", 1)[1]


def test_a_batch_is_written_and_receipted(client, doe):
    records = [record(operator_ref=f"R-{n}") for n in range(3)]
    body = json.dumps({"records": records}).encode()
    response = doe.submit(client, body=body, key="batch-1")
    assert response.status_code == 201
    receipt = response.json()
    submission = Submission.objects.get()
    assert response["Location"] == f"/api/v1/exchange/submissions/{submission.public_id}"
    assert receipt["submission_id"] == submission.public_id
    assert receipt["client_id"] == "si-ma-alomrane-doe"
    assert receipt["idempotency_key"] == "batch-1"
    assert receipt["request_digest"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert receipt["counts"] == {
        "received": 3, "created": 3, "updated": 0, "unchanged": 0, "withdrawn": 0, "rejected": 0
    }  # fmt: skip
    versions = {v.project.operator_ref: v for v in ProjectVersion.objects.select_related("project")}
    assert [(r["index"], r["outcome"], r["version"], r["problems"]) for r in receipt["results"]] == [
        (0, "created", 1, []), (1, "created", 1, []), (2, "created", 1, [])
    ]  # fmt: skip
    assert [r["sha256"] for r in receipt["results"]] == [versions[f"R-{n}"].sha256 for n in range(3)]
    assert {v.source_kind for v in versions.values()} == {"submission"}
    assert {v.source_id for v in versions.values()} == {submission.public_id}
    # three version entries, then the receipt's own entry; the receipt names the head before it
    entries = list(LedgerEntry.objects.order_by("seq"))
    assert [e.kind for e in entries] == ["version", "version", "version", "receipt"]
    assert receipt["ledger"] == {"seq": 3, "hash": entries[2].hash}
    assert entries[3].subject == submission.public_id
    assert entries[3].digest == hashlib.sha256(rfc8785.dumps(receipt)).hexdigest()
    assert ledger.verify().ok
    # one audit event for the submission (DESIGN §6): its versions name it and the client as their source
    events = AuditEvent.objects.filter(source_id=submission.public_id)
    assert [(e.action, e.actor_kind, e.actor_id, e.object_id) for e in events] == [
        ("exchange.submission", "client", "si-ma-alomrane-doe", submission.public_id)
    ]
    assert events[0].changes["counts"] == {
        "received": 3, "created": 3, "updated": 0, "unchanged": 0, "withdrawn": 0, "rejected": 0
    }  # fmt: skip
    assert {(v.source_kind, v.source_id, v.actor_label) for v in versions.values()} == {
        ("submission", submission.public_id, "Système d'information MA-ALOMRANE-DOE (si-ma-alomrane-doe)")
    }


def test_the_receipt_is_signed_and_verifiable_with_the_published_keys(client, doe):
    receipt = doe.submit(client, [record()]).json()
    keys = client.get("/api/v1/exchange/keys").json()["keys"]
    assert [k["key_id"] for k in keys] == [receipt["signature"]["key_id"]]
    published = {k["key_id"]: k["public_key"] for k in keys}
    assert signing.verify_document(receipt, published)
    tampered = {**receipt, "counts": {**receipt["counts"], "created": 0}}
    assert not signing.verify_document(tampered, published)


def test_old_receipts_stay_verifiable_after_the_platform_rotates_its_key(client, doe):
    first = doe.submit(client, [record(operator_ref="A")]).json()
    signing.platform_key_create()
    second = doe.submit(client, [record(operator_ref="B")]).json()
    assert first["signature"]["key_id"] != second["signature"]["key_id"]
    keys = client.get("/api/v1/exchange/keys").json()["keys"]
    assert [k["retired_at"] is None for k in keys] == [False, True]
    published = {k["key_id"]: k["public_key"] for k in keys}
    assert signing.verify_document(first, published)
    assert signing.verify_document(second, published)


def test_a_receipt_is_retrievable_later_by_its_sender_only(client, doe):
    receipt = doe.submit(client, [record()]).json()
    path = f"{PATH}/{receipt['submission_id']}"
    again = client.get(path, HTTP_AUTHORIZATION=f"Bearer {doe.token}")
    assert again.status_code == 200
    assert again.json() == receipt
    other = sender("MA-ALOMRANE-CS")
    assert problem_type(client.get(path, HTTP_AUTHORIZATION=f"Bearer {other.token}")) == "not-found"
    assert client.get(path).status_code == 404  # the public
    assert problem_type(client.get(f"{PATH}/SUB-1")) == "validation"


def test_a_replay_returns_the_stored_receipt_and_writes_nothing(client, doe):
    body = json.dumps({"records": [record()]}).encode()
    first = doe.submit(client, body=body, key="k-1")
    counts = (ProjectVersion.objects.count(), LedgerEntry.objects.count(), AuditEvent.objects.count())
    time.sleep(1.1)  # a later retry is signed with a new timestamp: same key, same body
    second = doe.submit(client, body=body, key="k-1")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second["Marsad-Replay"] == "true"
    assert second.json() == first.json()
    assert (ProjectVersion.objects.count(), LedgerEntry.objects.count(), AuditEvent.objects.count()) == counts


def test_the_same_key_with_another_body_is_refused(client, doe):
    doe.submit(client, [record()], key="k-1")
    response = doe.submit(client, [record(progress="30")], key="k-1")
    assert (response.status_code, problem_type(response)) == (422, "idempotency-key-reused")
    assert ProjectVersion.objects.count() == 1


def test_a_key_still_in_flight_answers_409_and_a_dead_reservation_is_taken_over(client, doe, settings):
    body = json.dumps({"records": [record()]}).encode()
    digest = hashlib.sha256(body).hexdigest()
    # a process reserved the key and died before committing
    services._reserve(
        client=doe.client, user=None, channel="api", key="k-1", digest=digest, now=services._now(None),
        file_name="",
    )  # fmt: skip
    response = doe.submit(client, body=body, key="k-1")
    assert (response.status_code, problem_type(response)) == (409, "submission-in-flight")
    assert 1 <= int(response["Retry-After"]) <= 60
    Submission.objects.update(lease_until=services._now(None))
    response = doe.submit(client, body=body, key="k-1")
    assert response.status_code == 201
    assert Submission.objects.get().state == "done"
    assert ProjectVersion.objects.count() == 1


def test_a_dry_run_validates_without_writing(client, doe):
    response = doe.submit(
        client, [record(), record(operator_ref="bad", progress="140")], path="?dry_run=true"
    )
    assert response.status_code == 200
    receipt = response.json()
    assert (receipt["dry_run"], receipt["submission_id"]) == (True, None)
    assert receipt["counts"]["created"] == 1
    assert receipt["counts"]["rejected"] == 1
    assert (Project.objects.count(), ProjectVersion.objects.count(), Submission.objects.count()) == (0, 0, 0)
    assert LedgerEntry.objects.count() == 0
    in_body = doe.submit(client, body=json.dumps({"records": [record()], "dry_run": True}).encode())
    assert (in_body.status_code, in_body.json()["dry_run"], Project.objects.count()) == (200, True, 0)


def test_each_record_is_judged_alone(client, doe):
    records = [
        record(operator_ref="ok"),
        record(operator_ref="bad", budget="douze"),
        record(operator_ref="foreign", operator="MA-ALOMRANE-CS"),
        {"operator": "MA-ALOMRANE-DOE", "operator_ref": "missing", "withdrawn": True, "reason": "x"},
        record(operator_ref="backwards", planned_end="2023-12-31"),  # a business rule, not the shape
    ]
    response = doe.submit(client, records)
    assert response.status_code == 201
    receipt = response.json()
    assert receipt["counts"] == {
        "received": 5, "created": 1, "updated": 0, "unchanged": 0, "withdrawn": 0, "rejected": 4
    }  # fmt: skip
    results = receipt["results"]
    assert [(p["code"], p["pointer"], p["status"]) for p in results[1]["problems"]] == [
        ("malformed_amount", "/budget", 422)
    ]
    foreign = results[2]["problems"]
    assert [(p["code"], p["pointer"], p["status"]) for p in foreign] == [
        ("operator_not_permitted", "/operator", 403)
    ]
    assert foreign[0]["message_fr"]
    assert foreign[0]["message_ar"]
    assert foreign[0]["message_fr"] != foreign[0]["message_ar"]
    assert [(p["code"], p["status"]) for p in results[3]["problems"]] == [("unknown_project", 404)]
    assert [(p["code"], p["pointer"], p["status"]) for p in results[4]["problems"]] == [
        ("end_before_start", "/planned_end", 422)
    ]
    assert list(Project.objects.values_list("operator_ref", flat=True)) == ["ok"]


def test_a_client_writes_for_its_organisation_and_its_subsidiaries(client):
    holding = sender("MA-ALOMRANE", client_id="si-holding")
    receipt = holding.submit(
        client, [record(), record(operator="MA-ALOMRANE-CS", operator_ref="CS-1")]
    ).json()
    assert receipt["counts"]["created"] == 2
    narrow = sender("MA-ALOMRANE", client_id="si-narrow", write_for=("MA-ALOMRANE-CS",))
    receipt = narrow.submit(
        client,
        [record(operator_ref="DOE-2"), record(operator="MA-ALOMRANE-CS", operator_ref="CS-1", progress="40")],
    ).json()
    assert [r["outcome"] for r in receipt["results"]] == ["rejected", "updated"]


def test_unchanged_records_are_not_rejected_and_updates_make_new_versions(client, doe):
    doe.submit(client, [record(), record(operator_ref="two")])
    receipt = doe.submit(client, [record(), record(operator_ref="two", progress="40")]).json()
    assert receipt["counts"] == {
        "received": 2, "created": 0, "updated": 1, "unchanged": 1, "withdrawn": 0, "rejected": 0
    }  # fmt: skip
    assert [(r["outcome"], r["version"]) for r in receipt["results"]] == [("unchanged", 1), ("updated", 2)]


def test_base_version_guards_against_lost_updates(client, doe):
    doe.submit(client, [record()])
    receipt = doe.submit(client, [{**record(progress="20"), "base_version": 1}]).json()
    assert receipt["results"][0]["version"] == 2
    stale = doe.submit(client, [{**record(progress="30"), "base_version": 1}]).json()
    assert [(p["code"], p["pointer"], p["status"]) for p in stale["results"][0]["problems"]] == [
        ("version_conflict", "/base_version", 409)
    ]
    new = doe.submit(client, [{**record(operator_ref="new"), "base_version": 0}]).json()
    assert new["results"][0]["outcome"] == "created"


def test_a_withdrawal_writes_a_tombstone(client, doe):
    doe.submit(client, [record()])
    receipt = doe.submit(
        client,
        [
            {
                "operator": "MA-ALOMRANE-DOE",
                "operator_ref": "DOE-PU-001",
                "withdrawn": True,
                "reason": "doublon",
            }
        ],
    ).json()
    assert [(r["outcome"], r["version"]) for r in receipt["results"]] == [("withdrawn", 2)]
    assert ProjectVersion.objects.get(number=2).is_tombstone
    assert Project.objects.get().withdrawn


# --- Authentication and signature ----------------------------------------------------------------


def test_a_request_without_a_token_is_401(client):
    response = client.post(PATH, data=b"{}", content_type="application/json")
    assert (response.status_code, problem_type(response)) == (401, "unauthenticated")


def test_an_unknown_token_is_401(client, doe):
    headers = doe.headers(b"{}")
    headers["HTTP_AUTHORIZATION"] = "Bearer mrsd_nope"
    response = client.post(PATH, data=b"{}", content_type="application/json", **headers)
    assert (response.status_code, problem_type(response)) == (401, "invalid-token")
    assert response["WWW-Authenticate"] == 'Bearer realm="marsad"'


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"HTTP_MARSAD_SIGNATURE": None}, "signature-missing"),
        ({"HTTP_MARSAD_KEY_ID": "someone-else"}, "unknown-key"),
        ({"HTTP_MARSAD_TIMESTAMP": "yesterday"}, "timestamp-invalid"),
        ({"HTTP_MARSAD_SIGNATURE": "AAAA"}, "bad-signature"),
        ({"HTTP_MARSAD_SIGNATURE": "not base64 !"}, "bad-signature"),
    ],
)
def test_signature_failures_are_401(client, doe, change, expected):
    body = json.dumps({"records": [record()]}).encode()
    headers = doe.headers(body)
    for name, value in change.items():
        if value is None:
            headers.pop(name)
        else:
            headers[name] = value
    response = client.post(PATH, data=body, content_type="application/json", **headers)
    assert (response.status_code, problem_type(response)) == (401, expected)
    assert Project.objects.count() == 0


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_timestamp_outside_five_minutes_is_401(client, doe, offset):
    body = json.dumps({"records": [record()]}).encode()
    headers = doe.headers(body, timestamp=int(time.time()) + offset)
    response = client.post(PATH, data=body, content_type="application/json", **headers)
    assert (response.status_code, problem_type(response)) == (401, "timestamp-out-of-window")


def test_a_signature_over_another_body_is_401(client, doe):
    body = json.dumps({"records": [record()]}).encode()
    headers = doe.headers(body)
    tampered = body.replace(b"12.50", b"99.00")
    response = client.post(PATH, data=tampered, content_type="application/json", **headers)
    assert (response.status_code, problem_type(response)) == (401, "bad-signature")


def test_a_revoked_key_is_401_and_a_revoked_client_too(client, doe):
    services.client_key_revoke(actor=ADMIN, key=doe.key)
    response = doe.submit(client, [record()])
    assert (response.status_code, problem_type(response)) == (401, "revoked-key")
    services.client_revoke(actor=ADMIN, client=doe.client)
    response = doe.submit(client, [record()])
    assert (response.status_code, problem_type(response)) == (401, "invalid-token")


def test_a_rotation_keeps_both_keys_valid_during_the_overlap(client, doe):
    from datetime import timedelta

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from marsad.exchange.models import ClientKey

    new_private = Ed25519PrivateKey.generate()
    new_key = services.client_key_add(
        actor=ADMIN, client=doe.client, public_key=signing.public_key_text(new_private.public_key()),
        overlap=timedelta(days=2),
    )  # fmt: skip
    assert doe.submit(client, [record(operator_ref="old")]).status_code == 201
    rotated = type(doe)(doe.client, doe.token, new_key, new_private)
    assert rotated.submit(client, [record(operator_ref="new")]).status_code == 201
    ClientKey.objects.filter(pk=doe.key.pk).update(expires_at=services._now(None))
    response = doe.submit(client, [record(operator_ref="late")])
    assert (response.status_code, problem_type(response)) == (401, "expired-key")
    assert rotated.submit(client, [record(operator_ref="later")]).status_code == 201


def test_a_key_that_is_not_ed25519_is_refused():
    doe = sender()
    with pytest.raises(ValueError):
        services.client_key_add(actor=ADMIN, client=doe.client, public_key="AAAA")


# --- The request's shape ---------------------------------------------------------------------------


def test_the_idempotency_key_is_required_and_checked(client, doe):
    missing = doe.submit(client, [record()], key="")
    assert (missing.status_code, problem_type(missing)) == (400, "idempotency-key-missing")
    bad = doe.submit(client, [record()], key="white space")
    assert (bad.status_code, problem_type(bad)) == (400, "idempotency-key-invalid")


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (b"not json", None),
        (b"[1, 2]", None),
        (b'{"records": []}', "/records"),
        (b'{"records": {}}', "/records"),
        (b'{"records": [{}], "extra": 1}', "/extra"),
        (b'{"records": [{}], "dry_run": "yes"}', "/dry_run"),
        (b'{"records": [{"base_version": -1}]}', "/records/0/base_version"),
        (b'{"records": [{"base_version": true}]}', "/records/0/base_version"),
        (b'{"records": [NaN]}', None),
        ('{"records": "\u00e9"}'.encode("latin-1"), None),
    ],
)
def test_a_malformed_envelope_is_422(client, doe, body, pointer):
    response = doe.submit(client, body=body)
    assert (response.status_code, problem_type(response)) == (422, "invalid-submission")
    data = response.json()
    assert data["i18n"]["fr"]["title"] == "Soumission mal formée"
    assert data["i18n"]["ar"]["title"] != data["i18n"]["fr"]["title"]
    if pointer:
        assert data["errors"][0]["pointer"] == pointer


def test_a_record_that_is_not_an_object_is_rejected_in_the_receipt(client, doe):
    receipt = doe.submit(client, body=b'{"records": [42, "x"]}').json()
    assert [(r["outcome"], [p["code"] for p in r["problems"]]) for r in receipt["results"]] == [
        ("rejected", ["malformed_record"]), ("rejected", ["malformed_record"])
    ]  # fmt: skip


def test_too_many_records_is_413(client, doe, settings):
    settings.MARSAD_SUBMISSION_MAX_RECORDS = 3
    response = doe.submit(client, [record(operator_ref=f"x{n}") for n in range(4)])
    assert (response.status_code, problem_type(response)) == (413, "batch-too-large")


def test_a_body_too_large_is_413(client, doe, settings):
    settings.MARSAD_SUBMISSION_MAX_BYTES = 1000
    response = doe.submit(client, [record(operator_ref=f"x{n}") for n in range(4)])
    assert (response.status_code, problem_type(response)) == (413, "body-too-large")


def test_a_client_without_the_submit_scope_is_403(client):
    reader = sender(client_id="feed-only", can_submit=False)
    response = reader.submit(client, [record()])
    assert (response.status_code, problem_type(response)) == (403, "scope-missing")


def test_the_rate_limit_answers_429_with_retry_after(client):
    from django.core.cache import cache

    cache.clear()
    slow = sender(client_id="slow", rate_per_minute=2)
    statuses = [slow.submit(client, [record(operator_ref=f"r{n}")]).status_code for n in range(3)]
    if statuses[-1] != 429:  # the minute turned between two requests: try again in the new one
        statuses = [slow.submit(client, [record(operator_ref=f"s{n}")]).status_code for n in range(3)]
    assert statuses == [201, 201, 429]
    response = slow.submit(client, [record(operator_ref="again")])
    assert problem_type(response) == "rate-limited"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_the_published_schema_accepts_a_valid_record_and_refuses_a_malformed_one(client):
    import jsonschema

    response = client.get("/api/v1/exchange/schema/1")
    assert response.status_code == 200
    schema = response.json()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    withdrawal = {"operator": "MA-ALOMRANE-DOE", "operator_ref": "X", "withdrawn": True, "reason": ""}
    assert list(validator.iter_errors({"records": [record(), withdrawal]})) == []
    assert list(validator.iter_errors({"records": [{**record(), "base_version": 3}]})) == []
    assert len(list(validator.iter_errors({"records": [record(budget="douze")]}))) == 1
    assert len(list(validator.iter_errors({"records": [record(colour="blue")]}))) == 1
    assert len(list(validator.iter_errors({"records": []}))) == 1
    unknown = client.get("/api/v1/exchange/schema/9")
    assert (unknown.status_code, problem_type(unknown)) == (404, "schema-version-unknown")


def test_a_500_never_leaks_and_the_reservation_is_released(client, doe, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "records_apply", boom)
    response = doe.submit(client, [record()], key="k-1")
    assert (response.status_code, problem_type(response)) == (500, "internal")
    assert "disk full" not in response.content.decode()
    assert Submission.objects.count() == 0
    monkeypatch.undo()
    assert doe.submit(client, [record()], key="k-1").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_the_records_are_prepared_before_the_write_transaction(client, doe, monkeypatch):
    # Parsing, checking and writing out the records happen outside any transaction and before the
    # key is reserved: on SQLite a transaction holds the write lock from its BEGIN, and another
    # submission may write meanwhile.
    from django.db import connection

    prepare, seen = services.records_prepare, []

    def watched(**kwargs):
        seen.append((connection.in_atomic_block, Submission.objects.count()))
        return prepare(**kwargs)

    monkeypatch.setattr(services, "records_prepare", watched)
    assert doe.submit(client, [record()]).status_code == 201
    assert doe.submit(client, [record(operator_ref="DRY")], path="?dry_run=true").status_code == 200
    assert seen == [(False, 0), (False, 1)]
    assert Project.objects.count() == 1


def test_a_client_identifies_itself_in_the_audit_trail(client, doe):
    doe.submit(client, [record()])
    event = AuditEvent.objects.get(action="exchange.submission")
    assert (event.actor_kind, event.actor_id, event.actor_label) == (
        "client", "si-ma-alomrane-doe", "Système d'information MA-ALOMRANE-DOE (si-ma-alomrane-doe)"
    )  # fmt: skip


def test_a_session_user_cannot_submit():
    http = Client()
    response = http.post(PATH, data=b"{}", content_type="application/json")
    assert response.status_code == 401


@pytest.mark.dbsensitive
def test_a_nul_character_is_rejected_in_the_receipt_not_a_500(client, doe):
    records = [record(operator_ref="A\u0000B"), {**record(operator_ref="C"), "x\u0000": 1}]
    response = doe.submit(client, records)
    assert response.status_code == 201
    results = response.json()["results"]
    assert (results[0]["operator_ref"], [p["code"] for p in results[0]["problems"]]) == (
        "A\ufffdB",
        ["malformed_text"],
    )
    assert [(p["code"], p["pointer"]) for p in results[1]["problems"]] == [("unknown_field", "/x\ufffd")]


def test_the_receipt_replaces_nul_characters_only_where_there_are_some():
    clean = [{"operator_ref": "R-1", "problems": [{"pointer": "/a"}], "version": 1}]
    assert services._printable(clean) is clean  # nothing to replace: not walked
    escaped = [{"pointer": "/a\\u0000"}]  # six characters, walked and kept as they are
    assert services._printable(escaped) == [{"pointer": "/a\\u0000"}]
    dirty = [{"operator_ref": "A\u0000B", "problems": [{"pointer": "/x\u0000"}]}, "\ud800\u0000"]
    assert services._printable(dirty) == [
        {"operator_ref": "A\ufffdB", "problems": [{"pointer": "/x\ufffd"}]},
        "\ud800\ufffd",  # a lone surrogate, which orjson refuses, is walked too
    ]
