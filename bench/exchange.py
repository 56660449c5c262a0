"""Benchmark: signed submissions end to end, against the floor of parsing and inserting the same records.

    .venv/bin/python bench/exchange.py [--records 1000] [--batches 5] [--databases sqlite,postgresql]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/] [--seed 1] [--profile-out DIR]

Each database runs in a child process on a fresh database: an SQLite file in a temporary directory, or
a new PostgreSQL database ``marsad_bench_<pid>`` (dropped at the end). ``marsad migrate``,
``createcachetable``, ``territories_load`` and ``reference_load`` (timed apart as set-up), then a client
registered with ``marsad client create`` and an Ed25519 key (two: one per sending system), and the
platform served on loopback by gunicorn with ``--workers`` sync workers (two: one per core) and
DEBUG off. Then, over HTTP with httpx:

- one sending system at a time, one batch after the other, as a connector sends: ``--batches``
  signed submissions of ``--records`` new projects each (created/s), then the same number of batches
  updating those projects, as a monthly report does: progress, amounts, outputs achieved and the
  as-of date change (updated/s);
- two sending systems at once (two operators' connectors), each sending its half of as many
  batches one after the other: records of both over the time from the first request to the last
  receipt.

A batch is timed from the request to the parsed receipt; building and signing the body are not timed.
The server's own CPU time is read from /proc too, as the machine may be busy with other work. The floor
runs on the same kind of database: ``json.loads`` of the same bodies and one ``executemany`` per batch
into a plain table (one row per record: keys, a few columns and the record's JSON), one transaction per
batch; an INSERT for the first round, an upsert for the second.

Last, where the server's time goes, in-process through Django's test client: a batch of new records
and one of updates with the cyclic garbage collector's pauses timed, then two more under cProfile with
the collector paused (``--profile-out DIR`` keeps the raw profiles). Figures go to
bench/results/exchange.json (results of databases not run this time are kept).
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import json
import os
import platform
import pstats
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "exchange.json"
HOLDING = "MA-ALOMRANE"
CLIENT_ID = "bench-si"
KEY_ID = "bench-si-key"
PATH = "/api/v1/exchange/submissions"


def marsad(env: dict, *command: str) -> str:
    executable = Path(sys.executable).with_name("marsad")
    argv = [str(executable)] if executable.exists() else [sys.executable, "-m", "config.manage"]
    done = subprocess.run([*argv, *command], env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"marsad {' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def platform_setup(directory: Path, url: str) -> tuple[dict, float]:
    """A fresh platform for a bench's child process: its environment (settings, var folder, database)
    set in this process too, migrated and loaded with the territories and the reference catalogue.
    Returns the environment and the seconds the set-up took."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "MARSAD_DEBUG": "0",
        "MARSAD_VAR_DIR": str(directory),
        "MARSAD_LOG_LEVEL": "WARNING",
        "DATABASE_URL": url,
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    start = time.perf_counter()
    for command in (
        ["migrate", "--noinput", "-v0"],
        ["createcachetable"],
        ["territories_load"],
        ["reference_load"],
    ):
        marsad(env, *command)
    return env, time.perf_counter() - start


# --- Records ---------------------------------------------------------------------------------------


class Generator:
    """Realistic records: an Al Omrane subsidiary's project in a commune of its region, with a
    financing plan that matches the budget, outputs, milestones and amounts consistent with progress."""

    def __init__(self, seed: int):
        from marsad.accounts.models import Organisation
        from marsad.territories.choices import Level
        from marsad.territories.models import Territory, TerritoryBoundary

        self.rng = random.Random(seed)
        self.today = datetime.now(tz=UTC).date()
        points = {
            tid: (lat, lon)
            for tid, lat, lon in TerritoryBoundary.objects.values_list(
                "territory_id", "label_lat", "label_lon"
            )
        }
        operators = {
            o.territory.code: o.code
            for o in Organisation.objects.filter(parent__code=HOLDING).select_related("territory")
            if o.territory is not None
        }
        self.communes: dict[str, list[tuple[str, tuple | None]]] = {}
        for tid, code, region in Territory.objects.filter(
            level__in=[Level.COMMUNE, Level.ARRONDISSEMENT]
        ).values_list("id", "code", "region_code"):
            if region in operators:
                self.communes.setdefault(region, []).append((code, points.get(tid)))
        self.operators = operators
        self.regions = sorted(self.communes)

    def new(self, reference: str) -> dict:
        rng = self.rng
        region = rng.choice(self.regions)
        operator = self.operators[region]
        sites = rng.sample(self.communes[region], 2 if rng.random() < 0.2 else 1)
        if len(sites) == 1:
            communes = {sites[0][0]: {"primary": True, "share": None}}
        else:
            communes = {
                sites[0][0]: {"primary": True, "share": "60"},
                sites[1][0]: {"primary": False, "share": "40"},
            }
        point = sites[0][1]
        budget = Decimal(rng.randrange(2_000, 600_000)) * 1000
        partner = budget * Decimal(rng.choice(["0.3", "0.4", "0.5"]))
        households = rng.randrange(80, 4_000)
        start = self.today - timedelta(days=rng.randrange(200, 1_500))
        progress = Decimal(rng.randrange(0, 8_000)) / 100
        committed = (budget * (progress / 100 + Decimal("0.1"))).quantize(Decimal("0.01"))
        programme = rng.choice(["VSB", "RQSE", "MANU", "HMR"])
        return {
            "operator": operator,
            "operator_ref": reference,
            "title": {
                "fr": f"Projet {programme} {reference} — restructuration et équipement",
                "ar": f"مشروع {programme} {reference} — إعادة الهيكلة والتجهيز",
            },
            "description": {
                "fr": "Aménagement, voirie et réseaux divers.",
                "ar": "تهيئة وطرق وشبكات مختلفة.",
            },
            "programme": programme,
            "status": "ENCO",
            "agreement": None,
            "communes": communes,
            "location": {"lat": f"{point[0]:.5f}", "lon": f"{point[1]:.5f}"} if point else None,
            "area_ha": str(rng.randrange(2, 400)),
            "planned_start": start.isoformat(),
            "planned_end": (start + timedelta(days=rng.randrange(700, 2_200))).isoformat(),
            "actual_start": (start + timedelta(days=rng.randrange(0, 90))).isoformat(),
            "actual_end": None,
            "budget": f"{budget:.2f}",
            "financing": {operator: f"{budget - partner:.2f}", "MA-FSHIU": f"{partner:.2f}"},
            "outputs": {
                "MEN_CIB": {"target": str(households), "achieved": None},
                "MEN_TRT": {"target": str(households), "achieved": str(int(households * progress / 100))},
            },
            "milestones": {
                "SIGN_CONV": {
                    "planned": None,
                    "forecast": None,
                    "actual": (start - timedelta(days=120)).isoformat(),
                },
                "OS": {"planned": start.isoformat(), "forecast": None, "actual": start.isoformat()},
                "RP": {
                    "planned": (start + timedelta(days=900)).isoformat(),
                    "forecast": None,
                    "actual": None,
                },
            },
            "as_of": (self.today - timedelta(days=31)).isoformat(),
            "progress": f"{progress:.2f}",
            "committed": f"{committed:.2f}",
            "paid": f"{committed * Decimal('0.8'):.2f}",
        }

    def update(self, record: dict) -> dict:
        """The next monthly report: a few points of progress, amounts and outputs follow."""
        progress = min(Decimal(record["progress"]) + Decimal(self.rng.randrange(50, 900)) / 100, Decimal(99))
        budget = Decimal(record["budget"])
        committed = min((budget * (progress / 100 + Decimal("0.1"))).quantize(Decimal("0.01")), budget)
        target = int(record["outputs"]["MEN_TRT"]["target"])
        outputs = {
            **record["outputs"],
            "MEN_TRT": {"target": str(target), "achieved": str(int(target * progress / 100))},
        }
        return {
            **record,
            "progress": f"{progress:.2f}",
            "committed": f"{committed:.2f}",
            "paid": f"{committed * Decimal('0.85'):.2f}",
            "outputs": outputs,
            "as_of": (self.today - timedelta(days=1)).isoformat(),
        }


def body_of(records: list[dict]) -> bytes:
    return json.dumps({"records": records}, ensure_ascii=False).encode()


class Signer:
    def __init__(self, private, token: str, key_id: str):
        self.private = private
        self.token = token
        self.key_id = key_id

    def headers(self, body: bytes) -> dict[str, str]:
        stamp = str(int(time.time()))
        signature = self.private.sign(stamp.encode() + b"." + body)
        return {
            "Authorization": f"Bearer {self.token}",
            "Marsad-Key-Id": self.key_id,
            "Marsad-Timestamp": stamp,
            "Marsad-Signature": base64.b64encode(signature).decode(),
            "Idempotency-Key": uuid.uuid4().hex,
            "Content-Type": "application/json",
        }

    def meta(self, body: bytes) -> dict[str, str]:
        """The same headers as WSGI environ keys, for Django's test client."""
        headers = self.headers(body)
        headers.pop("Content-Type")
        return {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}


# --- The platform over HTTP -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(env: dict, directory: Path, workers: int) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    log = open(directory / "server.log", "wb")  # noqa: SIM115 - closed with the process
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")), "config.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "600",
        ],
        env=env, cwd=ROOT, stdout=log, stderr=log,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((directory / "server.log").read_text(errors="replace")[-3000:])
        time.sleep(0.2)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time so far (Linux) of a server process and of its workers, to see the
    server's own cost apart from what other processes on the machine take."""
    if not Path(f"/proc/{pid}/stat").exists():
        return None
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # a process that ended meanwhile
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def send_rounds(url: str, signer: Signer, bodies: list[bytes], expected: str, server_pid: int) -> dict:
    """POST each body, timed from the request to the parsed receipt; every record must come back
    with the expected outcome."""
    import httpx

    timings = []
    cpu_before = cpu_seconds(server_pid)
    with httpx.Client(base_url=url, timeout=600) as http:
        for body in bodies:
            headers = signer.headers(body)
            start = time.perf_counter()
            response = http.post(PATH, content=body, headers=headers)
            receipt = response.json()
            timings.append(time.perf_counter() - start)
            if response.status_code != 201:
                raise RuntimeError(f"{response.status_code}: {response.text[:2000]}")
            count = receipt["counts"][expected]
            if count != receipt["counts"]["received"]:
                rejected = [r for r in receipt["results"] if r["outcome"] != expected][:3]
                raise RuntimeError(f"{expected} {count} of {receipt['counts']}: {rejected}")
    return figures_of(bodies, timings, sum(timings), cpu_before, cpu_seconds(server_pid))


def send_streams(
    url: str, signers: list[Signer], streams: list[list[bytes]], expected: str, server_pid: int
) -> dict:
    """Each stream's bodies sent one after the other by its own sending system, the streams at once;
    timed from the first request to the last receipt."""
    from concurrent.futures import ThreadPoolExecutor

    cpu_before = cpu_seconds(server_pid)
    start = time.perf_counter()
    with ThreadPoolExecutor(len(streams)) as pool:
        pairs = zip(signers, streams, strict=True)
        done = list(pool.map(lambda pair: send_rounds(url, *pair, expected, server_pid), pairs))
    elapsed = time.perf_counter() - start
    timings = [ms / 1000 for figures in done for ms in figures["batch_ms"]]
    bodies = [body for stream in streams for body in stream]
    figures = figures_of(bodies, timings, elapsed, cpu_before, cpu_seconds(server_pid))
    figures["streams"] = len(streams)
    return figures


def figures_of(
    bodies: list[bytes],
    timings: list[float],
    elapsed: float,
    cpu_before: float | None,
    cpu_after: float | None,
) -> dict:
    records = sum(len(json.loads(b)["records"]) for b in bodies)
    figures = {
        "records": records,
        "seconds": round(elapsed, 2),
        "records_per_s": round(records / elapsed, 1),
        "batch_ms": [round(t * 1000) for t in timings],
        "median_batch_ms": round(statistics.median(timings) * 1000),
    }
    if cpu_before is not None and cpu_after is not None and cpu_after > cpu_before:
        figures["server_cpu_s"] = round(cpu_after - cpu_before, 2)
        figures["records_per_server_cpu_s"] = round(records / (cpu_after - cpu_before), 1)
    return figures


# --- The floor ------------------------------------------------------------------------------------

FLOOR_COLUMNS = ("operator", "operator_ref", "title_fr", "programme", "status", "budget", "progress", "as_of")


def floor_rows(body: bytes) -> list[tuple]:
    return [
        (*(r.get(c) if c != "title_fr" else r["title"]["fr"] for c in FLOOR_COLUMNS), json.dumps(r))
        for r in json.loads(body)["records"]
    ]


def floor(kind: str, target, bodies_new: list[bytes], bodies_update: list[bytes]) -> dict:
    """Parse and insert the same bodies into a plain table: what any platform must at least do."""
    columns = ", ".join(FLOOR_COLUMNS) + ", document"
    marks = ", ".join(["?" if kind == "sqlite" else "%s"] * (len(FLOOR_COLUMNS) + 1))
    insert = f"INSERT INTO floor_record ({columns}) VALUES ({marks})"
    updated = ", ".join(f"{c} = excluded.{c}" for c in (*FLOOR_COLUMNS[2:], "document"))
    upsert = f"{insert} ON CONFLICT (operator, operator_ref) DO UPDATE SET {updated}"
    create = (
        "CREATE TABLE floor_record (operator varchar(40), operator_ref varchar(64), title_fr text, "
        "programme varchar(16), status varchar(16), budget numeric(16, 2), progress numeric(5, 2), "
        "as_of date, document text, PRIMARY KEY (operator, operator_ref))"
    )
    if kind == "sqlite":
        connection = sqlite3.connect(target, isolation_level=None)
        connection.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
        connection.execute(create)

        def batch(sql: str, rows: list[tuple]) -> None:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(sql, rows)
            connection.execute("COMMIT")

    else:
        import psycopg

        connection = psycopg.connect(target)
        connection.execute(create)
        connection.commit()

        def batch(sql: str, rows: list[tuple]) -> None:
            with connection.transaction(), connection.cursor() as cursor:
                cursor.executemany(sql, rows)

    figures = {}
    for label, sql, bodies in (("created", insert, bodies_new), ("updated", upsert, bodies_update)):
        records, start = 0, time.perf_counter()
        for body in bodies:
            rows = floor_rows(body)
            batch(sql, rows)
            records += len(rows)
        figures[label] = {
            "records": records,
            "records_per_s": round(records / (time.perf_counter() - start), 1),
        }
    connection.close()
    return figures


# --- Where the server's time goes -----------------------------------------------------------------

# Inclusive costs of the steps of a submission (they nest: "records_apply" holds parsing, rules,
# hashing, the writes and the ledger). Matched on (file ending, function name).
STEPS = [
    ("request, whole", "django/test/client.py", "post"),
    ("envelope: json.loads", "marsad/exchange/api.py", "_envelope"),
    ("signature check (Ed25519 over the body)", "marsad/exchange/api.py", "_verify_signature"),
    ("idempotency reservation", "marsad/exchange/services.py", "_reserve"),
    ("records prepared before the transaction", "marsad/registry/services.py", "records_prepare"),
    ("records_apply, whole", "marsad/registry/services.py", "records_apply"),
    ("catalogue load", "marsad/registry/rules.py", "load"),
    ("rules: parse", "marsad/registry/rules.py", "parse"),
    ("rules: check", "marsad/registry/rules.py", "check"),
    ("current states load", "marsad/registry/services.py", "_load_states"),
    ("canonical document", "marsad/registry/canonical.py", "record_document"),
    ("canonical JSON", "marsad/registry/canonical.py", "document_json"),
    ("SHA-256", "marsad/registry/canonical.py", "sha256"),
    ("document diff (audit)", "marsad/registry/canonical.py", "diff"),
    ("project columns compiled", "marsad/registry/services.py", "_compile"),
    ("bulk writes: projects, children, versions", "marsad/registry/services.py", "_write"),
    ("ledger entries", "marsad/registry/ledger.py", "append_versions"),
    ("audit events written", "marsad/audit/services.py", "audit_bulk_rows"),
    ("receipt built", "marsad/exchange/services.py", "receipt_build"),
    ("receipt signed and sealed (RFC 8785 + Ed25519)", "marsad/exchange/signing.py", "sign_document_sealed"),
    ("response JSON", "marsad/exchange/api.py", "_json"),
]


def profile_costs(profiler: cProfile.Profile) -> dict:
    stats = pstats.Stats(profiler)
    table = stats.stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, _), (_, _, _, ct, _) in table.items())
    costs: dict[str, float] = {}
    for label, suffix, name in STEPS:
        found = [ct for (path, _, function), (_, _, _, ct, _) in table.items()
                 if path.endswith(suffix) and function == name]  # fmt: skip
        if found:
            costs[label] = max(found)
    # Statements through the driver (parameters adapted, sent, run and answered) and commits.
    sql = sum(
        ct
        for (path, _, function), (_, _, _, ct, _) in table.items()
        if (path.endswith("django/db/backends/utils.py") and function in ("_execute", "_executemany"))
        or (path.endswith("django/db/backends/base/base.py") and function == "_commit")
    )
    whole = costs.get("request, whole", total)
    summary = {
        label: {"ms": round(value * 1000), "share": round(value / whole, 3)} for label, value in costs.items()
    }
    summary["SQL statements and commits through the driver"] = {
        "ms": round(sql * 1000),
        "share": round(sql / whole, 3),
    }
    return summary


class CollectorWatch:
    """Time spent in Python's cyclic garbage collector (its pauses would otherwise be charged to
    whichever function happened to allocate)."""

    def __init__(self):
        self.seconds = 0.0
        self.collections: dict[int, int] = {}
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            generation = info["generation"]
            self.collections[generation] = self.collections.get(generation, 0) + 1


def profile_batches(generator: Generator, signer: Signer, records: int, dump: Path | None) -> dict:
    """Where a batch's time goes, in-process (Django's test client: the view, middleware and
    pipeline of the HTTP path, without the socket). A batch of new records and one of updates are
    timed with the garbage collector watched; two more run under cProfile with the collector paused,
    for the share of each step in the rest."""
    import gc

    from django.db import connection
    from django.test import Client

    http = Client(HTTP_HOST="127.0.0.1")
    warm = body_of([generator.new(f"PROF-WARM-{n}") for n in range(10)])
    http.post(PATH + "?dry_run=true", data=warm, content_type="application/json", **signer.meta(warm))

    def post(body: bytes, expected: str) -> None:
        response = http.post(PATH, data=body, content_type="application/json", **signer.meta(body))
        assert response.status_code == 201, response.content[:2000]
        assert response.json()["counts"][expected] == records, response.json()["counts"]

    costs: dict = {}
    timed = [generator.new(f"PROF-T-{n:05d}") for n in range(records)]
    for label, body in (
        ("created", body_of(timed)),
        ("updated", body_of([generator.update(r) for r in timed])),
    ):
        watch = CollectorWatch()
        gc.callbacks.append(watch)
        start = time.perf_counter()
        post(body, label)
        elapsed = time.perf_counter() - start
        gc.callbacks.remove(watch)
        costs[label] = {
            "request_ms": round(elapsed * 1000),
            "garbage_collector": {
                "ms": round(watch.seconds * 1000),
                "share": round(watch.seconds / elapsed, 3),
                "collections_by_generation": {str(g): n for g, n in sorted(watch.collections.items())},
            },
        }
    profiled = [generator.new(f"PROF-P-{n:05d}") for n in range(records)]
    rounds = (("created", body_of(profiled)), ("updated", body_of([generator.update(r) for r in profiled])))
    for label, body in rounds:
        profiler = cProfile.Profile()
        gc.disable()
        profiler.enable()
        post(body, label)
        profiler.disable()
        gc.enable()
        costs[label]["steps_under_cprofile_collector_paused"] = profile_costs(profiler)
        if dump is not None:
            profiler.dump_stats(dump / f"exchange-{connection.vendor}-{label}.prof")
    return costs


# --- One database, in a child process -------------------------------------------------------------


def child(kind: str, url: str, directory: Path, args) -> None:
    records, batches, seed = args.records, args.batches, args.seed
    env, setup_s = platform_setup(directory, url)

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    signers = []
    for number in (1, 2):
        private = Ed25519PrivateKey.generate()
        public = base64.b64encode(
            private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        ).decode()
        token_file = directory / f"token-{number}"
        marsad(
            env, "client", "create", "--organisation", HOLDING, "--client-id", f"{CLIENT_ID}-{number}",
            "--name", f"Banc d'essai {number}", "--public-key", public, "--key-id", f"{KEY_ID}-{number}",
            "--token-file", str(token_file), "--rate", "100000",
        )  # fmt: skip
        signers.append(Signer(private, token_file.read_text().strip(), f"{KEY_ID}-{number}"))
    signer = signers[0]

    import django

    django.setup()
    generator = Generator(seed)

    def rounds(prefix: str, count: int) -> tuple[list[bytes], list[bytes]]:
        new = [[generator.new(f"{prefix}-{b:03d}-{n:05d}") for n in range(records)] for b in range(count)]
        updates = [[generator.update(r) for r in batch] for batch in new]
        return [body_of(batch) for batch in new], [body_of(batch) for batch in updates]

    bodies_new, bodies_update = rounds("BENCH", batches)
    streams = [rounds(f"STREAM{number}", max(1, batches // 2)) for number in (1, 2)]
    warming = [rounds(f"WARM{number}", 1) for number in range(args.workers)]
    from django.db import connection

    connection.close()

    server, base = serve(env, directory, args.workers)
    try:
        import httpx

        httpx.get(f"{base}/api/v1/exchange/keys", timeout=30).raise_for_status()  # the platform's first key
        # Each worker's first batches run cold (imports, statement plans, the catalogue, SQLite's page
        # cache): one batch of new records and one of updates per worker at once, not timed.
        warmers = [signers[number % 2] for number in range(args.workers)]
        send_streams(base, warmers, [new for new, _ in warming], "created", server.pid)
        send_streams(base, warmers, [update for _, update in warming], "updated", server.pid)
        created = send_rounds(base, signer, bodies_new, "created", server.pid)
        updated = send_rounds(base, signer, bodies_update, "updated", server.pid)
        two_streams = {
            "created": send_streams(base, signers, [new for new, _ in streams], "created", server.pid),
            "updated": send_streams(base, signers, [update for _, update in streams], "updated", server.pid),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)

    floor_target = str(directory / "floor.sqlite3") if kind == "sqlite" else url
    floors = floor(kind, floor_target, bodies_new, bodies_update)
    dump = Path(args.profile_out).resolve() if args.profile_out else None
    if dump is not None:
        dump.mkdir(parents=True, exist_ok=True)
    costs = profile_batches(generator, signer, records, dump)
    if kind == "sqlite":
        version = sqlite3.sqlite_version
    else:
        import psycopg

        with psycopg.connect(url) as db:
            version = db.execute("show server_version").fetchone()[0]
    print(
        json.dumps(
            {
                "setup_s": round(setup_s, 1),
                "request_kb": round(statistics.mean(len(b) for b in bodies_new) / 1024),
                "created": created,
                "updated": updated,
                "two_streams": two_streams,
                "floor": floors,
                "platform_share_of_floor": {
                    "created": round(created["records_per_s"] / floors["created"]["records_per_s"], 3),
                    "updated": round(updated["records_per_s"] / floors["updated"]["records_per_s"], 3),
                },
                "dominant_costs": costs,
                "database_version": version,
            }
        )
    )


def run(kind: str, args) -> dict:
    directory = Path(tempfile.mkdtemp(prefix=f"marsad-bench-exchange-{kind}-"))
    database = f"marsad_bench_{os.getpid()}"
    if kind == "sqlite":
        url = f"sqlite:///{directory / 'marsad.sqlite3'}"
    else:
        import psycopg

        server_url = args.postgres_url.rstrip("/")
        with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        url = f"{server_url}/{database}"
    command = [
        sys.executable, __file__, "--child", kind, "--url", url, "--dir", str(directory),
        "--records", str(args.records), "--batches", str(args.batches), "--seed", str(args.seed),
        "--workers", str(args.workers),
        *(["--profile-out", str(Path(args.profile_out).resolve())] if args.profile_out else []),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-4000:])
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        if kind != "sqlite":
            with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def machine() -> dict:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
    }


def ranked(costs: dict) -> dict[str, list[str]]:
    """The costs of a batch as readable lines, largest first: the collector's share of the request,
    then each step's share of the rest (steps nest, so shares do not add up)."""
    out = {}
    for label, figures in costs.items():
        collector = figures["garbage_collector"]
        rest = 1 - collector["share"]
        lines = [
            f"{figures['request_ms']} ms in-process for the batch",
            f"{collector['share']:.0%} cyclic garbage collector ({collector['collections_by_generation']} "
            "collections by generation)",
        ]
        steps = figures["steps_under_cprofile_collector_paused"]
        whole = steps.get("request, whole", {"share": 1.0})
        for name, cost in sorted(steps.items(), key=lambda item: -item[1]["share"]):
            share = cost["share"] / whole["share"] * rest
            if name != "request, whole" and share >= 0.02:
                lines.append(f"{share:.0%} {name}")
        out[label] = lines
    return out


def streams(figures: dict, label: str) -> str:
    two = figures.get("two_streams")
    return f"{two[label]['records_per_s']:,.0f}" if two else "-"


def table(results: dict) -> str:
    rows = [
        ("created/s, end to end, one sender", lambda r: f"{r['created']['records_per_s']:,.0f}"),
        ("updated/s, end to end, one sender", lambda r: f"{r['updated']['records_per_s']:,.0f}"),
        ("created/s, end to end, two senders at once", lambda r: streams(r, "created")),
        ("updated/s, end to end, two senders at once", lambda r: streams(r, "updated")),
        ("median batch, created", lambda r: f"{r['created']['median_batch_ms'] / 1000:.2f} s"),
        ("median batch, updated", lambda r: f"{r['updated']['median_batch_ms'] / 1000:.2f} s"),
        (
            "created per server CPU second",
            lambda r: f"{r['created'].get('records_per_server_cpu_s', 0):,.0f}",
        ),
        (
            "updated per server CPU second",
            lambda r: f"{r['updated'].get('records_per_server_cpu_s', 0):,.0f}",
        ),
        (
            "floor created/s (json.loads + executemany)",
            lambda r: f"{r['floor']['created']['records_per_s']:,.0f}",
        ),
        ("floor updated/s (json.loads + upsert)", lambda r: f"{r['floor']['updated']['records_per_s']:,.0f}"),
        ("platform / floor, created", lambda r: f"{r['platform_share_of_floor']['created']:.1%}"),
        ("platform / floor, updated", lambda r: f"{r['platform_share_of_floor']['updated']:.1%}"),
    ]
    kinds = list(results)
    lines = ["| Figure | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(results[k]) for k in kinds) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1000, help="records per batch (at most 1,000)")
    parser.add_argument("--batches", type=int, default=10, help="batches per round (created, then updated)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn's worker processes")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile-out", help="also write the raw cProfile files to this folder")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, Path(args.dir), args)
        return
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"runs": {}}
    for kind in args.databases.split(","):
        load_before = os.getloadavg()[0]
        figures = run(kind, args)
        figures.update(
            {"records_per_batch": args.records, "batches": args.batches, "seed": args.seed}
            | {"workers": args.workers}
        )
        figures["load_average_1min"] = {
            "before": round(load_before, 2),
            "after": round(os.getloadavg()[0], 2),
        }
        figures["date"] = time.strftime("%Y-%m-%d")
        results["runs"][kind] = figures
        results.update(
            {
                "benchmark": "exchange",
                "server": f"gunicorn config.wsgi, {args.workers} sync workers, DEBUG off, on loopback; "
                "one sending system with one batch at a time, then two at once",
                "goal": "3,000 records/s end to end on SQLite",
                "machine": machine(),
            }
        )
        results["dominant_costs"] = {
            k: ranked(f["dominant_costs"]) for k, f in sorted(results["runs"].items())
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(results["runs"]))
    for kind, rounds in results["dominant_costs"].items():
        for label, lines in rounds.items():
            print(f"\n{kind}, one batch {label}:")
            for line in lines:
                print(f"  {line}")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
