"""The indicator engine's panels on the registry's pages: a project's schedule and monthly facts, an
operator's figures and its data quality (DESIGN §7, §9), with the values a reader sees."""

from datetime import date, timedelta

import pytest

from marsad.indicators import panels as engine_panels
from marsad.indicators.services import facts_refresh, local_today
from marsad.registry import panels
from marsad.registry.models import Project
from marsad.registry.services import project_withdraw, records_apply
from marsad.registry.tests.records import ADMIN_SCOPE, record

from . import figures_world as world
from .figures_world import NBSP, at, send
from .html import by_testid, section, table_rows
from .support import SYSTEM

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]
OPERATOR = "/fr/organisations/MA-ALOMRANE-DOE/"
HOLDING = "/fr/organisations/MA-ALOMRANE/"
FIGURES = ("inv", "tx-phys", "tx-eng", "tx-pai", "projects")
QUALITY = ("score", "completeness", "timeliness", "validity")


@pytest.fixture
def projects():
    return world.build()


@pytest.fixture
def people():
    return world.users()


def mad(text: str) -> str:
    return f"{text}{NBSP}MAD"


def pct(text: str) -> str:
    return f"{text}{NBSP}%"


def test_the_engine_registers_its_panels():
    assert panels.registered(panels.PROJECT) == (engine_panels.project_panel,)
    assert panels.registered(panels.ORGANISATION) == (
        engine_panels.operator_panel,
        engine_panels.quality_panel,
    )
    with pytest.raises(ValueError, match="unknown page"):
        panels.register("programme", engine_panels.project_panel)


# --- the project page ---------------------------------------------------------------------------------


@pytest.fixture
def achieved() -> Project:
    """A project of Guelmim-Oued Noun planned from 1 January 2025 to 30 June 2026 (its first version),
    40 % done on 28 February 2026, then moved to end on 15 July and finished on 31 July 2026."""
    first = {"operator": "MA-ALOMRANE-GON", "operator_ref": "A1", "budget": "1000.00", "financing": {},
             "communes": {"10.261.01.03": {"primary": True, "share": None}}, "location": None,
             "planned_start": "2025-01-01", "actual_start": "2025-01-10"}  # fmt: skip
    started = record(**first, planned_end="2026-06-30", as_of="2026-02-28", progress="40.00",
                     committed="400.00", paid="200.00")  # fmt: skip
    finished = record(**first, planned_end="2026-07-15", as_of="2026-07-31", progress="100.00",
                      committed="1000.00", paid="900.00", status="ACHV", actual_end="2026-07-31")  # fmt: skip
    ids = send(at(2026, 3, 2), [started])
    send(at(2026, 8, 1), [finished])
    facts_refresh(ids, today=world.TODAY)
    return Project.objects.get(pk=ids[0])


def test_a_finished_project_s_schedule_and_facts(client, people, achieved):
    client.force_login(people["analyst"])
    page = client.get(f"/fr/projets/{achieved.public_id}/").content.decode()
    panel = section(page, 'data-panel="schedule"')
    names = ("planned-progress", "actual-progress", "schedule-performance", "delay-days", "forecast-date",
             "gliss-days")  # fmt: skip
    assert [by_testid(panel, name) for name in names] == [
        pct("100,00"), pct("100,00"), "1,00", "16 jours", "31 juillet 2026", "31 jours"
    ]  # fmt: skip
    assert by_testid(panel, "forecast-method") == (
        "Avancement physique de 100 % atteint : date du premier rapport à 100 % · 1 rapport utilisé"
    )
    assert by_testid(panel, "planned-curve").startswith("Courbe en S : 100 × (3t² − 2t³)")
    # The facts run from the first report's month to the actual end, the most recent first.
    assert table_rows(panel, "project-facts") == [
        ["juillet 2026", "oui", "2", pct("100,00"), pct("100,00"), pct("90,00")],
        *[[month, "non", "1", pct("40,00"), pct("40,00"), pct("20,00")]
          for month in ("juin 2026", "mai 2026", "avril 2026", "mars 2026")],
        ["février 2026", "oui", "1", pct("40,00"), pct("40,00"), pct("20,00")],
    ]  # fmt: skip
    # The chart holds the same numbers and is drawn by the platform's own scripts.
    assert '<script id="schedule-chart-' in panel
    assert '<script src="/static/vendor/plotly.min.js"></script>' in page
    assert page.count('<script src="/static/indicators/charts.js"></script>') == 1
    assert "cdn" not in page.lower()


def test_a_project_s_forecast_follows_its_reports(client, people):
    """Two reports 30 days apart, 20 % then 50 %: one point a day, 100 % twenty days from today."""
    today = local_today()
    base = {"operator": "MA-ALOMRANE-GON", "operator_ref": "B1", "budget": "1000.00", "financing": {},
            "communes": {"10.261.01.03": {"primary": True, "share": None}}, "location": None,
            "planned_start": "2025-01-01", "planned_end": "2035-12-31"}  # fmt: skip
    ids = []
    for days, progress in ((60, "20.00"), (30, "50.00")):
        report = record(**base, as_of=str(today - timedelta(days=days)), progress=progress)
        batch = records_apply(
            actor=SYSTEM,
            records=[report],
            source_kind="command",
            source_id="t",
            scope=ADMIN_SCOPE,
            today=today,
        )
        ids = [v.project_id for v in batch.versions]
    facts_refresh(ids, today=today)
    project = Project.objects.get(pk=ids[0])
    client.force_login(people["analyst"])
    panel = section(client.get(f"/fr/projets/{project.public_id}/").content.decode(), 'data-panel="schedule"')
    forecast = today + timedelta(days=20)
    months = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
              "novembre", "décembre")  # fmt: skip
    assert by_testid(panel, "forecast-date") == f"{forecast.day} {months[forecast.month - 1]} {forecast.year}"
    assert by_testid(panel, "gliss-days") == f"{(forecast - date(2035, 12, 31)).days} jours"
    assert by_testid(panel, "delay-days") == "0 jour"  # French puts 0 in the singular
    assert by_testid(panel, "forecast-method") == (
        "Tendance linéaire (moindres carrés) de l'avancement physique sur les 6 derniers rapports de "
        "l'année écoulée, prolongée jusqu'à 100 % · 2 rapports utilisés · pente : 1,0000 point par jour"
    )


def test_the_project_page_in_arabic(client, people, projects):
    client.force_login(people["analyst"])
    panel = section(
        client.get(f"/ar/projets/{projects['D1'].public_id}/").content.decode(), 'data-panel="schedule"'
    )
    rows = table_rows(panel, "project-facts")
    assert [[row[0], *row[2:]] for row in rows] == [
        ["أكتوبر 2026", "2", pct("10,00"), pct("50,00"), pct("25,00")],
        ["شتنبر 2026", "1", pct("5,00"), pct("20,00"), pct("10,00")],
    ]


def test_a_withdrawn_project_has_no_schedule(client, people, projects):
    project_withdraw(actor=SYSTEM, project=projects["D2"], reason="doublon", today=world.TODAY)
    client.force_login(people["analyst"])
    page = client.get(f"/fr/projets/{projects['D2'].public_id}/").content.decode()
    assert 'data-panel="schedule"' not in page
    assert "plotly" not in page


# --- the operator page --------------------------------------------------------------------------------


def test_an_operator_s_figures_for_a_month_and_their_trend(client, people, projects):
    client.force_login(people["analyst"])
    page = client.get(OPERATOR, {"month": "2026-10"}).content.decode()
    panel = section(page, 'data-panel="operator-figures"')
    assert [by_testid(panel, f"figure-{name}") for name in FIGURES] == [
        mad(f"4{NBSP}000,00"), pct("40,00"), pct("15,00"), pct("11,25"), "2"
    ]  # fmt: skip
    assert by_testid(panel, "figure-reported") == "1 rapport reçu dans le mois"
    assert table_rows(panel, "operator-trend") == [
        ["octobre 2026", "2", "1", mad(f"4{NBSP}000,00"), pct("40,00"), pct("15,00"), pct("11,25")],
        ["septembre 2026", "2", "2", mad(f"4{NBSP}000,00"), pct("38,75"), pct("7,50"), pct("7,50")],
    ]
    assert 'id="operator-trend-MA-ALOMRANE-DOE"' in panel


def test_a_holding_s_figures_by_subsidiary(client, people, projects):
    client.force_login(people["analyst"])
    panel = section(
        client.get(HOLDING, {"month": "2026-10"}).content.decode(), 'data-panel="operator-figures"'
    )
    assert [by_testid(panel, f"figure-{name}") for name in FIGURES] == [
        mad(f"6{NBSP}000,00"), "—", pct("43,33"), pct("24,17"), "3"
    ]  # fmt: skip
    assert table_rows(panel, "operator-group") == [
        ["Al Omrane Casablanca-Settat", "1", "1", mad(f"2{NBSP}000,00"), pct("80,00"), pct("100,00"),
         pct("50,00")],
        ["Al Omrane Dakhla-Oued Ed-Dahab", "2", "1", mad(f"4{NBSP}000,00"), pct("40,00"), pct("15,00"),
         pct("11,25")],
    ]  # fmt: skip


def test_an_operator_s_data_quality_over_six_months(client, people, projects):
    client.force_login(people["analyst"])
    panel = section(
        client.get(OPERATOR, {"month": "2026-10"}).content.decode(), 'data-panel="operator-quality"'
    )
    assert [by_testid(panel, f"quality-{name}") for name in QUALITY] == [
        "60,83", "82,50", "50,00", "50,00"
    ]  # fmt: skip
    nothing = "ni projet ni enregistrement"
    assert table_rows(panel, "operator-quality") == [
        ["octobre 2026", "2", "1", "2", "1", "82,50", "50,00", "50,00", "60,83"],
        ["septembre 2026", "2", "2", "1", "1", "82,50", "100,00", "100,00", "94,17"],
        ["août 2026", nothing], ["juillet 2026", nothing], ["juin 2026", nothing], ["mai 2026", nothing],
    ]  # fmt: skip
    assert "1 projet sur 2 rapporté dans le mois" in panel
    assert "1 enregistrement sur 2 sans erreur ni avertissement" in panel


def test_a_holding_s_data_quality_by_operator(client, people, projects):
    client.force_login(people["analyst"])
    panel = section(
        client.get(HOLDING, {"month": "2026-10"}).content.decode(), 'data-panel="operator-quality"'
    )
    rows = {row[0]: row[1:] for row in table_rows(panel, "operator-quality")}
    assert len(rows) == 13  # the holding and its twelve regional subsidiaries
    assert rows["Al Omrane Casablanca-Settat"] == ["1", "1", "1", "1", "75,00", "100,00", "100,00", "91,67"]
    assert rows["Al Omrane Dakhla-Oued Ed-Dahab"] == ["2", "1", "2", "1", "82,50", "50,00", "50,00", "60,83"]
    assert rows["Al Omrane Souss-Massa"] == ["ni projet ni enregistrement"]
    assert 'data-testid="quality-score"' not in panel


def test_the_public_reads_the_published_projects_only(client, projects):
    page = client.get(OPERATOR, {"month": "2026-10"}).content.decode()
    assert by_testid(page, "figures-none") == (
        "Aucun projet de cet opérateur pour ce mois dans ce que vous pouvez consulter."
    )
    world.publish(projects["D2"])
    page = client.get(OPERATOR, {"month": "2026-10"}).content.decode()
    assert [by_testid(page, f"figure-{name}") for name in ("inv", "tx-phys", "projects")] == [
        mad(f"3{NBSP}000,00"), pct("50,00"), "1"
    ]  # fmt: skip
    # D2 alone: 80 % filled, not reported in October; the operator's two records, one with a warning.
    quality = section(page, 'data-panel="operator-quality"')
    assert table_rows(quality, "operator-quality")[0] == [
        "octobre 2026", "1", "0", "2", "1", "80,00", "0,00", "50,00", "43,33"
    ]  # fmt: skip


def test_an_officer_elsewhere_sees_no_figures_of_the_operator(client, projects):
    officer = world.user("wali-cs", "territorial_officer", territory="06")
    client.force_login(officer)
    page = client.get(OPERATOR, {"month": "2026-10"}).content.decode()
    assert 'data-testid="figures-none"' in page
    quality = section(page, 'data-panel="operator-quality"')
    assert table_rows(quality, "operator-quality")[0] == ["octobre 2026", "ni projet ni enregistrement"]


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-13", "Mois invalide « 2026-13 » (attendu : AAAA-MM) ; le mois en cours est affiché."),
        ("2999-01", "janvier 2999 est à venir ; le mois en cours est affiché."),
    ],
)
def test_a_bad_month_shows_the_current_one_with_a_message(client, people, projects, month, message):
    client.force_login(people["analyst"])
    response = client.get(OPERATOR, {"month": month})
    assert response.status_code == 200
    page = response.content.decode()
    assert by_testid(page, "month-error") == message
    current = local_today().replace(day=1).isoformat()[:7]
    assert f'name="month" value="{current}"' in page


def test_an_organisation_that_operates_nothing_has_no_engine_panel(client, people, projects):
    client.force_login(people["analyst"])
    page = client.get("/fr/organisations/MA-CR-12/").content.decode()
    assert "data-panel=" not in page
    assert "plotly" not in page


def test_the_operator_page_s_queries_are_pinned(client, people, projects, django_assert_num_queries):
    client.force_login(people["analyst"])
    # The page itself (10: session, user, memberships, organisation, its projects and financing), the
    # figures and their trend (5, with whether the month is closed), and the data quality of six
    # months (3 or 4 each: facts, receipts, other versions, and the known operators with records).
    with django_assert_num_queries(36):
        client.get(OPERATOR, {"month": "2026-10"})
