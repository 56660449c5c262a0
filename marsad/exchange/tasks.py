"""Background tasks of the exchange (django-tasks, database backend: run by `marsad db_worker`)."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from marsad.audit.services import SystemActor

from . import webhooks
from .choices import DeliveryState
from .models import WebhookDelivery


@task()
def webhooks_fanout(version_ids: list[int]) -> int:
    """Create the deliveries for committed versions and queue them."""
    deliveries = webhooks.fanout(version_ids)
    for delivery in deliveries:
        webhook_deliver.enqueue(delivery.pk)
    return len(deliveries)


@task()
def webhook_deliver(delivery_id: int) -> str:
    state = webhooks.deliver(delivery_id)
    if state == DeliveryState.RETRYING:
        next_at = (
            WebhookDelivery.objects.filter(pk=delivery_id).values_list("next_attempt_at", flat=True).first()
        )
        webhook_deliver.using(run_after=next_at or timezone.now()).enqueue(delivery_id)
    return str(state)


@task()
def ledger_checkpoint() -> int | None:
    from .services import ledger_checkpoint as sign

    checkpoint = sign(actor=SystemActor("scheduler"))
    return checkpoint.seq if checkpoint else None
