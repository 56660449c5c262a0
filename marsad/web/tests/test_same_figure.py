"""One engine computes every figure (DESIGN §7): the same figure read from a page, an export and the
API is identical, for each reader's scope, and for a closed month whose figures were corrected since.

The world (``marsad.indicators.tests.figures_world``): in September 2026, region 12 holds the two
projects of Al Omrane Dakhla-Oued Ed-Dahab, D1 (budget 1 000.00, progress 5.00) and D2 (budget
3 000.00, progress 50.00): INV 4 000.00 and TX_PHYS (1000×5 + 3000×50) / 4000 = 38.75.
"""

import csv
import io
from decimal import Decimal

import pytest

from marsad.indicators.services import facts_refresh, month_close
from marsad.indicators.tests import figures_world as world
from marsad.indicators.tests.figures_world import NBSP, SEPTEMBER, at, send
from marsad.indicators.tests.html import by_testid, table_rows
from marsad.indicators.tests.support import SYSTEM
from marsad.registry.tests.records import record

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]
MONTH = "2026-09"
DOE = "MA-ALOMRANE-DOE"


@pytest.fixture
def projects():
    return world.build()


@pytest.fixture
def people():
    return world.users()


def number(text: str) -> Decimal:
    """A figure as the page writes it (``4 000,00 MAD``, ``38,75 %``), as a decimal."""
    digits = text.removesuffix(f"{NBSP}MAD").removesuffix(f"{NBSP}%").replace(NBSP, "").replace(",", ".")
    return Decimal(digits)


def from_map_page(client, indicator: str, code: str) -> Decimal:
    page = client.get("/fr/carte/", {"indicator": indicator, "month": MONTH}).content.decode()
    (value,) = [row[2] for row in table_rows(page, "map-values") if row[1] == code]
    return number(value)


def from_operator_page(client, code: str) -> tuple[Decimal, Decimal]:
    page = client.get(f"/fr/organisations/{code}/", {"month": MONTH}).content.decode()
    return number(by_testid(page, "figure-inv")), number(by_testid(page, "figure-tx-phys"))


def from_api(client, by: str, key: str) -> tuple[str, str]:
    response = client.get("/api/v1/indicators/figures", {"by": by, "month": MONTH})
    (found,) = [f for f in response.json()["figures"] if f["key"] == key]
    return found["budget"], found["tx_phys"]


def from_export(client, by: str, key: str) -> tuple[str, str]:
    response = client.get("/api/v1/exports/figures.csv", {"by": by, "month": MONTH})
    text = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    (found,) = [row for row in rows if row["group"] == key]
    return found["INV"], found["TX_PHYS"]


def from_map_api(client, indicator: str, code: str) -> str:
    return client.get("/api/v1/indicators/map", {"indicator": indicator, "month": MONTH}).json()["values"][
        code
    ]


def region_12_everywhere(client) -> dict[str, tuple]:
    return {
        "map page": (from_map_page(client, "INV", "12"), from_map_page(client, "TX_PHYS", "12")),
        "map API": (from_map_api(client, "INV", "12"), from_map_api(client, "TX_PHYS", "12")),
        "figures API": from_api(client, "region", "12"),
        "CSV export": from_export(client, "region", "12"),
    }


def assert_identical(found: dict[str, tuple], inv: str, tx_phys: str) -> None:
    """Every source gives the expected figures; the API and the export as the same decimal strings."""
    expected = (Decimal(inv), Decimal(tx_phys))
    assert {
        source: tuple(Decimal(value) for value in values) for source, values in found.items()
    } == dict.fromkeys(found, expected)
    assert {source: values for source, values in found.items() if "page" not in source} == {
        source: (inv, tx_phys) for source in found if "page" not in source
    }


@pytest.mark.parametrize("reader", ["analyst", "wali"])
def test_a_region_s_figure_is_identical_on_the_map_in_the_export_and_the_api(
    client, projects, people, reader
):
    client.force_login(people[reader])
    assert_identical(region_12_everywhere(client), "4000.00", "38.75")


def test_the_public_s_figure_is_identical_everywhere(client, projects):
    world.publish(projects["D1"])  # D1 alone is public: INV 1 000.00, TX_PHYS 5.00
    assert_identical(region_12_everywhere(client), "1000.00", "5.00")


def test_an_operator_s_figure_is_identical_on_its_page_in_the_export_and_the_api(client, projects, people):
    client.force_login(people["analyst"])
    found = {
        "operator page": from_operator_page(client, DOE),
        "figures API": from_api(client, "operator", DOE),
        "CSV export": from_export(client, "operator", DOE),
    }
    assert_identical(found, "4000.00", "38.75")


def test_a_closed_month_shows_its_published_figures_everywhere(client, projects, people):
    """September is closed, then D2's September report is corrected (progress 70.00): the published
    TX_PHYS stays 38.75 for national readers, on every page, export and API, each stating the
    correction (53.75 = (1000×5 + 3000×70) / 4000); a territorial officer reads the live figure."""
    month_close(actor=SYSTEM, month=SEPTEMBER, today=world.TODAY)
    ids = send(at(2026, 10, 20), [record(**{**world.D2, "progress": "70.00"})])
    facts_refresh(ids, today=world.TODAY)

    client.force_login(people["analyst"])
    assert_identical(region_12_everywhere(client), "4000.00", "38.75")
    found = {
        "operator page": from_operator_page(client, DOE),
        "figures API": from_api(client, "operator", DOE),
        "CSV export": from_export(client, "operator", DOE),
    }
    assert_identical(found, "4000.00", "38.75")
    # Each states the correction.
    response = client.get("/api/v1/indicators/figures", {"by": "region", "month": MONTH}).json()
    assert [(f["key"], f["tx_phys"], f["revision"]["tx_phys"]) for f in response["figures"]] == [
        ("12", "38.75", "53.75")
    ]
    export = b"".join(
        client.get("/api/v1/exports/figures.csv", {"by": "region", "month": MONTH}).streaming_content
    )
    assert export.decode().splitlines()[1] == "12,2,2,0,4000.00,300.00,300.00,38.75,7.50,7.50,53.75,4000.00"
    layer = client.get("/api/v1/indicators/map", {"indicator": "TX_PHYS", "month": MONTH}).json()
    assert (layer["close"]["month"], layer["close"]["revised"]) == (MONTH, ["12"])
    page = client.get("/fr/carte/", {"indicator": "TX_PHYS", "month": MONTH}).content.decode()
    assert by_testid(page, "map-close").startswith(
        "septembre 2026 est clôturé : la carte montre les chiffres publiés le "
    )
    assert by_testid(page, "map-close").endswith("Corrigé depuis, la valeur publiée restant affichée : 12.")
    page = client.get(f"/fr/organisations/{DOE}/", {"month": MONTH}).content.decode()
    assert (
        by_testid(page, "figures-revision")
        == f"Corrigés depuis : INV 4{NBSP}000,00{NBSP}MAD, TX_PHYS 53,75{NBSP}%."
    )

    client.force_login(people["wali"])  # not a national reader: the live figures
    assert_identical(region_12_everywhere(client), "4000.00", "53.75")
