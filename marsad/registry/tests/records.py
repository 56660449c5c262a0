"""A valid project record to start tests from, and the national scope to write it with."""

import copy
from datetime import date

from marsad.accounts.choices import Role
from marsad.accounts.scoping import Scope

TODAY = date(2026, 10, 31)
ADMIN_SCOPE = Scope(roles=frozenset({Role.ADMINISTRATOR}), label="test")

BASE_RECORD = {
    "operator": "MA-ALOMRANE-DOE",
    "operator_ref": "DOE-PU-001",
    "title": {"fr": "Pôle urbain de Dakhla", "ar": "القطب الحضري للداخلة"},
    "description": {"fr": "", "ar": ""},
    "programme": "PU",
    "status": "ENCO",
    "agreement": None,
    "communes": {"12.391.01.01": {"primary": True, "share": None}},
    "location": {"lat": "23.70000", "lon": "-15.93000"},
    "area_ha": "275",
    "planned_start": "2024-01-01",
    "planned_end": "2030-12-31",
    "actual_start": "2024-03-01",
    "actual_end": None,
    "budget": "1500000000.00",
    "financing": {"MA-ALOMRANE-DOE": "900000000.00", "MA-GIE-DAKHLA-SC": "600000000.00"},
    "outputs": {"SUP": {"target": "275", "achieved": "40"}},
    "milestones": {"SIGN_CONV": {"planned": None, "forecast": None, "actual": "2023-11-10"}},
    "as_of": "2026-09-30",
    "progress": "12.50",
    "committed": "300000000.00",
    "paid": "150000000.00",
}


def record(**overrides) -> dict:
    """A deep copy of the base record with top-level fields replaced."""
    result = copy.deepcopy(BASE_RECORD)
    result.update(copy.deepcopy(overrides))
    return result


def with_nested(path: list[str], value) -> dict:
    """A valid record with one value replaced deep inside it (``["outputs", "SUP", "target"]``)."""
    raw = record()
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return raw
