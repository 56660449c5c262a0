from datetime import date
from decimal import Decimal

import pytest

from marsad.accounts.choices import Role
from marsad.accounts.services import membership_grant, user_create
from marsad.indicators.selectors import figures
from marsad.indicators.tests.support import SYSTEM, three_projects
from marsad.registry.tests.records import ADMIN_SCOPE
from marsad.registry.tests.test_api import assert_problem
from marsad.territories.models import Territory

URL = "/api/v1/indicators/figures"
pytestmark = pytest.mark.dbsensitive


@pytest.fixture
def world(db):
    three_projects()
    users = {}
    for name, role, territory in (
        ("analyst", Role.NATIONAL_ANALYST, None),
        ("wali", Role.TERRITORIAL_OFFICER, "12"),
    ):
        users[name] = user_create(actor=SYSTEM, username=name, password=None)
        membership_grant(
            actor=SYSTEM, user=users[name], role=role,
            territory=Territory.objects.get(code=territory) if territory else None,
        )  # fmt: skip
    return users


def test_national_figures_by_region_are_the_engine_s(client, world):
    client.force_login(world["analyst"])
    response = client.get(URL, {"by": "region", "month": "2026-09"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["by"], body["month"]) == ("region", "2026-09")
    assert body["figures"] == [
        {"key": "06", "projects": 1, "reported": 1, "completed": 0, "budget": "2000.00",
         "committed": "2000.00", "paid": "1000.00", "tx_phys": "80.00", "tx_eng": "100.00",
         "tx_pai": "50.00", "revision": None, "withdrawn": False},
        {"key": "12", "projects": 2, "reported": 2, "completed": 0, "budget": "4000.00",
         "committed": "2000.00", "paid": "550.00", "tx_phys": "40.00", "tx_eng": "50.00", "tx_pai": "13.75",
         "revision": None, "withdrawn": False},
    ]  # fmt: skip
    assert (body["as_of"], body["close"]) == (None, None)
    # The same numbers as the selector every page and export reads.
    engine = figures(ADMIN_SCOPE, by="region", month=date(2026, 9, 1))
    assert [(f["key"], Decimal(f["tx_phys"])) for f in body["figures"]] == [
        (f.key, f.tx_phys) for f in engine
    ]


def test_scoped_totals_for_an_officer_and_the_public(client, world):
    client.force_login(world["wali"])
    (mine,) = client.get(URL, {"month": "2026-09"}).json()["figures"]
    assert (mine["key"], mine["projects"], mine["budget"], mine["tx_phys"]) == ("MA", 2, "4000.00", "40.00")
    client.logout()
    assert client.get(URL, {"month": "2026-09"}).json()["figures"] == []  # nothing published


def test_a_monthly_trend(client, world):
    client.force_login(world["analyst"])
    body = client.get(URL, {"by": "month", "start": "2026-08", "end": "2026-10", "region": "12"}).json()
    assert (body["start"], body["end"]) == ("2026-08", "2026-10")
    assert [(f["key"], f["projects"], f["reported"]) for f in body["figures"]] == [
        ("2026-09", 2, 2),
        ("2026-10", 2, 0),
    ]


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ({"by": "status"}, None),
        ({"month": "2026-13"}, None),
        ({"month": "septembre"}, None),
        ({"month": "0000-01"}, None),
        ({"by": "month", "start": "0000-01", "end": "2026-01"}, None),
        ({"region": "99"}, "/region"),
        ({"programme": "NOPE"}, "/programme"),
        ({"operator": "MA-NOBODY"}, "/operator"),
        ({"by": "month", "start": "2026-10", "end": "2026-01"}, "/start"),
        ({"by": "month", "start": "2000-01", "end": "2026-01"}, "/start"),
    ],
)
def test_bad_queries_are_422_problems(client, world, query, pointer):
    client.force_login(world["analyst"])
    body = assert_problem(client.get(URL, query), 422, pointer)
    assert body["errors"]


def test_a_project_schedule_is_the_engine_s_and_out_of_scope_is_404(client, world):
    from marsad.indicators.selectors import project_schedule
    from marsad.indicators.services import local_today
    from marsad.registry.models import Project

    project = Project.objects.get(operator_ref="C1")
    url = f"/api/v1/indicators/projects/{project.public_id}/schedule"
    client.force_login(world["analyst"])
    body = client.get(url).json()
    engine = project_schedule(project, today=local_today())
    assert body["on"] == "2026-09-10"
    assert body["planned_progress"] == str(engine.planned_progress)
    assert body["forecast"]["method"] == engine.forecast.method
    assert body["gliss_days"] == engine.gliss_days
    client.force_login(world["wali"])  # Dakhla's officer: a Casablanca project is out of scope
    assert_problem(client.get(url), 404)
    assert_problem(client.get("/api/v1/indicators/projects/NOPE/schedule"), 404)


def test_targets_with_what_was_achieved(client, world):
    from decimal import Decimal

    from marsad.indicators.models import Target
    from marsad.indicators.services import facts_roll_forward, local_today

    Target.objects.create(indicator_id="SUP", year=2026, value=Decimal("1000"))
    facts_roll_forward(today=local_today())  # what the scheduler does: the facts reach this month
    client.force_login(world["analyst"])
    (national,) = client.get("/api/v1/indicators/targets", {"year": 2026}).json()
    assert (national["indicator"], national["territory"], national["value"]) == ("SUP", None, "1000.00")
    assert (national["achieved"], national["rate"]) == ("120.00", "12.00")  # 3 projects × 40 ha
    assert client.get("/api/v1/indicators/targets", {"year": 2025}).json() == []
    assert_problem(client.get("/api/v1/indicators/targets"), 422)
    assert_problem(client.get("/api/v1/indicators/targets", {"year": 1999}), 422)
    assert_problem(
        client.get("/api/v1/indicators/targets", {"year": 2026, "programme": "NOPE"}), 422, "/programme"
    )
