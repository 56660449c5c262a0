"""The background work of the alerts: the registry's after-commit hook enqueues the evaluation of the
projects that received versions, the worker runs it; the scheduler enqueues the daily evaluation.

The tests that run the worker do so on SQLite only: the worker closes the database connection it
finds, which inside a test's transaction is the test's own; on PostgreSQL that connection is then
gone (``make test`` runs them on SQLite)."""

import json
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from marsad.alerts.models import Alert
from marsad.alerts.services import local_today
from marsad.alerts.tasks import alerts_daily_task
from marsad.core import scheduler

from .support import OVERRUN, write

pytestmark = pytest.mark.django_db
with_the_worker = pytest.mark.skipif(
    "sqlite" not in settings.DATABASES["default"]["ENGINE"],
    reason="the worker closes the test transaction's connection on PostgreSQL; run on SQLite",
)


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--queue-name", "*", verbosity=0)


def test_a_commit_of_versions_enqueues_their_evaluation(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = write(**OVERRUN)
        second = write("DOE-2")
    queued = DBTaskResult.objects.filter(task_path="marsad.alerts.tasks.alerts_evaluate_task")
    assert sorted((q.status, json.dumps(q.args_kwargs)) for q in queued) == [
        ("READY", json.dumps({"args": [[first]], "kwargs": {}})),
        ("READY", json.dumps({"args": [[second]], "kwargs": {}})),
    ]
    assert not Alert.objects.exists()  # nothing evaluated in the writer's process


@with_the_worker
def test_the_worker_evaluates_what_the_hook_enqueued(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        pk = write(**OVERRUN)
    queued = DBTaskResult.objects.get(task_path="marsad.alerts.tasks.alerts_evaluate_task")
    run_worker()
    queued.refresh_from_db()
    assert queued.status == "SUCCESSFUL"
    assert queued.return_value == {
        "projects": 1, "opened": 1, "updated": 0, "closed": 0, "refreshed": 0, "notified": 0,
    }  # fmt: skip
    assert list(Alert.objects.values_list("rule", "project_id")) == [("financial_anomaly", pk)]


def test_the_scheduler_runs_the_daily_evaluation():
    now = timezone.now()
    assert "alerts.daily" in scheduler.run_due(now=now)
    assert "alerts.daily" not in scheduler.run_due(now=now + timedelta(hours=23))
    assert "alerts.daily" in scheduler.run_due(now=now + timedelta(hours=24))
    paths = list(DBTaskResult.objects.values_list("task_path", flat=True))
    assert paths.count("marsad.alerts.tasks.alerts_daily_task") == 2


@with_the_worker
def test_the_daily_evaluation_runs_in_the_worker():
    running = write("DOE-RUN", planned_end="2026-06-30", progress="90.00")
    write("DOE-DONE", status="ACHV", progress="100.00", actual_end="2026-09-30")
    alerts_daily_task.enqueue()
    run_worker()
    done = DBTaskResult.objects.get(task_path="marsad.alerts.tasks.alerts_daily_task")
    assert done.status == "SUCCESSFUL"
    # On the platform's today: the running project alone, late since 2026-06-30; with no report since
    # 2026-09-30, stale from 60 days on and stalled (at 90 %) from 90 days on.
    silent = (local_today() - date(2026, 9, 30)).days
    expected = ["late", *(["stale_data"] if silent >= 60 else []), *(["stalled"] if silent >= 90 else [])]
    assert (done.return_value["projects"], done.return_value["opened"]) == (1, len(expected))
    assert sorted(Alert.objects.filter(project_id=running).values_list("rule", flat=True)) == sorted(expected)
