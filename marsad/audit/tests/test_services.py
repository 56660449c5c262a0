from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model

from marsad.audit.models import AuditEvent
from marsad.audit.services import SystemActor, audit_bulk_rows, audit_record

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def test_bulk_rows_write_one_event_per_entry_with_the_common_actor_and_source(django_assert_num_queries):
    user = get_user_model().objects.create_user("saida", password="x")
    entries = [
        ("project.create", "MP-1", "Pôle urbain de Dakhla", {"version": 1}),
        ("project.update", "MP-2", "ل" * 250, {}),
    ]
    with django_assert_num_queries(1):
        written = audit_bulk_rows(
            actor=user, object_type="registry.project", entries=entries, source_kind="submission",
            source_id="SUB-1", request_id="req-7", occurred_at=WHEN,
        )  # fmt: skip
    assert written == 2
    rows = list(
        AuditEvent.objects.filter(object_type="registry.project").order_by("id").values_list(
            "occurred_at", "actor_kind", "actor_id", "actor_label", "action", "object_type", "object_id",
            "changes", "source_kind", "source_id", "request_id",
        )
    )  # fmt: skip
    assert rows == [
        (WHEN, "user", str(user.pk), "saida", "project.create", "registry.project", "MP-1", {"version": 1},
         "submission", "SUB-1", "req-7"),
        (WHEN, "user", str(user.pk), "saida", "project.update", "registry.project", "MP-2", {},
         "submission", "SUB-1", "req-7"),
    ]  # fmt: skip
    labels = list(
        AuditEvent.objects.filter(object_type="registry.project")
        .order_by("id")
        .values_list("object_label", flat=True)
    )
    assert labels == ["Pôle urbain de Dakhla", "ل" * 200]


def test_bulk_rows_match_what_audit_record_writes():
    actor = SystemActor("demo_data")
    audit_record(actor=actor, action="project.create", object_type="registry.project", object_id="MP-1",
                 object_label="A", changes={"version": 1}, source_kind="ui", occurred_at=WHEN)  # fmt: skip
    audit_bulk_rows(actor=actor, object_type="registry.project", source_kind="ui", occurred_at=WHEN,
                    entries=[("project.create", "MP-1", "A", {"version": 1})])  # fmt: skip
    one, other = (
        AuditEvent.objects.filter(object_type="registry.project")
        .order_by("id")
        .values(*[f.attname for f in AuditEvent._meta.concrete_fields if f.name != "id"])
    )
    assert one == other
    assert (one["actor_kind"], one["actor_label"]) == ("system", "demo_data")


def test_bulk_rows_with_no_entries_write_nothing(django_assert_num_queries):
    before = AuditEvent.objects.count()
    with django_assert_num_queries(0):
        assert audit_bulk_rows(actor=None, object_type="registry.project", entries=[]) == 0
    assert AuditEvent.objects.count() == before
