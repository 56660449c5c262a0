"""Periodic work (DESIGN §2): a small loop that enqueues tasks on a timetable.

Apps register their jobs in ``AppConfig.ready()`` (``register("name", every=…, enqueue=…)``). Several
``marsad scheduler`` processes may run (one per host, say): a lease row in the database elects one,
which enqueues the due jobs; if it dies, another takes over when the lease expires. The jobs themselves
run in the task workers.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .models import ScheduledJob, SchedulerLease

LEASE_NAME = "scheduler"


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    enqueue: Callable[[], object]


_jobs: dict[str, Job] = {}


def register(name: str, *, every: timedelta, enqueue: Callable[[], object]) -> None:
    _jobs[name] = Job(name, every, enqueue)


def jobs() -> tuple[Job, ...]:
    return tuple(_jobs.values())


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_acquire(holder: str, *, ttl: timedelta, now: datetime | None = None) -> bool:
    """Take or renew the lease; True when ``holder`` leads until ``now + ttl``."""
    now = now or timezone.now()
    with transaction.atomic():
        taken = SchedulerLease.objects.filter(
            Q(holder=holder) | Q(expires_at__lt=now), name=LEASE_NAME
        ).update(holder=holder, expires_at=now + ttl)
        if taken:
            return True
        if SchedulerLease.objects.filter(name=LEASE_NAME).exists():
            return False
    try:
        with transaction.atomic():
            SchedulerLease.objects.create(name=LEASE_NAME, holder=holder, expires_at=now + ttl)
    except IntegrityError:
        return False
    return True


def lease_release(holder: str) -> None:
    SchedulerLease.objects.filter(name=LEASE_NAME, holder=holder).delete()


def run_due(*, now: datetime | None = None) -> list[str]:
    """Enqueue every job whose period has elapsed; returns their names."""
    now = now or timezone.now()
    started = []
    last = dict(ScheduledJob.objects.values_list("name", "last_run_at"))
    for job in jobs():
        previous = last.get(job.name)
        if previous is not None and previous + job.every > now:
            continue
        job.enqueue()
        ScheduledJob.objects.update_or_create(name=job.name, defaults={"last_run_at": now})
        started.append(job.name)
    return started
