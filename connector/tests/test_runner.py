"""End-to-end runs of the connector against the fake platform, crashes included."""

import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import fakeplatform
import pytest
import yaml
from fakeplatform import Scripted
from marsad_connect.client import PlatformClient
from marsad_connect.config import load_config
from marsad_connect.runner import Runner, parse_interval, run_every
from marsad_connect.simulation import alomrane
from marsad_connect.state import State

from conftest import EXAMPLES, TODAY_ISO

MAPPING = EXAMPLES / "mapping.yaml"


def run(config_path: Path, **options):
    return Runner(load_config(config_path)).run(**options)


def expected(sim_db: Path) -> dict:
    """What the platform must hold: the mapped source, by project."""
    return {(r["operator"], r["operator_ref"]): r for r in alomrane.records(sim_db, MAPPING)}


def assert_platform_matches_source(platform, sim_db: Path) -> None:
    wanted = expected(sim_db)
    held = platform.current()
    assert held == {key: wanted[key] for key in held}
    missing = [key for key in wanted if key not in held]
    # Only projects created and deleted between two runs never reach the platform.
    assert all(wanted[key].get("withdrawn") for key in missing)
    assert platform.duplicate_versions() == []


def open_state(config_path: Path) -> State:
    return State.open(load_config(config_path).state)


def max_date_maj(sim_db: Path) -> str:
    return max(row["date_maj"] for row in alomrane.rows(sim_db))


def test_a_first_run_sends_every_project_in_batches(platform, sim_db, write_config):
    config = write_config()

    report = run(config)

    assert report.exit_code == 0
    assert (report.rows, report.records, report.batches, report.skipped) == (40, 40, math.ceil(40 / 15), 0)
    assert report.counts["created"] == 40
    assert len(platform.versions) == 40
    assert_platform_matches_source(platform, sim_db)
    with open_state(config) as state:
        assert state.watermark == max_date_maj(sim_db)
        assert state.pending_batches() == []
        assert [r["verified_with"] for r in state.receipts()] == ["marsad-2026-01"] * 3
        assert state.platform_keys == platform.keys_document()
    for request in platform.requests:
        body = json.loads(request["body"])
        assert body["dry_run"] is False
        assert len(body["records"]) <= 15


def test_a_second_run_without_changes_sends_nothing(platform, sim_db, write_config):
    config = write_config()
    run(config)
    requests = len(platform.requests)

    report = run(config)

    assert (report.exit_code, report.rows, report.batches) == (0, 0, 0)
    assert len(platform.requests) == requests


def test_changes_in_the_source_reach_the_platform(platform, sim_db, write_config):
    config = write_config()
    run(config)
    events = alomrane.advance(sim_db, steps=25, seed=3, today=alomrane.date.fromisoformat(TODAY_ISO))

    report = run(config)

    assert report.exit_code == 0
    changed = sum(events.values())
    assert report.rows == len(
        {r["code_operation"] for r in alomrane.rows(sim_db) if r["date_maj"] > "2026-01-01 06:00:00"}
    )
    assert 0 < report.records <= changed
    assert report.counts["unchanged"] == 0
    assert_platform_matches_source(platform, sim_db)
    with open_state(config) as state:
        assert state.watermark == max_date_maj(sim_db)


def test_withdrawals_reach_the_platform(platform, sim_db, write_config):
    config = write_config()
    run(config)
    with alomrane.sqlite3.connect(sim_db) as db:
        db.execute(
            "UPDATE operations SET supprime = 1, motif_suppression = 'Doublon',"
            " date_maj = '2026-02-01 00:00:00'"
            " WHERE code_operation = (SELECT min(code_operation) FROM operations)"
        )

    report = run(config)

    assert report.counts["withdrawn"] == 1
    (withdrawn,) = [r for r in platform.current().values() if r.get("withdrawn")]
    assert withdrawn["reason"] == "Opération supprimée du système d'information Al Omrane : Doublon"
    assert_platform_matches_source(platform, sim_db)


def test_withdrawing_a_project_the_platform_never_had_is_not_an_error(platform, sim_db, write_config):
    config = write_config()
    run(config)
    with alomrane.sqlite3.connect(sim_db) as db:
        db.execute(
            "INSERT INTO operations SELECT 'OP-CASA-99999', intitule, intitule_ar, 'CASA', programme, etat,"
            " 'Settat', date_convention, date_debut_prevue, date_fin_prevue, date_debut_reelle,"
            " date_fin_reelle,"
            " cout_global, montant_engage, montant_paye, taux_avancement, menages_cibles, menages_traites,"
            " superficie_ha, superficie_cible_ha, superficie_amenagee_ha, lat, lon, date_situation,"
            " '2026-02-01 00:00:00', 1, 'Saisie annulée' FROM operations LIMIT 1"
        )

    report = run(config)

    assert report.exit_code == 0
    assert report.counts["rejected"] == 1
    assert report.rejected == []
    assert ("MA-ALOMRANE-CS", "OP-CASA-99999") not in platform.versions


def test_records_rejected_by_the_platform(platform, sim_db, write_config, monkeypatch):
    monkeypatch.setattr(fakeplatform, "PROGRAMMES", fakeplatform.PROGRAMMES - {"VSB"})
    vsb = [r for r in alomrane.records(sim_db, MAPPING) if r["programme"] == "VSB"]
    config = write_config()

    report = run(config)

    assert report.exit_code == 2
    assert report.counts["rejected"] == len(vsb) > 0
    assert sorted(r["operator_ref"] for r in report.rejected) == sorted(r["operator_ref"] for r in vsb)
    assert report.rejected[0]["problems"][0]["code"] == "unknown_code"
    with open_state(config) as state:
        assert all(state.record_hash(r["operator"], r["operator_ref"]) is None for r in vsb)
        assert state.watermark == max_date_maj(sim_db)


def test_records_failing_local_validation_are_kept_and_not_sent(platform, sim_db, write_config):
    raw = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    del raw["communes"]["codes"]["Dakhla"]
    dakhla = [r for r in alomrane.rows(sim_db) if r["commune"] == "Dakhla"]
    assert dakhla  # the Dakhla urban pole at least
    config = write_config(mapping=raw)

    report = run(config)

    assert report.exit_code == 2
    assert report.local_invalid == len(dakhla)
    sent = {ref for _, ref in platform.versions}
    assert not sent & {r["code_operation"] for r in dakhla}
    assert len(sent) == 40 - len(dakhla)
    with open_state(config) as state:
        problems = state.local_problems()
        assert sorted(p.key for p in problems) == sorted(
            f"MA-ALOMRANE-DOE/{r['code_operation']}" for r in dakhla
        )
        assert problems[0].problems[0]["code"] == "unmapped_commune"
        assert state.watermark == max_date_maj(sim_db)


def test_problems_of_rows_without_an_operator_are_kept_by_reference(platform, sim_db, write_config):
    raw = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    del raw["operator"]["codes"]["DAKHLA"]
    config = write_config(mapping=raw)

    assert run(config).exit_code == 2
    with open_state(config) as state:
        keys = {p.key for p in state.local_problems()}
    assert "?/OP-DAKHLA-00001" in keys
    assert all(key.startswith("?/OP-DAKHLA-") for key in keys)


def test_a_crash_after_the_platform_committed_resends_the_same_bytes_and_gets_the_replay(
    platform, sim_db, write_config, monkeypatch
):
    config = write_config()
    original = State.store_receipt

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed before the receipt was stored")

    monkeypatch.setattr(State, "store_receipt", crash)
    with pytest.raises(KeyboardInterrupt):
        run(config)
    monkeypatch.setattr(State, "store_receipt", original)
    with open_state(config) as state:
        pending = state.pending_batches()
        assert len(pending) == 3
        assert pending[0].attempts == 1
        assert state.watermark is None
        stored = (pending[0].idempotency_key, pending[0].body)

    report = run(config)

    assert report.exit_code == 0
    assert report.resent == 3
    first, again = platform.requests[0], platform.requests[1]
    assert (again["headers"]["idempotency-key"], again["body"]) == stored
    assert (first["headers"]["idempotency-key"], first["body"]) == stored
    assert (platform.writes, platform.replays) == (3, 1)
    assert_platform_matches_source(platform, sim_db)
    assert all(len(history) == 1 for history in platform.versions.values())


def test_a_crash_before_the_first_send_resumes_with_the_planned_batches(
    platform, sim_db, write_config, monkeypatch
):
    config = write_config()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(PlatformClient, "submit", crash)
    with pytest.raises(KeyboardInterrupt):
        run(config)
    monkeypatch.undo()
    with open_state(config) as state:
        planned = [(b.idempotency_key, b.body) for b in state.pending_batches()]
    assert len(planned) == 3
    assert platform.requests == []

    report = run(config)

    assert report.exit_code == 0
    assert [(r["headers"]["idempotency-key"], r["body"]) for r in platform.requests] == planned
    assert (platform.writes, platform.replays) == (3, 0)
    assert_platform_matches_source(platform, sim_db)


def test_a_crash_during_retries_resumes_with_the_same_key(platform, sim_db, write_config, monkeypatch):
    config = write_config()
    platform.script = [Scripted(503)]

    def crash(self, seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(PlatformClient, "wait", crash)
    with pytest.raises(KeyboardInterrupt):
        run(config)
    monkeypatch.undo()
    with open_state(config) as state:
        first = state.pending_batches()[0]
        assert (first.attempts, first.last_error) == (1, "HTTP 503 503 — scripted")

    assert run(config).exit_code == 0
    assert platform.requests[1]["headers"]["idempotency-key"] == first.idempotency_key
    assert platform.requests[1]["body"] == first.body
    assert_platform_matches_source(platform, sim_db)


def test_an_unreachable_platform_keeps_the_batches_pending(platform, sim_db, write_config):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    config = write_config(platform={"url": closed})

    report = run(config)

    assert report.exit_code == 3
    with open_state(config) as state:
        pending = state.pending_batches()
        assert [b.attempts for b in pending] == [3, 0, 0]
        assert pending[0].last_error.startswith("ConnectError")
        assert state.watermark is None

    config = write_config()
    assert run(config).exit_code == 0
    assert_platform_matches_source(platform, sim_db)
    assert platform.writes == 3


def test_a_refused_token_exits_4_and_the_batch_waits(platform, sim_db, write_config):
    config = write_config(platform={"token": "expired"})

    report = run(config)

    assert report.exit_code == 4
    assert len(platform.requests) == 1
    with open_state(config) as state:
        assert [b.attempts for b in state.pending_batches()] == [1, 0, 0]
        key = state.pending_batches()[0].idempotency_key

    assert run(write_config()).exit_code == 0
    assert platform.requests[1]["headers"]["idempotency-key"] == key
    assert_platform_matches_source(platform, sim_db)


def test_a_batch_refused_as_a_whole_exits_5_and_is_planned_again(platform, sim_db, write_config):
    config = write_config()
    platform.script = [Scripted(413, body={"status": 413, "title": "Lot trop volumineux"})]

    report = run(config)

    assert report.exit_code == 5
    with open_state(config) as state:
        assert state.pending_batches() == []
        (failed,) = state.failed_batches()
        assert failed.problem == {"status": 413, "title": "Lot trop volumineux"}
        assert state.watermark is None

    report = run(write_config(batch_size=10))

    assert report.exit_code == 0
    assert report.batches == 4
    assert_platform_matches_source(platform, sim_db)


def test_a_tampered_receipt_is_refused_and_the_batch_resent(platform, sim_db, write_config):
    config = write_config()
    platform.tamper = True

    report = run(config)

    assert report.exit_code == 4
    assert "Signature invalide" in report.errors[0]
    with open_state(config) as state:
        assert state.receipt_count() == 0
        assert len(state.pending_batches()) == 3

    platform.tamper = False
    assert run(config).exit_code == 0
    assert platform.replays == 1
    assert_platform_matches_source(platform, sim_db)


def test_receipts_without_published_keys(platform, sim_db, write_config):
    platform.keys_available = False

    assert run(write_config()).exit_code == 0
    with open_state(write_config()) as state:
        assert [r["verified_with"] for r in state.receipts()] == [None] * 3

    strict = write_config(state="state/strict.sqlite3", platform={"verify_receipts": "always"})
    assert run(strict).exit_code == 4


def test_a_dry_run_writes_nothing_anywhere_but_its_report(platform, sim_db, write_config, tmp_path):
    config = write_config()

    report = run(config, dry_run=True)

    assert report.exit_code == 0
    assert report.counts["created"] == 40
    assert platform.versions == {}
    assert platform.writes == 0
    assert all(json.loads(r["body"])["dry_run"] is True for r in platform.requests)
    assert all(r["headers"]["idempotency-key"].startswith("mc-dry-") for r in platform.requests)
    assert not (tmp_path / "state" / "connect.sqlite3").exists()
    saved = json.loads(Path(report.report_path).read_text(encoding="utf-8"))
    assert saved["counts"]["created"] == 40
    assert saved["dry_run"] is True
    assert Path(report.report_path).parent == tmp_path / "state" / "reports"


def test_a_dry_run_accepts_an_unsigned_answer_but_not_a_forged_one(platform, sim_db, write_config):
    platform.sign_dry_runs = False
    assert run(write_config(), dry_run=True).exit_code == 0

    platform.sign_dry_runs, platform.tamper = True, True
    report = run(write_config(), dry_run=True)
    assert report.exit_code == 4
    assert report.errors[0].startswith("Reçu d'essai refusé : Signature invalide")


def test_a_second_connector_on_the_same_state_is_refused(platform, sim_db, write_config):
    config = write_config()
    with open_state(config) as state:
        state.lock()
        report = run(config)

    assert report.exit_code == 1
    assert "Un autre connecteur" in report.errors[0]


def test_an_unreadable_source_exits_6(platform, sim_db, write_config):
    config = write_config(
        source={"kind": "sql", "url": "sqlite:///si/si.sqlite3", "query": "SELECT * FROM nothing"}
    )

    assert run(config).exit_code == 6


def test_a_folder_of_csv_exports(platform, tmp_path, write_config):
    exports = tmp_path / "exports"
    exports.mkdir()
    header = "ref;intitule;etat;commune;cout\n"
    (exports / "a.csv").write_bytes(
        (header + "R1;Quartier Al Amal;EC;الداخلة;1 000 000,00\n").encode("cp1256")
    )
    mapping = {
        "operator": "MA-ALOMRANE-DOE",
        "status": {"column": "etat", "codes": {"EC": "ENCO"}},
        "communes": {"column": "commune", "codes": {"الداخلة": "12.391.01.01"}},
        "fields": {
            "operator_ref": "ref",
            "title.fr": "intitule",
            "programme": {"constant": "RQSE"},
            "budget": "cout",
        },
    }
    config = write_config(source={"kind": "folder", "path": "exports"}, mapping=mapping)

    assert run(config).exit_code == 0
    (record,) = platform.current().values()
    assert (record["operator_ref"], record["budget"], record["communes"]) == (
        "R1",
        "1000000.00",
        {"12.391.01.01": {"primary": True, "share": None}},
    )
    with open_state(config) as state:
        assert state.watermark.endswith("|a.csv")

    assert run(config).rows == 0  # the file has not changed


def test_killed_mid_request_after_the_platform_committed(platform, sim_db, write_config, tmp_path):
    """SIGKILL while the platform holds the response of a committed batch; the rerun gets the replay."""
    config = write_config(batch_size=50)
    committed, release = threading.Event(), threading.Event()

    def hold():
        committed.set()
        release.wait(30)

    platform.after_commit = hold
    process = subprocess.Popen(
        [sys.executable, "-m", "marsad_connect", "run", "--config", str(config), "--once"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert committed.wait(30), process.communicate(timeout=5)[0]
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        platform.after_commit = None
        release.set()
    assert process.returncode == -signal.SIGKILL
    assert platform.writes == 1

    report = run(config)

    assert report.exit_code == 0
    assert (platform.writes, platform.replays) == (1, 1)
    assert report.resent == 1
    assert_platform_matches_source(platform, sim_db)


def test_every_stops_cleanly_on_sigterm(platform, sim_db, write_config):
    config = write_config()
    process = subprocess.Popen(
        [sys.executable, "-m", "marsad_connect", "run", "--config", str(config), "--every", "0.2s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while platform.writes < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # a few more (empty) runs
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "Signal SIGTERM reçu" in output
    assert output.count("Passage terminé (code 0)") >= 2
    assert_platform_matches_source(platform, sim_db)


def test_run_every_returns_after_a_stop_request(platform, sim_db, write_config):
    config = load_config(write_config())
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()

    assert run_every(config, 0.05, dry_run=False, stop=stop) == 0
    assert platform.writes == 3


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("30s", 30), ("15m", 900), ("2h", 7200), ("0.5s", 0.5)]
)
def test_intervals(text, seconds):
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "15x", "m", "-5m", "0s"])
def test_bad_intervals(text):
    with pytest.raises(ValueError, match="intervalle invalide"):
        parse_interval(text)


def test_environment_token(platform, sim_db, write_config, monkeypatch):
    config = write_config(platform={"token": None, "token_env": "SI_TOKEN"})
    monkeypatch.delenv("SI_TOKEN", raising=False)

    report = run(config)
    assert report.exit_code == 1
    assert "SI_TOKEN" in report.errors[0]

    monkeypatch.setenv("SI_TOKEN", platform.token)
    assert run(config).exit_code == 0
    assert os.environ["SI_TOKEN"] == platform.token
