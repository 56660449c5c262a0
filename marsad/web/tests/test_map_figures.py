"""The map page coloured by the census figures or by the indicator engine's figures of a month: the
choice, the legend, the address of the values the map draws and the same values written in the page
(DESIGN §7, §9)."""

import re

import pytest

from marsad.indicators.services import local_today
from marsad.indicators.tests import figures_world as world
from marsad.indicators.tests.figures_world import NBSP
from marsad.indicators.tests.html import by_testid, table_rows

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]
LEGEND_TAIL = "source : rapports des opérateurs, moteur d'indicateurs"


@pytest.fixture
def projects():
    return world.build()


@pytest.fixture
def analyst():
    return world.users()["analyst"]


def options(page: str, group: str) -> list[str]:
    found = re.search(rf'<optgroup label="{re.escape(group)}">(.*?)</optgroup>', page, re.S)
    return re.findall(r'<option value="([^"]+)"', found.group(1))


def attribute(page: str, name: str) -> str | None:
    found = re.search(rf'<div id="map"[^>]*\s{name}="([^"]*)"', page, re.S)
    return found.group(1) if found else None


def test_the_choice_holds_the_engine_s_indicators_and_the_census(client):
    page = client.get("/fr/carte/").content.decode()
    assert options(page, "Projets : indicateurs du mois") == [
        "INV",
        "INV_HAB",
        "TX_PHYS",
        "TX_ENG",
        "TX_PAI",
        "NB_PROJ",
    ]
    assert options(page, "Recensement 2024 (HCP)")[:4] == [
        "population_2024", "households_2024", "population_change_pct", "slum_households"
    ]  # fmt: skip
    # The census by default, as before: its legend, no month, no values from the engine.
    assert by_testid(page, "map-legend") == (
        "Population 2024 · unité : personnes · source : HCP, RGPH 2024 · gris : sans valeur"
    )
    assert attribute(page, "data-values-url") is None
    assert 'class="map-values"' not in page
    assert '<option value="population_2024" selected>' in page


def test_the_map_coloured_by_physical_progress(client, analyst, projects):
    client.force_login(analyst)
    page = client.get("/fr/carte/", {"indicator": "TX_PHYS", "month": "2026-10"}).content.decode()
    assert '<option value="TX_PHYS" selected>' in page
    assert by_testid(page, "map-legend") == (
        "Taux d'avancement physique · unité : % · mois : octobre 2026 (situation des projets en fin de "
        f"mois) · {LEGEND_TAIL} · gris : sans valeur"
    )
    # The boundaries come from the territories, the values from the engine's map endpoint.
    assert (
        attribute(page, "data-geojson-url")
        == "/api/v1/territories/geojson?parent=MA&amp;indicator=population_2024"
    )
    assert (
        attribute(page, "data-values-url")
        == "/api/v1/indicators/map?indicator=TX_PHYS&amp;level=region&amp;month=2026-10"
    )
    assert (attribute(page, "data-month"), attribute(page, "data-indicator-unit")) == ("2026-10", "%")
    rows = table_rows(page, "map-values")
    assert len(rows) == 12
    assert [row for row in rows if row[2] != "—"] == [
        ["Casablanca-Settat", "06", f"80,00{NBSP}%"],
        ["Dakhla-Oued Ed-Dahab", "12", f"40,00{NBSP}%"],
    ]


def test_the_page_writes_the_values_the_api_gives(client, analyst, projects):
    client.force_login(analyst)
    query = {"indicator": "INV", "parent": "12", "month": "2026-10"}
    page = client.get("/fr/carte/", query).content.decode()
    assert table_rows(page, "map-values") == [
        ["Aousserd", "12.066", f"0,00{NBSP}MAD"],
        ["Oued Ed-Dahab", "12.391", f"4{NBSP}000,00{NBSP}MAD"],
    ]
    api = client.get(attribute(page, "data-values-url").replace("&amp;", "&")).json()
    assert api["values"] == {"12.066": "0.00", "12.391": "4000.00"}


def test_investment_per_inhabitant_states_its_denominator(client, analyst, projects):
    client.force_login(analyst)
    page = client.get(
        "/fr/carte/", {"indicator": "INV_HAB", "parent": "12", "month": "2026-10"}
    ).content.decode()
    assert by_testid(page, "map-legend") == (
        "Investissement par habitant · unité : MAD par habitant · mois : octobre 2026 (situation des projets "
        f"en fin de mois) · {LEGEND_TAIL} · INV / population 2024 (HCP) · gris : sans valeur"
    )
    assert table_rows(page, "map-values")[1] == ["Oued Ed-Dahab", "12.391", f"0,02{NBSP}MAD par habitant"]


def test_the_project_count_of_a_city_s_communes(client, analyst, projects):
    client.force_login(analyst)
    page = client.get(
        "/fr/carte/", {"indicator": "NB_PROJ", "parent": "06.141", "month": "2026-10"}
    ).content.decode()
    assert table_rows(page, "map-values") == [
        ["Casablanca", "06.141.01.0", "1"],
        ["Méchouar de Casablanca", "06.141.01.81", "0"],
    ]
    assert by_testid(page, "map-unit") == "projets"


def test_the_map_in_arabic(client, analyst, projects):
    client.force_login(analyst)
    page = client.get("/ar/carte/", {"indicator": "TX_PHYS", "month": "2026-10"}).content.decode()
    assert attribute(page, "data-indicator-name") == "نسبة الإنجاز المادي"
    assert ["الداخلة-وادي الذهب", "12", f"40,00{NBSP}%"] in table_rows(page, "map-values")


def test_the_public_map_counts_published_projects_only(client, projects):
    query = {"indicator": "TX_PHYS", "month": "2026-10"}
    rows = table_rows(client.get("/fr/carte/", query).content.decode(), "map-values")
    assert {row[2] for row in rows} == {"—"}
    world.publish(projects["D2"])
    rows = table_rows(client.get("/fr/carte/", query).content.decode(), "map-values")
    assert [row for row in rows if row[2] != "—"] == [["Dakhla-Oued Ed-Dahab", "12", f"50,00{NBSP}%"]]


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2999-01", "janvier 2999 est à venir ; le mois en cours est affiché."),
        ("2026-1", "Mois invalide « 2026-1 » (attendu : AAAA-MM) ; le mois en cours est affiché."),
    ],
)
def test_a_bad_month_shows_the_current_one_with_a_message(client, month, message):
    response = client.get("/fr/carte/", {"indicator": "INV", "month": month})
    assert response.status_code == 200
    page = response.content.decode()
    assert by_testid(page, "month-error") == message
    current = local_today().replace(day=1).isoformat()[:7]
    assert attribute(page, "data-month") == current
    assert f"month={current}" in attribute(page, "data-values-url")


def test_the_map_page_s_queries_are_pinned(client, projects, django_assert_num_queries):
    # The parent unit; the indicators, the layer's units, the completed statuses and the grouped facts.
    with django_assert_num_queries(5):
        client.get("/fr/carte/", {"indicator": "TX_PHYS", "month": "2026-10"})
    # And the region's ancestors.
    with django_assert_num_queries(6):
        client.get("/fr/carte/", {"indicator": "TX_PHYS", "parent": "06", "month": "2026-10"})
