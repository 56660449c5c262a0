"""Alerts (DESIGN §7): a rule's finding on a project, open while its condition holds.

``alerts.services`` opens, updates and closes alerts from the rules (``alerts.rules``) and records
each step as an ``AlertEvent``; people acknowledge them. At most one alert of a rule is open on a
project at a time (a partial unique constraint); once closed it stays as history, and the same
condition coming back opens a new one. The project's region, province and operator are copied on
the alert for filtering; who may read an alert is decided by the project's scope.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marsad.accounts.models import Organisation
from marsad.registry.models import Project

from .choices import EventKind, RuleCode, Severity, State


class Alert(models.Model):
    rule = models.CharField(_("règle"), max_length=32, choices=RuleCode.choices)
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("projet")
    )
    severity = models.CharField(_("gravité"), max_length=8, choices=Severity.choices)
    state = models.CharField(_("état"), max_length=8, choices=State.choices, default=State.OPEN)
    opened_at = models.DateTimeField(_("ouverte le"))
    updated_at = models.DateTimeField(_("mise à jour le"))
    closed_at = models.DateTimeField(_("close le"), null=True, blank=True)
    evidence = models.JSONField(_("constats"), default=dict, blank=True)
    region_code = models.CharField(_("code de la région"), max_length=2)
    province_code = models.CharField(_("code de la province"), max_length=8)
    operator = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("opérateur")
    )
    acknowledged_at = models.DateTimeField(_("prise en compte le"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("prise en compte par"),
    )
    acknowledgement = models.TextField(_("commentaire de prise en compte"), blank=True)

    class Meta:
        verbose_name = _("alerte")
        verbose_name_plural = _("alertes")
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["state", "severity", "opened_at"]),
            models.Index(fields=["project", "state"]),
            models.Index(fields=["state", "region_code", "province_code"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(rule__in=RuleCode.values), name="alert_rule_known"),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="alert_severity_known"),
            models.CheckConstraint(condition=Q(state__in=State.values), name="alert_state_known"),
            models.UniqueConstraint(
                fields=["rule", "project"], condition=Q(state=State.OPEN), name="alert_one_open_per_rule"
            ),
            models.CheckConstraint(
                condition=Q(state=State.OPEN, closed_at__isnull=True)
                | Q(state=State.CLOSED, closed_at__isnull=False),
                name="alert_closed_has_date",
            ),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True, acknowledgement="")
                | (Q(acknowledged_at__isnull=False) & ~Q(acknowledgement="")),
                name="alert_acknowledgement_has_comment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.project_id} {self.state}"


class AlertEvent(models.Model):
    """One step of an alert's life: opened, updated (its evidence or severity changed), closed, or
    acknowledged by someone (with their comment)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("nature"), max_length=16, choices=EventKind.choices)
    at = models.DateTimeField(_("date"))
    severity = models.CharField(_("gravité"), max_length=8, choices=Severity.choices)
    evidence = models.JSONField(_("constats"), default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("auteur"),
    )
    actor_label = models.CharField(_("auteur"), max_length=150)
    comment = models.TextField(_("commentaire"), blank=True)

    class Meta:
        verbose_name = _("événement d'alerte")
        verbose_name_plural = _("événements d'alertes")
        ordering = ["alert", "at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="alert_event_kind_known"),
            models.CheckConstraint(
                condition=Q(severity__in=Severity.values), name="alert_event_severity_known"
            ),
            models.CheckConstraint(
                condition=~Q(kind=EventKind.ACKNOWLEDGED) | ~Q(comment=""),
                name="alert_event_acknowledgement_has_comment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"
