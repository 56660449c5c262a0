from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "marsad.alerts"
    label = "alerts"
    verbose_name = _("Alertes")

    def ready(self) -> None:
        from datetime import timedelta

        from marsad.core import scheduler
        from marsad.registry import hooks

        from . import tasks

        hooks.register_after_commit(versions_committed)
        scheduler.register("alerts.daily", every=timedelta(hours=24), enqueue=tasks.alerts_daily_task.enqueue)


def versions_committed(versions) -> None:
    """After a commit that wrote versions: evaluate those projects' alerts in the background."""
    from .tasks import alerts_evaluate_task

    alerts_evaluate_task.enqueue(sorted({v.project_id for v in versions}))
