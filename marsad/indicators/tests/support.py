"""A small world for the engine's tests: three projects reported in September 2026, two in Dakhla
(region 12, province 12.391), one in Casablanca (region 06), with their monthly facts built."""

from datetime import date

from marsad.audit.services import SystemActor
from marsad.indicators.services import facts_refresh
from marsad.registry.services import records_apply
from marsad.registry.tests.records import ADMIN_SCOPE, record

TODAY = date(2026, 10, 31)
SEPTEMBER = date(2026, 9, 1)
SYSTEM = SystemActor("tests")


def apply(records: list[dict]) -> list[int]:
    """Write records as the national administrator (dated TODAY); the ids of the projects written."""
    batch = records_apply(
        actor=SYSTEM, records=records, source_kind="command", source_id="t", scope=ADMIN_SCOPE, today=TODAY
    )
    assert [r.errors for r in batch.results] == [[] for _ in records]
    return sorted({v.project_id for v in batch.versions})


def three_projects() -> list[int]:
    ids = apply(
        [
            record(operator_ref="D1", budget="1000.00", financing={}, progress="10.00", committed="500.00",
                   paid="250.00", as_of="2026-09-30"),
            record(operator_ref="D2", budget="3000.00", financing={}, progress="50.00", committed="1500.00",
                   paid="300.00", as_of="2026-09-15", programme="VSB"),
            record(operator_ref="C1", operator="MA-ALOMRANE-CS", budget="2000.00", financing={},
                   progress="80.00", committed="2000.00", paid="1000.00", as_of="2026-09-10", location=None,
                   communes={"06.141.01.53": {"primary": True, "share": None}}),
        ]
    )  # fmt: skip
    facts_refresh(ids, today=TODAY)
    return ids
