"""A small world for the figures on the pages, the map, the exports and the API (DESIGN §7, §9).

Al Omrane Dakhla-Oued Ed-Dahab (MA-ALOMRANE-DOE) runs two projects in region 12, province 12.391:

- D1, budget 1 000.00, with its financing: reported on 18 September (received on 20 September:
  progress 5.00, committed 200.00, paid 100.00), then on 5 October (received on 6 October: 10.00,
  500.00, 250.00); 85 % of its fields filled (no description, agreement or actual end);
- D2 (programme VSB), budget 3 000.00, no financing (80 % filled): reported on 15 September, received
  on 6 October with paid (200.00) above committed (100.00), a warning; progress 50.00.

Al Omrane Casablanca-Settat (MA-ALOMRANE-CS) runs C1 in an arrondissement of Casablanca (region 06,
province 06.141, commune 06.141.01.0), budget 2 000.00, no financing and no location (75 % filled):
reported on 10 October (received on 11 October): progress 80.00, committed 2 000.00, paid 1 000.00.

The facts run to October 2026. The figures, by hand:

- September, region 12 = DOE: INV 4 000.00; TX_PHYS (1000×5 + 3000×50) / 4000 = 38.75; committed
  300.00, TX_ENG 7.50; paid 300.00, TX_PAI 7.50; 2 projects, 2 reported. Region 06: nothing.
- October, region 12 = DOE: INV 4 000.00; TX_PHYS (1000×10 + 3000×50) / 4000 = 40.00; committed
  600.00, TX_ENG 15.00; paid 450.00, TX_PAI 11.25; 2 projects, 1 reported (D1).
  Region 06 = CS: INV 2 000.00, TX_PHYS 80.00, TX_ENG 100.00, TX_PAI 50.00.
- Data quality of DOE: September: 2 projects, 2 reported, 1 record (D1's first, clean): completeness
  (85 + 80) / 2 = 82.50, timeliness 100.00, validity 100.00, score 94.17. October: 2 projects, 1
  reported, 2 records, 1 clean: 82.50, 50.00, 50.00, score 60.83. CS in October: 1, 1, 1, 1: 75.00,
  100.00, 100.00, score 91.67.
"""

from datetime import date, datetime

from marsad.accounts.choices import Role
from marsad.accounts.models import Organisation
from marsad.accounts.services import membership_grant, user_create
from marsad.indicators.facts import CASABLANCA
from marsad.indicators.services import facts_refresh
from marsad.registry.models import Project
from marsad.registry.services import project_publish, records_apply
from marsad.registry.tests.records import ADMIN_SCOPE, record
from marsad.territories.models import Territory

from .support import SYSTEM, TODAY

SEPTEMBER = date(2026, 9, 1)
OCTOBER = date(2026, 10, 1)
NBSP = "\u00a0"


def send(received_at: datetime, records: list[dict]) -> list[int]:
    """Write records as the national administrator, received at ``received_at``."""
    batch = records_apply(
        actor=SYSTEM, records=records, source_kind="command", source_id="t", scope=ADMIN_SCOPE,
        received_at=received_at, today=TODAY,
    )  # fmt: skip
    assert [r.errors for r in batch.results] == [[] for _ in records]
    return sorted({v.project_id for v in batch.versions})


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 9, tzinfo=CASABLANCA)


D1 = {"operator_ref": "D1", "budget": "1000.00", "financing": {"MA-ALOMRANE-DOE": "1000.00"}}
D2 = {"operator_ref": "D2", "budget": "3000.00", "financing": {}, "programme": "VSB", "progress": "50.00",
      "committed": "100.00", "paid": "200.00", "as_of": "2026-09-15"}  # fmt: skip
C1 = {"operator_ref": "C1", "operator": "MA-ALOMRANE-CS", "budget": "2000.00", "financing": {},
      "location": None, "communes": {"06.141.01.53": {"primary": True, "share": None}}, "progress": "80.00",
      "committed": "2000.00", "paid": "1000.00", "as_of": "2026-10-10"}  # fmt: skip


def build() -> dict[str, Project]:
    """Write the world's versions and build its facts; its projects by operator reference."""
    ids = send(at(2026, 9, 20), [record(**D1, progress="5.00", committed="200.00", paid="100.00",
                                        as_of="2026-09-18")])  # fmt: skip
    ids += send(at(2026, 10, 6), [
        record(**D1, progress="10.00", committed="500.00", paid="250.00", as_of="2026-10-05"),
        record(**D2),
    ])  # fmt: skip
    ids += send(at(2026, 10, 11), [record(**C1)])
    facts_refresh(sorted(set(ids)), today=TODAY)
    return {p.operator_ref: p for p in Project.objects.filter(id__in=ids)}


def publish(project: Project) -> None:
    project_publish(actor=SYSTEM, project=project)


def user(username: str, role: str, *, territory: str | None = None, organisation: str | None = None):
    found = user_create(actor=SYSTEM, username=username, password=None)
    membership_grant(
        actor=SYSTEM,
        user=found,
        role=role,
        territory=Territory.objects.get(code=territory) if territory else None,
        organisation=Organisation.objects.get(code=organisation) if organisation else None,
    )
    return found


def users() -> dict:
    return {
        "analyst": user("analyst", Role.NATIONAL_ANALYST),
        "wali": user("wali", Role.TERRITORIAL_OFFICER, territory="12"),
        "steward": user("steward", Role.OPERATOR_STEWARD, organisation="MA-ALOMRANE-DOE"),
    }
