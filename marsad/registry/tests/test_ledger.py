"""The ledger: every version is chained as it is written, and verification names the first entry
that was edited, deleted or moved."""

import importlib
import itertools

import pytest
from django.apps import apps as django_apps
from django.db import IntegrityError, transaction

from marsad.audit.services import SystemActor
from marsad.registry import ledger
from marsad.registry.models import LedgerEntry, LedgerHead, ProjectVersion
from marsad.registry.services import records_apply

from .records import ADMIN_SCOPE, TODAY, record

pytestmark = pytest.mark.django_db

ACTOR = SystemActor("test")


def write(records, **options):
    return records_apply(
        actor=ACTOR, records=records, source_kind="command", source_id="test", scope=ADMIN_SCOPE, today=TODAY,
        **options,
    )  # fmt: skip


@pytest.fixture
def chain():
    write([record(operator_ref=f"L-{n}") for n in range(3)])
    write([record(operator_ref="L-1", progress="20"), record(operator_ref="L-2", progress="30")])
    write([{"operator": "MA-ALOMRANE-DOE", "operator_ref": "L-0", "withdrawn": True, "reason": "doublon"}])
    return list(LedgerEntry.objects.order_by("seq"))


def test_every_version_is_chained_in_the_order_it_was_written(chain):
    versions = list(ProjectVersion.objects.order_by("id"))
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5, 6]
    assert [e.version_id for e in chain] == [v.id for v in versions]
    assert [(e.subject, e.number) for e in chain] == [(v.project.public_id, v.number) for v in versions]
    assert [e.digest for e in chain] == [v.sha256 for v in versions]
    assert chain[0].prev_hash == ledger.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(chain))
    head = LedgerHead.objects.get()
    assert (head.seq, head.hash) == (6, chain[-1].hash)
    report = ledger.verify()
    assert (report.ok, report.checked, report.head_seq, report.findings) == (True, 6, 6, [])


def test_an_unchanged_record_and_a_dry_run_add_nothing(chain):
    write([record(operator_ref="L-2", progress="30")])
    write([record(operator_ref="L-2", progress="90")], dry_run=True)
    assert LedgerEntry.objects.count() == 6
    assert LedgerHead.objects.get().seq == 6


def test_an_edited_entry_is_named(chain):
    LedgerEntry.objects.filter(seq=3).update(digest="f" * 64)
    report = ledger.verify()
    assert [str(f) for f in report.findings] == [
        "#3: entrée modifiée : son empreinte ne correspond plus à son contenu",
        "#3: la version ne correspond pas à l'entrée qui la scelle",
    ]
    assert report.first.seq == 3


def test_an_edited_version_is_named(chain):
    version = chain[3].version
    ProjectVersion.objects.filter(pk=version.pk).update(canonical=version.canonical.replace("20", "21"))
    assert [str(f) for f in ledger.verify().findings] == ["#4: le contenu de la version a été modifié"]


def test_a_deleted_entry_is_named(chain):
    LedgerEntry.objects.filter(seq=4).delete()
    findings = [str(f) for f in ledger.verify().findings]
    assert findings[:2] == [
        "#4: entrée manquante ou déplacée (trouvé #5)",
        "#5: la chaîne est rompue : l'empreinte précédente ne correspond pas",
    ]
    assert findings[-1].endswith("manque au registre")
    assert ledger.verify().first.seq == 4


def test_two_swapped_entries_are_named():
    write([record(operator_ref="S-1")])
    write([record(operator_ref="S-2")])
    write([record(operator_ref="S-3")])
    first, second = LedgerEntry.objects.get(seq=2), LedgerEntry.objects.get(seq=3)
    fields = ["kind", "subject", "project_id", "number", "digest", "recorded_at", "prev_hash", "hash"]
    with transaction.atomic():
        LedgerEntry.objects.filter(seq__in=[2, 3]).delete()
        for seq, source in ((2, second), (3, first)):
            LedgerEntry.objects.create(
                seq=seq, version_id=source.version_id, **{f: getattr(source, f) for f in fields}
            )
    report = ledger.verify()
    assert report.first.seq == 2
    assert str(report.findings[0]) == "#2: la chaîne est rompue : l'empreinte précédente ne correspond pas"


def test_a_head_that_lags_is_named(chain):
    LedgerHead.objects.update(seq=5, hash=chain[4].hash)
    assert [str(f) for f in ledger.verify().findings] == [
        "#6: la tête du registre (5) ne désigne pas la dernière entrée"
    ]


def test_the_database_refuses_a_fork(chain):
    entry = chain[-1]
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            seq=99, kind="receipt", subject="SUB-X", digest="a" * 64, recorded_at=entry.recorded_at,
            prev_hash=entry.prev_hash, hash="b" * 64,
        )  # fmt: skip


def test_the_database_refuses_a_version_entry_without_its_version(chain):
    entry = chain[-1]
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            seq=99, kind="version", subject="MRS-X", digest="a" * 64, recorded_at=entry.recorded_at,
            prev_hash=entry.hash, hash="b" * 64,
        )  # fmt: skip


def test_the_migration_backfills_the_same_chain(chain):
    """Versions written before the ledger existed are sealed by the migration in the order they were
    written; the hashes it computes are the ones the services compute."""
    expected = [(e.seq, e.version_id, e.hash) for e in chain]
    LedgerEntry.objects.all().delete()
    LedgerHead.objects.all().delete()
    migration = importlib.import_module("marsad.registry.migrations.0002_ledger")
    migration.backfill(django_apps, None)
    assert [(e.seq, e.version_id, e.hash) for e in LedgerEntry.objects.order_by("seq")] == expected
    assert ledger.verify().ok
