"""Benchmark: loading the territories and serving their GeoJSON.

    .venv/bin/python bench/territories.py [--database-url URL]

Loads into a scratch database (SQLite file under bench/scratch/ by default), then measures the
boundary join, a first load, a refresh, and the GeoJSON responses the map asks for. Figures go to
bench/results/territories.json; the median of several runs is kept for the requests.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    scratch = ROOT / "bench" / "scratch" / "territories.sqlite3"
    parser.add_argument("--database-url", default=f"sqlite:///{scratch}")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    (ROOT / "bench" / "scratch").mkdir(parents=True, exist_ok=True)
    if args.database_url.startswith("sqlite:///"):
        Path(args.database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["MARSAD_VAR_DIR"] = str(ROOT / "bench" / "scratch")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    os.environ["MARSAD_DEBUG"] = "0"

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from marsad.territories.boundaries import join_boundaries
    from marsad.territories.services import territories_load

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)

    figures: dict = {}
    start = time.perf_counter()
    join_boundaries()
    figures["boundary_join_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    territories_load()
    figures["first_load_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    territories_load()
    figures["refresh_s"] = round(time.perf_counter() - start, 2)

    client = Client(HTTP_HOST="127.0.0.1")
    requests = {
        "geojson_regions": "/api/v1/territories/geojson?indicator=slum_households",
        "geojson_provinces_of_fes_meknes": "/api/v1/territories/geojson?parent=03",
        "geojson_communes_of_taroudannt": "/api/v1/territories/geojson?parent=09.541",
        "list_communes_page": "/api/v1/territories?level=commune&page_size=100",
        "search_arabic": "/api/v1/territories?q=%D8%A7%D8%B5%D9%8A%D9%84%D9%87",
        "detail_commune": "/api/v1/territories/04.281.01.13",
    }
    for name, url in requests.items():
        timings, size = [], 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - start)
            assert response.status_code == 200, (url, response.status_code)
            size = len(response.content)
        figures[name] = {"median_ms": round(statistics.median(timings) * 1000, 1), "bytes": size}

    result = {
        "benchmark": "territories",
        "database": args.database_url.split(":", 1)[0],
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
        "figures": figures,
    }
    engine = "postgresql" if result["database"].startswith("postgres") else "sqlite"
    out = ROOT / "bench" / "results" / f"territories-{engine}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
