"""Data quality per operator and month (DESIGN §7): completeness, timeliness, validity, score."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from marsad.accounts.choices import Role
from marsad.accounts.scoping import user_scope
from marsad.accounts.services import membership_grant, user_create
from marsad.indicators import quality as quality_module
from marsad.indicators.facts import CASABLANCA
from marsad.indicators.quality import Quality, quality, record_counts
from marsad.indicators.services import facts_refresh
from marsad.registry.services import records_apply
from marsad.registry.tests.records import ADMIN_SCOPE, record
from marsad.territories.models import Territory

from .support import SYSTEM, TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]
OCTOBER = date(2026, 10, 1)


def send(received_at: datetime, records: list[dict]) -> list[int]:
    batch = records_apply(
        actor=SYSTEM, records=records, source_kind="command", source_id="t", scope=ADMIN_SCOPE,
        received_at=received_at, today=TODAY,
    )  # fmt: skip
    assert [r.errors for r in batch.results] == [[] for _ in records]
    return sorted({v.project_id for v in batch.versions})


@pytest.fixture
def world() -> list[int]:
    """In October: D1 (every field but the description, the agreement and the actual end: 85 %) reports
    on 5 October; D2 (no financing either: 80 %) still stands on its September report and was sent with
    paid above committed (a warning); C1 of Casablanca (no financing, no location: 75 %) reports."""
    ids = send(datetime(2026, 10, 6, 9, tzinfo=CASABLANCA), [
        record(operator_ref="D1", as_of="2026-10-05"),
        record(operator_ref="D2", financing={}, as_of="2026-09-15", committed="100.00", paid="200.00"),
        record(operator_ref="C1", operator="MA-ALOMRANE-CS", financing={}, location=None,
               as_of="2026-10-10", communes={"06.141.01.53": {"primary": True, "share": None}}),
    ])  # fmt: skip
    facts_refresh(ids, today=TODAY)
    return ids


def test_each_operator_has_its_parts_and_score(world):
    assert quality(ADMIN_SCOPE, month=OCTOBER) == [
        Quality(operator="MA-ALOMRANE-CS", month=OCTOBER, projects=1, reported=1, records=1, records_clean=1,
                completeness=Decimal("75.00"), timeliness=Decimal("100.00"), validity=Decimal("100.00"),
                score=Decimal("91.67")),
        Quality(operator="MA-ALOMRANE-DOE", month=OCTOBER, projects=2, reported=1, records=2, records_clean=1,
                completeness=Decimal("82.50"), timeliness=Decimal("50.00"), validity=Decimal("50.00"),
                score=Decimal("60.83")),
    ]  # fmt: skip


def test_a_month_without_records_has_no_validity(world):
    (doe,) = quality(ADMIN_SCOPE, month=date(2026, 9, 1), operators=["MA-ALOMRANE-DOE"])
    # September: only D2's report (15 September) counts, carried by its one fact; nothing was received.
    assert (doe.projects, doe.reported, doe.records, doe.validity, doe.timeliness, doe.score) == (
        1,
        1,
        0,
        None,
        Decimal("100.00"),
        Decimal("90.00"),
    )


def test_registered_sources_add_their_records(world):
    def rejected_uploads(start, end):
        assert (start.isoformat(), end.isoformat()) == (
            "2026-10-01T00:00:00+01:00",
            "2026-11-01T00:00:00+01:00",
        )
        return {"MA-ALOMRANE-CS": (3, 1), "XX-UNKNOWN": (5, 0)}

    quality_module.register_record_source(rejected_uploads)
    try:
        assert record_counts(OCTOBER) == {
            "MA-ALOMRANE-CS": (4, 2),
            "MA-ALOMRANE-DOE": (2, 1),
            "XX-UNKNOWN": (5, 0),
        }
        found = {q.operator: q for q in quality(ADMIN_SCOPE, month=OCTOBER)}
        assert sorted(found) == ["MA-ALOMRANE-CS", "MA-ALOMRANE-DOE"]  # an unknown operator is not shown
        assert (found["MA-ALOMRANE-CS"].validity, found["MA-ALOMRANE-CS"].score) == (
            Decimal("50.00"),
            Decimal("75.00"),
        )
    finally:
        quality_module.unregister_record_source(rejected_uploads)


def test_a_territorial_officer_sees_the_projects_of_their_territory(world):
    officer = user_create(actor=SYSTEM, username="wali", password=None)
    membership_grant(actor=SYSTEM, user=officer, role=Role.TERRITORIAL_OFFICER,
                     territory=Territory.objects.get(code="06"))  # fmt: skip
    assert [(q.operator, q.projects, q.records) for q in quality(user_scope(officer), month=OCTOBER)] == [
        ("MA-ALOMRANE-CS", 1, 1),
    ]


def test_quality_costs_a_fixed_number_of_queries(world, django_assert_num_queries):
    # Rollups; the exchange's receipts of the month; versions of the month; known operators.
    with django_assert_num_queries(4):
        quality(ADMIN_SCOPE, month=OCTOBER)


def test_the_api_serves_quality_and_refuses_bad_input(client, world):
    analyst = user_create(actor=SYSTEM, username="analyst", password=None)
    membership_grant(actor=SYSTEM, user=analyst, role=Role.NATIONAL_ANALYST)
    client.force_login(analyst)
    response = client.get("/api/v1/indicators/quality", {"month": "2026-10", "operator": "MA-ALOMRANE-DOE"})
    assert response.status_code == 200, response.content
    assert response.json() == [
        {"operator": "MA-ALOMRANE-DOE", "month": "2026-10", "projects": 2, "reported": 1, "records": 2,
         "records_clean": 1, "completeness": "82.50", "timeliness": "50.00", "validity": "50.00",
         "score": "60.83"},
    ]  # fmt: skip
    assert client.get("/api/v1/indicators/quality", {"month": "2026-13"}).status_code == 422
    assert client.get("/api/v1/indicators/quality", {"month": "0000-01"}).status_code == 422
    unknown = client.get("/api/v1/indicators/quality", {"operator": "MA-NOBODY"})
    assert unknown.status_code == 422
