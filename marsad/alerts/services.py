"""Writes of alerts: evaluation of the rules, acknowledgement, e-mail notification (DESIGN §7).

``alerts_evaluate`` reads the current state and reports of a set of projects, applies the rules
(``alerts.rules``) and reconciles the result with the open alerts: it opens the alerts whose
condition appeared, updates those whose evidence or severity changed (event "updated"), and closes
those whose condition no longer holds. A change of the day counts alone (days late, days unchanged,
days since the last report: ``rules.GROWING``) refreshes the alert's evidence without an event, so
that the daily run does not write a history line per late project and per day.

It works by chunks of projects with a fixed number of queries per chunk (two reads of the registry,
one of the open alerts, at most one insert of alerts, one update, one close, one insert of events
and one audit event), each chunk in its own transaction. Two evaluations of the same project at
once cannot open the same alert twice (a partial unique constraint): the later one reads the open
alerts again and retries.

The registry's after-commit hook evaluates the projects that received versions (in the background,
``alerts.tasks``); the scheduler evaluates every running project once a day for the rules that
depend on the date (late, stalled, stale data); ``marsad alerts_evaluate`` evaluates them all.

Alerts that became high-severity in a run (opened as high, or raised to high) are e-mailed once the
run has committed: one plain-text message per user, in Arabic and French, listing the alerts of
the projects that user reads (``selectors.alert_readers``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from marsad.accounts.scoping import principal_scope
from marsad.audit.services import SystemActor, actor_identity, audit_record
from marsad.core import rows
from marsad.registry.canonical import stored_document
from marsad.registry.models import Project, ProjectVersion

from . import rules, selectors, texts
from .choices import EventKind, RuleCode, Severity, State
from .models import Alert, AlertEvent

CHUNK = 500
SYSTEM = SystemActor("alerts")
CASABLANCA = ZoneInfo("Africa/Casablanca")
UPDATED_FIELDS = ("severity", "evidence", "updated_at", "region_code", "province_code", "operator")
EVENT_FIELDS = rows.concrete_names(AlertEvent, pk=False)
MAX_COMMENT = 2000
RETRIES = 3
LISTED = 20  # alerts listed in one e-mail; the others are counted, with a link to the inbox


def local_today() -> date:
    """Today in Africa/Casablanca (the platform's time zone)."""
    return timezone.localdate()


@dataclass
class EvaluationSummary:
    projects: int = 0
    opened: int = 0
    updated: int = 0
    closed: int = 0
    refreshed: int = 0  # only the day counts (or the project's place) changed: no event
    notified: int = 0  # e-mails sent (once the evaluation has committed)

    @property
    def changed(self) -> int:
        return self.opened + self.updated + self.closed


@dataclass(frozen=True)
class _Place:
    region_code: str
    province_code: str
    operator_id: int


def _report_date(received_at: datetime, document: dict) -> date:
    if document.get("as_of"):
        return date.fromisoformat(document["as_of"])
    return received_at.astimezone(CASABLANCA).date()


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def _states(ids: list[int]) -> tuple[dict[int, rules.ProjectState], dict[int, _Place]]:
    """The rules' view of these projects (two queries)."""
    reports: dict[int, list[rules.Report]] = {}
    for project_id, number, received_at, canonical in (
        ProjectVersion.objects.filter(project_id__in=ids, is_tombstone=False)
        .order_by()
        .values_list("project_id", "number", "received_at", "canonical")
    ):
        document = stored_document(canonical)
        reports.setdefault(project_id, []).append(
            rules.Report(number, _report_date(received_at, document), _decimal(document.get("progress")))
        )
    states, places = {}, {}
    for row in Project.objects.filter(pk__in=ids).values(
        "pk", "status_id", "status__is_completed", "status__is_cancelled", "withdrawn", "planned_start",
        "planned_end", "budget", "as_of", "progress", "committed", "paid", "warning_codes", "region_code",
        "province_code", "operator_id",
    ):  # fmt: skip
        states[row["pk"]] = rules.ProjectState(
            status=row["status_id"],
            completed=row["status__is_completed"],
            cancelled=row["status__is_cancelled"],
            withdrawn=row["withdrawn"],
            planned_start=row["planned_start"],
            planned_end=row["planned_end"],
            budget=row["budget"],
            as_of=row["as_of"],
            progress=row["progress"],
            committed=row["committed"],
            paid=row["paid"],
            warning_codes=tuple(row["warning_codes"] or ()),
            reports=tuple(reports.get(row["pk"], ())),
        )
        places[row["pk"]] = _Place(row["region_code"], row["province_code"], row["operator_id"])
    return states, places


def _event(alert: Alert, kind: str, at: datetime, *, actor=None, comment: str = "") -> AlertEvent:
    """An event of the alert as it stands; ``actor`` is the user acknowledging (the rules act alone)."""
    user = actor if isinstance(actor, get_user_model()) else None
    return AlertEvent(
        alert=alert,
        kind=kind,
        at=at,
        severity=alert.severity,
        evidence=alert.evidence,
        actor=user,
        actor_label=(actor_identity(actor)[2] if actor is not None else SYSTEM.name)[:150],
        comment=comment,
    )


def _evaluate_chunk(
    ids: list[int],
    states: dict[int, rules.ProjectState],
    places: dict[int, _Place],
    today: date,
    actor: Any,
    raised: list[int],
) -> EvaluationSummary:
    """Reconcile the open alerts of these projects with the rules' findings, in one transaction."""
    summary = EvaluationSummary(projects=len(ids))
    now = timezone.now()
    with transaction.atomic():
        current = {
            (alert.rule, alert.project_id): alert
            for alert in Alert.objects.filter(project_id__in=ids, state=State.OPEN)
        }
        created: list[Alert] = []
        changed: list[Alert] = []
        events: list[AlertEvent] = []
        escalated: list[Alert] = []
        renewed: list[Alert] = []  # evidence or severity changed
        refreshed: list[Alert] = []  # only the day counts changed, or the project's place
        for project_id in ids:
            state = states.get(project_id)
            if state is None:
                continue
            place = places[project_id]
            for code, finding in rules.findings(state, today).items():
                alert = current.pop((code, project_id), None)
                if alert is None:
                    created.append(
                        Alert(
                            rule=code,
                            project_id=project_id,
                            severity=finding.severity,
                            state=State.OPEN,
                            opened_at=now,
                            updated_at=now,
                            evidence=finding.evidence,
                            region_code=place.region_code,
                            province_code=place.province_code,
                            operator_id=place.operator_id,
                        )
                    )
                    continue
                moved = (alert.region_code, alert.province_code, alert.operator_id) != (
                    place.region_code,
                    place.province_code,
                    place.operator_id,
                )
                same_substance = rules.substance(alert.evidence) == rules.substance(finding.evidence)
                news = alert.severity != finding.severity or not same_substance
                if not (news or moved or alert.evidence != finding.evidence):
                    continue
                if news and finding.severity == Severity.HIGH and alert.severity != Severity.HIGH:
                    escalated.append(alert)
                alert.severity, alert.evidence = finding.severity, finding.evidence
                alert.region_code, alert.province_code = place.region_code, place.province_code
                alert.operator_id = place.operator_id
                if news:
                    alert.updated_at = now
                    renewed.append(alert)
                    events.append(_event(alert, EventKind.UPDATED, now))
                else:
                    refreshed.append(alert)
                changed.append(alert)
        closing = list(current.values())  # conditions that no longer hold (or projects gone)
        if created:
            Alert.objects.bulk_create(created)
            events.extend(_event(alert, EventKind.OPENED, now) for alert in created)
        rows.update_objects(changed, UPDATED_FIELDS)
        if closing:
            Alert.objects.filter(pk__in=[alert.pk for alert in closing]).update(
                state=State.CLOSED, closed_at=now, updated_at=now
            )
            events.extend(_event(alert, EventKind.CLOSED, now) for alert in closing)
        rows.insert_objects(events, EVENT_FIELDS)
        summary.opened = len(created)
        summary.updated = len(renewed)
        summary.closed = len(closing)
        summary.refreshed = len(refreshed)
        if summary.changed or refreshed:
            audit_record(
                actor=actor,
                action="alerts.evaluate",
                object_type="alerts.alert",
                object_label=_count_label(summary),
                changes={
                    "today": today.isoformat(),
                    "projects": len(ids),
                    "opened": [[a.pk, a.rule, a.project_id] for a in created],
                    "updated": [[a.pk, a.rule, a.project_id] for a in renewed],
                    "closed": [[a.pk, a.rule, a.project_id] for a in closing],
                    "refreshed": len(refreshed),
                },
                occurred_at=now,
            )
    raised.extend(alert.pk for alert in created if alert.severity == Severity.HIGH)
    raised.extend(alert.pk for alert in escalated)
    return summary


def _count_label(summary: EvaluationSummary) -> str:
    return (
        f"{summary.opened} opened, {summary.updated} updated, {summary.closed} closed, "
        f"{summary.refreshed} refreshed"
    )


def alerts_evaluate(
    project_ids: Iterable[int],
    *,
    today: date | None = None,
    actor: Any = None,
    notify: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> EvaluationSummary:
    """Open, update and close the alerts of these projects as the rules find them on ``today``
    (today in Casablanca by default). New high-severity alerts are e-mailed after commit."""
    today = today or local_today()
    actor = actor or SYSTEM
    ids = sorted(set(project_ids))
    total = EvaluationSummary()
    raised: list[int] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        states, places = _states(chunk)
        for attempt in range(RETRIES):
            try:
                part = _evaluate_chunk(chunk, states, places, today, actor, raised)
                break
            except IntegrityError:
                # Another evaluation opened one of these alerts meanwhile: read them again.
                if attempt == RETRIES - 1:
                    raise
        total.projects += part.projects
        total.opened += part.opened
        total.updated += part.updated
        total.closed += part.closed
        total.refreshed += part.refreshed
        if progress is not None:
            progress(min(start + CHUNK, len(ids)), len(ids))
    if notify and raised:
        chosen = sorted(set(raised))

        def send() -> None:
            total.notified = notify_high_alerts(chosen)

        transaction.on_commit(send)
    return total


def evaluable_projects(*, running_only: bool) -> list[int]:
    """The projects an evaluation of everything looks at: those not withdrawn (only the running ones
    when ``running_only``: the rules that change with the date concern them alone), and every project
    that has an open alert (so that it can close)."""
    projects = Project.objects.filter(withdrawn=False)
    if running_only:
        projects = projects.filter(status__is_completed=False, status__is_cancelled=False)
    ids = set(projects.values_list("pk", flat=True))
    ids |= set(Alert.objects.filter(state=State.OPEN).values_list("project_id", flat=True))
    return sorted(ids)


def alerts_evaluate_running(*, today: date | None = None) -> EvaluationSummary:
    """The daily evaluation (scheduler): every running project, and those with open alerts."""
    return alerts_evaluate(evaluable_projects(running_only=True), today=today)


def alerts_evaluate_all(
    *, today: date | None = None, progress: Callable[[int, int], None] | None = None
) -> EvaluationSummary:
    """Every project that is not withdrawn, and those with open alerts (``marsad alerts_evaluate``)."""
    return alerts_evaluate(evaluable_projects(running_only=False), today=today, progress=progress)


# --- Acknowledgement ------------------------------------------------------------------------------------


class NotPermitted(Exception):
    """The actor may not acknowledge this alert (the caller answers 403)."""


class AlertClosed(Exception):
    """The alert is closed: there is nothing left to acknowledge (the caller answers 409)."""


class CommentInvalid(ValueError):
    """An acknowledgement says what is being done: its comment is required, and at most
    ``MAX_COMMENT`` characters long (the caller answers 422). ``code`` says which."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


COMMENT_REQUIRED = "comment_required"
COMMENT_TOO_LONG = "comment_too_long"
COMMENT_CHARACTER = "comment_character"  # a NUL character, which PostgreSQL does not store in text


def alert_acknowledge(*, alert: Alert, actor: Any, comment: str, request_id: str = "") -> Alert:
    """Record that ``actor`` has seen the alert and what is being done about it. Allowed to national
    roles, and to territorial officers and data stewards whose grants cover the project; checked in
    this order: permission (``NotPermitted``), comment (``CommentInvalid``), state (``AlertClosed``).
    Acknowledging again replaces the comment; each acknowledgement is an event and an audit event."""
    if not selectors.may_acknowledge(actor, alert):
        raise NotPermitted
    comment = (comment or "").strip()
    if not comment:
        raise CommentInvalid(COMMENT_REQUIRED)
    if len(comment) > MAX_COMMENT:
        raise CommentInvalid(COMMENT_TOO_LONG)
    if "\x00" in comment:
        raise CommentInvalid(COMMENT_CHARACTER)
    with transaction.atomic():
        locked = Alert.objects.select_for_update(of=("self",)).select_related("project").get(pk=alert.pk)
        if locked.state != State.OPEN:
            raise AlertClosed
        now = timezone.now()
        before = {"acknowledged_at": locked.acknowledged_at, "acknowledgement": locked.acknowledgement}
        locked.acknowledged_at, locked.acknowledged_by, locked.acknowledgement = now, actor, comment
        Alert.objects.filter(pk=locked.pk).update(
            acknowledged_at=now, acknowledged_by=actor, acknowledgement=comment
        )
        _event(locked, EventKind.ACKNOWLEDGED, now, actor=actor, comment=comment).save()
        audit_record(
            actor=actor,
            action="alert.acknowledge",
            object_type="alerts.alert",
            object_id=str(locked.pk),
            object_label=f"{locked.rule} {locked.project.public_id}",
            changes={
                "acknowledged_at": [
                    before["acknowledged_at"].isoformat() if before["acknowledged_at"] else None,
                    now.isoformat(),
                ],
                "acknowledgement": [before["acknowledgement"], comment],
            },
            request_id=request_id,
            occurred_at=now,
        )
    return locked


# --- Notification ---------------------------------------------------------------------------------------


def _message_body(user, alerts: list[Alert], language: str) -> tuple[str, str]:
    """(subject, text) of one user's message in one language."""
    site = settings.MARSAD_SITE_URL.rstrip("/")
    with translation.override(language):
        count = len(alerts)
        subject = ngettext(
            "Marsad : une nouvelle alerte de gravité élevée",
            "Marsad : %(count)s nouvelles alertes de gravité élevée",
            count,
        ) % {"count": count}
        lines = [
            _("Bonjour %(name)s,") % {"name": user.get_full_name() or user.get_username()},
            "",
            _("Ces alertes de gravité élevée concernent des projets de votre périmètre :"),
            "",
        ]
        for alert in alerts[:LISTED]:
            project = alert.project
            lines.append(f"- {RuleCode(alert.rule).label} — {project.public_id} {project.title(language)}")
            lines.append(f"  {texts.summary(alert.rule, alert.evidence)}")
            lines.append(f"  {site}/{language}/projets/{project.public_id}/")
        more = count - LISTED
        if more > 0:
            lines.append(
                ngettext(
                    "… et une autre alerte de gravité élevée : %(url)s",
                    "… et %(more)s autres alertes de gravité élevée : %(url)s",
                    more,
                )
                % {"more": more, "url": f"{site}/{language}/alertes/?severity=high"}
            )
        lines += ["", _("Toutes vos alertes : %(url)s") % {"url": f"{site}/{language}/alertes/"}]
        return subject, "\n".join(lines)


def notify_high_alerts(alert_ids: Iterable[int]) -> int:
    """E-mail the open high-severity alerts among ``alert_ids`` to every active user with an e-mail
    address who reads them: one message per user, Arabic then French. Returns the messages sent."""
    alerts = list(
        Alert.objects.filter(pk__in=list(alert_ids), state=State.OPEN, severity=Severity.HIGH)
        .select_related("project")
        .order_by("project__public_id", "rule")
    )
    if not alerts:
        return 0
    projects = {alert.project_id for alert in alerts}
    users = (
        get_user_model()
        .objects.filter(is_active=True, memberships__isnull=False)
        .exclude(Q(email="") | Q(email__isnull=True))
        .distinct()
        .order_by("pk")
    )
    messages = []
    for user in users:
        readable = selectors.alert_readers(principal_scope(user), projects)
        mine = [alert for alert in alerts if alert.project_id in readable]
        if not mine:
            continue
        subject_ar, body_ar = _message_body(user, mine, "ar")
        subject_fr, body_fr = _message_body(user, mine, "fr")
        messages.append(
            EmailMessage(
                subject=f"{subject_ar} / {subject_fr}",
                body=f"{body_ar}\n\n-- \n\n{body_fr}\n",
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[user.email],
            )
        )
    if not messages:
        return 0
    return get_connection().send_messages(messages) or 0
