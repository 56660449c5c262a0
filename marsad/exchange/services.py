"""Writes of the exchange: clients and keys, the submission pipeline and its receipts, ledger
checkpoints. Every function takes ``actor=`` and writes its audit event in the same transaction.

The pipeline (DESIGN §6): the API view authenticates the client and checks the signature; then
``submission_process`` reserves the idempotency key in its own short transaction, processes the
batch through the registry's ``records_apply`` (versions, projects and ledger entries in bulk), signs
the receipt, seals it in the ledger and stores it, all in one transaction. A replay of the same key
and body returns the stored receipt; a reservation left by a crashed process is taken over once its
lease has run out.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from marsad.accounts.models import Organisation
from marsad.accounts.scoping import principal_scope
from marsad.audit.services import audit_record
from marsad.core import faults
from marsad.core.collector import collector_paused
from marsad.registry import ledger
from marsad.registry.choices import LedgerKind, SourceKind
from marsad.registry.services import BatchResult, records_apply, records_prepare

from . import signing
from .choices import SubmissionChannel, SubmissionState
from .models import ApiClient, ClientKey, LedgerCheckpoint, Submission
from .selectors import token_hash

RECEIPT_SCHEMA = "marsad.receipt/1"
TOKEN_PREFIX = "mrsd_"  # noqa: S105 - the visible prefix of generated tokens, not a secret
# The HTTP status a record's problem would have on its own (DESIGN §6: a record the client may not
# write is a 403 in the receipt; the rest of the batch goes on).
PROBLEM_STATUS = {
    "operator_not_permitted": 403,
    "unknown_project": 404,
    "version_conflict": 409,
    "withdrawn_project": 409,
}


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# --- Clients and keys ------------------------------------------------------------------------------


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@transaction.atomic
def client_create(
    *,
    actor: Any,
    client_id: str,
    name: str,
    organisation: Organisation,
    write_for: list[Organisation] | None = None,
    can_submit: bool = True,
    can_read_feed: bool = True,
    rate_per_minute: int = 120,
    now: datetime | None = None,
    request_id: str = "",
) -> tuple[ApiClient, str]:
    """Register a client; returns it with its bearer token, which is shown this once and never
    stored (only its SHA-256 is)."""
    now = _now(now)
    token = new_token()
    client = ApiClient.objects.create(
        client_id=client_id,
        name=name,
        organisation=organisation,
        can_submit=can_submit,
        can_read_feed=can_read_feed,
        token_hash=token_hash(token),
        token_hint=token[:12],
        rate_per_minute=rate_per_minute,
        created_at=now,
    )
    if write_for:
        client.write_for.set(write_for)
    audit_record(
        actor=actor,
        action="exchange.client.create",
        object_type="exchange.apiclient",
        object_id=client.client_id,
        object_label=client.name,
        changes={
            "organisation": organisation.code,
            "write_for": sorted(o.code for o in write_for or []),
            "can_submit": can_submit,
            "can_read_feed": can_read_feed,
        },
        request_id=request_id,
    )
    return client, token


@transaction.atomic
def client_token_rotate(*, actor: Any, client: ApiClient, request_id: str = "") -> str:
    token = new_token()
    client.token_hash, client.token_hint = token_hash(token), token[:12]
    client.save(update_fields=["token_hash", "token_hint"])
    audit_record(
        actor=actor, action="exchange.client.token", object_type="exchange.apiclient",
        object_id=client.client_id, object_label=client.name, request_id=request_id,
    )  # fmt: skip
    return token


@transaction.atomic
def client_revoke(
    *, actor: Any, client: ApiClient, now: datetime | None = None, request_id: str = ""
) -> None:
    now = _now(now)
    ApiClient.objects.filter(pk=client.pk, revoked_at__isnull=True).update(revoked_at=now)
    ClientKey.objects.filter(client=client, revoked_at__isnull=True).update(revoked_at=now)
    client.revoked_at = now
    audit_record(
        actor=actor, action="exchange.client.revoke", object_type="exchange.apiclient",
        object_id=client.client_id, object_label=client.name, request_id=request_id,
    )  # fmt: skip


@transaction.atomic
def client_key_add(
    *,
    actor: Any,
    client: ApiClient,
    public_key: str,
    key_id: str = "",
    overlap: timedelta = timedelta(days=7),
    now: datetime | None = None,
    request_id: str = "",
) -> ClientKey:
    """Add a signing key. The keys already valid stay valid for ``overlap`` (a rotation: both sign
    during the overlap, then only the new one). Raises ValueError for a key that is not Ed25519."""
    now = _now(now)
    signing.load_public_key(public_key)
    key_id = key_id or f"{client.client_id}-{now:%Y%m%d}-{secrets.token_hex(3)}"
    ClientKey.objects.filter(client=client, revoked_at__isnull=True, expires_at__isnull=True).update(
        expires_at=now + overlap
    )
    key = ClientKey.objects.create(client=client, key_id=key_id, public_key=public_key, created_at=now)
    audit_record(
        actor=actor, action="exchange.key.add", object_type="exchange.clientkey", object_id=key.key_id,
        object_label=client.client_id, changes={"overlap_days": overlap.days}, request_id=request_id,
    )  # fmt: skip
    return key


@transaction.atomic
def client_key_revoke(
    *, actor: Any, key: ClientKey, now: datetime | None = None, request_id: str = ""
) -> None:
    now = _now(now)
    ClientKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
    key.revoked_at = key.revoked_at or now
    audit_record(
        actor=actor, action="exchange.key.revoke", object_type="exchange.clientkey", object_id=key.key_id,
        object_label=key.client.client_id, request_id=request_id,
    )  # fmt: skip


def rate_check(client: ApiClient, *, now: datetime | None = None) -> int | None:
    """Count a request against the client's budget for the current minute (in the shared cache, so
    every process counts together). Returns the seconds to wait when the budget is spent."""
    moment = _now(now).timestamp()
    window = int(moment // 60)
    key = f"exchange-rate:{client.pk}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        used = 1
    if used > client.rate_per_minute:
        return max(1, math.ceil((window + 1) * 60 - moment))
    return None


# --- Submissions ------------------------------------------------------------------------------------


class SubmissionConflict(Exception):
    """The idempotency key is taken: by another body (``reused``) or by a batch still in flight."""

    def __init__(self, reason: str, retry_after: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass
class Processed:
    receipt: dict
    status: int  # 201 for a newly processed batch, 200 for a replay or a dry run
    replay: bool = False


def _lease() -> timedelta:
    return timedelta(seconds=getattr(settings, "MARSAD_SUBMISSION_LEASE_SECONDS", 60))


def _submission_id(now: datetime) -> str:
    return f"SUB-{now:%Y%m%d}-{secrets.token_hex(5).upper()}"


def _reserve(
    *, client: ApiClient | None, user: Any, channel: str, key: str, digest: str, now: datetime, file_name: str
) -> tuple[Submission | None, Submission | None]:
    """Take the idempotency key. Returns (reserved submission, None), or (None, completed submission)
    for a replay; raises SubmissionConflict otherwise."""
    try:
        with transaction.atomic():
            return (
                Submission.objects.create(
                    public_id=_submission_id(now),
                    client=client,
                    uploaded_by=user if client is None else None,
                    channel=channel,
                    idempotency_key=key,
                    digest=digest,
                    state=SubmissionState.PROCESSING,
                    lease_until=now + _lease(),
                    received_at=now,
                    file_name=file_name[:200],
                ),
                None,
            )
    except IntegrityError:
        existing = Submission.objects.filter(client=client, idempotency_key=key).first()
        if existing is None:  # the other reservation was released meanwhile: try once more
            return _reserve(
                client=client,
                user=user,
                channel=channel,
                key=key,
                digest=digest,
                now=now,
                file_name=file_name,
            )
    if existing.digest != digest:
        raise SubmissionConflict("reused")
    if existing.state == SubmissionState.DONE:
        return None, existing
    if existing.lease_until > now:
        raise SubmissionConflict("in_flight", math.ceil((existing.lease_until - now).total_seconds()))
    # A reservation whose process died: take it over, if no one else just did.
    taken = Submission.objects.filter(
        pk=existing.pk, state=SubmissionState.PROCESSING, lease_until=existing.lease_until
    ).update(lease_until=now + _lease())
    if not taken:
        raise SubmissionConflict("in_flight", 1)
    return existing, None


def _problems(result) -> list[dict]:
    problems = []
    for issue in result.issues:
        data = issue.as_dict()
        data["status"] = PROBLEM_STATUS.get(issue.code, 422) if issue.is_error else None
        problems.append(data)
    return problems


def _printable(value):
    """The receipt repeats what the sender wrote (references, field names in pointers); a NUL there
    is shown as U+FFFD, since PostgreSQL's JSON cannot store it (the rules have rejected it anyway).
    A receipt without one (nearly all: orjson writes any NUL as ``\\u0000``) is returned as it is."""
    try:
        if b"\\u0000" not in orjson.dumps(value, default=str):
            return value
    except orjson.JSONEncodeError:  # a lone surrogate, say: walked below
        pass
    return _nul_replaced(value)


def _nul_replaced(value):
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_nul_replaced(k): _nul_replaced(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nul_replaced(v) for v in value]
    return value


def receipt_build(
    *,
    submission_id: str | None,
    client_id: str | None,
    idempotency_key: str,
    dry_run: bool,
    received_at: datetime,
    processed_at: datetime,
    digest: str,
    batch: BatchResult,
    head_seq: int,
    head_hash: str,
) -> dict:
    results = []
    for result in batch.results:
        entry = result.as_dict()
        entry["problems"] = _problems(result)
        results.append(entry)
    return {
        "schema": RECEIPT_SCHEMA,
        "submission_id": submission_id,
        "client_id": client_id,
        "idempotency_key": idempotency_key,
        "dry_run": dry_run,
        "received_at": _iso(received_at),
        "processed_at": _iso(processed_at),
        "request_digest": f"sha256:{digest}",
        "counts": batch.counts,
        "results": _printable(results),
        "ledger": {"seq": head_seq, "hash": head_hash},
    }


class _AlreadyDone(Exception):
    pass


def _oldest_as_of(records: list) -> date | None:
    found = []
    for raw in records:
        value = raw.get("as_of") if isinstance(raw, dict) else None
        if isinstance(value, str):
            try:
                found.append(date.fromisoformat(value))
            except ValueError:
                continue
    return min(found) if found else None


@collector_paused()
def submission_process(
    *,
    records: list,
    base_versions: list[int | None],
    idempotency_key: str,
    digest: str,
    client: ApiClient | None = None,
    user: Any = None,
    channel: str = SubmissionChannel.API,
    dry_run: bool = False,
    file_name: str = "",
    request_id: str = "",
    now: datetime | None = None,
    today: date | None = None,
) -> Processed:
    """Run a batch through the pipeline for a client (API) or a user (upload) and return its signed
    receipt. Raises SubmissionConflict for a key reused with another body or still in flight."""
    now = _now(now)
    actor = client if client is not None else user
    scope = principal_scope(actor)
    source_kind = SourceKind.SUBMISSION if channel == SubmissionChannel.API else SourceKind.UPLOAD
    client_id = client.client_id if client is not None else None
    common = {"actor": actor, "source_kind": source_kind, "base_versions": base_versions,
              "received_at": now, "request_id": request_id, "audit_each": False}  # fmt: skip
    # Parsing, checking and writing out the records needs no lock: done before the key's reservation
    # and the batch's transaction, which on SQLite hold the write lock from their BEGIN, so that
    # another submission writes meanwhile.
    prepared = records_prepare(actor=actor, records=records, scope=scope, today=today)
    if dry_run:
        batch = records_apply(source_id="dry-run", dry_run=True, prepared=prepared, **common)
        head = ledger.head()
        receipt = receipt_build(
            submission_id=None, client_id=client_id, idempotency_key=idempotency_key, dry_run=True,
            received_at=now, processed_at=timezone.now(), digest=digest, batch=batch, head_seq=head.seq,
            head_hash=head.hash,
        )  # fmt: skip
        return Processed(signing.sign_document(receipt), 200)

    submission, done = _reserve(
        client=client,
        user=user,
        channel=channel,
        key=idempotency_key,
        digest=digest,
        now=now,
        file_name=file_name,
    )
    if done is not None:
        return Processed(done.receipt, 200, replay=True)
    assert submission is not None
    try:
        with transaction.atomic():
            batch = records_apply(source_id=submission.public_id, prepared=prepared, **common)
            faults.point("submission.before_commit")
            head = batch.head  # locked by records_apply until this transaction commits
            processed_at = timezone.now()
            receipt, sealed_bytes = signing.sign_document_sealed(
                receipt_build(
                    submission_id=submission.public_id, client_id=client_id, idempotency_key=idempotency_key,
                    dry_run=False, received_at=submission.received_at, processed_at=processed_at,
                    digest=digest, batch=batch, head_seq=head.seq, head_hash=head.hash,
                )
            )  # fmt: skip
            sealed = hashlib.sha256(sealed_bytes).hexdigest()
            ledger.append(
                head, [ledger.Pending(LedgerKind.RECEIPT, submission.public_id, sealed)], now=processed_at
            )
            stored = Submission.objects.filter(pk=submission.pk, state=SubmissionState.PROCESSING).update(
                state=SubmissionState.DONE, receipt=receipt, processed_at=processed_at, counts=batch.counts,
                record_count=len(records), oldest_as_of=_oldest_as_of(records),
            )  # fmt: skip
            if not stored:
                raise _AlreadyDone
            audit_record(
                actor=actor, action="exchange.submission", object_type="exchange.submission",
                object_id=submission.public_id, object_label=file_name or idempotency_key,
                changes={"counts": batch.counts, "idempotency_key": idempotency_key, "digest": digest},
                source_kind=source_kind, source_id=submission.public_id, request_id=request_id,
            )  # fmt: skip
    except _AlreadyDone:
        finished = Submission.objects.get(pk=submission.pk)
        return Processed(finished.receipt, 200, replay=True)
    except BaseException:
        # Let a retry proceed at once instead of waiting for the lease.
        Submission.objects.filter(pk=submission.pk, state=SubmissionState.PROCESSING).delete()
        raise
    return Processed(receipt, 201)


# --- Ledger checkpoints ----------------------------------------------------------------------------


@transaction.atomic
def ledger_checkpoint(*, actor: Any, now: datetime | None = None) -> LedgerCheckpoint | None:
    """Sign the ledger's current head (the scheduler calls this periodically). Nothing new to sign
    since the last checkpoint → None."""
    now = _now(now)
    head = ledger.head()
    last = LedgerCheckpoint.objects.order_by("-seq", "-signed_at").first()
    if last is not None and last.seq == head.seq:
        return None
    signed = signing.sign_document({"schema": "marsad.checkpoint/1", "seq": head.seq, "hash": head.hash})
    checkpoint = LedgerCheckpoint.objects.create(
        seq=head.seq, hash=head.hash, key_id=signed["signature"]["key_id"],
        signature=signed["signature"]["value"], signed_at=now,
    )  # fmt: skip
    audit_record(
        actor=actor, action="exchange.ledger.checkpoint", object_type="registry.ledger",
        object_id=str(head.seq), changes={"hash": head.hash},
    )  # fmt: skip
    return checkpoint


# --- Uploads ----------------------------------------------------------------------------------------


@dataclass
class UploadOutcome:
    """What the upload page shows: the file's refusal, or the receipt and one line per row."""

    file_problems: list[dict]
    rows: list[dict]
    receipt: dict | None = None
    submission_id: str | None = None

    @property
    def refused(self) -> bool:
        return self.receipt is None


def upload_rows(parse, receipt: dict | None) -> list[dict]:
    """One line per spreadsheet row: the receipt's result located to rows and cells, and the rows
    that could not be read into a record (problems found while reading the file)."""
    lines: dict[int, dict] = {}
    for problem in parse.problems:
        row = problem.get("row")
        if row is None or (row == 1 and problem.get("cell") is None):
            continue
        empty = {"row": row, "operator_ref": "", "outcome": "unreadable", "project_id": None, "version": None}
        line = lines.setdefault(row, {**empty, "problems": []})
        line["problems"].append({**problem, "severity": "error", "pointer": ""})
    for result in (receipt or {}).get("results", []):
        index = result["index"]
        lines[parse.rows[index]] = {
            "row": parse.rows[index],
            "operator_ref": result["operator_ref"],
            "outcome": result["outcome"],
            "project_id": result["project_id"],
            "version": result["version"],
            "problems": [parse.located(index, p) for p in result["problems"]],
        }
    return [lines[row] for row in sorted(lines)]


def upload_process(
    *,
    user: Any,
    file_name: str,
    data: bytes,
    dry_run: bool = False,
    request_id: str = "",
    today: date | None = None,
) -> UploadOutcome:
    """A CSV or XLSX file through the same pipeline and receipt as the API (DESIGN §6). The file is
    refused as a whole only when it cannot be read; otherwise its readable rows are submitted and
    every row gets its line in the report."""
    from .uploads import read_upload

    parse = read_upload(file_name, data)
    file_problems = [
        p for p in parse.problems if p.get("row") is None or (p["row"] == 1 and p.get("cell") is None)
    ]
    if file_problems or not parse.records:
        return UploadOutcome(file_problems, upload_rows(parse, None))
    digest = hashlib.sha256(data).hexdigest()
    processed = submission_process(
        user=user, channel=SubmissionChannel.UPLOAD, records=parse.records, base_versions=parse.base_versions,
        idempotency_key=f"upload-{digest[:32]}", digest=digest, dry_run=dry_run, file_name=file_name,
        request_id=request_id, today=today,
    )  # fmt: skip
    rows = upload_rows(parse, processed.receipt)
    submission_id = processed.receipt.get("submission_id")
    if submission_id:
        Submission.objects.filter(public_id=submission_id).update(
            upload_report={"rows": rows, "format": parse.format, "encoding": parse.encoding}
        )
    return UploadOutcome([], rows, processed.receipt, submission_id)
