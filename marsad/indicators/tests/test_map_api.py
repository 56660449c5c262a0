"""GET /api/v1/indicators/map: the value of an engine indicator for every unit of a map layer, from the
same figures as /api/v1/indicators/figures, scoped to the reader (DESIGN §7, §9)."""

from decimal import Decimal

import pytest

from marsad.indicators.maps import CODES, map_indicators, per_inhabitant
from marsad.indicators.services import facts_refresh, local_today
from marsad.registry.tests.records import record
from marsad.registry.tests.test_api import assert_problem

from . import figures_world as world
from .figures_world import at, send

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]
URL = "/api/v1/indicators/map"
REGIONS = [f"{number:02d}" for number in range(1, 13)]


@pytest.fixture
def projects():
    return world.build()


@pytest.fixture
def people():
    return world.users()


def values(client, **query) -> dict:
    response = client.get(URL, query)
    assert response.status_code == 200, response.content
    return response.json()["values"]


def test_the_indicators_the_map_offers():
    assert list(map_indicators()) == ["INV", "INV_HAB", "TX_PHYS", "TX_ENG", "TX_PAI", "NB_PROJ"]
    assert CODES == ("INV", "INV_HAB", "TX_PHYS", "TX_ENG", "TX_PAI", "NB_PROJ")


def test_every_region_with_the_value_of_each_indicator(client, people, projects):
    client.force_login(people["analyst"])
    response = client.get(URL, {"indicator": "TX_PHYS", "month": "2026-10"})
    assert response.json() == {
        "indicator": {"code": "TX_PHYS", "name_fr": "Taux d'avancement physique",
                      "name_ar": "نسبة الإنجاز المادي", "unit": "percent"},
        "level": "region",
        "parent": None,
        "month": "2026-10",
        "close": None,
        "values": {**dict.fromkeys(REGIONS), "06": "80.00", "12": "40.00"},
    }  # fmt: skip
    october = {"month": "2026-10"}
    assert values(client, indicator="INV", **october) == {**dict.fromkeys(REGIONS, "0.00"), "06": "2000.00",
                                                          "12": "4000.00"}  # fmt: skip
    assert values(client, indicator="TX_ENG", **october) == {
        **dict.fromkeys(REGIONS),
        "06": "100.00",
        "12": "15.00",
    }
    assert values(client, indicator="TX_PAI", **october) == {
        **dict.fromkeys(REGIONS),
        "06": "50.00",
        "12": "11.25",
    }
    assert values(client, indicator="NB_PROJ", **october) == {**dict.fromkeys(REGIONS, 0), "06": 1, "12": 2}
    # INV per inhabitant of 2024: 4 000 / 219 965 = 0.018… and 2 000 / 7 688 967 = 0.00026…
    assert values(client, indicator="INV_HAB", **october) == {**dict.fromkeys(REGIONS, "0.00"), "12": "0.02"}
    # September: Casablanca's project had not reported yet.
    assert values(client, indicator="TX_PHYS", month="2026-09") == {**dict.fromkeys(REGIONS), "12": "38.75"}


def test_the_map_s_figures_are_those_of_the_figures_endpoint(client, people, projects):
    client.force_login(people["analyst"])
    figures = client.get("/api/v1/indicators/figures", {"by": "region", "month": "2026-10"}).json()["figures"]
    for code, field in (
        ("INV", "budget"),
        ("TX_PHYS", "tx_phys"),
        ("TX_ENG", "tx_eng"),
        ("TX_PAI", "tx_pai"),
    ):
        found = values(client, indicator=code, month="2026-10")
        assert {key: found[key] for key in ("06", "12")} == {f["key"]: f[field] for f in figures}


def test_the_provinces_of_a_region(client, people, projects):
    client.force_login(people["analyst"])
    query = {"indicator": "INV", "level": "province", "parent": "12", "month": "2026-10"}
    body = client.get(URL, query).json()
    assert (body["level"], body["parent"]) == ("province", "12")
    assert body["values"] == {"12.066": "0.00", "12.391": "4000.00"}
    assert values(client, **{**query, "indicator": "INV_HAB"}) == {"12.066": "0.00", "12.391": "0.02"}


def test_a_city_s_arrondissements_count_towards_its_commune(client, people, projects):
    """A second project in another arrondissement of Casablanca: on the commune layer the city adds
    both up (TX_ENG from the summed amounts, TX_PHYS undefined); each arrondissement has its own."""
    c2 = record(operator="MA-ALOMRANE-CS", operator_ref="C2", budget="1000.00", financing={}, location=None,
                progress="20.00", committed="0.00", paid="0.00", as_of="2026-10-11",
                communes={"06.141.01.01": {"primary": True, "share": None}})  # fmt: skip
    ids = send(at(2026, 10, 12), [c2])
    facts_refresh(ids, today=world.TODAY)
    client.force_login(people["analyst"])
    communes = {"level": "commune", "parent": "06.141", "month": "2026-10"}
    assert values(client, indicator="NB_PROJ", **communes) == {"06.141.01.0": 2, "06.141.01.81": 0}
    assert values(client, indicator="INV", **communes) == {"06.141.01.0": "3000.00", "06.141.01.81": "0.00"}
    assert values(client, indicator="TX_ENG", **communes) == {"06.141.01.0": "66.67", "06.141.01.81": None}
    assert values(client, indicator="TX_PHYS", **communes) == {"06.141.01.0": None, "06.141.01.81": None}
    arrondissements = values(client, indicator="TX_PHYS", level="arrondissement", parent="06.141.01.0",
                             month="2026-10")  # fmt: skip
    assert len(arrondissements) == 16
    assert {code: value for code, value in arrondissements.items() if value is not None} == {
        "06.141.01.01": "20.00",
        "06.141.01.53": "80.00",
    }


def test_the_public_reads_published_projects_only(client, projects):
    assert values(client, indicator="NB_PROJ", month="2026-10") == dict.fromkeys(REGIONS, 0)
    world.publish(projects["C1"])
    world.publish(projects["D2"])
    assert values(client, indicator="NB_PROJ", month="2026-10") == {
        **dict.fromkeys(REGIONS, 0),
        "06": 1,
        "12": 1,
    }
    assert values(client, indicator="TX_PHYS", month="2026-10") == {**dict.fromkeys(REGIONS), "06": "80.00",
                                                                    "12": "50.00"}  # fmt: skip
    assert values(client, indicator="INV", month="2026-10")["12"] == "3000.00"


def test_an_officer_reads_their_territory_and_public_projects(client, people, projects):
    client.force_login(people["wali"])  # region 12
    assert values(client, indicator="TX_PHYS", month="2026-10") == {**dict.fromkeys(REGIONS), "12": "40.00"}
    world.publish(projects["C1"])
    assert values(client, indicator="TX_PHYS", month="2026-10") == {**dict.fromkeys(REGIONS), "06": "80.00",
                                                                    "12": "40.00"}  # fmt: skip


def test_the_current_month_by_default(client, people, projects):
    client.force_login(people["analyst"])
    body = client.get(URL, {"indicator": "INV"}).json()
    assert body["month"] == local_today().isoformat()[:7]
    assert body["values"] == dict.fromkeys(REGIONS, "0.00")  # the world's facts stop in October 2026


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ({}, None),
        ({"indicator": "XYZ"}, "/indicator"),
        ({"indicator": "tx_phys"}, "/indicator"),
        ({"indicator": "slum_households"}, "/indicator"),
        ({"indicator": "X" * 17}, None),
        ({"indicator": "INV", "month": "2026-13"}, None),
        ({"indicator": "INV", "month": "0000-01"}, None),
        ({"indicator": "INV", "month": "octobre"}, None),
        ({"indicator": "INV", "level": "planet"}, None),
        ({"indicator": "INV", "level": "country"}, None),
        ({"indicator": "INV", "level": "province", "parent": "99"}, "/parent"),
        ({"indicator": "INV", "level": "region", "parent": "06"}, "/parent"),
        ({"indicator": "INV", "level": "commune", "parent": "06.141.01.53"}, "/parent"),
        ({"indicator": "INV", "level": "province", "parent": "x" * 21}, None),
    ],
)
def test_a_bad_query_is_a_422_problem(client, query, pointer):
    body = assert_problem(client.get(URL, query), 422, pointer)
    assert body["errors"]


def test_the_problem_names_the_known_indicators(client):
    body = assert_problem(client.get(URL, {"indicator": "XYZ"}), 422, "/indicator")
    assert body["errors"][0]["code"] == "unknown_indicator"
    assert body["errors"][0]["message_fr"] == (
        "Indicateur inconnu : XYZ (attendu : INV, INV_HAB, TX_PHYS, TX_ENG, TX_PAI, NB_PROJ)."
    )


def test_query_counts_are_pinned(client, people, projects, django_assert_num_queries):
    # The indicators, the layer's units, the completed statuses and the grouped facts of the projects
    # the public may read.
    with django_assert_num_queries(4):
        client.get(URL, {"indicator": "TX_PHYS", "month": "2026-10"})
    # And the parent unit.
    with django_assert_num_queries(5):
        client.get(URL, {"indicator": "TX_PHYS", "level": "province", "parent": "06", "month": "2026-10"})
    client.force_login(people["analyst"])
    # Session, user and memberships; whether the month is closed; the rollups serve a national reader
    # above the communes.
    with django_assert_num_queries(7):
        client.get(URL, {"indicator": "INV", "month": "2026-10"})
    # The commune layer reads the facts (with the completed statuses), and finds the arrondissements
    # holding projects in one more query.
    with django_assert_num_queries(9):
        client.get(URL, {"indicator": "INV", "level": "commune", "parent": "06.141", "month": "2026-10"})


def test_per_inhabitant_rounds_half_up_to_the_hundredth():
    assert per_inhabitant(Decimal("4000.00"), 219_965) == Decimal("0.02")
    assert per_inhabitant(Decimal("1.00"), 200) == Decimal("0.01")  # 0.005
    assert per_inhabitant(Decimal("0.99"), 200) == Decimal("0.00")  # 0.00495
    assert per_inhabitant(Decimal("1500000000.00"), 195_467) == Decimal("7673.93")
    assert per_inhabitant(Decimal("10.00"), 0) is None
    assert per_inhabitant(Decimal("10.00"), None) is None
