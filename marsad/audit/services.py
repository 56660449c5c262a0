"""Writing the audit trail. Services call ``audit_record`` (one event), ``audit_build`` then
``audit_bulk_write`` (a batch), or ``audit_bulk_rows`` (a batch of one actor and source) inside their
own transaction, so an event exists exactly when the write it describes was committed."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from django.contrib.auth import get_user_model
from django.utils import timezone

from marsad.core import rows

from .models import ActorKind, AuditEvent


@runtime_checkable
class AuditActor(Protocol):
    """Anything that can act without being a user (an API client): it names itself for the audit."""

    def audit_identity(self) -> tuple[str, str, str]:
        """(kind, identifier, label), kind being one of ``ActorKind``."""


@dataclass(frozen=True)
class SystemActor:
    """A command or a scheduled task acting on its own account."""

    name: str

    def audit_identity(self) -> tuple[str, str, str]:
        return ActorKind.SYSTEM, "", self.name


def actor_identity(actor: Any) -> tuple[str, str, str]:
    if actor is None:
        return ActorKind.SYSTEM, "", "system"
    if isinstance(actor, AuditActor):
        return actor.audit_identity()
    if isinstance(actor, get_user_model()):
        return ActorKind.USER, str(actor.pk), actor.get_username()
    raise TypeError(f"Not an audit actor: {actor!r}")


def audit_build(
    *,
    actor: Any,
    action: str,
    object_type: str,
    object_id: str = "",
    object_label: str = "",
    changes: dict | None = None,
    source_kind: str = "",
    source_id: str = "",
    request_id: str = "",
    occurred_at: datetime | None = None,
) -> AuditEvent:
    kind, identifier, label = actor_identity(actor)
    return AuditEvent(
        occurred_at=occurred_at or timezone.now(),
        actor_kind=kind,
        actor_id=identifier,
        actor_label=label[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_label=str(object_label)[:200],
        changes=changes or {},
        source_kind=source_kind,
        source_id=str(source_id),
        request_id=request_id,
    )


def audit_bulk_write(events: Iterable[AuditEvent]) -> None:
    """Write many events with one prepared statement (they get their keys from the database)."""
    rows.insert_objects(list(events), rows.concrete_names(AuditEvent, pk=False))


BULK_COLUMNS = (
    "occurred_at",
    "actor_kind",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "changes",
    "source_kind",
    "source_id",
    "request_id",
)


def audit_bulk_rows(
    *,
    actor: Any,
    object_type: str,
    entries: Iterable[tuple[str, str, str, dict]],
    source_kind: str = "",
    source_id: str = "",
    request_id: str = "",
    occurred_at: datetime | None = None,
) -> int:
    """Write one event per ``(action, object_id, object_label, changes)`` of one actor, object type and
    source, with one prepared statement and no model instances (a batch of 1,000 project records
    writes 1,000 events). Returns the number of events."""
    kind, identifier, label = actor_identity(actor)
    common = (occurred_at or timezone.now(), kind, identifier, label[:150])
    source = (source_kind, str(source_id), request_id)
    return rows.insert_rows(
        AuditEvent,
        BULK_COLUMNS,
        [
            (*common, action, object_type, str(object_id), str(object_label)[:200], changes or {}, *source)
            for action, object_id, object_label, changes in entries
        ],
    )


def audit_record(**kwargs) -> AuditEvent:
    event = audit_build(**kwargs)
    event.save()
    return event
