"""The connector's local state: watermark, pending batches, receipts, record hashes, local problems.

The state is one SQLite file (stdlib ``sqlite3``) in WAL mode with ``synchronous=FULL``: every commit
is on disk (fsync of the write-ahead log) before the call returns, and every change below is made in
one ``BEGIN IMMEDIATE … COMMIT`` transaction, so a crash leaves the state either before or after a
change, never in between. A lock file keeps a second connector from working on the same state.

Why a crash at any point loses nothing and writes nothing twice
----------------------------------------------------------------

A *run* resends the pending batches first, then reads the source from the watermark, maps and
validates the rows, and *plans* the batches to send: in one transaction it stores, for every batch,
its idempotency key and the exact body bytes that will be sent (plus, on the last batch of the plan
only, the watermark the whole read reaches). Only then does it send. Each receipt is stored in one
transaction that also deletes the batch, records the hashes of the accepted records and, for the last
batch of the plan, advances the watermark. The platform, for its part, stores a receipt under the
idempotency key in the same transaction as the versions it writes, and answers a second request with
the same key and the same body by replaying that receipt without writing anything.

- Crash before the plan is committed: nothing was sent and the watermark has not moved; the next run
  reads the same rows again.
- Crash after the plan, before the first send: the batches are pending; the next run sends them,
  with their stored keys and bytes, before reading anything new.
- Crash during a request (the platform may or may not have committed): the batch is still pending;
  it is sent again with the same key and the same bytes, so the platform either processes it for the
  first time, replays its stored receipt (HTTP 200, ``Marsad-Replay: true``), or, if the first request
  is still being processed, answers 409 and the connector retries later.
- Crash after the platform committed, before the receipt was stored here: as above; the replayed
  receipt is stored now, and no version is written a second time.
- Crash during retries: attempts and the last error are recorded before and after each attempt; the
  batch stays pending with the same key and bytes, whatever the number of attempts.
- Crash while storing the receipt: the transaction commits entirely or not at all; if not, the batch
  is pending and the receipt is replayed.
- The watermark only moves with the receipt of the plan's last batch (or, for a read that needs
  nothing sent, with the plan itself), so it never passes a row the platform has not acknowledged. A
  resumed read may see rows again; their records hash to what was already accepted and are skipped,
  and were one sent again the platform would find it unchanged (no new version).

Only the signature timestamp changes between attempts (it is signed per attempt); the body never does.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
ACCEPTED_OUTCOMES = {"created", "updated", "unchanged", "withdrawn"}
FAILED_KEPT = 20

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id TEXT NOT NULL UNIQUE,
    plan_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    body BLOB NOT NULL,
    digest TEXT NOT NULL,
    record_count INTEGER NOT NULL,
    manifest TEXT NOT NULL,
    watermark_after TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed')),
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TEXT,
    last_error TEXT,
    problem TEXT
);
CREATE TABLE IF NOT EXISTS receipts (
    submission_id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    batch_id TEXT NOT NULL,
    counts TEXT NOT NULL,
    receipt TEXT NOT NULL,
    verified_with TEXT,
    stored_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS record_hashes (
    operator TEXT NOT NULL,
    operator_ref TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (operator, operator_ref)
);
CREATE TABLE IF NOT EXISTS local_problems (
    key TEXT PRIMARY KEY,
    origin TEXT NOT NULL,
    record TEXT NOT NULL,
    problems TEXT NOT NULL,
    seen_at TEXT NOT NULL
);
"""


class StateError(Exception):
    """The state file cannot be used (unreadable, locked by another connector, newer schema)."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass
class NewBatch:
    """A batch about to be planned: its body is final, its key is what makes resending safe."""

    batch_id: str
    idempotency_key: str
    body: bytes
    digest: str
    manifest: list[tuple[str, str, str]]  # (operator, operator_ref, record sha256) by record index
    watermark_after: Any = None  # set on the last batch of a plan only


@dataclass
class Batch:
    seq: int
    batch_id: str
    plan_id: str
    idempotency_key: str
    body: bytes
    digest: str
    record_count: int
    manifest: list[tuple[str, str, str]]
    watermark_after: Any
    has_watermark: bool
    status: str
    created_at: str
    attempts: int
    last_attempt_at: str | None
    last_error: str | None
    problem: Any


@dataclass
class LocalProblem:
    key: str
    origin: str
    record: dict[str, Any]
    problems: list[dict[str, str]]
    seen_at: str


class State:
    """One connector's state file. Use ``State.open`` and close it (it is a context manager)."""

    def __init__(self, connection: sqlite3.Connection, path: Path | None):
        self.connection = connection
        self.path = path
        self._lock: Any = None

    @classmethod
    def open(cls, path: str | Path, *, readonly: bool = False) -> State:
        path = Path(path)
        try:
            if readonly:
                if not path.exists():
                    connection = sqlite3.connect(":memory:", isolation_level=None)
                    connection.executescript(SCHEMA)
                    return cls(connection, None)
                connection = sqlite3.connect(
                    f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
                )
                return cls(connection, path)
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, isolation_level=None, timeout=30)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.executescript(SCHEMA)
        except sqlite3.Error as error:
            raise StateError(f"Fichier d'état inutilisable ({path}) : {error}") from error
        state = cls(connection, path)
        version = state._meta("schema_version")
        if version is None:
            with state.transaction():
                state._set_meta("schema_version", SCHEMA_VERSION)
        elif version > SCHEMA_VERSION:
            state.close()
            raise StateError(
                f"Fichier d'état d'une version plus récente ({version}) : mettez à jour le connecteur."
            )
        return state

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.unlock()
        self.connection.close()

    # --- Exclusive use -------------------------------------------------------------------------------

    def lock(self) -> None:
        """Take the state's lock file, or fail at once if another connector holds it."""
        if self.path is None or self._lock is not None:
            return
        import fcntl

        handle = open(f"{self.path}.lock", "a+")  # noqa: SIM115 - held for the life of the state
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            handle.close()
            raise StateError(f"Un autre connecteur utilise déjà l'état {self.path}.") from error
        self._lock = handle

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    # --- Meta ------------------------------------------------------------------------------------

    def _meta(self, name: str) -> Any:
        row = self.connection.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else json.loads(row[0])

    def _set_meta(self, name: str, value: Any) -> None:
        self.connection.execute(
            "INSERT INTO meta (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, dumps(value)),
        )

    @property
    def watermark(self) -> Any:
        return self._meta("watermark")

    @property
    def platform_keys(self) -> dict[str, Any] | None:
        return self._meta("platform_keys")

    def save_platform_keys(self, keys: dict[str, Any]) -> None:
        with self.transaction():
            self._set_meta("platform_keys", keys)
            self._set_meta("platform_keys_at", now())

    # --- Planning and sending ---------------------------------------------------------------------

    def plan(
        self,
        plan_id: str,
        batches: list[NewBatch],
        *,
        problems: Iterable[LocalProblem] = (),
        resolved: Iterable[str] = (),
        watermark: Any = None,
        advance: bool = False,
    ) -> None:
        """Persist a read's batches before anything is sent, with its local problems.

        ``advance`` moves the watermark at once; it is only for a read with nothing to send.
        """
        if advance and batches:
            raise ValueError("the watermark moves with the receipt of the last batch when there are batches")
        with self.transaction() as db:
            created = now()
            for batch in batches:
                db.execute(
                    "INSERT INTO batches (batch_id, plan_id, idempotency_key, body, digest, record_count,"
                    " manifest, watermark_after, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        batch.batch_id,
                        plan_id,
                        batch.idempotency_key,
                        batch.body,
                        batch.digest,
                        len(batch.manifest),
                        dumps(batch.manifest),
                        None if batch is not batches[-1] else dumps(watermark),
                        created,
                    ),
                )
            db.executemany("DELETE FROM local_problems WHERE key = ?", [(key,) for key in resolved])
            db.executemany(
                "INSERT INTO local_problems (key, origin, record, problems, seen_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET origin = excluded.origin, record = excluded.record,"
                " problems = excluded.problems, seen_at = excluded.seen_at",
                [(p.key, p.origin, dumps(p.record), dumps(p.problems), p.seen_at) for p in problems],
            )
            if advance:
                self._set_meta("watermark", watermark)

    def _batches(self, status: str) -> list[Batch]:
        rows = self.connection.execute(
            "SELECT seq, batch_id, plan_id, idempotency_key, body, digest, record_count, manifest,"
            " watermark_after, status, created_at, attempts, last_attempt_at, last_error, problem"
            " FROM batches WHERE status = ? ORDER BY seq",
            (status,),
        ).fetchall()
        return [
            Batch(
                seq=row[0],
                batch_id=row[1],
                plan_id=row[2],
                idempotency_key=row[3],
                body=bytes(row[4]),
                digest=row[5],
                record_count=row[6],
                manifest=[tuple(item) for item in json.loads(row[7])],
                watermark_after=None if row[8] is None else json.loads(row[8]),
                has_watermark=row[8] is not None,
                status=row[9],
                created_at=row[10],
                attempts=row[11],
                last_attempt_at=row[12],
                last_error=row[13],
                problem=None if row[14] is None else json.loads(row[14]),
            )
            for row in rows
        ]

    def pending_batches(self) -> list[Batch]:
        return self._batches("pending")

    def failed_batches(self) -> list[Batch]:
        return self._batches("failed")

    def record_attempt(self, batch_id: str) -> None:
        """Counted before the request leaves, so that an attempt cut short by a crash still counts."""
        with self.transaction() as db:
            db.execute(
                "UPDATE batches SET attempts = attempts + 1, last_attempt_at = ? WHERE batch_id = ?",
                (now(), batch_id),
            )

    def record_error(self, batch_id: str, error: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE batches SET last_error = ? WHERE batch_id = ?", (error[:2000], batch_id))

    def store_receipt(
        self, batch: Batch, receipt: dict[str, Any], raw: str, verified_with: str | None
    ) -> None:
        """The receipt, the accepted records' hashes, the batch's end and the watermark, all at once."""
        stored = now()
        hashes = []
        for result in receipt.get("results") or []:
            index = result.get("index")
            if result.get("outcome") not in ACCEPTED_OUTCOMES or not isinstance(index, int):
                continue
            if 0 <= index < len(batch.manifest):
                operator, reference, digest = batch.manifest[index]
                if (result.get("operator"), result.get("operator_ref")) in (
                    (operator, reference),
                    (None, None),
                ):
                    hashes.append((operator, reference, digest, receipt["submission_id"], stored))
        with self.transaction() as db:
            db.execute(
                "INSERT INTO receipts (submission_id, idempotency_key, batch_id, counts, receipt,"
                " verified_with, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    receipt["submission_id"],
                    batch.idempotency_key,
                    batch.batch_id,
                    dumps(receipt.get("counts") or {}),
                    raw,
                    verified_with,
                    stored,
                ),
            )
            db.executemany(
                "INSERT INTO record_hashes (operator, operator_ref, sha256, submission_id, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (operator, operator_ref) DO UPDATE SET"
                " sha256 = excluded.sha256, submission_id = excluded.submission_id,"
                " updated_at = excluded.updated_at",
                hashes,
            )
            db.execute("DELETE FROM batches WHERE batch_id = ?", (batch.batch_id,))
            if batch.has_watermark:
                self._set_meta("watermark", batch.watermark_after)

    def fail_batch(self, batch: Batch, problem: Any) -> int:
        """Park a batch the platform refused as a whole; drop the rest of its plan, never sent.

        The watermark has not moved (it moves with the plan's last batch), so the next run reads those
        rows again and plans them afresh. Returns the number of batches dropped.
        """
        with self.transaction() as db:
            db.execute(
                "UPDATE batches SET status = 'failed', problem = ? WHERE batch_id = ?",
                (dumps(problem), batch.batch_id),
            )
            dropped = db.execute(
                "DELETE FROM batches WHERE plan_id = ? AND seq > ? AND status = 'pending' AND attempts = 0",
                (batch.plan_id, batch.seq),
            ).rowcount
            db.execute(
                "DELETE FROM batches WHERE status = 'failed' AND seq NOT IN"
                " (SELECT seq FROM batches WHERE status = 'failed' ORDER BY seq DESC LIMIT ?)",
                (FAILED_KEPT,),
            )
        return dropped

    # --- Reading ---------------------------------------------------------------------------------

    def record_hash(self, operator: str, reference: str) -> str | None:
        row = self.connection.execute(
            "SELECT sha256 FROM record_hashes WHERE operator = ? AND operator_ref = ?", (operator, reference)
        ).fetchone()
        return None if row is None else row[0]

    def record_hashes(self) -> dict[tuple[str, str], str]:
        rows = self.connection.execute("SELECT operator, operator_ref, sha256 FROM record_hashes")
        return {(operator, reference): digest for operator, reference, digest in rows}

    def receipts(self, limit: int = 10) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            "SELECT submission_id, idempotency_key, batch_id, counts, verified_with, stored_at FROM receipts"
            " ORDER BY stored_at DESC, rowid DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            {
                "submission_id": row[0],
                "idempotency_key": row[1],
                "batch_id": row[2],
                "counts": json.loads(row[3]),
                "verified_with": row[4],
                "stored_at": row[5],
            }
            for row in rows
        ]

    def receipt(self, submission_id: str) -> str | None:
        row = self.connection.execute(
            "SELECT receipt FROM receipts WHERE submission_id = ? OR idempotency_key = ?",
            (submission_id, submission_id),
        ).fetchone()
        return None if row is None else row[0]

    def receipt_count(self) -> int:
        return self.connection.execute("SELECT count(*) FROM receipts").fetchone()[0]

    def local_problems(self) -> list[LocalProblem]:
        rows = self.connection.execute(
            "SELECT key, origin, record, problems, seen_at FROM local_problems ORDER BY seen_at DESC, key"
        ).fetchall()
        return [LocalProblem(row[0], row[1], json.loads(row[2]), json.loads(row[3]), row[4]) for row in rows]


def fsync_directory(path: Path) -> None:
    """Make a new file's directory entry durable (used for reports written next to the state)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
