"""The indicator figures as CSV and XLSX: the API's numbers, computed by the same code, scoped alike."""

import csv
import io

import pytest
from python_calamine import CalamineWorkbook

from marsad.accounts.choices import Role
from marsad.accounts.services import membership_grant, user_create
from marsad.indicators.tests.support import SYSTEM, three_projects
from marsad.territories.models import Territory

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]
QUERY = {"by": "region", "month": "2026-09"}


@pytest.fixture
def world():
    three_projects()
    users = {}
    for name, role, territory in (
        ("analyst", Role.NATIONAL_ANALYST, None),
        ("wali", Role.TERRITORIAL_OFFICER, "12"),
    ):
        users[name] = user_create(actor=SYSTEM, username=name, password=None)
        membership_grant(actor=SYSTEM, user=users[name], role=role,
                         territory=Territory.objects.get(code=territory) if territory else None)  # fmt: skip
    return users


def test_the_csv_holds_the_api_s_figures(client, world):
    client.force_login(world["analyst"])
    response = client.get("/api/v1/exports/figures.csv", QUERY)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="marsad-indicateurs-region-2026-09.csv"'
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows == [
        ["group", "projects", "reported", "completed", "INV", "committed", "paid", "TX_PHYS", "TX_ENG",
         "TX_PAI", "revised_TX_PHYS", "revised_INV"],
        ["06", "1", "1", "0", "2000.00", "2000.00", "1000.00", "80.00", "100.00", "50.00", "", ""],
        ["12", "2", "2", "0", "4000.00", "2000.00", "550.00", "40.00", "50.00", "13.75", "", ""],
    ]  # fmt: skip
    api = client.get("/api/v1/indicators/figures", QUERY).json()["figures"]
    assert [[f["key"], f["budget"], f["tx_phys"]] for f in api] == [[r[0], r[4], r[7]] for r in rows[1:]]


def test_the_workbook_holds_the_same_numbers(client, world):
    client.force_login(world["analyst"])
    response = client.get("/api/v1/exports/figures.xlsx", QUERY)
    assert response.status_code == 200
    sheet = CalamineWorkbook.from_filelike(
        io.BytesIO(b"".join(response.streaming_content))
    ).get_sheet_by_name("indicateurs")
    assert sheet.to_python()[1:] == [
        ["06", 1.0, 1.0, 0.0, 2000.0, 2000.0, 1000.0, 80.0, 100.0, 50.0, "", ""],
        ["12", 2.0, 2.0, 0.0, 4000.0, 2000.0, 550.0, 40.0, 50.0, 13.75, "", ""],
    ]


def test_a_territorial_officer_exports_only_their_territory(client, world):
    client.force_login(world["wali"])
    text = b"".join(client.get("/api/v1/exports/figures.csv", QUERY).streaming_content).decode()
    assert [row[0] for row in csv.reader(io.StringIO(text[1:]))] == ["group", "12"]


def test_bad_parameters_are_a_422_problem(client, world):
    for query in ({"month": "2026-13"}, {"by": "planet"}, {"region": "99"}, {"as_of": "2999-01-01"}):
        response = client.get("/api/v1/exports/figures.csv", query)
        assert response.status_code == 422, query
        assert response["Content-Type"] == "application/problem+json"
