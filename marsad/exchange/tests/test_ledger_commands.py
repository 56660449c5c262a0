"""marsad ledger_verify and ledger_checkpoint, and the scheduler that signs the head periodically."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from marsad.core import scheduler
from marsad.core.models import ScheduledJob, SchedulerLease
from marsad.exchange.models import LedgerCheckpoint, Submission
from marsad.exchange.services import ledger_checkpoint
from marsad.registry.models import LedgerEntry
from marsad.registry.tests.records import record

from .support import ADMIN, sender

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(client):
    doe = sender()
    doe.submit(client, [record(operator_ref="A"), record(operator_ref="B")])
    doe.submit(client, [record(operator_ref="A", progress="20")])
    return doe


def verify() -> str:
    out = StringIO()
    call_command("ledger_verify", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_an_intact_ledger_verifies(submitted):
    ledger_checkpoint(actor=ADMIN)
    assert verify() == "Registre intègre : 5 entrées, tête n° 5.\n"


def test_an_edited_receipt_is_named(submitted):
    submission = Submission.objects.order_by("received_at").first()
    receipt = {**submission.receipt, "counts": {**submission.receipt["counts"], "rejected": 1}}
    Submission.objects.filter(pk=submission.pk).update(receipt=receipt)
    with pytest.raises(CommandError) as failure:
        verify()
    expected = f"première entrée fautive n° 3 (l'accusé de réception {submission.public_id} a été modifié)"
    assert str(failure.value).startswith(f"Registre altéré : {expected}")


def test_a_deleted_entry_is_named(submitted):
    LedgerEntry.objects.filter(seq=2).delete()
    with pytest.raises(CommandError, match="première entrée fautive n° 2"):
        verify()


def test_a_checkpoint_is_signed_only_when_the_head_moved_and_a_forged_one_is_caught(client, submitted):
    first = ledger_checkpoint(actor=ADMIN)
    assert (first.seq, ledger_checkpoint(actor=ADMIN)) == (5, None)
    submitted.submit(client, [record(operator_ref="C")])
    second = ledger_checkpoint(actor=ADMIN)
    assert second.seq == 7
    keys = {k["key_id"]: k["public_key"] for k in client.get("/api/v1/exchange/keys").json()["keys"]}
    from marsad.exchange.signing import verify_document

    document = {
        "schema": "marsad.checkpoint/1", "seq": 7, "hash": second.hash,
        "signature": {"key_id": second.key_id, "algorithm": "ed25519", "value": second.signature},
    }  # fmt: skip
    assert verify_document(document, keys)
    LedgerCheckpoint.objects.filter(pk=second.pk).update(hash="0" * 64)
    with pytest.raises(CommandError, match="n° 7 \\(point de contrôle signé invalide\\)"):
        verify()


def test_the_scheduler_enqueues_the_checkpoint_once_per_period_with_one_leader():
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    assert scheduler.lease_acquire("host-a:1", ttl=timedelta(seconds=30), now=now)
    assert not scheduler.lease_acquire("host-b:2", ttl=timedelta(seconds=30), now=now)
    assert scheduler.lease_acquire("host-a:1", ttl=timedelta(seconds=30), now=now + timedelta(seconds=10))
    assert scheduler.lease_acquire("host-b:2", ttl=timedelta(seconds=30), now=now + timedelta(seconds=41))
    assert SchedulerLease.objects.get().holder == "host-b:2"
    assert "exchange.ledger_checkpoint" in scheduler.run_due(now=now)
    assert "exchange.ledger_checkpoint" not in scheduler.run_due(now=now + timedelta(minutes=5))
    assert "exchange.ledger_checkpoint" in scheduler.run_due(now=now + timedelta(minutes=10))
    assert ScheduledJob.objects.get(name="exchange.ledger_checkpoint").last_run_at == now + timedelta(
        minutes=10
    )
    queued = [json.loads(json.dumps(r.task_path)) for r in DBTaskResult.objects.order_by("enqueued_at")]
    # Other apps' jobs (the indicators' roll-forward, every 6 hours) are due at the first run only.
    assert [path for path in queued if path.startswith("marsad.exchange.")] == [
        "marsad.exchange.tasks.ledger_checkpoint"
    ] * 2
    assert queued.count("marsad.indicators.tasks.facts_roll_forward_task") == 1


def test_the_checkpoint_task_runs_in_the_worker(submitted):
    from marsad.exchange.tasks import ledger_checkpoint as task

    task.enqueue()
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert LedgerCheckpoint.objects.get().seq == 5
