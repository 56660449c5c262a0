"""Background tasks of the alerts (django-tasks, database backend: run by `marsad db_worker`)."""

from django_tasks import task

from .services import alerts_evaluate, alerts_evaluate_running


def _counts(summary) -> dict[str, int]:
    return {
        "projects": summary.projects,
        "opened": summary.opened,
        "updated": summary.updated,
        "closed": summary.closed,
        "refreshed": summary.refreshed,
        "notified": summary.notified,
    }


@task()
def alerts_evaluate_task(project_ids: list[int]) -> dict[str, int]:
    """Evaluate the alerts of projects that received versions."""
    return _counts(alerts_evaluate(project_ids))


@task()
def alerts_daily_task() -> dict[str, int]:
    """Evaluate every running project for the rules that change with the date."""
    return _counts(alerts_evaluate_running())
