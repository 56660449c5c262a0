"""Helpers of the alerts' tests: projects written through the registry's one path, users with roles."""

from datetime import date

from marsad.accounts.models import Organisation
from marsad.accounts.services import membership_grant, user_create
from marsad.audit.services import SystemActor
from marsad.registry.models import Project
from marsad.registry.services import records_apply
from marsad.registry.tests.records import ADMIN_SCOPE, record
from marsad.territories.models import Territory

TODAY = date(2026, 10, 31)
SYSTEM = SystemActor("tests")

# A project on time and in order on TODAY: planned 2024-01-01 → 2030-12-31, 40 % on 2026-09-30 (the
# S-curve plans 34.11 % that day: performance 1.17), amounts within the budget.
ON_TRACK = {"progress": "40.00", "as_of": "2026-09-30"}


def apply(records: list[dict], *, today: date = TODAY) -> list[int]:
    """Write records as the national administrator; the ids of the projects written."""
    batch = records_apply(
        actor=SYSTEM, records=records, source_kind="command", source_id="t", scope=ADMIN_SCOPE, today=today
    )
    assert [r.errors for r in batch.results] == [[] for _ in records]
    return sorted({v.project_id for v in batch.versions})


def write(ref: str = "DOE-PU-001", *, today: date = TODAY, **fields) -> int:
    """One version of a project (the base record, on track, with ``fields``); its id."""
    apply([record(operator_ref=ref, **{**ON_TRACK, **fields})], today=today)
    return Project.objects.get(operator_ref=ref).pk


def person(username: str, role: str, *, territory: str = "", organisation: str = "", email: bool = True):
    user = user_create(
        actor=SYSTEM, username=username, password=None, email=f"{username}@example.ma" if email else ""
    )
    membership_grant(
        actor=SYSTEM,
        user=user,
        role=role,
        territory=Territory.objects.get(code=territory) if territory else None,
        organisation=Organisation.objects.get(code=organisation) if organisation else None,
    )
    return user


# Al Omrane Casablanca-Settat's project in Casablanca (region 06, prefecture 06.141), financed by its
# operator alone; the base record is Al Omrane Dakhla-Oued Ed-Dahab's in Dakhla (region 12, province
# 12.391), co-financed by the GIE of Dakhla (a partner).
CASABLANCA = {
    "operator": "MA-ALOMRANE-CS",
    "communes": {"06.141.01.0": {"primary": True, "share": None}},
    "financing": {"MA-ALOMRANE-CS": "1500000000.00"},
    "programme": "VSB",
}
# A project that has committed more than its budget on TODAY: a medium financial anomaly.
OVERRUN = {"committed": "1600000000.00"}
# And one that has paid more than it committed: high.
OVERPAID = {"committed": "1600000000.00", "paid": "1700000000.00"}


def people() -> dict:
    """One user per role and scope, each with an e-mail address: national analyst, territorial officers
    of Dakhla-Oued Ed-Dahab (12) and Casablanca-Settat (06), data stewards of Al Omrane Dakhla and
    of Casablanca-Settat, the Al Omrane holding's steward, and the GIE of Dakhla (a partner)."""
    return {
        "analyst": person("analyst", "national_analyst"),
        "wali12": person("wali12", "territorial_officer", territory="12"),
        "wali06": person("wali06", "territorial_officer", territory="06"),
        "doe": person("doe", "operator_steward", organisation="MA-ALOMRANE-DOE"),
        "cs": person("cs", "operator_steward", organisation="MA-ALOMRANE-CS"),
        "holding": person("holding", "operator_steward", organisation="MA-ALOMRANE"),
        "gie": person("gie", "partner_viewer", organisation="MA-GIE-DAKHLA-SC"),
    }


# Figures within the budget: a financial anomaly written before closes.
FINE = {"committed": "300000000.00", "paid": "150000000.00"}


def inbox_world() -> dict:
    """The inbox the API and page tests read: D1, a high financial anomaly in Dakhla; C1, a medium one
    in Casablanca; D3, one in Dakhla that closed once its figures came back within the budget."""
    from marsad.alerts import services
    from marsad.alerts.models import Alert

    refs = {
        "D3": write("DOE-3", **OVERRUN),
        "D1": write("DOE-1", **OVERPAID),
        "C1": write("CS-1", **CASABLANCA, **OVERRUN),
    }
    for ref in ("D3", "D1", "C1"):
        services.alerts_evaluate([refs[ref]], today=TODAY, notify=False)
    write("DOE-3", **FINE)
    services.alerts_evaluate([refs["D3"]], today=TODAY, notify=False)
    return {"users": people(), "alerts": {ref: Alert.objects.get(project_id=pk) for ref, pk in refs.items()}}
