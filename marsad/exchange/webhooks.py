"""Webhooks (DESIGN §6): thin notifications signed per Standard Webhooks, delivered by background
tasks with exponential backoff.

After each commit that writes versions, one delivery per active subscription whose client may read
some of them: the payload names the feed's cursor range, the number of events and the projects (at
most 100); the consumer then reads ``/exchange/changes``. An endpoint answering 410 Gone for a
delivery is not retried; after ``MARSAD_WEBHOOK_GONE_LIMIT`` consecutive 410s its subscription is
disabled. Other failures are retried after 5 s, 10 s, 20 s… (doubling, at most an hour apart) up to
``MARSAD_WEBHOOK_MAX_ATTEMPTS`` attempts.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from marsad.audit.services import SystemActor, audit_record
from marsad.registry.selectors import ledger_entries_for_versions

from .choices import DeliveryState
from .models import ApiClient, WebhookAttempt, WebhookDelivery, WebhookSubscription
from .selectors import cursor_encode

EVENT_TYPE = "project.versions"
MAX_PROJECTS = 100


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def backoff(attempt: int) -> timedelta:
    """The wait before attempt ``attempt + 1``: base × 2^(attempt − 1), at most an hour."""
    base = _setting("MARSAD_WEBHOOK_BACKOFF_SECONDS", 5)
    return timedelta(seconds=min(3600, base * 2 ** max(0, attempt - 1)))


@transaction.atomic
def webhook_subscribe(
    *, actor: Any, client: ApiClient, url: str, now: datetime | None = None
) -> WebhookSubscription:
    now = now or timezone.now()
    secret = "whsec_" + secrets.token_urlsafe(32).replace("-", "+").replace("_", "/")
    subscription = WebhookSubscription.objects.create(
        public_id=f"WH-{secrets.token_hex(6).upper()}", client=client, url=url, secret=secret, created_at=now
    )
    audit_record(
        actor=actor, action="exchange.webhook.subscribe", object_type="exchange.webhooksubscription",
        object_id=subscription.public_id, object_label=url, changes={"client": client.client_id},
    )  # fmt: skip
    return subscription


@transaction.atomic
def webhook_disable(
    *, actor: Any, subscription: WebhookSubscription, reason: str, now: datetime | None = None
):
    now = now or timezone.now()
    WebhookSubscription.objects.filter(pk=subscription.pk, disabled_at__isnull=True).update(
        disabled_at=now, disabled_reason=reason[:200]
    )
    subscription.disabled_at, subscription.disabled_reason = now, reason[:200]
    audit_record(
        actor=actor, action="exchange.webhook.disable", object_type="exchange.webhooksubscription",
        object_id=subscription.public_id, object_label=subscription.url, changes={"reason": reason},
    )  # fmt: skip


def fanout(version_ids: list[int], *, now: datetime | None = None) -> list[WebhookDelivery]:
    """Create the deliveries for versions that just committed (one per subscription that may read
    some of them) and return them; the caller enqueues their delivery."""
    now = now or timezone.now()
    deliveries = []
    subscriptions = WebhookSubscription.objects.filter(
        disabled_at__isnull=True, client__revoked_at__isnull=True
    ).select_related("client")
    for subscription in subscriptions:
        entries = ledger_entries_for_versions(subscription.client, version_ids)
        if not entries:
            continue
        projects = list(dict.fromkeys(subject for _, subject in entries))
        message_id = f"msg_{secrets.token_hex(12)}"
        deliveries.append(
            WebhookDelivery(
                subscription=subscription,
                message_id=message_id,
                event_type=EVENT_TYPE,
                payload={
                    "type": EVENT_TYPE,
                    "timestamp": now.isoformat(),
                    "data": {
                        "after": cursor_encode(entries[0][0] - 1),
                        "until": cursor_encode(entries[-1][0]),
                        "events": len(entries),
                        "projects": projects[:MAX_PROJECTS],
                        "more_projects": max(0, len(projects) - MAX_PROJECTS),
                    },
                },
                state=DeliveryState.PENDING,
                created_at=now,
                next_attempt_at=now,
            )
        )
    return WebhookDelivery.objects.bulk_create(deliveries)


def deliver(
    delivery_id: int, *, now: datetime | None = None, transport: httpx.BaseTransport | None = None
) -> str:
    """One attempt. Returns the delivery's new state; schedules nothing itself (the task does)."""
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=delivery_id).first()
    if delivery is None or delivery.state not in (DeliveryState.PENDING, DeliveryState.RETRYING):
        return delivery.state if delivery else "missing"
    subscription = delivery.subscription
    now = now or timezone.now()
    if not subscription.is_active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=DeliveryState.ABANDONED, next_attempt_at=None
        )
        return DeliveryState.ABANDONED
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":"))
    signature = Webhook(subscription.secret).sign(delivery.message_id, now, body)
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "user-agent": "Marsad-Webhooks/1",
    }
    started = time.monotonic()
    status_code, error = None, ""
    try:
        with httpx.Client(timeout=10.0, transport=transport, follow_redirects=False) as http:
            status_code = http.post(subscription.url, content=body.encode(), headers=headers).status_code
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    duration = int((time.monotonic() - started) * 1000)
    attempts = delivery.attempts + 1
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery, attempted_at=now, status_code=status_code, duration_ms=duration, error=error
        )
        if status_code is not None and 200 <= status_code < 300:
            state, next_at = DeliveryState.DELIVERED, None
            WebhookSubscription.objects.filter(pk=subscription.pk).update(consecutive_gone=0)
        elif status_code == 410:
            state, next_at = DeliveryState.GONE, None
            subscription.consecutive_gone += 1
            WebhookSubscription.objects.filter(pk=subscription.pk).update(
                consecutive_gone=subscription.consecutive_gone
            )
            if subscription.consecutive_gone >= _setting("MARSAD_WEBHOOK_GONE_LIMIT", 3):
                webhook_disable(
                    actor=SystemActor("webhooks"), subscription=subscription,
                    reason=f"{subscription.consecutive_gone} réponses 410 consécutives", now=now,
                )  # fmt: skip
        elif attempts >= _setting("MARSAD_WEBHOOK_MAX_ATTEMPTS", 10):
            state, next_at = DeliveryState.ABANDONED, None
        else:
            state, next_at = DeliveryState.RETRYING, now + backoff(attempts)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=state, attempts=attempts, next_attempt_at=next_at,
            delivered_at=now if state == DeliveryState.DELIVERED else None,
        )  # fmt: skip
    return state
