"""The ledger: every version is chained as it is written, and verification names the first entry
that was edited, deleted or moved."""

import hashlib
import importlib
import itertools
from datetime import UTC, datetime, timedelta, timezone
from unittest import mock

import pytest
from django.apps import apps as django_apps
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from marsad.audit.services import SystemActor
from marsad.registry import ledger
from marsad.registry.choices import LedgerKind
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


# --- append writes the hashes entry_hash computes --------------------------------------------------


class Version:
    """What ``append`` reads of a version."""

    def __init__(self, number, project_id=7, pk=11):
        self.number, self.project_id, self.pk = number, project_id, pk


def appended(seq: int, prev: str, items, now) -> list[tuple]:
    """The rows ``append`` writes and the head it leaves, with the database calls stubbed."""
    written = []
    head = LedgerHead(seq=seq, hash=prev)
    with (
        mock.patch.object(ledger.rows, "insert_rows", lambda model, columns, rows: written.extend(rows)),
        mock.patch.object(LedgerHead, "objects") as objects,
    ):
        assert ledger.append(head, items, now=now) == len(items)
    objects.filter.assert_called_once_with(pk=1)
    objects.filter.return_value.update.assert_called_once_with(seq=written[-1][0], hash=written[-1][-1])
    assert (head.seq, head.hash) == (written[-1][0], written[-1][-1])
    return written


def chained(seq: int, prev: str, items, now) -> list[tuple]:
    """The same rows, each hash from ``entry_hash``: the reference."""
    rows = []
    for item in items:
        seq += 1
        version = item.version
        number = version.number if version is not None else None
        digest = ledger.entry_hash(
            seq=seq, kind=item.kind, subject=item.subject, number=number, digest=item.digest,
            recorded_at=now, prev=prev,
        )  # fmt: skip
        ids = (version.project_id, version.pk) if version is not None else (None, None)
        rows.append((seq, item.kind, item.subject, *ids, number, item.digest, now, prev, digest))
        prev = digest
    return rows


subjects = st.text(
    st.sampled_from(["ع", "ب", "\u200f", "\u2028", "\x00", "\x1f", '"', "\\", "/", "\x7f", "é", "\U0001f600"])
    | st.characters(exclude_categories=("Cs",)),
    max_size=12,
) | st.sampled_from(["MRS-000001", "SUB-7f3a", "مشروع-١٢", "", "\ud800x"])
hexes = st.text("0123456789abcdef", min_size=64, max_size=64)
numbers = st.none() | st.integers(min_value=1, max_value=10**6) | st.sampled_from([0, -1, 2**63, 2**64, True])
kinds = st.sampled_from([LedgerKind.VERSION, LedgerKind.RECEIPT, "version", "receipt"]) | st.text(max_size=8)
pendings = st.builds(
    lambda kind, subject, digest, number: ledger.Pending(
        kind, subject, digest, version=None if number is None else Version(number)
    ),
    kinds,
    subjects,
    hexes | subjects,
    numbers,
)
instants = st.datetimes(  # the bounds are naive, as hypothesis wants them
    min_value=datetime(1971, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.sampled_from(  # noqa: DTZ001
        [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-9, minutes=-30))]
    )
)  # fmt: skip
starts = st.sampled_from([0, 1, 41, 2**63 - 2, 2**64 - 3])


def same_rows(seq, prev, items, now) -> None:
    try:
        expected = chained(seq, prev, items, now)
    except Exception as error:  # a lone surrogate cannot be hashed: append refuses it as entry_hash does
        with pytest.raises(type(error)):
            appended(seq, prev, items, now)
    else:
        assert appended(seq, prev, items, now) == expected


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(starts, hexes | st.just(ledger.GENESIS), st.lists(pendings, min_size=1, max_size=6), instants)
@example(
    0,
    ledger.GENESIS,
    [ledger.Pending(LedgerKind.VERSION, "MRS-000001", "a" * 64, Version(1))],
    datetime(2026, 10, 31, 9, 30, tzinfo=UTC),
)
@example(
    0,
    ledger.GENESIS,
    [ledger.Pending(LedgerKind.RECEIPT, "SUB-\ud800", "b" * 64)],
    datetime(2026, 10, 31, tzinfo=UTC),
)
@example(
    2**64 - 3, "c" * 64, [ledger.Pending("receipt", "s", "d" * 64)] * 4, datetime(2026, 1, 1, tzinfo=UTC)
)
def test_append_chains_the_hashes_entry_hash_computes(seq, prev, items, now):
    same_rows(seq, prev, items, now)


def test_append_hashes_a_known_entry():
    now = datetime(2026, 10, 31, 10, 30, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    items = [
        ledger.Pending(LedgerKind.VERSION, "MRS-000001", "a" * 64, Version(3)),
        ledger.Pending(LedgerKind.RECEIPT, "مشروع", "b" * 64),
    ]
    first = hashlib.sha256(
        (
            '{"digest":"' + "a" * 64 + '","kind":"version","prev":"' + ledger.GENESIS + '",'
            '"recorded_at":"2026-10-31T09:30:00.000005+00:00","seq":1,"subject":"MRS-000001","version":3}'
        ).encode()
    ).hexdigest()
    second = hashlib.sha256(
        (
            '{"digest":"' + "b" * 64 + '","kind":"receipt","prev":"' + first + '",'
            '"recorded_at":"2026-10-31T09:30:00.000005+00:00","seq":2,"subject":"مشروع","version":null}'
        ).encode()
    ).hexdigest()
    with mock.patch.object(
        ledger, "entry_hash", side_effect=AssertionError
    ):  # the fast writer, for choices too
        rows = appended(0, ledger.GENESIS, items, now)
    assert [row[-1] for row in rows] == [first, second]
    assert rows[0] == (1, LedgerKind.VERSION, "MRS-000001", 7, 11, 3, "a" * 64, now, ledger.GENESIS, first)
