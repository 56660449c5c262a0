"""Concurrent submitters against a live server: the feed stays gap-free and ordered for a reader that
polls while they write, every version is counted once, and the ledger verifies.

CI size: 8 submitters × 4 batches; `make stress` (MARSAD_STRESS=1): 8 × 50 batches."""

import os
import threading
from collections import defaultdict

import httpx
import pytest

from marsad.registry.tests.records import record

from .live import register

pytestmark = [pytest.mark.dbsensitive, pytest.mark.stress]

STRESS = os.environ.get("MARSAD_STRESS") == "1"
WRITERS, BATCHES, NEW_PER_BATCH = (8, 50, 20) if STRESS else (8, 4, 10)
SHARED = [f"SHARED-{n}" for n in range(5)]
SUBSIDIARIES = ["MA-ALOMRANE-CS", "MA-ALOMRANE-TTA", "MA-ALOMRANE-RSK", "MA-ALOMRANE-FM"]


def batch(writer: int, number: int, run: str) -> list[dict]:
    """Every batch updates the five shared projects (contention on the same rows) and creates new ones."""
    progress = f"{(writer * BATCHES + number) % 100}.{writer}"
    shared = [
        record(operator="MA-ALOMRANE-CS", operator_ref=f"{run}-{ref}", progress=progress, financing={})
        for ref in SHARED
    ]
    new = [
        record(
            operator=SUBSIDIARIES[(writer + i) % len(SUBSIDIARIES)],
            operator_ref=f"{run}-W{writer}-B{number}-{i}",
            financing={},
        )
        for i in range(NEW_PER_BATCH)
    ]
    return shared + new


def test_concurrent_submitters_keep_the_feed_gap_free_and_the_ledger_whole(marsad_live):
    run = f"C{marsad_live.starts}{os.getpid() % 1000}"
    writers = [register(marsad_live, "MA-ALOMRANE", f"{run.lower()}-writer-{n}") for n in range(WRITERS)]
    reader = register(marsad_live, "MA-ALOMRANE", f"{run.lower()}-reader")
    with httpx.Client(timeout=60) as http:
        _, start = reader.all_changes(http)
    receipts: dict[int, list[dict]] = defaultdict(list)
    failures: list[str] = []
    seen: list[dict] = []
    done = threading.Event()

    def write(n: int) -> None:
        with httpx.Client(timeout=120) as http:
            for b in range(BATCHES):
                response = writers[n].submit(http, batch(n, b, run))
                if response.status_code != 201:
                    failures.append(f"writer {n} batch {b}: {response.status_code} {response.text[:300]}")
                    return
                receipts[n].append(response.json())

    def read() -> None:
        after = start
        with httpx.Client(timeout=60) as http:
            while True:
                finished = done.is_set()
                events, after = reader.all_changes(http, after)
                seen.extend(events)
                if finished:
                    return

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    polling = threading.Thread(target=read)
    polling.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    polling.join()
    assert failures == []

    with httpx.Client(timeout=60) as http:
        final, _ = reader.all_changes(http, start)
    ours = [e for e in final if e["operator_ref"].startswith(f"{run}-")]
    # The reader that polled during the writes saw exactly the final feed: no gap, no reordering.
    assert [e["cursor"] for e in seen] == [e["cursor"] for e in final]
    assert len(final) == len(ours)
    # Every accepted version appears once; every project's versions are 1..n in feed order.
    written = sum(r["counts"]["created"] + r["counts"]["updated"] for rs in receipts.values() for r in rs)
    assert sum(r["counts"]["rejected"] for rs in receipts.values() for r in rs) == 0
    assert len(ours) == written
    versions = defaultdict(list)
    for event in ours:
        versions[event["project_id"]].append(event["version"])
    assert all(numbers == list(range(1, len(numbers) + 1)) for numbers in versions.values())
    new_projects = WRITERS * BATCHES * NEW_PER_BATCH
    assert len(versions) == new_projects + len(SHARED)
    assert sum(r["counts"]["created"] for rs in receipts.values() for r in rs) == new_projects + len(SHARED)
    # The receipts' ledger heads only move forward, for each writer.
    for rs in receipts.values():
        heads = [r["ledger"]["seq"] for r in rs]
        assert heads == sorted(heads)
    assert "Registre intègre" in marsad_live.manage("ledger_verify")
