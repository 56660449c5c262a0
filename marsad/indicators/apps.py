from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IndicatorsConfig(AppConfig):
    name = "marsad.indicators"
    label = "indicators"
    verbose_name = _("Indicateurs")

    def ready(self) -> None:
        from datetime import timedelta

        from marsad.core import scheduler
        from marsad.registry import hooks

        from . import panels, tasks

        hooks.register_after_commit(versions_committed)
        panels.register_panels()  # the engine's panels on the registry's project and operator pages
        scheduler.register(
            "indicators.roll_forward", every=timedelta(hours=6), enqueue=tasks.facts_roll_forward_task.enqueue
        )


def versions_committed(versions) -> None:
    """After a commit that wrote versions: refresh those projects' facts in the background."""
    from .tasks import facts_refresh_task

    facts_refresh_task.enqueue(sorted({v.project_id for v in versions}))
