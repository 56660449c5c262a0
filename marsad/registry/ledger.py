"""The ledger: an append-only hash chain over every accepted version and every signed receipt.

Entry *n* stores the hash of entry *n − 1*; its own hash is the SHA-256 of the canonical JSON of
its fields (sequence, kind, subject, version number, content digest, time, previous hash). Editing a
row, deleting one or swapping two breaks the chain at the first such row, which ``verify`` names.

Appends are serialised: every writer first locks the single ``LedgerHead`` row (``SELECT … FOR
UPDATE`` on PostgreSQL; SQLite transactions start with ``BEGIN IMMEDIATE``, which takes the write
lock) and holds it until its transaction commits. Sequence numbers are therefore assigned in commit
order with no gaps, which is what lets the change feed use them as its cursor: a reader only ever
sees a prefix of the chain. A unique constraint on the previous hash makes a fork impossible even
for a writer that skipped the lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from django.db import transaction

from marsad.core import rows

from .canonical import canonical_json
from .choices import LedgerKind
from .models import LedgerEntry, LedgerHead, ProjectVersion

GENESIS = "0" * 64


def entry_hash(
    *, seq: int, kind: str, subject: str, number: int | None, digest: str, recorded_at: datetime, prev: str
) -> str:
    """The hash of one entry. Pure: the backfill migration and ``verify`` use it too."""
    document = {
        "seq": seq,
        "kind": str(kind),  # a choice's value as a plain string: the same text, and the fast writer
        "subject": subject,
        "version": number,
        "digest": digest,
        "recorded_at": recorded_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "prev": prev,
    }
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()


def lock() -> LedgerHead:
    """Take the append lock (inside a transaction) and return the current head."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("The ledger is appended to inside a transaction.")
    head = LedgerHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        # The migration creates the row; a flushed test database may not have it.
        head, _ = LedgerHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS})
        head = LedgerHead.objects.select_for_update().get(pk=1)
    return head


def head() -> LedgerHead:
    return LedgerHead.objects.filter(pk=1).first() or LedgerHead(seq=0, hash=GENESIS)


@dataclass
class Pending:
    kind: str
    subject: str
    digest: str
    version: ProjectVersion | None = None


LEDGER_COLUMNS = (
    "seq", "kind", "subject", "project", "version", "number", "digest", "recorded_at", "prev_hash", "hash",
)  # fmt: skip


def append(current: LedgerHead, items: Sequence[Pending], *, now: datetime) -> int:
    """Chain ``items`` after ``current`` (which the caller locked with ``lock``) and move the head.
    Returns the number of entries written (one prepared statement for all of them).

    Each hash is ``entry_hash``'s, computed without its per-entry costs: the time is formatted once
    for the batch, and the document, whose values are integers, strings and null, is written by
    orjson with its keys in sorted order (what ``canonical_json`` writes for it, see ``canonical``),
    as bytes, without the detour through text. A value of another type, or one orjson refuses (a
    lone surrogate, an integer beyond 64 bits), is left to ``entry_hash``."""
    if not items:
        return 0
    entries = []
    seq, prev = current.seq, current.hash
    recorded_at = now.astimezone(UTC).isoformat(timespec="microseconds")
    plain = type(seq) is int and type(prev) is str  # then so are the next ones
    dumps, sha256, refused = orjson.dumps, hashlib.sha256, orjson.JSONEncodeError
    for item in items:
        seq += 1
        version = item.version
        number = version.number if version is not None else None
        kind, subject, digest = item.kind, item.subject, item.digest
        text = None
        kind_text = str(kind)
        if (
            plain
            and type(kind_text) is str
            and type(subject) is str
            and type(digest) is str
            and (number is None or type(number) is int)
        ):
            try:
                text = dumps(
                    {
                        "digest": digest,
                        "kind": kind_text,
                        "prev": prev,
                        "recorded_at": recorded_at,
                        "seq": seq,
                        "subject": subject,
                        "version": number,
                    }
                )
            except refused:
                text = None
        if text is not None:
            entry = sha256(text).hexdigest()
        else:
            entry = entry_hash(
                seq=seq, kind=kind, subject=subject, number=number, digest=digest, recorded_at=now, prev=prev
            )
        project_id, version_id = (version.project_id, version.pk) if version is not None else (None, None)
        entries.append((seq, kind, subject, project_id, version_id, number, digest, now, prev, entry))
        prev = entry
    rows.insert_rows(LedgerEntry, LEDGER_COLUMNS, entries)
    LedgerHead.objects.filter(pk=1).update(seq=seq, hash=prev)
    current.seq, current.hash = seq, prev
    return len(entries)


def append_versions(current: LedgerHead, versions: Iterable[ProjectVersion], *, now: datetime) -> int:
    return append(
        current,
        [Pending(LedgerKind.VERSION, v.project.public_id, v.sha256, version=v) for v in versions],
        now=now,
    )


# --- Verification --------------------------------------------------------------------------------


@dataclass
class Finding:
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"#{self.seq}: {self.reason}"


@dataclass
class Report:
    checked: int = 0
    head_seq: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        return min(self.findings, key=lambda f: f.seq) if self.findings else None


# Checks that apps above the registry add for their own kinds of entry: (entries) -> findings.
EntryCheck = Callable[[list[LedgerEntry]], list[Finding]]


def verify(
    *, chunk: int = 5000, checks: dict[str, EntryCheck] | None = None, progress: Callable | None = None
) -> Report:
    """Walk the whole chain in order and report every entry that does not hold.

    Each entry must follow the previous one without a gap, name its predecessor's hash and hash to
    what it stores; a version entry must match its version row, whose canonical text must still hash
    to its SHA-256. Every version must be in the chain, and the head must name the last entry.
    """
    report = Report()
    checks = checks or {}
    expected_seq, prev = 1, GENESIS
    last_seq = 0
    while True:
        entries = list(
            LedgerEntry.objects.filter(seq__gt=last_seq)
            .select_related("version", "project")
            .order_by("seq")[:chunk]
        )
        if not entries:
            break
        for entry in entries:
            report.findings.extend(_check_entry(entry, expected_seq, prev))
            expected_seq, prev = entry.seq + 1, entry.hash
        by_kind: dict[str, list[LedgerEntry]] = {}
        for entry in entries:
            by_kind.setdefault(entry.kind, []).append(entry)
        for kind, check in checks.items():
            if by_kind.get(kind):
                report.findings.extend(check(by_kind[kind]))
        report.checked += len(entries)
        last_seq = entries[-1].seq
        if progress is not None:
            progress(len(entries))
    stored = head()
    report.head_seq = stored.seq
    if (stored.seq, stored.hash) != (last_seq, prev):
        report.findings.append(
            Finding(max(last_seq, 1), f"la tête du registre ({stored.seq}) ne désigne pas la dernière entrée")
        )
    missing = ProjectVersion.objects.filter(ledger_entry__isnull=True).order_by("id").first()
    if missing is not None:
        report.findings.append(
            Finding(last_seq + 1, f"la version {missing.project_id}/{missing.number} manque au registre")
        )
    return report


def _check_entry(entry: LedgerEntry, expected_seq: int, prev: str) -> list[Finding]:
    found = []
    if entry.seq != expected_seq:
        found.append(Finding(expected_seq, f"entrée manquante ou déplacée (trouvé #{entry.seq})"))
    if entry.prev_hash != prev:
        found.append(Finding(entry.seq, "la chaîne est rompue : l'empreinte précédente ne correspond pas"))
    computed = entry_hash(
        seq=entry.seq, kind=entry.kind, subject=entry.subject, number=entry.number, digest=entry.digest,
        recorded_at=entry.recorded_at, prev=entry.prev_hash,
    )  # fmt: skip
    if computed != entry.hash:
        found.append(Finding(entry.seq, "entrée modifiée : son empreinte ne correspond plus à son contenu"))
    if entry.kind == LedgerKind.VERSION:
        version = entry.version
        if version is None:
            found.append(Finding(entry.seq, "la version scellée n'existe plus"))
        else:
            if (version.sha256, version.number) != (entry.digest, entry.number) or (
                entry.project is None or entry.project.public_id != entry.subject
            ):
                found.append(Finding(entry.seq, "la version ne correspond pas à l'entrée qui la scelle"))
            if hashlib.sha256(version.canonical.encode()).hexdigest() != version.sha256:
                found.append(Finding(entry.seq, "le contenu de la version a été modifié"))
    return found
