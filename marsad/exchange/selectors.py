"""Reads of the exchange: clients by token, keys, receipts, and the change feed."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Max, Prefetch, Q
from django.utils import timezone

from marsad.accounts.choices import Role
from marsad.accounts.scoping import Scope, organisation_family_ids, principal_scope
from marsad.registry.selectors import feed_entries, ledger_entry_time, ledger_head_seq

from .models import ApiClient, ClientKey, PlatformKey, Submission, WebhookDelivery, WebhookSubscription

CURSOR_PREFIX = "c1."


def client_scope(client: ApiClient) -> Scope:
    """A client writes and reads for the organisations it was registered for (its own by default),
    with their subsidiaries; beyond that it reads what is public."""
    if not client.is_active:
        return Scope(label=client.client_id)
    ids = set(client.write_for.values_list("id", flat=True)) or {client.organisation_id}
    return Scope(
        roles=frozenset({Role.OPERATOR_STEWARD}),
        operator_ids=organisation_family_ids(ids),
        label=client.client_id,
    )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_by_token(token: str) -> ApiClient | None:
    """The active client a bearer token names, or None. Tokens carry 256 random bits, so a plain
    SHA-256 (looked up through a unique index) is what stores them safely."""
    if not token or len(token) > 200:
        return None
    return (
        ApiClient.objects.select_related("organisation")
        .filter(token_hash=token_hash(token), revoked_at__isnull=True)
        .first()
    )


def client_key(client: ApiClient, key_id: str, *, now: datetime) -> tuple[ClientKey | None, str]:
    """The client's key named ``key_id`` if it may sign now, else None and why (``unknown_key``,
    ``revoked_key``, ``expired_key``)."""
    key = ClientKey.objects.filter(client=client, key_id=key_id).first()
    if key is None:
        return None, "unknown_key"
    if key.revoked_at is not None:
        return None, "revoked_key"
    if key.expires_at is not None and key.expires_at <= now:
        return None, "expired_key"
    return key, ""


def platform_keys() -> list[dict]:
    return [
        {
            "key_id": key.key_id,
            "algorithm": "ed25519",
            "public_key": key.public_key,
            "created_at": key.created_at,
            "retired_at": key.retired_at,
        }
        for key in PlatformKey.objects.order_by("created_at", "id")
    ]


def visible_submissions(principal: Any):
    """A client reads its own submissions; administrators and national analysts all of them; an
    operator's steward those of the operator's clients and the uploads they made."""
    submissions = Submission.objects.all()
    if isinstance(principal, ApiClient):
        return submissions.filter(client=principal)
    scope = principal_scope(principal)
    if scope.is_national:
        return submissions
    if scope.operator_ids:
        return submissions.filter(
            Q(client__organisation_id__in=scope.operator_ids)
            | Q(uploaded_by_id=getattr(principal, "pk", None))
        )
    return submissions.none()


def submission_get(principal: Any, public_id: str) -> Submission | None:
    return visible_submissions(principal).filter(public_id=public_id).first()


# --- The change feed -------------------------------------------------------------------------------


class CursorError(ValueError):
    pass


class CursorExpired(Exception):
    pass


def cursor_encode(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise CursorError(cursor) from error
    if not text.startswith(CURSOR_PREFIX) or not text[len(CURSOR_PREFIX) :].isdigit():
        raise CursorError(cursor)
    seq = int(text[len(CURSOR_PREFIX) :])
    if seq > 2**62:
        raise CursorError(cursor)
    return seq


def feed_retention() -> timedelta:
    return timedelta(days=getattr(settings, "MARSAD_FEED_RETENTION_DAYS", 365))


def changes(principal: Any, *, after: str | None, limit: int, now: datetime | None = None) -> dict:
    """One page of the change feed. Raises CursorError for a cursor that is not one of ours and
    CursorExpired for one older than the retention period."""
    seq = cursor_decode(after) if after else 0
    if seq:
        recorded = ledger_entry_time(seq)
        if recorded is None:
            raise CursorError(after)
        if recorded < (now or timezone.now()) - feed_retention():
            raise CursorExpired(after)
    # The head is read first: every entry up to it has committed (entries and head are written in one
    # transaction, in sequence order), so the page is a gap-free prefix even under concurrent writers.
    upto = ledger_head_seq()
    rows = feed_entries(principal, after=seq, upto=upto, limit=limit)
    has_more = len(rows) > limit
    rows = rows[:limit]
    events = [
        {
            "cursor": cursor_encode(row["seq"]),
            "project_id": row["subject"],
            "operator": row["project__operator__code"],
            "operator_ref": row["project__operator_ref"],
            "version": row["number"],
            "sha256": row["digest"],
            "event": "withdrawn"
            if row["version__is_tombstone"]
            else "created"
            if row["number"] == 1
            else "updated",
            "recorded_at": row["recorded_at"],
        }
        for row in rows
    ]
    # When the page ends the feed, the next cursor moves to the head, past the entries this reader may
    # not see, so that they are not scanned again.
    if has_more:
        following = events[-1]["cursor"]
    else:
        following = cursor_encode(max(upto, seq)) if max(upto, seq) else None
    return {"events": events, "next": following, "has_more": has_more}


# --- Webhooks ----------------------------------------------------------------------------------------


def client_webhooks(client: ApiClient):
    return WebhookSubscription.objects.filter(client=client).order_by("created_at", "id")


def webhook_row(subscription: WebhookSubscription) -> dict:
    return {
        "id": subscription.public_id,
        "url": subscription.url,
        "created_at": subscription.created_at,
        "active": subscription.is_active,
        "disabled_at": subscription.disabled_at,
        "disabled_reason": subscription.disabled_reason,
    }


def webhook_deliveries(subscription: WebhookSubscription, limit: int = 100) -> list[WebhookDelivery]:
    return list(
        WebhookDelivery.objects.filter(subscription=subscription)
        .prefetch_related(Prefetch("attempt_log"))
        .order_by("-created_at", "-id")[:limit]
    )


# --- Sync health (DESIGN §6) ------------------------------------------------------------------------

HEALTH_WINDOW = timedelta(days=30)
SILENT_AFTER = timedelta(days=3)


def visible_clients(principal: Any):
    clients = ApiClient.objects.select_related("organisation")
    if isinstance(principal, ApiClient):
        return clients.filter(pk=principal.pk)
    scope = principal_scope(principal)
    if scope.is_national:
        return clients
    if scope.operator_ids:
        return clients.filter(organisation_id__in=scope.operator_ids)
    return clients.none()


def _median(values: list[int]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def client_health(client: ApiClient, submissions: list[dict], last: datetime | None, now: datetime) -> dict:
    """One client's sync health from its submissions of the last 30 days (newest first) and the
    time of its last submission ever.

    - ``silent``: it used to send daily (on at least 5 of the 7 days before its last submission) and
      has sent nothing for 3 days;
    - ``failing``: over the last 7 days more than half of its records were rejected, or its latest
      submission had every record rejected;
    - ``never``: it has sent nothing yet; ``revoked``; otherwise ``ok``.
    """
    received = sum(s["counts"].get("received", 0) for s in submissions)
    rejected = sum(s["counts"].get("rejected", 0) for s in submissions)
    lags = [(s["received_at"].date() - s["oldest_as_of"]).days for s in submissions if s["oldest_as_of"]]
    week = [s for s in submissions if s["received_at"] >= now - timedelta(days=7)]
    week_received = sum(s["counts"].get("received", 0) for s in week)
    week_rejected = sum(s["counts"].get("rejected", 0) for s in week)
    if client.revoked_at is not None:
        status = "revoked"
    elif last is None:
        status = "never"
    else:
        days_before = {
            s["received_at"].date()
            for s in submissions
            if last - timedelta(days=7) <= s["received_at"] <= last
        }
        latest = submissions[0]["counts"] if submissions else {}
        if len(days_before) >= 5 and now - last > SILENT_AFTER:
            status = "silent"
        elif (week_received and week_rejected * 2 > week_received) or (
            latest.get("received") and latest.get("rejected") == latest.get("received")
        ):
            status = "failing"
        else:
            status = "ok"
    return {
        "client_id": client.client_id,
        "name": client.name,
        "organisation": client.organisation.code,
        "status": status,
        "last_submission_at": last,
        "submissions_30d": len(submissions),
        "records_30d": received,
        "rejected_30d": rejected,
        "rejection_rate": round(100 * rejected / received, 1) if received else None,
        "median_lag_days": _median(lags),
    }


def sync_health(
    principal: Any, *, operators: frozenset[int] | None = None, now: datetime | None = None
) -> list:
    """The health of the clients ``principal`` may see (of the given organisations, when given):
    three queries whatever the number of clients."""
    now = now or timezone.now()
    clients = visible_clients(principal)
    if operators is not None:
        clients = clients.filter(organisation_id__in=operators)
    clients = list(clients.order_by("organisation__code", "client_id"))
    ids = [c.pk for c in clients]
    recent: dict[int, list[dict]] = {pk: [] for pk in ids}
    rows = Submission.objects.filter(
        client_id__in=ids, processed_at__isnull=False, received_at__gte=now - HEALTH_WINDOW
    )
    for row in rows.order_by("-received_at").values("client_id", "received_at", "counts", "oldest_as_of"):
        recent[row["client_id"]].append(row)
    latest = dict(
        Submission.objects.filter(client_id__in=ids, processed_at__isnull=False)
        .values("client_id")
        .annotate(last=Max("received_at"))
        .values_list("client_id", "last")
    )
    return [client_health(c, recent[c.pk], latest.get(c.pk), now) for c in clients]


def receipt_record_counts(start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
    """Records of the submissions and uploads processed in [start, end) (dry runs aside), per operator
    code named in the record: (records, records without any problem). Rejected records count, since
    a rejection is what the data-quality validity measures; the indicators register this source."""
    counts: dict[str, list[int]] = {}
    for receipt in (
        Submission.objects.filter(processed_at__gte=start, processed_at__lt=end, receipt__isnull=False)
        .order_by()
        .values_list("receipt", flat=True)
        .iterator(chunk_size=50)
    ):
        if receipt.get("dry_run"):
            continue
        for result in receipt.get("results", ()):
            entry = counts.setdefault(result.get("operator") or "", [0, 0])
            entry[0] += 1
            entry[1] += not result.get("problems") and result.get("outcome") != "rejected"
    return {code: (records, clean) for code, (records, clean) in counts.items()}
