import json
import sqlite3

import pytest
from marsad_connect.state import LocalProblem, NewBatch, State, StateError


def batch(number: int, refs: list[str]) -> NewBatch:
    body = json.dumps({"records": [{"operator_ref": ref} for ref in refs], "dry_run": False}).encode()
    return NewBatch(
        batch_id=f"b{number}",
        idempotency_key=f"mc-b{number}",
        body=body,
        digest=f"sha256:{number}",
        manifest=[("MA-ALOMRANE-CS", ref, f"hash-{ref}") for ref in refs],
    )


def receipt(key: str, outcomes: list[str], number: int = 1) -> dict:
    return {
        "submission_id": f"SUB-{number:06d}",
        "idempotency_key": key,
        "counts": {"received": len(outcomes)},
        "results": [
            {"index": i, "operator": "MA-ALOMRANE-CS", "operator_ref": f"R{i + 1}", "outcome": outcome}
            for i, outcome in enumerate(outcomes)
        ],
    }


@pytest.fixture
def state(tmp_path):
    with State.open(tmp_path / "state.sqlite3") as opened:
        yield opened


def test_a_new_state_is_empty_and_in_wal_mode(state):
    assert state.watermark is None
    assert state.pending_batches() == []
    assert state.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert state.connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_planned_batches_are_on_disk_with_their_exact_bytes_before_any_send(tmp_path):
    path = tmp_path / "state.sqlite3"
    planned = [batch(1, ["R1", "R2"]), batch(2, ["R3"])]
    with State.open(path) as state:
        state.plan("p1", planned, watermark="2026-01-02 06:00:00")

    # Another connection (another process after a crash) sees them, committed.
    raw = sqlite3.connect(path).execute("SELECT idempotency_key, body FROM batches ORDER BY seq").fetchall()
    assert raw == [("mc-b1", planned[0].body), ("mc-b2", planned[1].body)]
    with State.open(path) as state:
        pending = state.pending_batches()
        assert [(b.idempotency_key, b.body, b.record_count, b.attempts) for b in pending] == [
            ("mc-b1", planned[0].body, 2, 0),
            ("mc-b2", planned[1].body, 1, 0),
        ]
        assert [b.has_watermark for b in pending] == [False, True]
        assert pending[1].watermark_after == "2026-01-02 06:00:00"
        assert state.watermark is None


def test_the_watermark_moves_only_with_the_receipt_of_the_last_batch(state):
    state.plan("p1", [batch(1, ["R1", "R2"]), batch(2, ["R3"])], watermark="2026-01-02 06:00:00")
    first, second = state.pending_batches()

    state.store_receipt(first, receipt("mc-b1", ["created", "updated"], 1), "{}", "marsad-2026-01")
    assert state.watermark is None
    assert [b.batch_id for b in state.pending_batches()] == ["b2"]

    state.store_receipt(second, receipt("mc-b2", ["created"], 2), "{}", None)
    assert state.watermark == "2026-01-02 06:00:00"
    assert state.pending_batches() == []
    assert [r["submission_id"] for r in state.receipts()] == ["SUB-000002", "SUB-000001"]
    assert state.receipts()[1]["verified_with"] == "marsad-2026-01"


def test_hashes_are_kept_for_accepted_records_only(state):
    state.plan("p1", [batch(1, ["R1", "R2", "R3", "R4"])], watermark=5)
    (only,) = state.pending_batches()

    state.store_receipt(only, receipt("mc-b1", ["created", "rejected", "unchanged", "withdrawn"]), "{}", None)

    assert state.record_hashes() == {
        ("MA-ALOMRANE-CS", "R1"): "hash-R1",
        ("MA-ALOMRANE-CS", "R3"): "hash-R3",
        ("MA-ALOMRANE-CS", "R4"): "hash-R4",
    }
    assert state.record_hash("MA-ALOMRANE-CS", "R2") is None
    assert state.watermark == 5


def test_a_failed_receipt_transaction_leaves_the_batch_pending(state):
    state.plan("p1", [batch(1, ["R1"])], watermark="w")
    (first,) = state.pending_batches()
    state.store_receipt(first, receipt("mc-b1", ["created"], 1), "{}", None)
    state.plan("p2", [batch(2, ["R2"])], watermark="x")
    (second,) = state.pending_batches()

    # A submission id already stored breaks the primary key half-way through the transaction.
    with pytest.raises(sqlite3.IntegrityError):
        state.store_receipt(second, receipt("mc-b2", ["created"], 1), "{}", None)

    assert [b.batch_id for b in state.pending_batches()] == ["b2"]
    assert state.watermark == "w"
    assert state.receipt_count() == 1
    assert state.record_hashes() == {("MA-ALOMRANE-CS", "R1"): "hash-R1"}


def test_attempts_and_errors_are_recorded(state):
    state.plan("p1", [batch(1, ["R1"])], watermark=None)

    state.record_attempt("b1")
    state.record_error("b1", "ConnectError: refused")
    state.record_attempt("b1")

    (pending,) = state.pending_batches()
    assert (pending.attempts, pending.last_error) == (2, "ConnectError: refused")
    assert pending.last_attempt_at is not None


def test_a_refused_batch_is_parked_and_the_rest_of_its_plan_dropped(state):
    state.plan("p1", [batch(1, ["R1"]), batch(2, ["R2"]), batch(3, ["R3"])], watermark="w2")
    first, second, _ = state.pending_batches()
    state.store_receipt(first, receipt("mc-b1", ["created"]), "{}", None)
    state.record_attempt("b2")

    dropped = state.fail_batch(second, {"status": 422, "title": "Enveloppe invalide"})

    assert dropped == 1
    assert state.pending_batches() == []
    (failed,) = state.failed_batches()
    assert (failed.batch_id, failed.problem) == ("b2", {"status": 422, "title": "Enveloppe invalide"})
    assert state.watermark is None  # the plan never completed: its rows will be read again


def test_a_plan_with_nothing_to_send_moves_the_watermark_at_once(state):
    problem = LocalProblem("MA-ALOMRANE-CS/R9", "ligne 9", {"operator_ref": "R9"}, [{"code": "x"}], "now")

    state.plan("p1", [], problems=[problem], watermark="2026-01-05 06:00:00", advance=True)

    assert state.watermark == "2026-01-05 06:00:00"
    assert [p.key for p in state.local_problems()] == ["MA-ALOMRANE-CS/R9"]
    state.plan("p2", [], resolved=["MA-ALOMRANE-CS/R9"], watermark="2026-01-06 06:00:00", advance=True)
    assert state.local_problems() == []
    with pytest.raises(ValueError):
        state.plan("p3", [batch(1, ["R1"])], watermark="x", advance=True)


def test_the_platform_keys_are_cached(state):
    state.save_platform_keys({"keys": [{"key_id": "marsad-2026-01"}]})

    assert state.platform_keys == {"keys": [{"key_id": "marsad-2026-01"}]}


def test_one_connector_at_a_time(tmp_path):
    path = tmp_path / "state.sqlite3"
    with State.open(path) as first, State.open(path) as second:
        first.lock()
        with pytest.raises(StateError, match="Un autre connecteur"):
            second.lock()
        first.unlock()
        second.lock()


def test_read_only_opening(tmp_path):
    missing = State.open(tmp_path / "absent.sqlite3", readonly=True)
    assert missing.watermark is None
    missing.close()
    assert not (tmp_path / "absent.sqlite3").exists()

    with State.open(tmp_path / "s.sqlite3") as state:
        state.plan("p", [], watermark="w", advance=True)
    with State.open(tmp_path / "s.sqlite3", readonly=True) as state:
        assert state.watermark == "w"
        with pytest.raises(sqlite3.OperationalError):
            state.plan("p", [], watermark="v", advance=True)


def test_a_state_from_a_newer_connector_is_refused(tmp_path):
    path = tmp_path / "s.sqlite3"
    State.open(path).close()
    sqlite3.connect(path, isolation_level=None).execute(
        "UPDATE meta SET value = '99' WHERE name = 'schema_version'"
    )

    with pytest.raises(StateError, match="version plus récente"):
        State.open(path)
