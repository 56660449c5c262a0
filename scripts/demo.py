"""`make demo`, after the data is loaded: serve the platform with its task worker and scheduler, and
make it change live — the simulated Al Omrane information system moves its projects forward every
30 seconds and marsad-connect sends them over signed HTTP every 30 seconds. Ctrl+C stops everything.

Idempotent: the simulated system, the connector's key, its API client and its token are created
once under var/alomrane/ and reused by the next `make demo`.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
VAR = Path(os.environ.get("MARSAD_VAR_DIR", ROOT / "var"))
SI_FOLDER = VAR / "alomrane"
MAPPING = ROOT / "connector" / "examples" / "alomrane" / "mapping.yaml"
CLIENT_ID = "alomrane-si"


def marsad(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "marsad"), *args], check=check, capture_output=True, text=True)


def prepare(url: str, projects: int) -> dict:
    """The simulated system, the connector's key and configuration, the platform's client and token."""
    SI_FOLDER.mkdir(parents=True, exist_ok=True)
    si = SI_FOLDER / "si.sqlite3"
    if not si.exists():
        subprocess.run(
            [sys.executable, "-m", "marsad_connect.simulation.alomrane", "init", "--db", str(si),
             "--projects", str(projects), "--seed", "1"],
            check=True,
        )  # fmt: skip
    key = SI_FOLDER / "connect-key.pem"
    token_file = SI_FOLDER / "token"
    key_id_file = SI_FOLDER / "key_id"
    if not key.exists() or not key_id_file.exists():
        key.unlink(missing_ok=True)
        key_id = f"{CLIENT_ID}-{int(time.time())}"
        public = subprocess.run(
            [str(BIN / "marsad-connect"), "keygen", "--out", str(key)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-1]
        created = marsad(
            "client", "create", "--organisation", "MA-ALOMRANE", "--client-id", CLIENT_ID,
            "--name", "Système d'information Al Omrane (simulé)", "--public-key", public,
            "--key-id", key_id, "--token-file", str(token_file), check=False,
        )  # fmt: skip
        if created.returncode != 0:  # the client exists (var/alomrane was cleaned): a new key and token
            marsad("client", "key-add", "--client", CLIENT_ID, "--public-key", public,
                   "--key-id", key_id, "--overlap-days", "0")  # fmt: skip
            marsad("client", "token", "--client", CLIENT_ID, "--token-file", str(token_file))
        key_id_file.write_text(key_id, encoding="utf-8")
    key_id = key_id_file.read_text(encoding="utf-8").strip()
    config = {
        "platform": {
            "url": url, "token_env": "MARSAD_CONNECT_TOKEN", "key_id": key_id, "private_key": str(key),
            "timeout": 120, "verify_receipts": "auto",
            "retry": {"attempts": 6, "base_delay": 1, "max_delay": 30},
        },
        "state": str(SI_FOLDER / "connect-state.sqlite3"),
        "reports": str(SI_FOLDER / "reports"),
        "batch_size": 500,
        "source": {
            "kind": "sql", "url": f"sqlite:///{si}", "initial_watermark": "",
            "query": "SELECT * FROM operations WHERE date_maj > :watermark ORDER BY date_maj, code_operation",
        },
        "mapping": str(MAPPING),
    }  # fmt: skip
    config_path = SI_FOLDER / "connect.yaml"
    config_path.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
    return {"si": si, "config": config_path, "token": token_file.read_text(encoding="utf-8").strip()}


def wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"The platform did not answer at {url}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="8000")
    parser.add_argument("--projects", type=int, default=300, help="Projects of the simulated system.")
    parser.add_argument("--every", default="30s", help="Pace of the simulated system and the connector.")
    options = parser.parse_args()
    url = f"http://{options.host}:{options.port}"
    setup = prepare(url, options.projects)
    children: list[subprocess.Popen] = []

    def spawn(*command: str, env: dict | None = None) -> subprocess.Popen:
        process = subprocess.Popen(list(command), env={**os.environ, **(env or {})})
        children.append(process)
        return process

    spawn(str(BIN / "marsad"), "serve", f"{options.host}:{options.port}", "--noreload")
    wait_until_up(url)
    spawn(str(BIN / "marsad"), "db_worker", "--interval", "1", "--no-reload")
    spawn(str(BIN / "marsad"), "scheduler")
    spawn(sys.executable, "-m", "marsad_connect.simulation.alomrane", "advance", "--db", str(setup["si"]),
          "--every", options.every)  # fmt: skip
    spawn(str(BIN / "marsad-connect"), "run", "--config", str(setup["config"]), "--every", options.every,
          env={"MARSAD_CONNECT_TOKEN": setup["token"]})  # fmt: skip
    print(
        f"\n  Marsad is running: {url}/   (Ctrl+C to stop)\n"
        f"  Live exchange: the simulated Al Omrane system changes every {options.every} and marsad-connect\n"
        f"  sends it signed: {url}/api/v1/exchange/changes\n"
        f"  Sync health: {url}/fr/organisations/MA-ALOMRANE/\n"
        f"  Projects: {url}/fr/projets/   Map: {url}/fr/carte/\n"
        f"  API: {url}/api/v1/docs   Admin: {url}/admin/\n",
        flush=True,
    )
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
