"""Reads of the audit trail (administrators only; the views check the role)."""

from django.db.models import QuerySet

from .models import AuditEvent


def audit_events(*, object_type: str = "", object_id: str = "", action: str = "") -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    if action:
        events = events.filter(action=action)
    return events
