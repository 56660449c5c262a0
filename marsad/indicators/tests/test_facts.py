import json
from datetime import UTC, date, datetime
from decimal import Decimal

from marsad.indicators.facts import VersionInput, month_of, next_month, project_months, project_months_since
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


# --- Building from the first month new versions reach, given the stored facts -------------------------


def stored_of(months) -> dict[date, int]:
    return {m.month: m.version for m in months}


def unreadable(number: int) -> VersionInput:
    """A version whose document must not be read: parsing it fails."""
    return VersionInput(number, RECEIVED, False, "{not json")


def test_a_new_report_builds_from_its_month_and_reads_only_the_versions_in_force_from_the_month_before():
    old = [
        version(1, as_of="2026-06-15", progress="10.00"),
        version(2, as_of="2026-08-31", progress="25.00"),
    ]
    stored = stored_of(project_months(old, today=date(2026, 10, 31)))
    assert stored == {date(2026, m, 1): (1 if m < 8 else 2) for m in range(6, 11)}
    new = version(3, as_of="2026-09-10", progress="40.00")
    # Version 1 is in force only before August (the month before September): it is not read.
    start, months = project_months_since([unreadable(1), old[1], new], stored, today=date(2026, 10, 31))
    assert start == date(2026, 9, 1)
    assert [(m.month, m.version, m.reported, m.progress) for m in months] == [
        (date(2026, 9, 1), 3, True, Decimal("40.00")),
        (date(2026, 10, 1), 3, False, Decimal("40.00")),
    ]
    assert months == project_months([*old, new], today=date(2026, 10, 31))[3:]


def test_with_no_new_version_only_the_last_stored_month_and_the_new_ones_are_built():
    old = [version(1, as_of="2026-06-15"), version(2, as_of="2026-08-31", progress="25.00")]
    stored = stored_of(project_months(old, today=date(2026, 10, 31)))
    start, months = project_months_since([unreadable(1), old[1]], stored, today=date(2026, 12, 2))
    assert start == date(2026, 10, 1)
    assert [(m.month, m.version, m.reported) for m in months] == [
        (date(2026, 10, 1), 2, False),
        (date(2026, 11, 1), 2, False),
        (date(2026, 12, 1), 2, False),
    ]


def test_a_report_superseded_within_its_month_is_read_again_and_keeps_its_place():
    # Versions 3 and 4 report in August; 4 is dated later, so 3 is in force nowhere in the facts.
    old = [
        version(1, as_of="2026-05-10", progress="5.00"),
        version(2, as_of="2026-07-01", progress="10.00"),
        version(3, as_of="2026-08-05", progress="20.00"),
        version(4, as_of="2026-08-20", progress="30.00"),
    ]
    stored = stored_of(project_months(old, today=date(2026, 10, 31)))
    assert set(stored.values()) == {1, 2, 4}
    new = version(5, as_of="2026-08-10", progress="25.00")  # dated between them: August stays version 4
    start, months = project_months_since([unreadable(1), *old[1:], new], stored, today=date(2026, 10, 31))
    assert start == date(2026, 8, 1)
    assert [(m.month.month, m.version, m.reported) for m in months] == [
        (8, 4, True),
        (9, 4, False),
        (10, 4, False),
    ]
    assert months == project_months([*old, new], today=date(2026, 10, 31))[3:]


def test_an_earlier_end_stops_the_build_and_a_change_reaching_the_first_month_builds_everything():
    old = [version(1, as_of="2026-06-15"), version(2, as_of="2026-08-31", progress="25.00")]
    stored = stored_of(project_months(old, today=date(2026, 10, 31)))
    ended = version(3, as_of="2026-09-10", status="ACHV", progress="100.00", actual_end="2026-08-20")
    # The end is August, the month before the new report: no month from September on (the caller
    # deletes the stored ones).
    assert project_months_since([unreadable(1), old[1], ended], stored, today=date(2026, 10, 31)) == (
        date(2026, 9, 1),
        [],
    )
    everything = [
        *old,
        version(3, as_of="2026-09-10", status="ACHV", progress="100.00", actual_end="2026-07-02"),
    ]
    start, months = project_months_since(everything, stored, today=date(2026, 10, 31))
    assert (start, [m.month.month for m in months]) == (date.min, [6, 7])  # before the month before
    back_dated = [*old, version(3, as_of="2026-06-20", progress="5.00")]
    start, months = project_months_since(back_dated, stored, today=date(2026, 10, 31))
    assert start == date.min
    assert months == project_months(back_dated, today=date(2026, 10, 31))
    assert months[0].version == 3
    withdrawn = [*old, version(3, tombstone=True)]
    assert project_months_since(withdrawn, stored, today=date(2026, 10, 31)) == (date.min, [])
    assert project_months_since(old, {}, today=date(2026, 10, 31)) == (
        date.min,
        project_months(old, today=date(2026, 10, 31)),
    )
