"""marsad.core.rows, tried on the registry's and the audit's tables (core has no models to write)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction

from marsad.audit.models import AuditEvent
from marsad.core import rows
from marsad.registry.models import Indicator, Milestone, ProjectOutput

EVENT = {
    "occurred_at": datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
    "actor_kind": "system",
    "actor_id": "",
    "actor_label": "Marsad",
    "action": "test.rows",
    "object_type": "core.test",
    "object_id": "1",
    "object_label": "un",
    "changes": {"montant": "12.50", "ar": "مشروع"},
    "source_kind": "",
    "source_id": "",
    "request_id": "",
}


def event(**values) -> AuditEvent:
    return AuditEvent(**{**EVENT, **values})


def test_concrete_names_put_the_key_first_only_when_asked():
    assert rows.concrete_names(AuditEvent, pk=True) == ("id", *EVENT)
    assert rows.concrete_names(AuditEvent, pk=False) == tuple(EVENT)


@pytest.mark.dbsensitive
@pytest.mark.django_db
def test_rows_are_inserted_with_their_values_prepared_for_the_database():
    names = rows.concrete_names(AuditEvent, pk=False)
    with transaction.atomic():
        assert rows.insert_rows(AuditEvent, names, [list(EVENT.values()), list(EVENT.values())]) == 2
    stored = AuditEvent.objects.filter(action="test.rows").values_list(
        "occurred_at", "changes", "actor_label"
    )
    assert list(stored) == [(EVENT["occurred_at"], EVENT["changes"], "Marsad")] * 2
    assert rows.insert_rows(AuditEvent, names, []) == 0


@pytest.mark.dbsensitive
@pytest.mark.django_db
def test_reserved_keys_come_after_every_key_ever_given_and_are_used_as_given():
    with transaction.atomic():
        first = AuditEvent.objects.create(**{**EVENT, "action": "a"})
        last = AuditEvent.objects.create(**{**EVENT, "action": "b"})
    first_key, last_key = first.pk, last.pk
    last.delete()  # a deleted key is never given again
    with transaction.atomic():
        keys = rows.ids_reserve(AuditEvent, 3)
        assert keys == sorted(set(keys))
        assert len(keys) == 3
        assert keys[0] > last_key > first_key
        events = [event(id=key, action="c") for key in keys]
        assert rows.insert_objects(events, rows.concrete_names(AuditEvent, pk=True)) == 3
    assert list(AuditEvent.objects.filter(action="c").order_by("id").values_list("id", flat=True)) == keys
    assert all(not e._state.adding for e in events)
    with transaction.atomic():
        after = AuditEvent.objects.create(**{**EVENT, "action": "d"})
    assert after.pk > keys[-1]
    assert rows.ids_reserve(AuditEvent, 0) == []


@pytest.mark.django_db
def test_keys_are_reserved_only_inside_a_transaction():
    # pytest-django wraps the test in a transaction; outside any, a reservation is refused.
    atomic = connection.in_atomic_block
    connection.in_atomic_block = False
    try:
        with pytest.raises(RuntimeError, match="inside a transaction"):
            rows.ids_reserve(AuditEvent, 1)
    finally:
        connection.in_atomic_block = atomic


@pytest.mark.dbsensitive
@pytest.mark.django_db
def test_update_objects_writes_the_named_columns_by_key():
    indicator = Indicator.objects.get(code="MEN_TRT")
    name_ar = indicator.name_ar
    indicator.name_fr = "Ménages traités (révisé)"
    indicator.name_ar = "تجربة"
    assert rows.update_objects([indicator], ["name_fr"]) == 1
    indicator.refresh_from_db()
    assert (indicator.name_fr, indicator.name_ar) == ("Ménages traités (révisé)", name_ar)
    assert rows.update_objects([], ["name_fr"]) == 0


def test_values_of_the_right_type_pass_and_others_are_prepared():
    amount = rows._converter(ProjectOutput._meta.get_field("target"), connection)
    planned = rows._converter(Milestone._meta.get_field("planned"), connection)
    if connection.vendor == "sqlite":  # the text Django's adapters would give the driver
        assert (amount(Decimal("12.50")), planned(date(2026, 1, 31))) == ("12.50", "2026-01-31")
    else:
        assert (amount(Decimal("12.50")), planned(date(2026, 1, 31))) == (Decimal("12.50"), date(2026, 1, 31))
    assert (amount(None), planned(None)) == (None, None)
    assert str(amount("12.5")) == "12.5"
    assert str(planned("2026-01-31")) == "2026-01-31"
    assert rows._converter(Indicator._meta.get_field("code"), connection) is None  # text: as it is
    assert rows._converter(ProjectOutput._meta.get_field("indicator"), connection) is None  # a code key


@pytest.mark.dbsensitive
@pytest.mark.django_db
@pytest.mark.parametrize("packed", [False, True], ids=["bound", "packed"])
def test_rows_are_stored_exactly_as_the_orm_stores_them(packed):
    """The same values written by ``insert_rows`` (bound one by one, or packed in one JSON text on
    SQLite) and by ``bulk_create``: the same stored values, compared as the database gives them
    (SQLite's quote() shows the storage class: 1000 and 1000.0 differ, 1 and '1' too)."""
    from marsad.registry.models import Project, ProjectCommune, ProjectVersion
    from marsad.registry.services import records_apply

    from .records import ADMIN_SCOPE, TODAY, record

    batch = records_apply(
        actor=None,
        records=[record(operator_ref="rows"), record(operator_ref="orm")],
        source_kind="command",
        source_id="t",
        today=TODAY,
        scope=ADMIN_SCOPE,
    )
    by_rows, by_orm = (r.project.pk for r in batch.results)
    values = [
        ("SUP", Decimal("12.50"), Decimal("1E+3")),
        ("LOTS", Decimal("0.00001"), None),
        ("MEN_TRT", Decimal("7"), Decimal("123456789.123")),
    ]
    dates = [("SIGN_CONV", date(2024, 2, 29), None, date(1999, 12, 31))]
    site = ProjectCommune.objects.filter(project_id=by_rows)
    territory, path = site.values_list("territory_id", "path").get()
    ProjectOutput.objects.filter(project_id__in=[by_rows, by_orm]).delete()
    Milestone.objects.filter(project_id__in=[by_rows, by_orm]).delete()
    ProjectCommune.objects.filter(project_id__in=[by_rows, by_orm]).delete()
    with transaction.atomic():
        rows.insert_rows(
            ProjectOutput,
            ("project", "indicator", "target", "achieved"),
            [(by_rows, *v) for v in values],
            packed=packed,
        )
        rows.insert_rows(
            Milestone,
            ("project", "type", "planned", "forecast", "actual"),
            [(by_rows, *d) for d in dates],
            packed=packed,
        )
        rows.insert_rows(
            ProjectCommune,
            ("project", "territory", "is_primary", "share", "path"),
            [(by_rows, territory, True, Decimal("60.00"), path)],
            packed=packed,
        )
        ProjectCommune.objects.create(
            project_id=by_orm, territory_id=territory, is_primary=True, share=Decimal("60.00"), path=path
        )
        ProjectOutput.objects.bulk_create(
            ProjectOutput(project_id=by_orm, indicator_id=i, target=t, achieved=a) for i, t, a in values
        )
        Milestone.objects.bulk_create(
            Milestone(project_id=by_orm, type_id=m, planned=p, forecast=f, actual=a) for m, p, f, a in dates
        )
    project = Project.objects.get(pk=by_rows)
    project.warning_codes, project.budget = ["financing_mismatch"], Decimal("1500000000.10")
    rows.update_objects([project], ["warning_codes", "budget"])
    orm = Project.objects.get(pk=by_orm)
    orm.warning_codes, orm.budget = ["financing_mismatch"], Decimal("1500000000.10")
    orm.save(update_fields=["warning_codes", "budget"])
    stored = {}
    with connection.cursor() as cursor:
        for key in (by_rows, by_orm):
            shown = "quote({})" if connection.vendor == "sqlite" else "{}::text"
            queries = (
                ("target", "achieved", "registry_projectoutput", "indicator_code"),
                ("planned", "actual", "registry_milestone", "type_code"),
                ("budget", "warning_codes", "registry_project", "id"),
                ("is_primary", "share", "registry_projectcommune", "territory_id"),
                ("path", "territory_id", "registry_projectcommune", "territory_id"),
            )
            stored[key] = []
            for first, second, table, order in queries:
                cursor.execute(
                    f"SELECT {shown.format(first)}, {shown.format(second)} FROM {table} "
                    f"WHERE {'id' if table == 'registry_project' else 'project_id'} = %s ORDER BY {order}",
                    [key],
                )
                stored[key].append(cursor.fetchall())
    assert stored[by_rows] == stored[by_orm]
    assert len(stored[by_rows][0]) == 3
    assert ProjectVersion.objects.filter(project_id=by_rows).count() == 1
