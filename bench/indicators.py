"""Benchmark: the indicator engine at national scale, against DuckDB over the same raw facts.

    .venv/bin/python bench/indicators.py [--projects 100000] [--months 60] [--sample 1000]
        [--databases sqlite,postgresql] [--repeat 5] [--postgres-url postgresql://postgres@127.0.0.1:5432/]
        [--postgres-database bench_ind] [--seed 1] [--keep]

Each database runs in a child process on a fresh database: an SQLite file under bench/scratch/, or the
PostgreSQL database ``--postgres-database`` (``bench_ind``; dropped at the end unless ``--keep``). ``marsad
migrate``, ``createcachetable``, ``territories_load`` and ``reference_load`` first (timed apart as
set-up). Then the dataset, over the 12 regions' real communes and the catalogue's programmes:

- a sample of ``--sample`` Al Omrane projects (the demo generator's plans whose first report falls
  in the window and that still run today) sent month by month through ``records_apply``, with their
  versions, and their facts built by the engine (``facts_refresh``);
- the other projects written directly, without versions: project rows with their primary commune,
  and ``--months`` months of monthly facts (``ProjectMonth``, with each programme's outputs in
  ``OutputMonth``) from each project's first report in the window to its end or the current month,
  carried forward between quarterly reports, their completeness from ``measures.completeness``,
  with ``executemany`` on SQLite and ``COPY`` on PostgreSQL;
- the rollups built by the engine's own ``rollups_refresh`` (timed).

Measured then:

- a submission of one progress report for each project of the sample, through the exchange's
  ``submission_process`` (the service behind ``POST /api/v1/exchange/submissions``, here without the
  HTTP and signature layers that bench/exchange.py measures), and the refresh it queues, run as
  ``marsad db_worker`` runs it (facts and rollups of those projects); then how many fact, output and
  rollup rows it wrote against those that actually changed, where its time goes (its two parts run
  again with the statements captured, its Python steps timed apart), and the time to sum only the
  rollup cells that changed in two SQL shapes;
- the national dashboard's figures through ``selectors.figures`` for a national reader (from the
  rollups): by region and by programme for the current month, and the trend of every month of the
  window; the same from the raw facts (``source="facts"``), for information;
- a province's intelligence page (``marsad.indicators.intelligence.intelligence``) for the prefecture
  of Casablanca (skipped while that module does not exist);
- the floor: the same three aggregates computed by DuckDB (in memory, multi-threaded) over the raw
  facts exported from the database, whose numbers must equal the engine's (the run fails otherwise).

Figures are medians (and minima) of ``--repeat`` calls after one warm-up call. A figure that misses
its goal is run once more with its SQL statements captured, and the slowest are recorded. Results go
to bench/results/indicators.json (databases not run this time are kept) and the table to the
"Indicators" section of bench/README.md.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import hashlib
import importlib
import importlib.util
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from exchange import machine, platform_setup  # noqa: E402 - the benches' shared helpers

ROOT = BENCH.parent
RESULTS = BENCH / "results" / "indicators.json"
README = BENCH / "README.md"
SCRATCH = BENCH / "scratch"
PG_DATABASE = "bench_ind"
HOLDING = "MA-ALOMRANE"
CLIENT_ID = "bench-indicators"
PROVINCE = "06.141"  # the prefecture of Casablanca: the most projects and households of any province
GOALS = {"refresh_s": 2.0, "national_ms": 300.0, "duckdb_ratio": 5.0}
FIGURES = ("by_region", "by_programme", "trend")
TABLE_START = "<!-- indicators:table -->"
TABLE_END = "<!-- /indicators:table -->"
HUNDREDTH = Decimal("0.01")

Progress = Callable[[str, int], Callable[[int], None]]


def no_progress(label: str, total: int) -> Callable[[int], None]:
    return lambda n: None


# --- Months ---------------------------------------------------------------------------------------


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_date(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Window:
    """The months of the dataset: ``months`` months ending with today's."""

    today: date
    months: int

    @property
    def last(self) -> int:
        return month_index(self.today)

    @property
    def first(self) -> int:
        return self.last - self.months + 1

    @property
    def first_month(self) -> date:
        return month_date(self.first)

    @property
    def last_month(self) -> date:
        return month_date(self.last)

    @property
    def history_end(self) -> date:
        """The sample's reports run to the end of last month; the submission brings this month's."""
        return self.last_month - timedelta(days=1)


def national_scope():
    from marsad.accounts.choices import Role
    from marsad.accounts.scoping import Scope

    return Scope(roles=frozenset({Role.NATIONAL_ANALYST}), label="bench")


# --- The sample: projects with versions -----------------------------------------------------------


def organisations() -> set[str]:
    """The organisation codes the demo's plans may name, the regions' project agencies included
    (created here as the demo generator creates them)."""
    from marsad.accounts.models import Organisation
    from marsad.registry import demo

    demo._agencies_create(demo.DemoActor())  # the demo's regional project agencies (bulk operators)
    return set(Organisation.objects.values_list("code", flat=True))


def sample_plans(count: int, window: Window, seed: int, sites) -> list:
    """``count`` Al Omrane plans of the demo generator whose first report is in the window and that
    still run today (works started first, then projects still in preparation)."""
    from marsad.registry import demo

    planner = demo.Planner(
        projects=count, seed=seed, today=window.history_end, sites=sites, organisations=organisations()
    )
    in_works, preparing = [], []
    for _ in range(200):
        if len(in_works) >= count:
            break
        with localcontext(demo.DECIMALS):
            plans = planner.generic(2000)
        for plan in plans:
            if (
                plan.operator.startswith(HOLDING)
                and plan.months
                and month_index(plan.first) >= window.first
                and plan.withdrawal_month is None
                and plan.cancelled is None
                and (plan.end is None or plan.end > window.today)
            ):
                (in_works if plan.start <= window.history_end else preparing).append(plan)
    chosen = (in_works + preparing)[:count]
    if len(chosen) < count:
        raise RuntimeError(f"only {len(chosen)} sample projects found for {count}")
    return chosen


def sample_history(plans: list, window: Window, progress: Progress) -> tuple[list[int], int]:
    """Send every report of the sample's plans month by month through ``records_apply`` (as the demo
    generator does), then build their facts. Returns the projects' ids and the versions written."""
    from zoneinfo import ZoneInfo

    from marsad.audit.services import SystemActor
    from marsad.indicators.apps import versions_committed
    from marsad.indicators.services import facts_refresh
    from marsad.registry import demo, hooks
    from marsad.registry.choices import SourceKind
    from marsad.registry.rules import Catalogue
    from marsad.registry.services import records_apply

    buckets: dict[int, list[dict]] = defaultdict(list)
    for _plan, month, record in demo.iter_records(plans, today=window.history_end):
        buckets[month].append(record)
    advance = progress("Sample: versions", sum(len(r) for r in buckets.values()))
    actor = SystemActor("bench")
    catalogue = Catalogue.load(today=window.history_end)
    zone = ZoneInfo("Africa/Casablanca")
    ids: set[int] = set()
    versions = 0
    # The facts of the sample are built once at the end, not by a task after every month.
    hooks.unregister_after_commit(versions_committed)
    try:
        for month in sorted(buckets):
            records = buckets[month]
            day = date.fromisoformat(records[0]["as_of"])
            catalogue.today = day
            for start in range(0, len(records), 1000):
                batch = records_apply(
                    actor=actor,
                    records=records[start : start + 1000],
                    source_kind=SourceKind.COMMAND,
                    source_id=f"bench:{month_date(month):%Y-%m}",
                    received_at=datetime(day.year, day.month, day.day, 20, tzinfo=zone),
                    catalogue=catalogue,
                )
                rejected = [r for r in batch.results if r.outcome == "rejected"]
                if rejected:
                    raise RuntimeError(f"sample record rejected: {rejected[0].as_dict()}")
                ids |= {v.project_id for v in batch.versions}
                versions += len(batch.versions)
                advance(len(records[start : start + 1000]))
    finally:
        hooks.register_after_commit(versions_committed)
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        facts_refresh(ordered[start : start + 500], today=window.today, rollups=False)
    return ordered, versions


# --- The bulk: projects and facts written directly ------------------------------------------------

BEFORE_WORKS = ("PROG", "CONV", "ETUD", "AO")
P_CANCELLED, P_STALLED, P_LATE, P_QUARTERLY, P_PUBLISHED = 0.03, 0.07, 0.2, 0.35, 0.65


@dataclass(slots=True)
class Synthetic:
    """One directly written project: its life in month indices (first report, start of works, end
    or None while it runs; cancellation, stall) and the parameters of its curves."""

    number: int
    programme: str
    site: Any
    operator: str
    budget: int
    area: float | None
    first: int
    start: int
    works: int
    end: int | None
    cancelled: int | None
    stall_at: int | None
    stall_months: int
    stall_status: str
    quarterly: bool
    k: float
    study: float
    award: float
    final: float
    pay: float
    published: bool
    outputs: list[tuple[str, float, str]]

    def curve(self, x: float) -> float:
        if x <= 0:
            return 0.0
        if x >= 1:
            return 100.0
        low = 1 / (1 + math.exp(self.k / 2))
        high = 1 / (1 + math.exp(-self.k / 2))
        return 100 * (1 / (1 + math.exp(-self.k * (x - 0.5))) - low) / (high - low)

    def state(self, month: int) -> tuple[str, float | None, int | None, int | None]:
        """(status, progress, committed, paid) reported in ``month``."""
        cancelled = self.cancelled is not None and month >= self.cancelled
        if cancelled:
            month = self.cancelled
        budget = self.budget
        if month < self.start:
            phase = BEFORE_WORKS[min(3, (month - self.first) * 4 // max(1, self.start - self.first))]
            if phase == "PROG":
                status, progress, committed, paid = phase, None, None, None
            else:
                committed = round(budget * self.study) if phase in ("ETUD", "AO") else 0
                status, progress, paid = phase, 0.0, committed // 2 if phase == "AO" else 0
        elif self.end is not None and month >= self.end:
            committed = round(budget * self.final)
            status = "LIVR" if self.programme in DELIVERED else "ACHV"
            progress, paid = 100.0, min(committed, round(budget * (self.study + self.pay)))
        else:
            elapsed = month - self.start + 1
            stalled = False
            if self.stall_at is not None and month >= self.stall_at:
                pause = month - self.stall_at + 1
                ongoing = not self.stall_months or pause <= self.stall_months
                elapsed -= pause if not self.stall_months else min(pause, self.stall_months)
                stalled = ongoing
            progress = min(99.5, round(self.curve(elapsed / self.works), 2))
            share = progress / 100
            committed = round(budget * (self.award + (self.final - self.award) * share))
            paid = min(committed, round(budget * (self.study + share * self.pay)))
            status = self.stall_status if stalled else "ENCO"
        return ("ANNU" if cancelled else status), progress, committed, paid

    def achieved(self, curve: str, target: float, status: str, progress: float | None) -> float | None:
        if curve == "none" or progress is None or status in BEFORE_WORKS:
            return None
        if curve == "delivered":
            return target if status == "LIVR" else None
        share = progress / 100
        value = min(1.0, share * 1.6) if curve == "early" else share * share if curve == "late" else share
        return math.floor(target * value * 100) / 100


DELIVERED = ("VSB", "HMR", "LS250", "LFVIT140")
AMOUNTS = ("progress", "committed", "paid")


class Bulk:
    """Draws the directly written projects: programmes by the demo's weights, communes weighted by
    the census need each programme answers, operators as in the demo, budgets and durations in the
    programme's ranges, lives overlapping the window."""

    def __init__(self, seed: int, window: Window, sites):
        from marsad.indicators import measures
        from marsad.registry import demo

        self.measures = measures
        self.filled: dict[tuple, Decimal] = {}
        self.rng = random.Random(seed + 7)
        self.window = window
        self.sites = sites
        self.demo = demo
        self.programmes = list(demo.PROGRAMME_WEIGHTS)
        self.cumulative = []
        total = 0.0
        for code in self.programmes:
            total += demo.PROGRAMME_WEIGHTS[code]
            self.cumulative.append(total)

    def project(self, number: int) -> Synthetic:
        demo, rng, window = self.demo, self.rng, self.window
        point = rng.random() * self.cumulative[-1]
        programme = self.programmes[
            min(bisect.bisect_right(self.cumulative, point), len(self.programmes) - 1)
        ]
        if programme == "VN":  # the tranches of the new towns
            code, _, _, _ = demo.NEW_TOWNS[rng.randrange(len(demo.NEW_TOWNS))]
            site = self.sites.by_code[code]
        else:
            site = self.sites.pick(rng, programme)
        if programme in demo.HOUSING or (
            programme in demo.MIXED and rng.random() < demo.AL_OMRANE_SHARE.get(programme, 0)
        ):
            operator = demo.REGION_SUBSIDIARY[site.region]
        else:
            operator = demo.agency_code(site.region)
        low, high = demo.BUDGET_RANGES[programme]
        u = rng.random()
        budget = (low + int((high - low) * u * u * u)) // 1000 * 1000
        area = None
        if programme in demo.AREAS_HA:
            a, b = demo.AREAS_HA[programme]
            area = round(a + (b - a) * rng.random(), 1)
        lead = rng.randint(6, 24) if programme in ("VN", "PU") else rng.randint(3, 15)
        shortest, longest = demo.DURATIONS[programme]
        works = rng.randint(shortest, longest)
        if rng.random() < P_LATE:
            works = int(works * (1.3 + 0.7 * rng.random()))
        draw = rng.random()
        stall_at, stall_months, cancelled = None, 0, None
        if draw < P_STALLED:
            stall_at = int(works * (0.15 + 0.55 * rng.random()))  # months into the works, for now
            stall_months = 0 if rng.random() < 0.5 else rng.randint(4, 14)  # 0: still stalled
        span = lead + works + stall_months
        first = rng.randint(window.first - span + 1, window.last)
        start = first + lead
        if stall_at is not None:
            stall_at += start
        end = None if (stall_at is not None and not stall_months) else start + works + stall_months
        if P_STALLED <= draw < P_STALLED + P_CANCELLED:
            cancelled = first + rng.randint(1, lead + works // 2)
            if end is not None and cancelled >= end:
                cancelled = None
            else:
                end = None  # a cancelled project has no end: its facts run on to today's month
        plan = Synthetic(
            number=number, programme=programme, site=site, operator=operator, budget=budget, area=area,
            first=first, start=start, works=works, end=end, cancelled=cancelled, stall_at=stall_at,
            stall_months=stall_months, stall_status="SUSP" if rng.random() < 0.3 else "DIFF",
            quarterly=rng.random() < P_QUARTERLY, k=7 + 3 * rng.random(), study=0.01 + 0.03 * rng.random(),
            award=0.55 + 0.3 * rng.random(), final=0.93 + 0.07 * rng.random(), pay=0.8 + 0.15 * rng.random(),
            published=rng.random() < P_PUBLISHED, outputs=[],
        )  # fmt: skip
        found: dict[str, float] = {}
        for code, rule, curve in demo.OUTPUTS[programme]:
            kind, _, rest = rule.partition(":")
            if kind == "budget":
                lo, hi = (float(v) for v in rest.split(":"))
                value = float(max(1, int(budget / (lo + (hi - lo) * rng.random()))))
            elif kind == "same":
                value = found[rest]
            elif kind == "lots":
                lo, hi = (float(v) for v in rest.split(":"))
                value = float(int((area or 1) * (lo + (hi - lo) * rng.random())))
            else:
                value = area or 1.0
            found[code] = value
            plan.outputs.append((code, value, curve))
        return plan

    def completeness(self, plan: Synthetic, month: int) -> Decimal:
        """The engine's completeness (``measures.completeness``) of the record reported in ``month``:
        a document with the fields such a report fills (bilingual title, no description, agreement,
        financing or milestones), computed once per combination of filled fields."""
        status, progress, committed, paid = plan.state(month)
        reported = min(month, plan.cancelled) if plan.cancelled is not None else month
        key = (
            plan.area is not None,
            plan.site.lat is not None,
            bool(plan.outputs),
            reported >= plan.start,
            plan.end is not None and month >= plan.end,
            progress is not None,
            committed is not None,
            paid is not None,
        )
        value = self.filled.get(key)
        if value is None:
            area, location, outputs, started, ended, *amounts = key
            document = {
                "title": {"fr": "titre", "ar": "عنوان"},
                "description": {},
                "programme": plan.programme,
                "status": status,
                "communes": {plan.site.code: {"primary": True}},
                "location": {"lat": 0, "lon": 0} if location else None,
                "area_ha": "1" if area else None,
                "planned_start": "2020-01-01",
                "planned_end": "2021-01-01",
                "actual_start": "2020-01-01" if started else None,
                "actual_end": "2021-01-01" if ended else None,
                "budget": "1",
                "outputs": {"X": {}} if outputs else {},
                "as_of": "2020-01-01",
                **{name: "0" if filled else None for name, filled in zip(AMOUNTS, amounts, strict=True)},
            }
            value = self.filled[key] = self.measures.completeness(document)
        return value

    def months(self, plan: Synthetic):
        """(month, version in force, reported in the month, state) of every month of the window the
        project has facts for: from its first report to its end (or today's month), carried forward
        between reports. The state is (status, progress, committed, paid, completeness)."""
        window = self.window
        stop = window.last
        for event in (plan.end, plan.cancelled):
            if event is not None:
                stop = min(stop, event)
        last = window.last if plan.end is None or plan.end > window.last else plan.end
        version = 0
        state = None
        reported_month = None
        for month in range(plan.first, last + 1):
            reported = month <= stop and (
                not plan.quarterly
                or (month - plan.first) % 3 == 0
                or month in (plan.start, plan.end, plan.cancelled)
            )
            if reported:
                version += 1
                reported_month = month
                state = None
            if month < window.first:
                continue
            if state is None:
                state = (*plan.state(reported_month), self.completeness(plan, reported_month))
            yield month, version, reported, state


class Writer:
    """Bulk inserts of plain values: ``executemany`` on SQLite, ``COPY`` on PostgreSQL."""

    def __init__(self):
        from django.db import connection

        self.connection = connection
        self.vendor = connection.vendor
        self.month_values: dict[int, Any] = {}

    def month(self, index: int):
        value = self.month_values.get(index)
        if value is None:
            day = month_date(index)
            value = self.month_values[index] = day.isoformat() if self.vendor == "sqlite" else day
        return value

    def write(self, model, names: Sequence[str], rows: list[tuple]) -> int:
        if not rows:
            return 0
        opts = model._meta
        quote = self.connection.ops.quote_name
        table = quote(opts.db_table)
        columns = ", ".join(quote(opts.get_field(name).column) for name in names)
        with self.connection.cursor() as cursor:
            if self.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(names))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
        return len(rows)


FACT_COLUMNS = (
    "project", "month", "region_code", "province_code", "commune_code", "programme_code", "operator",
    "status_code", "version", "reported", "budget", "progress", "committed", "paid", "completeness",
)  # fmt: skip
OUTPUT_FACT_COLUMNS = (
    "project", "month", "indicator", "region_code", "province_code", "programme_code", "operator", "target",
    "achieved",
)  # fmt: skip
PROJECT_COLUMNS = (
    "id", "public_id", "operator", "operator_ref", "title_fr", "title_ar", "description_fr", "description_ar",
    "programme", "status", "agreement", "primary_commune", "region_code", "province_code", "latitude",
    "longitude", "area_ha", "planned_start", "planned_end", "actual_start", "actual_end",
    "initial_planned_end", "budget", "as_of", "progress", "committed", "paid", "published", "published_at",
    "withdrawn", "withdrawn_at", "withdrawal_reason", "version", "sha256", "warning_codes", "created_at",
    "updated_at", "search_text",
)  # fmt: skip


def _decimal(value: float | int | None) -> Decimal | None:
    return None if value is None else Decimal(f"{value:.2f}")


def bulk_load(count: int, window: Window, seed: int, sites, progress: Progress, chunk: int = 2000) -> dict:
    """Write ``count`` projects, their primary communes and their facts directly; one transaction
    per chunk of projects."""
    from django.db import transaction
    from django.utils import timezone

    from marsad.accounts.models import Organisation
    from marsad.core import rows
    from marsad.indicators.models import OutputMonth, ProjectMonth
    from marsad.registry.models import Project, ProjectCommune
    from marsad.registry.services import public_id_for
    from marsad.territories.models import Territory

    bulk = Bulk(seed, window, sites)
    writer = Writer()
    operators = dict(Organisation.objects.values_list("code", "id"))
    territories = {code: (pk, path) for pk, code, path in Territory.objects.values_list("id", "code", "path")}
    with transaction.atomic():
        ids = rows.ids_reserve(Project, count)
    now = timezone.now()
    advance = progress("Bulk: projects and facts", count)
    counts = {"projects": 0, "facts": 0, "output_facts": 0}
    for start in range(0, count, chunk):
        projects, communes, facts, outputs = [], [], [], []
        for offset in range(start, min(start + chunk, count)):
            plan = bulk.project(offset + 1)
            pk = ids[offset]
            site = plan.site
            operator = operators[plan.operator]
            commune_id, path = territories[site.code]
            month = writer.month
            last_state = None
            last_version = 0
            last_reported = plan.first
            for index, version, reported, state in bulk.months(plan):
                status, progress_value, committed, paid, filled = state
                facts.append(
                    (pk, month(index), site.region, site.province, site.code, plan.programme, operator,
                     status, version, reported, plan.budget, progress_value, committed, paid, filled)
                )  # fmt: skip
                outputs.extend(
                    (pk, month(index), code, site.region, site.province, plan.programme, operator, target,
                     plan.achieved(curve, target, status, progress_value))
                    for code, target, curve in plan.outputs
                )  # fmt: skip
                last_state, last_version = state, version
                if reported:
                    last_reported = index
            if last_state is None:
                raise RuntimeError(f"project {plan.number} has no month in the window")
            status, progress_value, committed, paid, _ = last_state
            reference = f"BN-{plan.programme}-{plan.number:06d}"
            title = f"{plan.programme} {site.name_fr} n° {plan.number}"
            as_of = min(month_date(last_reported + 1) - timedelta(days=1), window.today)
            ended = plan.end is not None and plan.end <= window.last
            started = plan.start <= min(window.last, plan.cancelled or plan.start)
            planned_end = month_date(plan.start + plan.works)
            title_ar = f"{plan.programme} {site.name_ar} رقم {plan.number}"
            projects.append(
                (
                    pk, public_id_for(plan.operator, reference), operator, reference, title, title_ar, "", "",
                    plan.programme, status, None, commune_id, site.region, site.province, site.lat, site.lon,
                    _decimal(plan.area), month_date(plan.start), planned_end,
                    month_date(plan.start) if started else None, month_date(plan.end) if ended else None,
                    planned_end, Decimal(plan.budget), as_of, _decimal(progress_value), _decimal(committed),
                    _decimal(paid), plan.published, now if plan.published else None, False, None, "",
                    max(1, last_version), hashlib.sha256(reference.encode()).hexdigest(), [], now, now,
                    title.lower(),
                )
            )  # fmt: skip
            communes.append((pk, commune_id, True, None, path))
        with transaction.atomic():
            rows.insert_rows(Project, PROJECT_COLUMNS, projects)
            rows.insert_rows(
                ProjectCommune, ("project", "territory", "is_primary", "share", "path"), communes
            )
            counts["facts"] += writer.write(ProjectMonth, FACT_COLUMNS, facts)
            counts["output_facts"] += writer.write(OutputMonth, OUTPUT_FACT_COLUMNS, outputs)
        counts["projects"] += len(projects)
        advance(len(projects))
    return counts


def analyse() -> None:
    """PostgreSQL: statistics for the planner, as autovacuum would gather them after such a load.
    SQLite: nothing (the platform never runs ANALYZE on it)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


# --- The submission and the refresh it queues ------------------------------------------------------


def submission_records(plans: list, window: Window) -> list[dict]:
    """Each sample project's report of today: progress, amounts, outputs and status move on."""
    from marsad.registry import demo

    with localcontext(demo.DECIMALS):
        return [plan.record(window.today) for plan in plans]


def submit(records: list[dict]) -> dict:
    """One submission of ``records`` through the exchange's pipeline, for Al Omrane's client."""
    from marsad.accounts.models import Organisation
    from marsad.audit.services import SystemActor
    from marsad.exchange.models import ApiClient
    from marsad.exchange.services import client_create, submission_process

    client = ApiClient.objects.filter(client_id=CLIENT_ID).first()
    if client is None:
        client, _ = client_create(
            actor=SystemActor("bench"), client_id=CLIENT_ID, name="Banc d'essai des indicateurs",
            organisation=Organisation.objects.get(code=HOLDING), rate_per_minute=100_000,
        )  # fmt: skip
    body = json.dumps({"records": records}, ensure_ascii=False).encode()
    start = time.perf_counter()
    processed = submission_process(
        records=json.loads(body)["records"], base_versions=[None] * len(records),
        idempotency_key=uuid.uuid4().hex, digest=hashlib.sha256(body).hexdigest(), client=client,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    counts = processed.receipt["counts"]
    if processed.status != 201 or counts.get("updated") != len(records):
        raise RuntimeError(f"submission: {processed.status} {counts}")
    return {"records": len(records), "seconds": round(seconds, 3), "counts": counts}


TASK_PATH = "marsad.indicators.tasks.facts_refresh_task"


def refresh_queued(window: Window) -> dict:
    """Run the refresh the submission queued, as ``marsad db_worker`` runs it, timed; count the rows
    it wrote (the primary keys above the largest before it) against the fact rows that actually
    changed; then, to see where its time goes, run its two parts again with the SQL statements
    captured (the facts of the same projects, which now reads and compares them and writes nothing,
    and the rollup cells that changed, read and summed again) and its Python steps timed apart; and
    time the sums of only the changed cells in two SQL shapes (an OR of keys, a row-value ``IN``)."""
    from django.db import connection, transaction
    from django.db.models import Max
    from django.test.utils import CaptureQueriesContext
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    from marsad.indicators.models import OutputMonth, ProjectMonth, Rollup
    from marsad.indicators.services import facts_refresh, rollups_refresh_cells

    queued = list(DBTaskResult.objects.ready().filter(task_path=TASK_PATH))
    if len(queued) != 1:
        raise RuntimeError(f"expected one queued facts refresh, found {len(queued)}")
    task = queued[0]
    ids = sorted(task.args_kwargs["args"][0])
    worker = Worker(
        queue_names=["*"], interval=0, batch=True, backend_name=task.backend_name, startup_delay=False,
        max_tasks=None, worker_id="bench", excluded_queue_names=[],
    )  # fmt: skip
    before = facts_snapshot(ids)
    tables = (ProjectMonth, OutputMonth, Rollup)
    largest = [model.objects.aggregate(last=Max("id"))["last"] or 0 for model in tables]
    start = time.perf_counter()
    worker.run_task(task)
    seconds = time.perf_counter() - start
    task.refresh_from_db()
    if task.status != "SUCCESSFUL":
        raise RuntimeError(f"the facts refresh failed: {task.traceback[-2000:]}")
    written = [model.objects.filter(id__gt=last).count() for model, last in zip(tables, largest, strict=True)]
    after = facts_snapshot(ids)
    changed = changes(before, after)
    cells = changed.pop("cells")
    with CaptureQueriesContext(connection) as facts_queries:
        start = time.perf_counter()
        rerun = facts_refresh(ids, today=window.today, rollups=False)
        facts_s = time.perf_counter() - start
    # In a transaction, as inside facts_refresh (alone, every row of the inserts would commit).
    start = time.perf_counter()
    with CaptureQueriesContext(connection) as rollup_queries, transaction.atomic():
        rewritten = rollups_refresh_cells(cells)
    rollups_s = time.perf_counter() - start
    return {
        "projects": len(ids),
        "seconds": round(seconds, 3),
        "goal_s": GOALS["refresh_s"],
        "met": seconds < GOALS["refresh_s"],
        "months_written": written[0],
        "output_months_written": written[1],
        "rollup_rows_written": written[2],
        "changed": changed,
        "parts_rerun": {
            "facts_s": round(facts_s, 3),
            "facts_rows_written": rerun.months + rerun.outputs,
            "rollup_cells_s": round(rollups_s, 3),
            "rollup_rows_written": rewritten,
            "facts_queries": len(facts_queries.captured_queries),
            "rollup_queries": len(rollup_queries.captured_queries),
            "facts_python_steps": python_steps(ids, window),
        },
        "slowest_queries": slowest(
            [*facts_queries.captured_queries, *rollup_queries.captured_queries], count=8
        ),
        "changed_cells_only": cells_sums(cells),
    }


def facts_snapshot(ids: list[int]) -> tuple[dict, dict]:
    """The facts and output facts of these projects as rows keyed by (project, month[, indicator])."""
    from marsad.indicators.models import OutputMonth, ProjectMonth
    from marsad.indicators.services import MONTH_COLUMNS, OUTPUT_COLUMNS

    months, outputs = {}, {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in ProjectMonth.objects.filter(project_id__in=chunk).values_list(*MONTH_COLUMNS):
            months[row[:2]] = row
        for row in OutputMonth.objects.filter(project_id__in=chunk).values_list(*OUTPUT_COLUMNS):
            outputs[row[:3]] = row
    return months, outputs


def changes(before: tuple[dict, dict], after: tuple[dict, dict]) -> dict:
    """How many fact and output rows a refresh added, removed or changed, and the rollup cells
    (month, province, programme, operator) whose sums those fact rows enter."""
    counts = {}
    cells: set[tuple] = set()
    for name, old, new in (("facts", before[0], after[0]), ("output_facts", before[1], after[1])):
        differing = [key for key in old.keys() | new.keys() if old.get(key) != new.get(key)]
        counts[name] = {"before": len(old), "after": len(new), "differing": len(differing)}
        if name == "facts":
            for key in differing:
                for row in (old.get(key), new.get(key)):
                    if row is not None:
                        cells.add((row[1], row[3], row[5], row[6]))  # month, province, programme, operator
    counts["rollup_cells"] = len(cells)
    counts["months_of_those_cells"] = sorted({cell[0].isoformat()[:7] for cell in cells})
    counts["cells"] = cells
    return counts


def python_steps(ids: list[int], window: Window) -> dict:
    """The Python side of the facts refresh, timed apart: the versions read, their JSON parsed, the
    completeness of each (``measures.completeness``) and the facts built (``facts.project_months``,
    which does both again)."""
    from marsad.indicators import measures
    from marsad.indicators.facts import VersionInput, project_months
    from marsad.registry.models import ProjectVersion

    start = time.perf_counter()
    versions: dict[int, list] = defaultdict(list)
    for project_id, number, received_at, tombstone, canonical in (
        ProjectVersion.objects.filter(project_id__in=ids)
        .order_by("project_id", "number")
        .values_list("project_id", "number", "received_at", "is_tombstone", "canonical")
        .iterator(chunk_size=2000)
    ):
        versions[project_id].append(VersionInput(number, received_at, tombstone, canonical))
    read_s = time.perf_counter() - start
    canonicals = [v.canonical for items in versions.values() for v in items if not v.is_tombstone]
    start = time.perf_counter()
    documents = [json.loads(c) for c in canonicals]
    parse_s = time.perf_counter() - start
    start = time.perf_counter()
    for document in documents:
        measures.completeness(document)
    completeness_s = time.perf_counter() - start
    start = time.perf_counter()
    for items in versions.values():
        project_months(items, today=window.today)
    months_s = time.perf_counter() - start
    return {
        "versions": len(canonicals),
        "versions_read_ms": round(read_s * 1000),
        "json_parse_ms": round(parse_s * 1000),
        "completeness_ms": round(completeness_s * 1000),
        "project_months_ms": round(months_s * 1000),
    }


def cells_sums(cells: set[tuple]) -> dict:
    """The rollup sums of only the cells a refresh changed, one month at a time (the
    ``(month, province_code)`` index finds the month's facts): the query a refresh that recomputes
    cells instead of whole groups (every month of each province × programme × operator) would run.
    Two shapes, which must find the same groups: the keys as an OR of conditions (as
    ``rollups_refresh`` builds them, 200 at a time), and as one row-value ``IN (VALUES …)``."""
    from django.db import connection
    from django.db.models import Count, F, Q, Sum
    from django.db.models.functions import Coalesce

    from marsad.indicators.models import ProjectMonth
    from marsad.registry.models import Status

    completed = list(Status.objects.filter(is_completed=True).values_list("code", flat=True))
    by_month: dict[date, list[tuple]] = defaultdict(list)
    for month, province, programme, operator in cells:
        by_month[month].append((province, programme, operator))
    zero = Decimal(0)

    def ored() -> list[tuple]:
        found = []
        for month, keys in sorted(by_month.items()):
            keys.sort()
            for first in range(0, len(keys), 200):
                condition = Q()
                for province, programme, operator in keys[first : first + 200]:
                    condition |= Q(province_code=province, programme_code=programme, operator_id=operator)
                found += (
                    ProjectMonth.objects.filter(condition, month=month)
                    .values_list("month", "province_code", "programme_code", "operator_id")
                    .annotate(
                        n=Count("id"),
                        n_reported=Count("id", filter=Q(reported=True)),
                        n_completed=Count("id", filter=Q(status_code__in=completed)),
                        s_budget=Coalesce(Sum("budget"), zero),
                        s_weighted=Coalesce(
                            Sum(F("budget") * F("progress"), filter=Q(progress__isnull=False)), zero
                        ),
                        s_progress_budget=Coalesce(Sum("budget", filter=Q(progress__isnull=False)), zero),
                        s_committed=Coalesce(Sum("committed"), zero),
                        s_paid=Coalesce(Sum("paid"), zero),
                        s_completeness=Coalesce(Sum("completeness"), zero),
                    )
                    .order_by()
                )
        return found

    table = connection.ops.quote_name(ProjectMonth._meta.db_table)
    statuses = ", ".join(["%s"] * len(completed)) or "NULL"
    true = "1" if connection.vendor == "sqlite" else "TRUE"

    def row_values() -> list[tuple]:
        found = []
        with connection.cursor() as cursor:
            for month, keys in sorted(by_month.items()):
                values = ", ".join(["(%s, %s, %s)"] * len(keys))
                cursor.execute(
                    "SELECT month, province_code, programme_code, operator_id, count(*), "
                    f"count(*) FILTER (WHERE reported = {true}), "
                    f"count(*) FILTER (WHERE status_code IN ({statuses})), coalesce(sum(budget), 0), "
                    "coalesce(sum(budget * progress) FILTER (WHERE progress IS NOT NULL), 0), "
                    "coalesce(sum(budget) FILTER (WHERE progress IS NOT NULL), 0), "
                    "coalesce(sum(committed), 0), coalesce(sum(paid), 0), coalesce(sum(completeness), 0) "
                    f"FROM {table} WHERE month = %s "
                    f"AND (province_code, programme_code, operator_id) IN (VALUES {values}) "
                    "GROUP BY month, province_code, programme_code, operator_id",
                    [*completed, month, *(value for key in keys for value in key)],
                )
                found += cursor.fetchall()
        return found

    timings = {}
    groups = {}
    for name, call in (("or_of_keys", ored), ("row_values_in", row_values)):
        start = time.perf_counter()
        found = call()
        timings[name] = round((time.perf_counter() - start) * 1000)
        groups[name] = len(found)
    if groups["or_of_keys"] != groups["row_values_in"]:
        raise AssertionError(f"the two shapes of the cells' sums found different groups: {groups}")
    return {"cells": len(cells), "groups_found": groups["or_of_keys"], "months": len(by_month), "ms": timings}


def slowest(captured: list[dict], count: int = 5) -> list[dict]:
    """The statements that took longest, grouped by their text's first 160 characters."""
    groups: dict[str, list[float]] = defaultdict(list)
    for query in captured:
        groups[" ".join(query["sql"].split())[:160]].append(float(query["time"]))
    total = sum(sum(times) for times in groups.values()) or 1.0
    ranked = sorted(groups.items(), key=lambda item: -sum(item[1]))[:count]
    return [
        {
            "sql": sql,
            "times": len(times),
            "ms": round(sum(times) * 1000),
            "share": round(sum(times) / total, 3),
        }
        for sql, times in ranked
    ]


# --- The national figures through the engine --------------------------------------------------------


def timed(call: Callable[[], Any], repeat: int) -> tuple[Any, dict]:
    """One warm-up call, then ``repeat`` timed calls: (the last result, median/min/all in ms)."""
    result = call()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        runs.append((time.perf_counter() - start) * 1000)
    return result, {
        "median_ms": round(statistics.median(runs), 2),
        "min_ms": round(min(runs), 2),
        "runs_ms": [round(r, 2) for r in runs],
    }


def engine_calls(window: Window, source: str) -> dict[str, Callable[[], list]]:
    from marsad.indicators.selectors import figures

    scope = national_scope()
    month = window.last_month
    return {
        "by_region": lambda: figures(scope, by="region", month=month, source=source),
        "by_programme": lambda: figures(scope, by="programme", month=month, source=source),
        "trend": lambda: figures(
            scope, by="month", period=(window.first_month, window.last_month), source=source
        ),
    }


def engine_figures(window: Window, repeat: int) -> tuple[dict, dict]:
    """The three national figures from the rollups and from the facts: (results, timings)."""
    results: dict[str, dict[str, list]] = {}
    timings: dict[str, dict[str, dict]] = {}
    for source in ("rollups", "facts"):
        for name, call in engine_calls(window, source).items():
            result, timing = timed(call, repeat)
            results.setdefault(name, {})[source] = result
            timings.setdefault(name, {})[source] = timing
    return results, timings


def capture(call: Callable[[], Any]) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        call()
    return [
        {"sql": q["sql"][:2000], "ms": round(float(q["time"]) * 1000, 1)} for q in queries.captured_queries
    ]


def intelligence_figures(window: Window, repeat: int) -> dict:
    """A province's intelligence page, once ``marsad.indicators.intelligence`` provides it."""
    name = "marsad.indicators.intelligence"
    if importlib.util.find_spec(name) is None:
        return {"skipped": f"{name} does not exist yet: the intelligence page is not measured"}
    function = getattr(importlib.import_module(name), "intelligence", None)
    if function is None:
        return {"skipped": f"{name} has no function intelligence(scope, code, month) yet"}
    scope = national_scope()
    _, timing = timed(lambda: function(scope, PROVINCE, window.last_month), repeat)
    return {"province": PROVINCE, **timing}


# --- DuckDB over the raw facts ------------------------------------------------------------------------

DUCK_COLUMNS = {
    "month": "DATE", "region_code": "VARCHAR", "province_code": "VARCHAR", "programme_code": "VARCHAR",
    "operator_id": "INTEGER", "status_code": "VARCHAR", "reported": "INTEGER", "budget": "DECIMAL(16,2)",
    "progress": "DECIMAL(5,2)", "committed": "DECIMAL(16,2)", "paid": "DECIMAL(16,2)",
}  # fmt: skip
DUCK_KEYS = {"by_region": "region_code", "by_programme": "programme_code", "trend": "month"}


def facts_export(path: Path) -> int:
    """The raw facts as CSV (PostgreSQL's COPY; SQLite's rows through the csv module)."""
    from django.db import connection

    from marsad.indicators.models import ProjectMonth

    table = connection.ops.quote_name(ProjectMonth._meta.db_table)
    select = (
        "SELECT month, region_code, province_code, programme_code, operator_id, status_code, "
        f"CAST(reported AS INTEGER), budget, progress, committed, paid FROM {table}"
    )
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as out, connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY ({select}) TO STDOUT (FORMAT csv)") as copy:
                for block in copy:
                    out.write(bytes(block).decode())
            cursor.execute(f"SELECT count(*) FROM {table}")
            count = cursor.fetchone()[0]
        else:
            writer = csv.writer(out)
            cursor.execute(select)
            while True:
                block = cursor.fetchmany(50_000)
                if not block:
                    break
                writer.writerows(block)
                count += len(block)
    return count


def duckdb_load(directory: Path) -> tuple[Any, dict]:
    import duckdb

    path = directory / "facts.csv"
    start = time.perf_counter()
    count = facts_export(path)
    exported = time.perf_counter() - start
    con = duckdb.connect()
    start = time.perf_counter()
    columns = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in DUCK_COLUMNS.items()) + "}"
    con.execute(
        f"CREATE TABLE facts AS SELECT * FROM read_csv(?, header = false, columns = {columns})", [str(path)]
    )
    loaded = time.perf_counter() - start
    rows = con.execute("SELECT count(*) FROM facts").fetchone()[0]
    path.unlink()
    if rows != count:
        raise RuntimeError(f"DuckDB loaded {rows} facts of {count}")
    return con, {
        "version": duckdb.__version__,
        "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
        "facts": rows,
        "export_s": round(exported, 2),
        "load_s": round(loaded, 2),
    }


def duckdb_calls(con, window: Window, completed: Sequence[str]) -> dict[str, Callable[[], list]]:
    statuses = ", ".join(f"'{code}'" for code in completed) or "''"

    def query(key: str, where: str, parameters: list) -> Callable[[], list]:
        sql = (
            f"SELECT {key}, count(*), count(*) FILTER (WHERE reported = 1), "
            f"count(*) FILTER (WHERE status_code IN ({statuses})), coalesce(sum(budget), 0), "
            "coalesce(sum(budget * progress) FILTER (WHERE progress IS NOT NULL), 0), "
            "coalesce(sum(budget) FILTER (WHERE progress IS NOT NULL), 0), "
            f"coalesce(sum(committed), 0), coalesce(sum(paid), 0) FROM facts WHERE {where} "
            f"GROUP BY {key} ORDER BY {key}"
        )
        return lambda: con.execute(sql, parameters).fetchall()

    month = window.last_month
    return {
        "by_region": query("region_code", "month = ?", [month]),
        "by_programme": query("programme_code", "month = ?", [month]),
        "trend": query("month", "month BETWEEN ? AND ?", [window.first_month, window.last_month]),
    }


def reference_figures(rows: Iterable[tuple]) -> list[tuple]:
    """DuckDB's sums as the engine shows them (the same rounding as ``selectors.figures``)."""
    from marsad.indicators.measures import rate

    found = []
    for key, n, reported, completed, budget, weighted, progress_budget, committed, paid in rows:
        budget, committed, paid = (
            Decimal(v).quantize(HUNDREDTH, ROUND_HALF_UP) for v in (budget, committed, paid)
        )
        weighted, progress_budget = Decimal(weighted), Decimal(progress_budget)
        tx_phys = (weighted / progress_budget).quantize(HUNDREDTH, ROUND_HALF_UP) if progress_budget else None
        label = key.isoformat()[:7] if isinstance(key, date) else str(key)
        found.append(
            (label, n, reported, completed, budget, committed, paid, tx_phys, rate(committed, budget),
             rate(paid, budget))
        )  # fmt: skip
    return found


def as_rows(figures: list) -> list[tuple]:
    return [
        (
            f.key,
            f.projects,
            f.reported,
            f.completed,
            f.budget,
            f.committed,
            f.paid,
            f.tx_phys,
            f.tx_eng,
            f.tx_pai,
        )
        for f in figures
    ]


def check(engine: dict[str, dict[str, list]], reference: dict[str, list[tuple]]) -> dict[str, int]:
    """The engine's figures (from the rollups and from the facts) must equal DuckDB's, group by group.
    Returns the number of groups compared per figure."""
    compared = {}
    for name, expected in reference.items():
        for source, figures in engine[name].items():
            found = as_rows(figures)
            if found != expected:
                differences = [(e, f) for e, f in zip(expected, found, strict=False) if e != f] or [
                    ("groups", len(expected), len(found))
                ]
                raise AssertionError(
                    f"{name} from the {source} differs from DuckDB's: {differences[:3]} "
                    f"({len(expected)} groups expected, {len(found)} found)"
                )
        compared[name] = len(expected)
    return compared


def duckdb_figures(con, window: Window, repeat: int) -> tuple[dict, dict]:
    from marsad.registry.models import Status

    completed = list(Status.objects.filter(is_completed=True).values_list("code", flat=True))
    results, timings = {}, {}
    for name, call in duckdb_calls(con, window, completed).items():
        rows, timing = timed(call, repeat)
        results[name] = reference_figures(rows)
        timings[name] = timing
    return results, timings


# --- One database -------------------------------------------------------------------------------------


def build(*, projects: int, sample: int, window: Window, seed: int, progress: Progress) -> tuple[dict, list]:
    """The dataset: the sample with its versions, the bulk, the rollups. Returns its figures and the
    sample's plans."""
    from marsad.indicators.models import OutputMonth, ProjectMonth, Rollup
    from marsad.indicators.services import rollups_refresh
    from marsad.registry import demo

    sites = demo.Sites()
    start = time.perf_counter()
    plans = sample_plans(sample, window, seed, sites)
    ids, versions = sample_history(plans, window, progress)
    sample_s = time.perf_counter() - start
    start = time.perf_counter()
    counts = bulk_load(projects - sample, window, seed, sites, progress)
    bulk_s = time.perf_counter() - start
    analyse()
    start = time.perf_counter()
    rollups = rollups_refresh(None)
    rollups_s = time.perf_counter() - start
    analyse()
    facts = ProjectMonth.objects.count()
    figures = {
        "projects": projects,
        "sample_projects": len(ids),
        "sample_versions": versions,
        "sample_history_s": round(sample_s, 1),
        "bulk_projects": counts["projects"],
        "bulk_facts": counts["facts"],
        "bulk_output_facts": counts["output_facts"],
        "bulk_load_s": round(bulk_s, 1),
        "bulk_rows_per_s": round((counts["facts"] + counts["output_facts"]) / bulk_s) if bulk_s else None,
        "facts": facts,
        "output_facts": OutputMonth.objects.count(),
        "rollups": Rollup.objects.count(),
        "rollups_written": rollups,
        "rollups_build_s": round(rollups_s, 2),
        "facts_in_current_month": ProjectMonth.objects.filter(month=window.last_month).count(),
    }
    return figures, plans


def measure(*, plans: list, window: Window, repeat: int, scratch: Path, submit_hook=None) -> dict:
    """The submission and its refresh, the national figures, the intelligence page and DuckDB's floor,
    with the check that DuckDB's numbers equal the engine's. ``submit_hook`` wraps the submission
    (tests run the after-commit hooks through it)."""
    records = submission_records(plans, window)
    if submit_hook is None:
        submission = submit(records)
    else:
        with submit_hook():
            submission = submit(records)
    refresh = refresh_queued(window)
    engine, timings = engine_figures(window, repeat)
    intelligence = intelligence_figures(window, repeat)
    con, duck = duckdb_load(scratch)
    reference, duck_timings = duckdb_figures(con, window, repeat)
    duck["groups_checked"] = check(engine, reference)
    con.close()
    figures = {}
    for name in FIGURES:
        floor = duck_timings[name]["median_ms"]
        rollups = timings[name]["rollups"]["median_ms"]
        ratio = rollups / floor if floor else None
        figures[name] = {
            "groups": len(reference[name]),
            "rollups": timings[name]["rollups"],
            "facts": timings[name]["facts"],
            "duckdb": duck_timings[name],
            "ratio_to_duckdb": round(ratio, 2) if ratio is not None else None,
            "facts_ratio_to_duckdb": round(timings[name]["facts"]["median_ms"] / floor, 2) if floor else None,
            "under_300_ms": rollups < GOALS["national_ms"],
            "within_5x_duckdb": ratio is not None and ratio <= GOALS["duckdb_ratio"],
        }
        figures[name]["goal_met"] = figures[name]["under_300_ms"] and figures[name]["within_5x_duckdb"]
        if not figures[name]["goal_met"]:
            figures[name]["queries"] = capture(engine_calls(window, "rollups")[name])
    return {
        "submission": submission,
        "refresh": refresh,
        "figures": figures,
        "intelligence": intelligence,
        "duckdb": duck,
    }


def database_size(kind: str, directory: Path) -> float:
    from django.db import connection

    if kind == "sqlite":
        return round(sum(p.stat().st_size for p in directory.glob("marsad.sqlite3*")) / 2**20, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return round(cursor.fetchone()[0] / 2**20, 1)


def child(kind: str, url: str, directory: Path, args) -> None:
    _env, setup_s = platform_setup(directory, url)

    import django

    django.setup()
    from django.db import connection
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from marsad.indicators.services import local_today

    window = Window(local_today(), args.months)
    columns = (
        TextColumn(f"{kind:10} {{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:

        def progress(label: str, total: int) -> Callable[[int], None]:
            task = bar.add_task(label, total=total)
            return lambda n: bar.advance(task, n)

        dataset, plans = build(
            projects=args.projects, sample=args.sample, window=window, seed=args.seed, progress=progress
        )
        steps = progress("Submission, refresh, figures, DuckDB", 1)
        measured = measure(plans=plans, window=window, repeat=args.repeat, scratch=directory)
        steps(1)
    dataset["database_mb"] = database_size(kind, directory)
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version()" if kind == "sqlite" else "SHOW server_version")
        version = cursor.fetchone()[0]
    print(
        json.dumps(
            {
                "setup_s": round(setup_s, 1),
                "today": window.today.isoformat(),
                "window": [window.first_month.isoformat()[:7], window.last_month.isoformat()[:7]],
                "dataset": dataset,
                **measured,
                "database_version": version,
            },
            default=str,
        )
    )


def run(kind: str, args) -> dict:
    directory = SCRATCH / f"indicators-{kind}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    server_url = args.postgres_url.rstrip("/")
    if kind == "sqlite":
        url = f"sqlite:///{directory / 'marsad.sqlite3'}"
    else:
        import psycopg

        with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{args.postgres_database}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{args.postgres_database}"')
        url = f"{server_url}/{args.postgres_database}"
    command = [
        sys.executable, __file__, "--child", kind, "--url", url, "--dir", str(directory),
        "--projects", str(args.projects), "--months", str(args.months), "--sample", str(args.sample),
        "--repeat", str(args.repeat), "--seed", str(args.seed),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"the {kind} run failed (its error is printed above)")
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
            if kind != "sqlite":
                import psycopg

                with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{args.postgres_database}" WITH (FORCE)')


# --- Report ---------------------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms" if value >= 1 else f"{value:.2f} ms"


def _yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def table(runs: dict) -> str:
    labels = {
        "by_region": "by region, current month",
        "by_programme": "by programme, current month",
        "trend": "60-month trend",
    }

    def figure(name: str, part: str) -> Callable[[dict], str]:
        return lambda r: _ms(r["figures"][name][part]["median_ms"])

    rows: list[tuple[str, Callable[[dict], str]]] = [
        ("projects / facts / output facts", lambda r: (
            f"{r['dataset']['projects']:,} / {r['dataset']['facts']:,} / {r['dataset']['output_facts']:,}")),
        ("bulk load (facts and outputs written directly)", lambda r: (
            f"{r['dataset']['bulk_load_s']:,.0f} s ({r['dataset']['bulk_rows_per_s']:,} rows/s)")),
        ("rollups built by `rollups_refresh` (all)", lambda r: (
            f"{r['dataset']['rollups_build_s']:.1f} s ({r['dataset']['rollups']:,} rows)")),
        ("submission of 1,000 progress reports (`submission_process`)", lambda r: (
            f"{r['submission']['seconds']:.2f} s")),
        ("refresh after it, as the worker runs it (goal < 2 s)", lambda r: (
            f"{r['refresh']['seconds']:.2f} s, {_yes(r['refresh']['met'])}")),
        ("… fact rows written / that changed", lambda r: (
            f"{r['refresh']['months_written']:,} / {r['refresh']['changed']['facts']['differing']:,}")),
        ("… output rows written / that changed", lambda r: (
            f"{r['refresh']['output_months_written']:,} / "
            f"{r['refresh']['changed']['output_facts']['differing']:,}")),
        ("… rollup rows written / cells that changed", lambda r: (
            f"{r['refresh']['rollup_rows_written']:,} / {r['refresh']['changed']['rollup_cells']:,}")),
        ("… rerun apart: facts read and compared (nothing to write) / changed cells summed", lambda r: (
            f"{r['refresh']['parts_rerun']['facts_s']:.2f} s / "
            f"{r['refresh']['parts_rerun']['rollup_cells_s']:.2f} s")),
        ("… sums of the changed cells only, SQL apart: OR of keys / row-value IN", lambda r: (
            f"{_ms(r['refresh']['changed_cells_only']['ms']['or_of_keys'])} / "
            f"{_ms(r['refresh']['changed_cells_only']['ms']['row_values_in'])}")),
    ]  # fmt: skip
    for name in FIGURES:
        rows += [
            (f"national {labels[name]}: rollups (goal < 300 ms)", figure(name, "rollups")),
            ("… from the raw facts (information)", figure(name, "facts")),
            ("… DuckDB over the raw facts (floor)", figure(name, "duckdb")),
            ("… rollups / DuckDB (goal ≤ 5×); goal met", lambda r, n=name: (
                f"{r['figures'][n]['ratio_to_duckdb']:,.1f}×; {_yes(r['figures'][n]['goal_met'])}")),
        ]  # fmt: skip
    rows.append(
        (
            f"intelligence page of province {PROVINCE}",
            lambda r: (
                "not yet written" if "skipped" in r["intelligence"] else _ms(r["intelligence"]["median_ms"])
            ),
        )
    )
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    kinds = list(runs)
    header = [f"{names.get(k, k)} {runs[k]['database_version'].split()[0]}" for k in kinds]
    lines = ["| Figure | " + " | ".join(header) + " |", "|---" * (len(kinds) + 1) + "|"]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(runs[k]) for k in kinds) + " |")
    return "\n".join(lines)


def readme_update(text: str) -> bool:
    """Replace the table between the markers of the Indicators section of bench/README.md."""
    if not README.exists():
        return False
    content = README.read_text(encoding="utf-8")
    if TABLE_START not in content or TABLE_END not in content:
        return False
    head, rest = content.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    README.write_text(f"{head}{TABLE_START}\n{text}\n{TABLE_END}{tail}", encoding="utf-8")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument(
        "--sample", type=int, default=1000, help="projects with versions, updated by the submission"
    )
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/")
    parser.add_argument("--postgres-database", default=PG_DATABASE, help="the scratch PostgreSQL database")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases for inspection")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sample > args.projects or args.months < 2:
        parser.error("--sample must not exceed --projects, and --months must be at least 2")
    if args.child:
        child(args.child, args.url, Path(args.dir), args)
        return
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"runs": {}}
    for kind in args.databases.split(","):
        load_before = os.getloadavg()[0]
        figures = run(kind, args)
        figures.update(
            {
                "projects": args.projects,
                "months": args.months,
                "sample": args.sample,
                "repeat": args.repeat,
                "seed": args.seed,
                "load_average_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
                "date": time.strftime("%Y-%m-%d"),
            }
        )
        results["runs"][kind] = figures
        results.update(
            {
                "benchmark": "indicators",
                "goals": {
                    "refresh after a 1,000-record submission": f"< {GOALS['refresh_s']:g} s",
                    "each national aggregate on SQLite": f"< {GOALS['national_ms']:g} ms and within "
                    f"{GOALS['duckdb_ratio']:g}× of DuckDB over the raw facts",
                },
                "machine": machine(),
            }
        )
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    text = table(results["runs"])
    print(text)
    if readme_update(text):
        print(f"\ntable written into {README.relative_to(ROOT)}")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
