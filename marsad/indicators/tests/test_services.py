from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marsad.audit.services import SystemActor
from marsad.indicators.models import OutputMonth, ProjectMonth, Rollup
from marsad.indicators.services import facts_refresh, facts_roll_forward, indicators_rebuild, rollups_refresh
from marsad.registry.models import Project, ProjectVersion
from marsad.registry.services import records_apply
from marsad.registry.tests.records import ADMIN_SCOPE, record

TODAY = date(2026, 10, 31)
ACTOR = SystemActor("tests")
SECOND_COMMUNE = "12.391.09.01"  # another commune of Oued Ed-Dahab, same province


def apply(records):
    batch = records_apply(
        actor=ACTOR, records=records, source_kind="command", source_id="t", scope=ADMIN_SCOPE, today=TODAY
    )
    assert not [r.issues for r in batch.results if r.errors]
    return sorted({v.project_id for v in batch.versions})


def snapshot() -> tuple[list, list, list]:
    months = list(
        ProjectMonth.objects.order_by("project__operator_ref", "month").values_list(
            "project__operator_ref", "month", "region_code", "province_code", "commune_code",
            "programme_code", "operator__code", "status_code", "version", "reported", "budget", "progress",
            "committed", "paid", "completeness",
        )
    )  # fmt: skip
    outputs = list(
        OutputMonth.objects.order_by("project__operator_ref", "month", "indicator").values_list(
            "project__operator_ref", "month", "indicator", "province_code", "target", "achieved"
        )
    )
    rollups = list(
        Rollup.objects.order_by("month", "province_code", "programme_code", "operator__code").values_list(
            "month", "region_code", "province_code", "programme_code", "operator__code", "projects",
            "reported", "completed", "budget", "progress_weighted", "progress_budget", "committed", "paid",
            "completeness",
        )
    )  # fmt: skip
    return months, outputs, rollups


@pytest.mark.dbsensitive
@pytest.mark.django_db
def test_facts_and_rollups_of_two_projects(django_assert_num_queries):
    ids = apply(
        [
            record(operator_ref="A", as_of="2026-08-31", budget="1000.00", financing={}, progress="10.00",
                   committed="400.00", paid="100.00"),
            record(operator_ref="B", as_of="2026-09-30", budget="3000.00", financing={}, progress="50.00",
                   committed="900.00", paid="300.00", programme="PU"),
        ]
    )  # fmt: skip
    # Savepoint, operators, versions, communes, facts as they stand, their outputs, the two inserts,
    # statuses, rollups as they stand, the cells' sums, their insert, release: the same for one
    # project or a chunk of 500 built from nothing.
    with django_assert_num_queries(13):
        summary = facts_refresh(ids, today=TODAY)
    assert (summary.projects, summary.months, summary.outputs, summary.rollups) == (2, 5, 5, 3)
    september = Rollup.objects.get(month=date(2026, 9, 1))
    # A carried forward from August (10 % of 1,000) and B reported (50 % of 3,000): TX_PHYS =
    # (1,000 × 10 + 3,000 × 50) / 4,000 = 40 %.
    assert (september.projects, september.reported, september.completed) == (2, 1, 0)
    assert september.budget == Decimal("4000.00")
    assert september.progress_weighted == Decimal("160000.0000")
    assert september.progress_budget == Decimal("4000.00")
    assert (september.committed, september.paid) == (Decimal("1300.00"), Decimal("400.00"))
    assert list(Rollup.objects.order_by("month").values_list("month", "projects")) == [
        (date(2026, 8, 1), 1),
        (date(2026, 9, 1), 2),
        (date(2026, 10, 1), 2),
    ]
    assert september.province_code == "12.391"
    assert september.region_code == "12"


@pytest.mark.dbsensitive
@pytest.mark.django_db
def test_a_refresh_writes_only_the_rows_and_rollup_cells_that_changed(django_assert_num_queries):
    ids = apply(
        [
            record(operator_ref="A", as_of="2026-08-31", budget="1000.00", financing={}, progress="10.00"),
            record(operator_ref="B", as_of="2026-08-31", budget="3000.00", financing={}, progress="50.00"),
        ]
    )
    facts_refresh(ids, today=TODAY)
    first = snapshot()
    kept = set(ProjectMonth.objects.filter(month__lt=date(2026, 10, 1)).values_list("id", flat=True))
    kept_outputs = set(OutputMonth.objects.filter(month__lt=date(2026, 10, 1)).values_list("id", flat=True))
    kept_rollups = set(Rollup.objects.filter(month__lt=date(2026, 10, 1)).values_list("id", flat=True))
    # Savepoint, operators, versions, communes, facts as they stand, release: nothing differs.
    with django_assert_num_queries(6):
        summary = facts_refresh(ids, today=TODAY)
    assert (summary.months, summary.outputs, summary.rollups) == (0, 0, 0)
    assert snapshot() == first
    # A reports in October: only its October fact, its output and the October cell are written.
    apply(
        [
            record(operator_ref="A", as_of="2026-10-20", budget="1000.00", financing={}, progress="30.00",
                   outputs={"SUP": {"target": "275", "achieved": "60"}}),
        ]
    )  # fmt: skip
    # ... as above, then the outputs of the changed month, the deletes of the fact, the output and the
    # rollup row, the inserts of the fact, the output and the rollup row, statuses, rollups, sums.
    with django_assert_num_queries(16):
        summary = facts_refresh(ids, today=TODAY)
    assert (summary.months, summary.outputs, summary.rollups) == (1, 1, 1)
    assert set(ProjectMonth.objects.filter(month__lt=date(2026, 10, 1)).values_list("id", flat=True)) == kept
    assert (
        set(OutputMonth.objects.filter(month__lt=date(2026, 10, 1)).values_list("id", flat=True))
        == kept_outputs
    )
    assert (
        set(Rollup.objects.filter(month__lt=date(2026, 10, 1)).values_list("id", flat=True)) == kept_rollups
    )
    october = Rollup.objects.get(month=date(2026, 10, 1))
    assert (october.projects, october.reported) == (2, 1)
    assert october.progress_weighted == Decimal("180000.0000")  # 1,000 × 30 + 3,000 × 50
    incremental = snapshot()
    indicators_rebuild(today=TODAY)
    assert snapshot() == incremental


@pytest.mark.dbsensitive
@pytest.mark.django_db
def test_moving_a_project_moves_its_rollups_and_a_withdrawal_removes_its_facts():
    ids = apply([record(operator_ref="A", as_of="2026-09-30")])
    facts_refresh(ids, today=TODAY)
    apply(
        [
            record(
                operator_ref="A",
                as_of="2026-10-15",
                communes={SECOND_COMMUNE: {"primary": True, "share": None}},
            )
        ]
    )
    facts_refresh(ids, today=TODAY)
    assert list(ProjectMonth.objects.order_by("month").values_list("commune_code", flat=True)) == [
        "12.391.01.01",
        SECOND_COMMUNE,
    ]
    apply([{"operator": "MA-ALOMRANE-DOE", "operator_ref": "A", "withdrawn": True, "reason": "doublon"}])
    facts_refresh(ids, today=TODAY)
    assert ProjectMonth.objects.count() == 0
    assert OutputMonth.objects.count() == 0
    assert Rollup.objects.count() == 0


@pytest.mark.dbsensitive
@pytest.mark.django_db
def test_the_rebuild_gives_the_same_rows_as_the_refreshes():
    first = apply(
        [record(operator_ref=f"R{n}", as_of="2026-07-31", progress=f"{n * 10}.00") for n in range(4)]
    )
    facts_refresh(first, today=TODAY)
    second = apply([record(operator_ref="R1", as_of="2026-09-30", progress="45.00", status="DIFF")])
    facts_refresh(second, today=TODAY)
    incremental = snapshot()
    assert len(incremental[0]) == 4 * 4  # four projects, July to October
    summary = indicators_rebuild(today=TODAY)
    assert (summary.projects, summary.months) == (4, 16)
    assert snapshot() == incremental
    assert rollups_refresh(None) == summary.rollups
    assert snapshot() == incremental


@pytest.mark.django_db
def test_running_projects_are_carried_into_a_new_month_and_ended_ones_are_not():
    ids = apply(
        [
            record(operator_ref="RUN", as_of="2026-10-15"),
            record(
                operator_ref="END",
                as_of="2026-10-15",
                status="ACHV",
                progress="100.00",
                actual_end="2026-10-10",
            ),
        ]
    )
    facts_refresh(ids, today=TODAY)
    assert facts_roll_forward(today=TODAY).projects == 0  # nothing behind in October
    summary = facts_roll_forward(today=date(2026, 12, 2))
    assert summary.projects == 1
    assert list(
        ProjectMonth.objects.filter(project__operator_ref="RUN")
        .order_by("month")
        .values_list("month", "reported")
    ) == [(date(2026, 10, 1), True), (date(2026, 11, 1), False), (date(2026, 12, 1), False)]
    assert ProjectMonth.objects.filter(project__operator_ref="END").count() == 1


# --- Property: incremental facts and rollups equal the full rebuild ---------------------------------

steps = st.lists(
    st.tuples(
        st.sampled_from(["P1", "P2", "P3"]),
        st.sampled_from(
            ["update", "update", "update", "move", "complete", "end_earlier", "undated", "withdraw"]
        ),
        st.integers(min_value=0, max_value=400),  # days before TODAY of the report (any order: back-dated)
        st.integers(min_value=0, max_value=100),  # progress
        st.sampled_from(["PU", "VSB"]),
        st.integers(min_value=0, max_value=200),  # days before the report of an earlier actual end
    ),
    min_size=1,
    max_size=10,
)


@pytest.mark.dbsensitive
@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps)
def test_incremental_refreshes_equal_the_rebuild_for_any_sequence_of_versions(sequence):
    with transaction.atomic():
        withdrawn: set[str] = set()
        for reference, kind, days, progress, programme, earlier in sequence:
            if reference in withdrawn:
                continue
            as_of = TODAY - timedelta(days=days)
            if kind == "withdraw":
                if not Project.objects.filter(operator_ref=reference).exists():
                    continue
                fields = {"operator": "MA-ALOMRANE-DOE", "operator_ref": reference, "withdrawn": True}
                withdrawn.add(reference)
            else:
                fields = record(
                    operator_ref=reference, as_of=as_of.isoformat(), progress=f"{progress}.00",
                    programme=programme, planned_start="2024-01-01", actual_start="2024-03-01",
                )  # fmt: skip
                if kind == "move":
                    fields["communes"] = {SECOND_COMMUNE: {"primary": True, "share": None}}
                if kind == "complete":
                    fields.update(status="ACHV", progress="100.00", actual_end=as_of.isoformat())
                if kind == "end_earlier":  # the end moves before months that have facts
                    end = as_of - timedelta(days=earlier)
                    fields.update(status="ACHV", progress="100.00", actual_end=end.isoformat())
                if kind == "undated":  # dated by its arrival (the clock's today, after TODAY)
                    fields["as_of"] = None
            batch = records_apply(
                actor=ACTOR, records=[fields], source_kind="command", source_id="t", scope=ADMIN_SCOPE,
                today=TODAY,
            )  # fmt: skip
            facts_refresh({v.project_id for v in batch.versions}, today=TODAY)
        incremental = snapshot()
        indicators_rebuild(today=TODAY)
        assert snapshot() == incremental
        transaction.set_rollback(True)


@pytest.mark.dbsensitive
@pytest.mark.django_db
def test_a_refresh_reads_the_documents_of_the_versions_in_force_from_the_month_before_the_new_report():
    ids = apply([record(operator_ref="A", as_of="2026-06-15", progress="10.00")])
    apply([record(operator_ref="A", as_of="2026-08-31", progress="25.00")])
    facts_refresh(ids, today=TODAY)
    apply([record(operator_ref="A", as_of="2026-09-10", progress="40.00")])
    # Version 1 is in force in June and July only: its document is not parsed (unreadable here).
    ProjectVersion.objects.filter(project_id=ids[0], number=1).update(canonical="{not json")
    summary = facts_refresh(ids, today=TODAY)
    assert (summary.months, summary.rollups) == (2, 2)
    assert list(
        ProjectMonth.objects.order_by("month").values_list("month", "version", "reported", "progress")
    ) == [
        (date(2026, 6, 1), 1, True, Decimal("10.00")),
        (date(2026, 7, 1), 1, False, Decimal("10.00")),
        (date(2026, 8, 1), 2, True, Decimal("25.00")),
        (date(2026, 9, 1), 3, True, Decimal("40.00")),
        (date(2026, 10, 1), 3, False, Decimal("40.00")),
    ]
