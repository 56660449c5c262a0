"""Reads of alerts, scoped (DESIGN §8).

Alerts are steering information, not open data: a principal reads the alerts of the projects its
own grants cover, through the registry's one scoping rule (``registry.selectors.project_scope_q``)
without the part every visitor gets (published projects). National roles read every alert; a
territorial officer those of the projects under their region or province (by the stored territory
path); an operator's data steward those of its operators' projects (subsidiaries included); a
partner those of the projects it finances or whose agreement it signed. The public reads none.

Acknowledging is for administrators, national analysts, and territorial officers and data stewards
on the alerts their territory or operator grants cover; partners read only. E-mails about new
high-severity alerts go to the users who read them (``alert_readers``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When

from marsad.accounts.models import Organisation
from marsad.accounts.scoping import Scope, organisation_family_ids, principal_scope
from marsad.registry.models import Project
from marsad.registry.selectors import project_scope_q

from .choices import SEVERITY_RANK, Severity, State
from .models import Alert, AlertEvent

NOTHING = Q(pk__in=[])


def grants_q(scope: Scope, *, partners: bool = True) -> Q | None:
    """The projects a scope's own grants cover (no public part): None for national roles; a
    condition that matches nothing for a scope without grants."""
    if not partners:
        scope = replace(scope, partner_ids=frozenset())
    return project_scope_q(scope, public=NOTHING)


def _has_grants(scope: Scope, *, partners: bool = True) -> bool:
    return (
        scope.is_national
        or bool(scope.territory_paths)
        or bool(scope.operator_ids)
        or (partners and bool(scope.partner_ids))
    )


def visible_alerts(principal: Any) -> QuerySet[Alert]:
    scope = principal_scope(principal)
    if not _has_grants(scope):
        return Alert.objects.none()
    condition = grants_q(scope)
    alerts = Alert.objects.all()
    if condition is None:
        return alerts
    return alerts.filter(project__in=Project.objects.filter(condition).values("pk"))


@dataclass(frozen=True)
class AlertFilters:
    state: str = State.OPEN  # "open", "closed", or "" for both
    severity: str = ""
    rule: str = ""
    region: str = ""
    province: str = ""
    programme: str = ""
    operator: str = ""  # an operator's exchange identifier: its subsidiaries' alerts too
    project: str = ""  # a project's Marsad id


def _severity_rank() -> Case:
    return Case(
        *(When(severity=severity, then=Value(rank)) for severity, rank in SEVERITY_RANK.items()),
        default=Value(len(SEVERITY_RANK)),
        output_field=IntegerField(),
    )


def _filtered(alerts: QuerySet[Alert], filters: AlertFilters) -> QuerySet[Alert]:
    if filters.state:
        alerts = alerts.filter(state=filters.state)
    if filters.severity:
        alerts = alerts.filter(severity=filters.severity)
    if filters.rule:
        alerts = alerts.filter(rule=filters.rule)
    if filters.region:
        alerts = alerts.filter(region_code=filters.region)
    if filters.province:
        alerts = alerts.filter(province_code=filters.province)
    if filters.programme:
        alerts = alerts.filter(project__programme_id=filters.programme)
    if filters.operator:
        operator = Organisation.objects.filter(code=filters.operator).values_list("id", flat=True).first()
        alerts = alerts.filter(operator_id__in=organisation_family_ids([operator]) if operator else [])
    if filters.project:
        alerts = alerts.filter(project__public_id=filters.project)
    return alerts


def alert_list(principal: Any, filters: AlertFilters | None = None) -> QuerySet[Alert]:
    """The alerts the principal reads, filtered; the most severe first, then the newest. Region and
    province are those of the project's primary commune (copied on the alert)."""
    alerts = _filtered(visible_alerts(principal), filters or AlertFilters())
    return (
        alerts.select_related("project", "project__status", "operator", "acknowledged_by")
        .annotate(severity_rank=_severity_rank())
        .order_by("severity_rank", "-opened_at", "-id")
    )


def alert_get(principal: Any, alert_id: int) -> Alert:
    """One alert the principal reads, with its events. Raises Alert.DoesNotExist when it does not
    exist or is out of scope (the caller answers 404)."""
    return (
        visible_alerts(principal)
        .select_related("project", "project__status", "operator", "acknowledged_by")
        .prefetch_related(Prefetch("events", AlertEvent.objects.select_related("actor").order_by("at", "id")))
        .get(pk=alert_id)
    )


def alert_counts(principal: Any, filters: AlertFilters | None = None) -> dict[str, int]:
    """How many alerts of each severity the principal reads (open ones unless the filters say)."""
    counts = dict.fromkeys(Severity.values, 0)
    rows = (
        _filtered(visible_alerts(principal), filters or AlertFilters())
        .values("severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[row["severity"]] = row["n"]
    return counts


def _permitted(principal: Any, alerts: Iterable[Alert]) -> set[int]:
    """The ids of those ``alerts`` whose projects the principal's acknowledging grants cover, in any
    state (one query at most)."""
    chosen = list(alerts)
    scope = principal_scope(principal)
    if not chosen or not _has_grants(scope, partners=False):
        return set()
    if scope.is_national:
        return {alert.pk for alert in chosen}
    projects = set(
        Project.objects.filter(
            grants_q(scope, partners=False), pk__in={alert.project_id for alert in chosen}
        ).values_list("pk", flat=True)
    )
    return {alert.pk for alert in chosen if alert.project_id in projects}


def acknowledgeable(principal: Any, alerts: Iterable[Alert]) -> set[int]:
    """The ids of those open ``alerts`` the principal may acknowledge now (one query at most): the
    inbox shows the acknowledgement form on them."""
    return _permitted(principal, [alert for alert in alerts if alert.state == State.OPEN])


def may_acknowledge(principal: Any, alert: Alert) -> bool:
    """Whether the principal's role and grants allow acknowledging this alert, whatever its state (a
    closed alert is then a conflict, not a refusal)."""
    return alert.pk in _permitted(principal, [alert])


def alert_readers(scope: Scope, project_ids: Iterable[int]) -> set[int]:
    """Which of these projects a scope reads the alerts of."""
    ids = set(project_ids)
    if not ids or not _has_grants(scope):
        return set()
    condition = grants_q(scope)
    if condition is None:
        return ids
    return set(Project.objects.filter(condition, pk__in=ids).values_list("pk", flat=True))
