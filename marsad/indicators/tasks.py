"""Background tasks of the indicator engine (django-tasks, database backend: run by `marsad db_worker`)."""

from django_tasks import task

from .services import facts_refresh, facts_roll_forward


@task()
def facts_refresh_task(project_ids: list[int]) -> int:
    """Refresh the monthly facts and rollups of projects that received versions."""
    return facts_refresh(project_ids).months


@task()
def facts_roll_forward_task() -> int:
    """Carry running projects' facts into the new month."""
    return facts_roll_forward().projects
