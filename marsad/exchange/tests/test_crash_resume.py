"""Crash and resume, end to end: the simulated Al Omrane information system, the real marsad-connect
(a separate process, over HTTP) and a live platform. The connector is killed with SIGKILL, and the
platform too, at seeded and logged points:

- ``before_send``: a batch is stored in the connector's state, not yet sent;
- ``mid_request``: the platform dies while processing a batch, before it commits (the connector's
  request fails; the platform is restarted and the retry takes the reservation over);
- ``after_response``: the platform has committed and answered, the connector dies before storing
  the receipt (the resend must be answered with the stored receipt);
- ``retry_wait``: the platform dies mid-request and the connector dies while waiting to retry.

Then the connector runs to completion, and the platform's projects must equal the source exactly,
with no duplicate version and a ledger that verifies. CI: 8 kills; `make stress`: 20.
"""

import itertools
import json
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from .live import LiveClient

pytestmark = [pytest.mark.dbsensitive, pytest.mark.stress]

STRESS = os.environ.get("MARSAD_STRESS") == "1"
KILLS = 20 if STRESS else 8
PROJECTS = 150 if STRESS else 50
BATCH_SIZE = 10
SEED = int(os.environ.get("MARSAD_CRASH_SEED", "20261123"))
POINTS = ("before_send", "mid_request", "after_response", "retry_wait")
CONNECTOR = Path(__file__).resolve().parents[3] / "connector"
MAPPING = CONNECTOR / "examples" / "alomrane" / "mapping.yaml"
QUERY = "SELECT * FROM operations WHERE date_maj > :watermark ORDER BY date_maj, code_operation"


def simulate(*args: str) -> str:
    command = [sys.executable, "-m", "marsad_connect.simulation.alomrane", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


class Connector:
    def __init__(self, live, folder: Path):
        self.live, self.folder = live, folder
        self.si = folder / "si.sqlite3"
        self.key = folder / "key.pem"
        self.config = folder / "connect.yaml"
        self.logs: list[str] = []

    def prepare(self, client_id: str) -> LiveClient:
        simulate("init", "--db", str(self.si), "--projects", str(PROJECTS), "--seed", str(SEED))
        keygen = [sys.executable, "-m", "marsad_connect", "keygen", "--out", str(self.key)]
        public = subprocess.run(keygen, check=True, capture_output=True, text=True).stdout.strip().split()[-1]
        token_file = self.folder / "token"
        self.live.manage(
            "client", "create", "--organisation", "MA-ALOMRANE", "--client-id", client_id,
            "--name", client_id, "--public-key", public, "--key-id", f"{client_id}-key", "--rate", "100000",
            "--token-file", str(token_file),
        )  # fmt: skip
        self.token = token_file.read_text().strip()
        config = {
            "platform": {
                "url": self.live.url, "token_env": "MARSAD_CONNECT_TOKEN", "key_id": f"{client_id}-key",
                "private_key": str(self.key), "timeout": 60, "verify_receipts": "always",
                "retry": {"attempts": 10, "base_delay": 0.5, "max_delay": 3, "jitter": 0.2},
            },
            "state": str(self.folder / "state.sqlite3"),
            "reports": str(self.folder / "reports"),
            "batch_size": BATCH_SIZE,
            "source": {
                "kind": "sql", "url": f"sqlite:///{self.si}", "initial_watermark": "",
                "query": QUERY,
            },
            "mapping": str(MAPPING),
        }  # fmt: skip
        self.config.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
        private = serialization.load_pem_private_key(self.key.read_bytes(), password=None)
        return LiveClient(self.live.url, client_id, self.token, f"{client_id}-key", private)

    def start(self, faults: str = "") -> subprocess.Popen:
        env = {**os.environ, "MARSAD_CONNECT_TOKEN": self.token, "MARSAD_CONNECT_FAULTS": faults}
        command = [sys.executable, "-m", "marsad_connect", "run", "--config", str(self.config), "--once"]
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def finish(self, process: subprocess.Popen, timeout: float = 180) -> int:
        output, _ = process.communicate(timeout=timeout)
        self.logs.append(output)
        return process.returncode


def restart(live, faults: str = "") -> None:
    live.stop(kill=True)
    live.env["MARSAD_FAULTS"] = faults
    live.start()


def wait_for_death(live, process: subprocess.Popen, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if live.process.poll() is not None:
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def test_the_connector_and_the_platform_survive_kills_at_every_point(marsad_live, tmp_path):
    rng = random.Random(SEED)
    connector = Connector(marsad_live, tmp_path)
    client = connector.prepare(f"crash-{SEED}-{os.getpid() % 10000}")
    kills: list[str] = []
    try:
        for number in range(KILLS):
            point = POINTS[number % len(POINTS)]
            if number:
                simulate("advance", "--db", str(connector.si), "--steps", str(rng.randint(12, 24)))
            nth = rng.randint(1, 2)
            if point in ("before_send", "after_response"):
                code = connector.finish(connector.start(f"{point}:{nth}"))
                killed = code == -9
            else:
                restart(marsad_live, f"submission.before_commit:{nth}")
                process = connector.start("retry_wait:1" if point == "retry_wait" else "")
                killed = wait_for_death(marsad_live, process)
                restart(marsad_live)  # the platform comes back; the reservation's lease then runs out
                code = connector.finish(process)
                if point == "retry_wait":
                    killed = killed and code == -9
            kills.append(f"kill {number + 1}: {point} (pass {nth}) → {'killed' if killed else 'not reached'}")
            print(kills[-1], f"exit {code}")
            assert killed, "\n".join(kills) + "\n" + connector.logs[-1][-3000:]
        codes = [connector.finish(connector.start()) for _ in range(2)]
    finally:
        marsad_live.env.pop("MARSAD_FAULTS", None)
        if marsad_live.process is None or marsad_live.process.poll() is not None:
            marsad_live.start()
    assert codes[-1] in (0, 2), connector.logs[-1][-3000:]
    assert "Reprise" in "".join(connector.logs)  # pending batches were resent after kills

    # The platform holds exactly the source: a dry run of every source record finds nothing to change.
    sys.path.insert(0, str(CONNECTOR))
    from marsad_connect.simulation.alomrane import records

    expected = records(connector.si, MAPPING)
    live_records = [r for r in expected if not r.get("withdrawn")]
    withdrawals = [r for r in expected if r.get("withdrawn")]
    unknown = set()
    with httpx.Client(timeout=120) as http:
        for start in range(0, len(expected), 500):
            chunk = expected[start : start + 500]
            body = json.dumps({"records": chunk, "dry_run": True}, ensure_ascii=False).encode()
            url = f"{marsad_live.url}/api/v1/exchange/submissions"
            receipt = http.post(url, content=body, headers=client.signed_headers(body)).json()
            for record, result in zip(chunk, receipt["results"], strict=True):
                if record.get("withdrawn"):
                    codes_found = [p["code"] for p in result["problems"]]
                    assert codes_found in (["withdrawn_project"], ["unknown_project"]), (record, result)
                    if codes_found == ["unknown_project"]:
                        unknown.add(record["operator_ref"])  # created and deleted between two runs
                else:
                    assert result["outcome"] == "unchanged", (record, result)
        events, _ = client.all_changes(http)
    references = {r["operator_ref"] for r in expected}
    ours = [e for e in events if e["operator_ref"] in references]
    versions = defaultdict(list)
    for event in ours:
        versions[event["operator_ref"]].append(event)
    assert set(versions) == references - unknown
    assert len(live_records) + len(withdrawals) == len(references)
    for history in versions.values():
        assert [e["version"] for e in history] == list(range(1, len(history) + 1))
        digests = [e["sha256"] for e in history]
        assert all(a != b for a, b in itertools.pairwise(digests)), "a version written twice"
    assert "Registre intègre" in marsad_live.manage("ledger_verify")
    print("\n".join(kills))
    print(f"{len(references)} source projects, {len(ours)} versions, {codes=}")
