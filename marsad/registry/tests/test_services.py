"""Registry services: versions, the compiled project, withdrawal, publication, agreements, audit
events and after-commit hooks."""

import json
from datetime import date
from decimal import Decimal

import pytest
import rfc8785

from marsad.accounts.choices import Role
from marsad.accounts.models import Organisation
from marsad.accounts.services import membership_grant, organisations_load, user_create
from marsad.audit.models import AuditEvent
from marsad.audit.services import SystemActor
from marsad.registry import hooks
from marsad.registry.canonical import canonical_json, diff
from marsad.registry.models import (
    Agreement,
    Financing,
    Indicator,
    Milestone,
    MilestoneType,
    Programme,
    Project,
    ProjectCommune,
    ProjectVersion,
    Status,
)
from marsad.registry.services import (
    NotPermitted,
    PartyInput,
    agreement_create,
    agreement_update,
    milestone_set,
    project_publish,
    project_record,
    project_update,
    project_withdraw,
    projects_publish,
    public_id_for,
    records_apply,
    records_prepare,
    reference_load,
)

from .records import ADMIN_SCOPE, BASE_RECORD, TODAY, record

pytestmark = pytest.mark.django_db
ACTOR = SystemActor("test")


def apply(records, **options):
    options.setdefault("scope", ADMIN_SCOPE)
    return records_apply(
        actor=ACTOR, records=records, source_kind="command", source_id="t-1", today=TODAY, **options
    )


@pytest.fixture
def admin_user():
    user = user_create(actor=ACTOR, username="admin-test", password=None)
    membership_grant(actor=ACTOR, user=user, role=Role.ADMINISTRATOR)
    return user


def test_create_compiles_the_project_and_writes_version_one():
    batch = apply([record()])
    result = batch.results[0]
    assert (result.outcome, result.version, result.public_id) == (
        "created",
        1,
        public_id_for("MA-ALOMRANE-DOE", "DOE-PU-001"),
    )
    project = Project.objects.get()
    assert project.public_id.startswith("MRS-")
    assert len(project.public_id) == 14
    assert (project.operator.code, project.operator_ref, project.programme_id, project.status_id) == (
        "MA-ALOMRANE-DOE",
        "DOE-PU-001",
        "PU",
        "ENCO",
    )
    assert (project.region_code, project.province_code, project.primary_commune.code) == (
        "12",
        "12.391",
        "12.391.01.01",
    )
    assert (project.budget, project.progress, project.committed, project.paid) == (
        Decimal("1500000000.00"),
        Decimal("12.50"),
        Decimal("300000000.00"),
        Decimal("150000000.00"),
    )
    assert (project.latitude, project.longitude, project.area_ha) == (
        Decimal("23.7"),
        Decimal("-15.93"),
        Decimal("275"),
    )
    assert project.initial_planned_end == date(2030, 12, 31)
    assert list(project.financing.values_list("partner__code", "amount").order_by("partner__code")) == [
        ("MA-ALOMRANE-DOE", Decimal("900000000.00")),
        ("MA-GIE-DAKHLA-SC", Decimal("600000000.00")),
    ]
    assert list(project.outputs.values_list("indicator_id", "target", "achieved")) == [
        ("SUP", Decimal(275), Decimal(40))
    ]
    assert list(project.milestones.values_list("type_id", "actual")) == [("SIGN_CONV", date(2023, 11, 10))]
    assert list(ProjectCommune.objects.values_list("territory__code", "is_primary", "path")) == [
        ("12.391.01.01", True, "/12/12.391/12.391.01.01/")
    ]
    version = ProjectVersion.objects.get()
    assert (
        version.number,
        version.source_kind,
        version.source_id,
        version.actor_label,
        version.is_tombstone,
    ) == (
        1,
        "command",
        "t-1",
        "test",
        False,
    )
    assert version.sha256 == project.sha256 == result.sha256
    document = json.loads(version.canonical)
    assert document["id"] == project.public_id
    assert document["budget"] == "1500000000.00"
    assert document["progress"] == "12.50"
    assert document["outputs"] == {"SUP": {"achieved": "40", "target": "275"}}


def test_public_id_is_derived_from_operator_and_reference():
    assert public_id_for("MA-ALOMRANE-DOE", "DOE-PU-001") == "MRS-4YEANHZXF6"


def test_new_project_has_the_model_defaults():
    apply([record()])
    project = Project.objects.get()
    assert (project.published, project.published_at, project.withdrawn, project.withdrawn_at) == (
        False,
        None,
        False,
        None,
    )
    assert (project.withdrawal_reason, project.warning_codes, project.version) == ("", [], 1)


@pytest.mark.parametrize("model", [Project, ProjectVersion])
def test_a_new_instance_is_what_the_orm_builds(model, monkeypatch):
    # Set directly (no receiver of the init signals, plain column attributes), or through
    # Model.__init__ where a receiver listens: the same values and state as model(**values) either way.
    from django.db.models import signals

    from marsad.registry.services import _instance, _positional

    if model is Project:
        values = {"public_id": "MRS-0000000000", "operator_id": 4, "operator_ref": "R", "version": 0}
    else:
        values = {"number": 1, "canonical": "{}", "sha256": "0" * 64, "warnings": ["w"], "source_id": "S"}
    for direct in (True, False):
        _positional.cache_clear()
        if not direct:
            monkeypatch.setattr(signals.post_init, "has_listeners", lambda sender=None: True)
        assert _positional(model)[3] is direct
        built, expected = _instance(model, **values), model(**values)
        state = vars(built).pop("_state"), vars(expected).pop("_state")
        assert vars(built) == vars(expected)
        assert [(s.adding, s.db) for s in state] == [(True, None), (True, None)]
        assert _instance(model).__dict__.keys() == model().__dict__.keys()
    _positional.cache_clear()


def test_search_text_is_kept_with_the_same_titles_and_rebuilt_on_rename():
    apply([record()])
    key = "mrs 4yeanhzxf6 doe pu 001 قطب حضري داخله pole urbain de dakhla"
    assert Project.objects.get().search_text == key
    apply([record(progress="20")])
    assert Project.objects.values_list("version", "search_text").get() == (2, key)
    renamed = {"fr": "Pôle urbain de Dakhla, tranche 2", "ar": "القطب الحضري للداخلة"}
    apply([record(progress="20", title=renamed)])
    assert Project.objects.values_list("version", "search_text").get() == (3, key + " tranche 2")


def test_identical_update_is_unchanged_and_writes_nothing():
    apply([record()])
    events = AuditEvent.objects.count()
    batch = apply([record(budget="1500000000")])  # the same amount written differently
    assert (batch.results[0].outcome, batch.results[0].version) == ("unchanged", 1)
    assert batch.counts == {
        "received": 1,
        "created": 0,
        "updated": 0,
        "unchanged": 1,
        "withdrawn": 0,
        "rejected": 0,
    }
    assert ProjectVersion.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_changed_update_writes_version_two_with_its_diff():
    apply([record()])
    project = Project.objects.get()
    result = project_update(
        actor=ACTOR, project=project, record=record(budget="1600000000.00", progress="20"), today=TODAY
    )
    assert (result.outcome, result.version) == ("updated", 2)
    v1, v2 = ProjectVersion.objects.order_by("number")
    assert diff(json.loads(v1.canonical), json.loads(v2.canonical)) == [
        {"pointer": "/budget", "before": "1500000000.00", "after": "1600000000.00"},
        {"pointer": "/progress", "before": "12.50", "after": "20.00"},
    ]
    event = AuditEvent.objects.get(action="project.update")
    assert event.changes["version"] == 2
    assert event.changes["diff"] == diff(json.loads(v1.canonical), json.loads(v2.canonical))
    project.refresh_from_db()
    assert (project.version, project.budget, project.sha256) == (2, Decimal("1600000000.00"), v2.sha256)
    assert project.warning_codes == ["financing_mismatch"]
    assert v2.warnings[0]["code"] == "financing_mismatch"
    assert project.initial_planned_end == date(2030, 12, 31)


def test_an_update_writes_only_the_project_columns_that_changed():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    apply([record(operator_ref="a"), record(operator_ref="b")])
    with CaptureQueriesContext(connection) as captured:
        apply([record(operator_ref="a", progress="20"), record(operator_ref="b", budget="1600000000.00")])
    updates = sorted(
        q["sql"] for q in captured.captured_queries if 'UPDATE "registry_project" SET' in q["sql"]
    )
    set_columns = [
        sorted(
            part.split(" = ")[0].strip('"') for part in sql.split(" SET ")[1].split(" WHERE ")[0].split(", ")
        )
        for sql in updates
    ]
    assert set_columns == [
        ["budget", "sha256", "updated_at", "version", "warning_codes"],  # its financing no longer adds up
        ["progress", "sha256", "updated_at", "version"],
    ]
    a, b = Project.objects.order_by("operator_ref")
    assert (a.version, a.progress, a.budget) == (2, Decimal("20.00"), Decimal("1500000000.00"))
    assert (b.version, b.progress, b.budget) == (2, Decimal("12.50"), Decimal("1600000000.00"))
    assert b.title_fr == a.title_fr != ""
    assert (a.warning_codes, b.warning_codes) == ([], ["financing_mismatch"])


UPDATES = {
    "titles": {
        "title": {"fr": "Pôle urbain de Dakhla, 2e tranche", "ar": "القطب الحضري للداخلة - الشطر الثاني"}
    },
    "description": {"description": {"fr": "Lotissements et équipements", "ar": "تجزئات وتجهيزات"}},
    "programme and status": {
        "programme": "VSB",
        "status": "ACHV",
        "actual_end": "2026-06-30",
        "progress": "100",
    },
    "another region": {
        "communes": {"06.461.01.15": {"primary": True, "share": None}},
        "location": {"lat": "33.00100", "lon": "-7.62000"},
    },
    "two communes": {
        "communes": {
            "12.391.01.01": {"primary": False, "share": "40"},
            "06.461.01.15": {"primary": True, "share": "60"},
        }
    },
    "no location or area": {"location": None, "area_ha": None},
    "dates": {"planned_start": "2024-02-01", "planned_end": "2031-06-30", "actual_start": None},
    "amounts": {
        "budget": "1600000000.00",
        "financing": {"MA-ALOMRANE-DOE": "1600000000.00"},
        "committed": None,
        "paid": None,
    },
    "outputs and milestones": {
        "outputs": {"SUP": {"target": "280", "achieved": "60"}},
        "milestones": {"SIGN_CONV": {"planned": "2023-10-01", "forecast": None, "actual": "2023-11-10"}},
    },
}
# What an update never rewrites, or sets from the identity of the project.
IDENTITY_COLUMNS = {
    "id",
    "public_id",
    "operator_ref",
    "search_text",
    "created_at",
    "updated_at",
    "version",
    "sha256",
}


@pytest.mark.parametrize("change", sorted(UPDATES))
def test_an_updated_project_holds_what_creating_it_from_that_record_gives(change):
    """An update rebuilds only the changed columns of the saved row: the row must still hold, column for
    column, what a project created from the same record holds."""
    from marsad.core.text import search_key

    apply([record(operator_ref="updated")])
    updated = apply([record(operator_ref="updated", **UPDATES[change])]).results[0]
    created = apply([record(operator_ref="created", **UPDATES[change])]).results[0]
    assert (updated.outcome, updated.version, created.outcome) == ("updated", 2, "created")
    names = [f.attname for f in Project._meta.concrete_fields if f.attname not in IDENTITY_COLUMNS]
    names.remove("initial_planned_end")  # the first version's, kept
    saved = {p.operator_ref: p for p in Project.objects.all()}
    assert saved["updated"].initial_planned_end == date(2030, 12, 31)
    assert {n: getattr(saved["updated"], n) for n in names} == {
        n: getattr(saved["created"], n) for n in names
    }
    titles = UPDATES[change].get("title", BASE_RECORD["title"])
    assert saved["updated"].search_text == search_key(
        f"{updated.public_id} updated {titles['ar']} {titles['fr']}"
    )


def test_the_hooks_get_each_project_as_saved(django_capture_on_commit_callbacks):
    """The projects handed to the hooks are rebuilt from a few columns and the record, the rest read
    only if asked for: every field must equal the saved row's."""
    names = [f.attname for f in Project._meta.concrete_fields]
    seen = []

    def hook(versions):
        for version in versions:
            saved = Project.objects.get(pk=version.project_id)
            handed = {n: getattr(version.project, n) for n in names}
            seen.append(
                (
                    version.project.operator_ref,
                    version.number,
                    handed == {n: getattr(saved, n) for n in names},
                    (version.project._state.adding, version.project._state.db),
                )
            )

    hooks.register_after_commit(hook)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            apply([record(operator_ref="a"), record(operator_ref="b")])
        project_publish(actor=ACTOR, project=Project.objects.get(operator_ref="a"))
        with django_capture_on_commit_callbacks(execute=True):
            apply(
                [
                    record(operator_ref="a", progress="30"),
                    record(operator_ref="b", **UPDATES["another region"]),
                ]
            )
        with django_capture_on_commit_callbacks(execute=True):
            apply(
                [{"operator": "MA-ALOMRANE-DOE", "operator_ref": "b", "withdrawn": True, "reason": "Doublon"}]
            )
    finally:
        hooks.unregister_after_commit(hook)
    saved = (False, "default")
    assert seen == [
        ("a", 1, True, saved), ("b", 1, True, saved), ("a", 2, True, saved), ("b", 2, True, saved),
        ("b", 3, True, saved),
    ]  # fmt: skip
    assert Project.objects.get(operator_ref="a").published is True


def test_child_rows_are_replaced_by_the_new_version():
    apply([record()])
    apply(
        [
            record(
                financing={"MA-ALOMRANE-DOE": "1500000000.00"},
                milestones={},
                outputs={"LOTS": {"target": "900"}},
            )
        ]
    )
    project = Project.objects.get()
    assert list(project.financing.values_list("partner__code", flat=True)) == ["MA-ALOMRANE-DOE"]
    assert list(project.outputs.values_list("indicator_id", flat=True)) == ["LOTS"]
    assert Milestone.objects.count() == 0


def test_withdrawal_is_a_tombstone_version_never_a_deletion():
    apply([record()])
    project = Project.objects.get()
    result = project_withdraw(actor=ACTOR, project=project, reason="Doublon de DOE-PU-000", today=TODAY)
    assert (result.outcome, result.version) == ("withdrawn", 2)
    project.refresh_from_db()
    assert (project.withdrawn, project.withdrawal_reason, project.version) == (
        True,
        "Doublon de DOE-PU-000",
        2,
    )
    tombstone = ProjectVersion.objects.get(number=2)
    assert tombstone.is_tombstone
    assert json.loads(tombstone.canonical) == {
        "schema": "marsad.project/1",
        "id": project.public_id,
        "operator": "MA-ALOMRANE-DOE",
        "operator_ref": "DOE-PU-001",
        "withdrawn": True,
        "reason": "Doublon de DOE-PU-000",
    }
    assert project.budget == Decimal("1500000000.00")  # the last state stays readable
    assert AuditEvent.objects.filter(action="project.withdraw", object_id=project.public_id).count() == 1


def test_records_of_one_project_in_one_batch_follow_each_other():
    """Two reports then a withdrawal of a saved project in one batch: each builds on the one before,
    and the row holds the columns of all of them; a report after the withdrawal is refused."""
    apply([record(operator_ref="same")])
    withdrawal = {
        "operator": "MA-ALOMRANE-DOE",
        "operator_ref": "same",
        "withdrawn": True,
        "reason": "Doublon",
    }
    batch = apply(
        [
            record(
                operator_ref="same",
                progress="20",
                title={"fr": "Pôle urbain, tranche 2", "ar": "الشطر الثاني"},
            ),
            record(
                operator_ref="same",
                progress="30",
                title={"fr": "Pôle urbain, tranche 2", "ar": "الشطر الثاني"},
            ),
            withdrawal,
            record(operator_ref="same", progress="40"),
        ]
    )
    assert [(r.outcome, r.version) for r in batch.results] == [
        ("updated", 2),
        ("updated", 3),
        ("withdrawn", 4),
        ("rejected", None),
    ]
    assert [p["code"] for p in batch.results[3].as_dict()["problems"]] == ["withdrawn_project"]
    project = Project.objects.get(operator_ref="same")
    assert (project.version, project.progress, project.title_fr, project.withdrawn) == (
        4,
        Decimal("30.00"),
        "Pôle urbain, tranche 2",
        True,
    )
    assert (project.withdrawal_reason, project.budget) == ("Doublon", Decimal("1500000000.00"))
    assert "tranche" in project.search_text
    versions = ProjectVersion.objects.filter(project=project).order_by("number")
    assert [(v.number, v.is_tombstone) for v in versions] == [(1, False), (2, False), (3, False), (4, True)]


def test_a_batch_mixes_outcomes_and_counts_them():
    apply([record()])
    batch = apply(
        [
            record(),  # unchanged
            record(progress="30"),  # updated
            record(operator_ref="DOE-PU-002"),  # created
            record(operator_ref="DOE-PU-003", progress="130"),  # rejected
        ]
    )
    assert [r.outcome for r in batch.results] == ["unchanged", "updated", "created", "rejected"]
    assert batch.counts == {
        "received": 4,
        "created": 1,
        "updated": 1,
        "unchanged": 1,
        "withdrawn": 0,
        "rejected": 1,
    }
    assert [(v.project.operator_ref, v.number) for v in batch.versions] == [
        ("DOE-PU-001", 2),
        ("DOE-PU-002", 1),
    ]


def test_a_new_record_the_rules_reject_leaves_nothing_behind():
    # Its project is made only when a record of the batch writes its first version: a rejected
    # record beside an accepted one used to leave a half-built project for the bulk insert.
    batch = apply(
        [
            record(operator_ref="KEPT"),
            record(operator_ref="REFUSED", planned_end="2023-12-31"),
            {"operator": "MA-ALOMRANE-DOE", "operator_ref": "REFUSED", "withdrawn": True},
            record(operator_ref="LATER", as_of="2099-01-01"),
            record(operator_ref="LATER"),
        ]
    )
    assert [(r.outcome, [i.code for i in r.errors]) for r in batch.results] == [
        ("created", []),
        ("rejected", ["end_before_start"]),
        ("rejected", ["unknown_project"]),
        ("rejected", ["as_of_in_future"]),
        ("created", []),
    ]
    assert sorted(Project.objects.values_list("operator_ref", "version")) == [("KEPT", 1), ("LATER", 1)]


def test_dry_run_writes_nothing():
    events = AuditEvent.objects.count()
    batch = apply([record()], dry_run=True)
    assert batch.results[0].outcome == "created"
    assert batch.dry_run
    assert (Project.objects.count(), ProjectVersion.objects.count(), AuditEvent.objects.count()) == (
        0,
        0,
        events,
    )


def test_a_batch_costs_the_same_queries_for_one_record_or_twenty(django_assert_num_queries):
    # Bulk writes: a fixed number of queries per batch, each table's rows in one prepared statement
    # (executemany). Three of them are the ledger's: its lock, the entries and the new head; the
    # keys of new projects and of new versions are reserved with one query each.
    from marsad.registry.rules import Catalogue

    catalogue = Catalogue.load(today=TODAY)
    apply([record(operator_ref="warm-up")], catalogue=catalogue)
    with django_assert_num_queries(15):
        apply([record(operator_ref="single")], catalogue=catalogue)
    with django_assert_num_queries(15):
        apply([record(operator_ref=f"many-{n}") for n in range(20)], catalogue=catalogue)
    updates = [record(operator_ref=f"many-{n}", progress="40") for n in range(20)]
    with django_assert_num_queries(11):  # only the compiled columns change: no child table is rewritten
        apply(updates, catalogue=catalogue)
    assert ProjectVersion.objects.filter(number=2).count() == 20
    plans = [
        record(operator_ref=f"many-{n}", progress="40", financing={"MA-ALOMRANE-DOE": "1500000000.00"})
        for n in range(20)
    ]
    with django_assert_num_queries(13):  # and the financing plan: one delete and one insert more
        apply(plans, catalogue=catalogue)
    assert Financing.objects.filter(project__operator_ref__startswith="many-").count() == 20


def test_a_prepared_batch_reads_and_writes_nothing_and_is_applied_as_prepared(
    django_assert_num_queries,
):
    # A submission prepares its records before its transaction: the checks that need no saved state
    # and each record's canonical text and digest, with no query once the catalogue is read.
    from marsad.registry.rules import Catalogue

    catalogue = Catalogue.load(today=TODAY)
    records = [record(operator_ref="P-1"), record(operator_ref="P-2", planned_end="2023-12-31"), {"x": 1}]
    with django_assert_num_queries(0):
        prepared = records_prepare(actor=ACTOR, records=records, scope=ADMIN_SCOPE, catalogue=catalogue)
    assert [index for index, _ in prepared.drafts] == [0, 1]
    first, second = (draft for _, draft in prepared.drafts)
    assert (first.public_id, first.issues) == (public_id_for("MA-ALOMRANE-DOE", "P-1"), [])
    assert [i.code for i in second.issues] == ["end_before_start"]
    assert (second.document, second.digest) == (None, "")
    assert prepared.results[2].issues[0].code == "unknown_field"
    assert (Project.objects.count(), ProjectVersion.objects.count()) == (0, 0)
    batch = records_apply(actor=ACTOR, prepared=prepared, source_kind="command", source_id="t-1")
    assert [r.outcome for r in batch.results] == ["created", "rejected", "rejected"]
    version = ProjectVersion.objects.get()
    assert (version.canonical, version.sha256) == (first.text, first.digest)
    assert batch.results[0].sha256 == first.digest


def test_a_project_saved_under_an_earlier_identifier_keeps_it_in_its_documents():
    # The identifier is derived from the operator's code and the reference; a project saved before
    # its operator's code changed keeps the one it has, and its next document names that one.
    apply([record(operator_ref="OLD-ID")])
    Project.objects.filter(operator_ref="OLD-ID").update(public_id="MRS-0000000000")
    batch = apply([record(operator_ref="OLD-ID", progress="40")])
    assert (batch.results[0].outcome, batch.results[0].public_id) == ("updated", "MRS-0000000000")
    latest = ProjectVersion.objects.get(number=2)
    assert json.loads(latest.canonical)["id"] == "MRS-0000000000"
    assert latest.sha256 == batch.results[0].sha256


def test_hooks_receive_the_new_versions_after_commit(django_capture_on_commit_callbacks):
    seen = []

    def hook(versions):
        seen.append([(v.project.operator_ref, v.number) for v in versions])

    hooks.register_after_commit(hook)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            apply([record(), record(operator_ref="B")])
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            apply([record()])  # unchanged: nothing to tell
        assert callbacks == []
    finally:
        hooks.unregister_after_commit(hook)
    assert seen == [[("DOE-PU-001", 1), ("B", 1)]]


def test_what_the_hooks_write_is_written_together_or_not_at_all(django_capture_on_commit_callbacks):
    # One transaction for all the hooks: on SQLite they then wait once for the write lock.
    from django.db import connection

    def enqueue(versions):
        AuditEvent.objects.create(
            occurred_at=versions[0].received_at, actor_kind="system", actor_label="hook", action="hook.test",
            object_type="registry.project", object_id=versions[0].project.public_id,
        )  # fmt: skip
        assert connection.in_atomic_block

    def broken(versions):
        raise RuntimeError("queue unavailable")

    hooks.register_after_commit(enqueue)
    hooks.register_after_commit(broken)
    try:
        with (
            pytest.raises(RuntimeError, match="queue unavailable"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            apply([record()])
    finally:
        hooks.unregister_after_commit(enqueue)
        hooks.unregister_after_commit(broken)
    assert Project.objects.count() == 1  # the batch itself was committed before its hooks ran
    assert not AuditEvent.objects.filter(action="hook.test").exists()


def test_publication_is_audited_and_needs_permission(admin_user):
    apply([record()])
    project = Project.objects.get()
    project_publish(actor=admin_user, project=project)
    project.refresh_from_db()
    assert project.published
    assert project.published_at is not None
    project_publish(actor=admin_user, project=project, published=False)
    assert [e.action for e in AuditEvent.objects.filter(object_id=project.public_id).order_by("id")] == [
        "project.create",
        "project.publish",
        "project.unpublish",
    ]
    viewer = user_create(actor=ACTOR, username="viewer", password=None)
    membership_grant(
        actor=ACTOR,
        user=viewer,
        role=Role.PARTNER_VIEWER,
        organisation=Organisation.objects.get(code="MA-CR-12"),
    )
    with pytest.raises(NotPermitted):
        project_publish(actor=viewer, project=project)


def test_milestone_set_writes_a_new_version():
    apply([record()])
    project = Project.objects.get()
    result = milestone_set(
        actor=ACTOR,
        project=project,
        type_code="OS",
        planned=date(2024, 3, 1),
        actual=date(2024, 3, 15),
        today=TODAY,
    )
    assert (result.outcome, result.version) == ("updated", 2)
    assert project_record(Project.objects.get())["milestones"]["OS"] == {
        "planned": "2024-03-01",
        "forecast": None,
        "actual": "2024-03-15",
    }


def test_agreements_are_created_updated_and_audited():
    agreement = agreement_create(
        actor=ACTOR,
        reference="CONV-DAKHLA-2019",
        title_fr="Convention de partenariat public-privé du pôle urbain de Dakhla",
        title_ar="اتفاقية شراكة بين القطاعين العام والخاص",
        signed_on=date(2019, 5, 10),
        parties=[
            PartyInput("MA-ALOMRANE", "signatory"),
            PartyInput("MA-GIE-DAKHLA-SC", "financier", Decimal("600000000.00")),
        ],
    )
    agreement_update(actor=ACTOR, agreement=agreement, parties=[PartyInput("MA-ALOMRANE", "signatory")])
    assert list(Agreement.objects.get().parties.values_list("organisation__code", "role")) == [
        ("MA-ALOMRANE", "signatory")
    ]
    update = AuditEvent.objects.get(action="agreement.update")
    assert update.changes["before"]["parties"] == [
        ["MA-ALOMRANE", "signatory", None, ""],
        ["MA-GIE-DAKHLA-SC", "financier", "600000000.00", ""],
    ]
    assert AuditEvent.objects.filter(action="agreement.create", object_id="CONV-DAKHLA-2019").count() == 1
    apply([record(agreement="CONV-DAKHLA-2019")])
    assert Project.objects.get().agreement == agreement


def test_canonical_text_matches_rfc8785_on_stored_records():
    apply(
        [
            record(),
            record(
                operator_ref="X", title={"fr": "Cité « Al Amal » — tranche 2", "ar": "حي الأمل – الشطر 2"}
            ),
        ]
    )
    for version in ProjectVersion.objects.all():
        document = json.loads(version.canonical)
        assert canonical_json(document) == version.canonical
        assert rfc8785.dumps(document).decode("utf-8") == version.canonical


def test_the_reference_fixtures_are_loaded_and_idempotent():
    assert Organisation.objects.count() == 42
    assert (
        Programme.objects.count(),
        Status.objects.count(),
        MilestoneType.objects.count(),
        Indicator.objects.count(),
    ) == (
        16,
        10,
        14,
        21,
    )
    assert Organisation.objects.get(code="MA-ALOMRANE-CS").parent.code == "MA-ALOMRANE"
    assert Organisation.objects.filter(kind="region_council").count() == 12
    assert Programme.objects.get(code="VSB").name_ar == "مدن بدون صفيح"
    assert list(Status.objects.filter(is_completed=True).values_list("code", flat=True)) == ["ACHV", "LIVR"]
    events = AuditEvent.objects.count()
    assert organisations_load(actor=ACTOR).created == 0
    assert sum(reference_load(actor=ACTOR).created.values()) == 0
    assert AuditEvent.objects.count() == events


def test_bulk_publication_is_audited_once_per_project():
    apply([record(), record(operator_ref="B"), record(operator_ref="C")])
    assert projects_publish(actor=ACTOR, projects=Project.objects.filter(operator_ref__in=["B", "C"])) == 2
    assert projects_publish(actor=ACTOR, projects=Project.objects.all()) == 1  # the one left
    assert sorted(
        AuditEvent.objects.filter(action="project.publish").values_list("object_label", flat=True)
    ) == [
        "Pôle urbain de Dakhla",
        "Pôle urbain de Dakhla",
        "Pôle urbain de Dakhla",
    ]
    assert Project.objects.filter(published=True).count() == 3
