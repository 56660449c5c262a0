from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "marsad.exchange"
    label = "exchange"
    verbose_name = _("Échange de données")

    def ready(self) -> None:
        from datetime import timedelta

        from django.conf import settings

        from marsad.core import scheduler
        from marsad.indicators import quality
        from marsad.registry import hooks

        from . import selectors, tasks

        hooks.register_after_commit(versions_committed)
        quality.register_record_source(selectors.receipt_record_counts)
        scheduler.register(
            "exchange.ledger_checkpoint",
            every=timedelta(minutes=getattr(settings, "MARSAD_LEDGER_CHECKPOINT_MINUTES", 10)),
            enqueue=tasks.ledger_checkpoint.enqueue,
        )


def versions_committed(versions) -> None:
    """After a commit that wrote versions: notify the webhook subscribers, if there are any."""
    from .models import WebhookSubscription
    from .tasks import webhooks_fanout

    if WebhookSubscription.objects.filter(disabled_at__isnull=True).exists():
        webhooks_fanout.enqueue([v.pk for v in versions])
