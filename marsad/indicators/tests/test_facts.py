import json
from datetime import UTC, date, datetime
from decimal import Decimal

from marsad.indicators.facts import VersionInput, month_of, next_month, project_months
from marsad.registry.tests.records import record

RECEIVED = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


def version(
    number: int, *, tombstone: bool = False, received_at: datetime = RECEIVED, **fields
) -> VersionInput:
    document = {"schema": "marsad.project/1", "id": "P", **record(**fields)}
    return VersionInput(number, received_at, tombstone, json.dumps(document))


def test_months_step_across_years():
    assert month_of(date(2026, 2, 17)) == date(2026, 2, 1)
    assert next_month(date(2026, 12, 1)) == date(2027, 1, 1)
    assert next_month(date(2026, 1, 1)) == date(2026, 2, 1)


def test_reports_are_carried_forward_to_the_current_month():
    versions = [
        version(1, as_of="2026-06-15", progress="10.00", committed="100.00", paid="50.00"),
        version(2, as_of="2026-08-31", progress="25.00", committed="200.00", paid="80.00"),
    ]
    months = project_months(versions, today=date(2026, 10, 31))
    assert [(m.month, m.version, m.reported, m.progress) for m in months] == [
        (date(2026, 6, 1), 1, True, Decimal("10.00")),
        (date(2026, 7, 1), 1, False, Decimal("10.00")),  # carried forward
        (date(2026, 8, 1), 2, True, Decimal("25.00")),
        (date(2026, 9, 1), 2, False, Decimal("25.00")),
        (date(2026, 10, 1), 2, False, Decimal("25.00")),
    ]
    assert months[2].committed == Decimal("200.00")
    assert months[2].paid == Decimal("80.00")
    assert months[0].budget == Decimal("1500000000.00")
    assert months[0].outputs == (("SUP", Decimal("275"), Decimal("40")),)
    assert (months[0].commune_code, months[0].programme_code, months[0].operator_code) == (
        "12.391.01.01",
        "PU",
        "MA-ALOMRANE-DOE",
    )


def test_reports_order_by_their_date_then_version_and_a_late_correction_rewrites_its_month():
    # Version 3 corrects June (as_of in June, received later): June and July show it, August is version 2.
    versions = [
        version(1, as_of="2026-06-10", progress="10.00"),
        version(2, as_of="2026-08-05", progress="30.00"),
        version(3, as_of="2026-06-30", progress="12.00"),
    ]
    months = project_months(versions, today=date(2026, 8, 20))
    assert [(m.month.month, m.version, m.progress) for m in months] == [
        (6, 3, Decimal("12.00")),
        (7, 3, Decimal("12.00")),
        (8, 2, Decimal("30.00")),
    ]


def test_facts_stop_at_the_actual_end_and_a_withdrawn_project_has_none():
    versions = [
        version(1, as_of="2026-03-31", progress="90.00"),
        version(2, as_of="2026-05-31", progress="100.00", status="ACHV", actual_end="2026-05-20"),
    ]
    months = project_months(versions, today=date(2026, 10, 31))
    assert [m.month.month for m in months] == [3, 4, 5]
    assert months[-1].status_code == "ACHV"
    assert project_months([*versions, version(3, tombstone=True)], today=date(2026, 10, 31)) == []
    assert project_months([], today=date(2026, 10, 31)) == []


def test_a_report_without_an_as_of_date_is_dated_by_its_arrival_in_casablanca():
    # 2026-06-30 23:30 UTC is 2026-07-01 00:30 in Casablanca (UTC+1): a July report.
    late = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    months = project_months([version(1, as_of=None, received_at=late)], today=date(2026, 7, 15))
    assert [(m.month, m.reported) for m in months] == [(date(2026, 7, 1), True)]
