"""AuditEvent: one row per write, whatever wrote it (a form, the API, an upload, a command).

The audit app sits low in the layering so that every app can write it: the actor is named by kind
and identifier (a user's primary key under ``AUTH_USER_MODEL``, an API client's key id, a command's
name) and the object by its type label and identifier, with no foreign key to any app above.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ActorKind(models.TextChoices):
    USER = "user", _("Utilisateur")
    CLIENT = "client", _("Client d'API")
    SYSTEM = "system", _("Système")


class AuditEvent(models.Model):
    occurred_at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    actor_kind = models.CharField(_("type d'acteur"), max_length=8, choices=ActorKind.choices)
    actor_id = models.CharField(_("identifiant de l'acteur"), max_length=64, blank=True)
    actor_label = models.CharField(_("acteur"), max_length=150)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("type d'objet"), max_length=64)
    object_id = models.CharField(_("identifiant de l'objet"), max_length=64, blank=True)
    object_label = models.CharField(_("objet"), max_length=200, blank=True)
    changes = models.JSONField(_("modifications"), default=dict, blank=True)
    source_kind = models.CharField(_("source"), max_length=16, blank=True)
    source_id = models.CharField(_("identifiant de la source"), max_length=64, blank=True)
    request_id = models.CharField(_("identifiant de la requête"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("événement d'audit")
        verbose_name_plural = _("événements d'audit")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["actor_kind", "actor_id"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(actor_kind__in=ActorKind.values), name="audit_actor_kind_known"
            ),
            models.CheckConstraint(condition=~Q(action=""), name="audit_action_required"),
            models.CheckConstraint(
                condition=Q(actor_kind=ActorKind.SYSTEM) | ~Q(actor_id=""), name="audit_actor_identified"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_label}"
