"""Benchmark: generating the demo dataset (``marsad demo_data``) into a fresh SQLite file.

    .venv/bin/python bench/demo_data.py [--sizes 3000,100000] [--seed 1] [--time-limit 1800]

For each size: a new temporary directory with its own SQLite file, ``migrate``, ``createcachetable``,
``territories_load`` and ``reference_load`` (timed apart), then ``demo_generate`` (no users), all in a
child process configured like ``make demo`` (config.settings.dev, DEBUG off). Records projects,
records sent, versions written, seconds and versions per second to bench/results/demo-data.json
(results of sizes not run this time are kept). A size that exceeds the time limit is stopped and
recorded with what it had done, the rate so far and an extrapolated total.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "demo-data.json"


def child(size: int, seed: int, directory: Path) -> None:
    """Runs in the child process: set up the database, generate, print one JSON line."""
    os.environ["DATABASE_URL"] = f"sqlite:///{directory / 'marsad.sqlite3'}"
    os.environ["MARSAD_VAR_DIR"] = str(directory)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
    os.environ["MARSAD_DEBUG"] = "0"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from marsad.registry.demo import demo_generate

    start = time.perf_counter()
    for command in (
        ["migrate", "--verbosity", "0"],
        ["createcachetable"],
        ["territories_load"],
        ["reference_load"],
    ):
        call_command(*command, stdout=open(os.devnull, "w"))  # noqa: SIM115 - closed with the process
    setup_s = time.perf_counter() - start

    progress_file = directory / "progress.json"
    state = {"records_done": 0, "records_total": 0, "started": time.perf_counter(), "written": 0.0}

    def progress(label: str, total: int):
        if label != "Versions":
            return lambda n: None
        state["records_total"] = total

        def advance(n: int) -> None:
            state["records_done"] += n
            now = time.perf_counter()
            if now - state["written"] > 5:
                state["written"] = now
                progress_file.write_text(
                    json.dumps(
                        {
                            "records_done": state["records_done"],
                            "records_total": total,
                            "seconds": round(now - state["started"], 1),
                        }
                    )
                )

        return advance

    summary = demo_generate(projects=size, seed=seed, users=False, progress=progress)
    database = directory / "marsad.sqlite3"
    print(
        json.dumps(
            {
                "projects": summary.projects,
                "records": summary.records,
                "versions": summary.versions,
                "months": summary.months,
                "agreements": summary.agreements_created,
                "published": summary.published,
                "outcomes": dict(sorted(summary.outcomes.items())),
                "setup_s": round(setup_s, 1),
                "seconds": round(summary.seconds, 1),
                "versions_per_s": round(summary.versions / summary.seconds, 1),
                "database_mb": round(database.stat().st_size / 2**20, 1),
                "completed": True,
            }
        )
    )


def run(size: int, seed: int, time_limit: float) -> dict:
    directory = Path(tempfile.mkdtemp(prefix=f"marsad-demo-{size}-"))
    command = [sys.executable, __file__, "--child", str(size), "--seed", str(seed), "--dir", str(directory)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=time_limit)
        if process.returncode != 0:
            raise RuntimeError(err[-2000:])
        result = json.loads(out.strip().splitlines()[-1])
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        progress_file = directory / "progress.json"
        if not progress_file.exists():
            raise RuntimeError(
                f"{size} projects: stopped after {time_limit} s before sending any record"
            ) from None
        done = json.loads(progress_file.read_text())
        rate = done["records_done"] / max(done["seconds"], 0.1)
        result = {
            "projects": size,
            "completed": False,
            "stopped_after_s": round(time.perf_counter() - started, 1),
            "records": done["records_total"],
            "records_done": done["records_done"],
            "seconds_so_far": done["seconds"],
            "versions_per_s_so_far": round(rate, 1),
            "extrapolated_seconds": round(done["records_total"] / rate, 0),
        }
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="3000,100000", help="comma-separated numbers of projects")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=1800, help="seconds per size before stopping")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.seed, Path(args.dir))
        return
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"runs": {}}
    for size in (int(part) for part in args.sizes.split(",")):
        figures = run(size, args.seed, args.time_limit)
        figures["seed"] = args.seed
        figures["date"] = time.strftime("%Y-%m-%d")
        results["runs"][str(size)] = figures
        print(json.dumps({str(size): figures}, ensure_ascii=False))
        results.update(
            {
                "benchmark": "demo-data",
                "database": "sqlite",
                "python": platform.python_version(),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            }
        )
        results["runs"] = dict(sorted(results["runs"].items(), key=lambda item: int(item[0])))
        RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
