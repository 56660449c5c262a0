"""Writes of indicator targets (DESIGN §7: a target per indicator × territory × programme × year).

Three services, each atomic and audited: ``target_create``, ``target_update`` (the value) and
``target_delete``. They take codes, not objects, for what a target points at, so that every entry
point (the API, a form, a command) gets the same checks and the same messages:

- the indicator is one of the catalogue that can have a target: an output (MEN_TRT, LOTS, …) or a
  rate (TX_PHYS, TX_ENG, …); amounts, delays and context figures (INV, GLISS, INV_HAB) cannot;
- the territory is a region, a province or prefecture, or a commune; no territory (or the country's
  code, ``MA``) is a national target;
- the programme, when given, is one of the catalogue (none: every programme);
- the year lies in 2000–2100;
- the value is a decimal number above zero with at most two decimals; a count (households, units,
  lots…) is a whole number and a rate is at most 100.

Bad input raises ``TargetInvalid`` with one ``TargetIssue`` per field at fault; a second target with
the same indicator, territory, programme and year raises ``TargetConflict`` (the database's
``target_unique`` constraint decides, so two concurrent requests cannot both succeed).

Who may write, from the principal's scope (``marsad.accounts.scoping``)::

    scope = principal_scope(request.user)      # or an API client, or a SystemActor (national)
    may_write_targets(scope)                   # administrators, national analysts, territorial officers
    may_write_target(scope, territory)         # ... and an officer only at or below their territory

Administrators and national analysts write every target, national ones included; a territorial
officer writes the targets of their region or province and of the territories below it, matched by
the stored delimited path (``/06/06.141/`` is under ``/06/``), never by a prefix of the HCP code;
everyone else is refused with ``NotPermitted``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from marsad.accounts.choices import Role
from marsad.accounts.scoping import Scope, principal_scope
from marsad.audit.services import audit_record
from marsad.registry.choices import IndicatorKind, IndicatorUnit
from marsad.registry.models import Indicator, Programme
from marsad.registry.services import NotPermitted
from marsad.territories.choices import Level
from marsad.territories.models import COUNTRY_CODE, Territory

from .models import Target

__all__ = [
    "NotPermitted",
    "TargetConflict",
    "TargetInvalid",
    "TargetIssue",
    "may_write_target",
    "may_write_targets",
    "target_create",
    "target_delete",
    "target_find",
    "target_update",
]

YEAR_MIN, YEAR_MAX = 2000, 2100
TERRITORY_LEVELS = (Level.REGION, Level.PROVINCE, Level.COMMUNE)
# Units counted in whole numbers: a target of 12.5 households means nothing.
WHOLE_UNITS = frozenset(
    {
        IndicatorUnit.HOUSEHOLDS,
        IndicatorUnit.UNITS,
        IndicatorUnit.LOTS,
        IndicatorUnit.CONTRACTS,
        IndicatorUnit.TITLES,
        IndicatorUnit.PEOPLE,
        IndicatorUnit.DAYS,
    }
)
HUNDREDTH = Decimal("0.01")
# Target.value is DECIMAL(18, 2): 16 digits before the point.
VALUE_MAX = Decimal("9999999999999999.99")
AUDIT_TYPE = "indicators.target"
UNIQUE_CONSTRAINT = "target_unique"


# --- Errors -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetIssue:
    """One field at fault: ``field`` names the input (indicator, territory, programme, year, value),
    ``message`` is a lazy French text, filled with ``params`` in the reader's language."""

    field: str
    code: str
    message: Promise
    params: dict[str, Any] = field(default_factory=dict)


class TargetInvalid(Exception):
    """The input names nothing known or breaks a rule; ``issues`` lists every field at fault."""

    def __init__(self, issues: list[TargetIssue]):
        super().__init__(", ".join(f"{i.field}: {i.code}" for i in issues))
        self.issues = issues


class TargetConflict(Exception):
    """A target with the same indicator, territory, programme and year exists: ``existing`` is its id."""

    def __init__(self, existing: int | None):
        super().__init__(f"target exists: {existing}")
        self.existing = existing


# --- Who may write ----------------------------------------------------------------------------------------


def may_write_targets(scope: Scope) -> bool:
    """Whether the principal may write some target (before knowing which territory)."""
    return scope.is_national or Role.TERRITORIAL_OFFICER in scope.roles


def may_write_target(scope: Scope, territory: Territory | None) -> bool:
    """Whether the principal may write a target of ``territory`` (None: a national target)."""
    if scope.is_national:
        return True
    if Role.TERRITORIAL_OFFICER not in scope.roles or territory is None:
        return False
    return any(territory.path.startswith(path) for path in scope.territory_paths)


# --- Checks -----------------------------------------------------------------------------------------------

NOT_A_NUMBER = _("La valeur cible doit être un nombre décimal.")


def _value(value: Any, indicator: Indicator | None) -> tuple[Decimal | None, TargetIssue | None]:
    """The value as stored (two decimals), or what is wrong with it. A float is refused: targets are
    decimal, like every quantity of the platform."""
    number = None
    if isinstance(value, Decimal | int | str) and not isinstance(value, bool):
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            number = None
    if number is None or not number.is_finite():
        return None, TargetIssue("value", "value_not_a_number", NOT_A_NUMBER)
    if number <= 0:
        return None, TargetIssue(
            "value", "value_not_positive", _("La valeur cible doit être strictement positive.")
        )
    if number > VALUE_MAX:
        return None, TargetIssue(
            "value",
            "value_too_large",
            _("La valeur cible dépasse le maximum admis (%(max)s)."),
            {"max": VALUE_MAX},
        )
    if number != number.quantize(HUNDREDTH):
        return None, TargetIssue("value", "value_precision", _("La valeur cible a au plus deux décimales."))
    if indicator is not None and indicator.unit in WHOLE_UNITS and number != number.to_integral_value():
        return None, TargetIssue(
            "value",
            "value_not_whole",
            _("%(indicator)s se compte en %(unit)s : la valeur cible est un nombre entier."),
            {"indicator": indicator.code, "unit": indicator.get_unit_display()},
        )
    if indicator is not None and indicator.unit == IndicatorUnit.PERCENT and number > 100:
        return None, TargetIssue(
            "value",
            "rate_above_100",
            _("%(indicator)s est un taux : la valeur cible ne dépasse pas 100."),
            {"indicator": indicator.code},
        )
    return number.quantize(HUNDREDTH), None


def can_have_target(indicator: Indicator) -> bool:
    """Outputs and rates have targets; amounts, delays and context figures do not."""
    return indicator.kind == IndicatorKind.OUTPUT or indicator.unit == IndicatorUnit.PERCENT


@dataclass
class _Checked:
    indicator: Indicator | None = None
    territory: Territory | None = None
    programme: Programme | None = None
    value: Decimal | None = None
    issues: list[TargetIssue] = field(default_factory=list)


def _check(indicator: str, territory: str | None, programme: str | None, year: Any, value: Any) -> _Checked:
    checked = _Checked()
    issues = checked.issues
    checked.indicator = Indicator.objects.filter(code=indicator).first() if indicator else None
    if checked.indicator is None:
        issues.append(
            TargetIssue(
                "indicator", "unknown_indicator", _("Indicateur inconnu : %(code)s"), {"code": indicator}
            )
        )
    elif not can_have_target(checked.indicator):
        issues.append(
            TargetIssue(
                "indicator",
                "indicator_without_target",
                _("%(value)s n'a pas de cible : seules les réalisations et les taux en ont."),
                {"value": indicator},
            )
        )
    if territory and territory != COUNTRY_CODE:
        checked.territory = Territory.objects.filter(code=territory).first()
        if checked.territory is None:
            issues.append(
                TargetIssue(
                    "territory",
                    "unknown_territory",
                    _("Territoire inconnu : %(code)s"),
                    {"code": territory},
                )
            )
        elif checked.territory.level not in TERRITORY_LEVELS:
            issues.append(
                TargetIssue(
                    "territory",
                    "territory_level",
                    _(
                        "Une cible porte sur le pays, une région, une province ou préfecture, ou une "
                        "commune ; %(value)s est de niveau « %(level)s »."
                    ),
                    {"value": territory, "level": checked.territory.get_level_display()},
                )
            )
    if programme:
        checked.programme = Programme.objects.filter(code=programme).first()
        if checked.programme is None:
            issues.append(
                TargetIssue(
                    "programme", "unknown_programme", _("Programme inconnu : %(value)s"), {"value": programme}
                )
            )
    if isinstance(year, bool) or not isinstance(year, int) or not YEAR_MIN <= year <= YEAR_MAX:
        issues.append(
            TargetIssue(
                "year",
                "year_out_of_range",
                _("L'année doit être un entier de %(min)s à %(max)s."),
                {"min": YEAR_MIN, "max": YEAR_MAX},
            )
        )
    usable = (
        checked.indicator if checked.indicator is not None and can_have_target(checked.indicator) else None
    )
    checked.value, problem = _value(value, usable)
    if problem is not None:
        issues.append(problem)
    return checked


# --- Services ---------------------------------------------------------------------------------------------


def target_find(target_id: int) -> Target | None:
    """The target with this id, with its indicator and territory (one query), or None."""
    return Target.objects.select_related("indicator", "territory").filter(pk=target_id).first()


def _snapshot(target: Target) -> dict:
    return {
        "indicator": target.indicator_id,
        "territory": target.territory.code if target.territory_id else None,
        "programme": target.programme_id,
        "year": target.year,
        "value": str(target.value),
    }


def target_label(target: Target) -> str:
    """How the audit names a target: indicator, territory (MA: national), programme (* : all), year."""
    territory = target.territory.code if target.territory_id else COUNTRY_CODE
    return f"{target.indicator_id} {territory} {target.programme_id or '*'} {target.year}"


def _existing_id(indicator: str, territory: Territory | None, programme: str | None, year: int) -> int | None:
    return (
        Target.objects.filter(indicator_id=indicator, year=year)
        .filter(Q(territory=territory) if territory else Q(territory__isnull=True))
        .filter(Q(programme_id=programme) if programme else Q(programme__isnull=True))
        .values_list("id", flat=True)
        .first()
    )


@transaction.atomic
def target_create(
    *,
    actor: Any,
    indicator: str,
    territory: str | None,
    programme: str | None,
    year: int,
    value: Decimal | int | str,
    request_id: str = "",
) -> Target:
    """Create the target of ``indicator`` in ``territory`` (HCP code; None or "MA": national) for
    ``programme`` (code; None: every programme) and ``year``. Raises ``NotPermitted``,
    ``TargetInvalid`` or ``TargetConflict``."""
    scope = principal_scope(actor)
    if not may_write_targets(scope):
        raise NotPermitted
    checked = _check(indicator, territory, programme, year, value)
    if checked.issues:
        raise TargetInvalid(checked.issues)
    if not may_write_target(scope, checked.territory):
        raise NotPermitted
    target = Target(
        indicator=checked.indicator,
        territory=checked.territory,
        programme=checked.programme,
        year=year,
        value=checked.value,
    )
    try:
        with transaction.atomic():
            target.save(force_insert=True)
    except IntegrityError as error:
        if UNIQUE_CONSTRAINT not in str(error):
            raise
        raise TargetConflict(_existing_id(indicator, checked.territory, programme or None, year)) from error
    audit_record(
        actor=actor,
        action="target.create",
        object_type=AUDIT_TYPE,
        object_id=target.pk,
        object_label=target_label(target),
        changes={"after": _snapshot(target)},
        request_id=request_id,
    )
    return target


@transaction.atomic
def target_update(*, actor: Any, target: Target, value: Decimal | int | str, request_id: str = "") -> Target:
    """Change the value of a target (what it points at never changes: delete it and create another).
    Raises ``NotPermitted``, ``TargetInvalid`` or ``Target.DoesNotExist`` (deleted meanwhile)."""
    if not may_write_target(principal_scope(actor), target.territory if target.territory_id else None):
        raise NotPermitted
    number, problem = _value(value, target.indicator)
    if problem is not None:
        raise TargetInvalid([problem])
    # Lock the row (PostgreSQL) so that the audit's "before" is the value this update replaces.
    before = Target.objects.select_for_update().filter(pk=target.pk).values_list("value", flat=True).first()
    if before is None:
        raise Target.DoesNotExist
    target.value = number
    if before == number:
        return target
    Target.objects.filter(pk=target.pk).update(value=number)
    audit_record(
        actor=actor,
        action="target.update",
        object_type=AUDIT_TYPE,
        object_id=target.pk,
        object_label=target_label(target),
        changes={"value": [str(before), str(number)]},
        request_id=request_id,
    )
    return target


@transaction.atomic
def target_delete(*, actor: Any, target: Target, request_id: str = "") -> None:
    """Delete a target. Raises ``NotPermitted`` or ``Target.DoesNotExist`` (deleted meanwhile)."""
    if not may_write_target(principal_scope(actor), target.territory if target.territory_id else None):
        raise NotPermitted
    pk = target.pk
    value = Target.objects.select_for_update().filter(pk=pk).values_list("value", flat=True).first()
    if value is None:
        raise Target.DoesNotExist
    target.value = value
    snapshot, label = _snapshot(target), target_label(target)
    Target.objects.filter(pk=pk).delete()
    audit_record(
        actor=actor,
        action="target.delete",
        object_type=AUDIT_TYPE,
        object_id=pk,
        object_label=label,
        changes={"before": snapshot},
        request_id=request_id,
    )
