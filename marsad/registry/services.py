"""Writes to the registry. Every service takes ``actor=``, runs in one transaction, writes its audit
events in it, and hands the versions it wrote to the after-commit hooks.

``records_apply`` is the one path by which project data enters the platform: the forms, the demo
generator, the exchange API and uploads all go through it. It checks a batch of records against
the rules, skips records identical to the current version ("unchanged"), and writes versions,
compiled projects and audit events with bulk writes (a fixed number of queries per batch, not per
record). A withdrawal is a record too: it writes a tombstone version, never a deletion.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from operator import or_ as operator_or
from pathlib import Path
from typing import Any

from django.db import router, transaction
from django.db.models import F, Model, Q, signals
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.utils import timezone

from marsad.accounts.scoping import Scope, principal_scope
from marsad.audit.services import actor_identity, audit_build, audit_bulk_rows, audit_bulk_write, audit_record
from marsad.core import rows
from marsad.core.collector import collector_paused
from marsad.core.text import search_key

from . import hooks, ledger
from .canonical import (
    diff,
    document_json,
    editable_record,
    record_document,
    sha256,
    stored_document,
)
from .choices import Outcome, SourceKind
from .models import (
    PROJECT_ID_PREFIX,
    Agreement,
    AgreementParty,
    Financing,
    Indicator,
    LedgerHead,
    Milestone,
    MilestoneType,
    Programme,
    ProgrammeTarget,
    Project,
    ProjectCommune,
    ProjectOutput,
    ProjectVersion,
    Status,
)
from .rules import Catalogue, Issue, Previous, Record, check_against, check_record, issue, parse

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHILD_SECTIONS = {
    "communes": ProjectCommune,
    "financing": Financing,
    "outputs": ProjectOutput,
    "milestones": Milestone,
}
PROJECT_FIELDS = [
    "title_fr",
    "title_ar",
    "description_fr",
    "description_ar",
    "programme_id",
    "status_id",
    "agreement_id",
    "primary_commune_id",
    "region_code",
    "province_code",
    "latitude",
    "longitude",
    "area_ha",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "budget",
    "as_of",
    "progress",
    "committed",
    "paid",
    "withdrawn",
    "withdrawn_at",
    "withdrawal_reason",
    "version",
    "sha256",
    "warning_codes",
    "updated_at",
    "search_text",
]


VERSION_COLUMNS = rows.concrete_names(ProjectVersion, pk=True)


def local_today() -> date:
    return timezone.localdate()


def public_id_for(operator_code: str, operator_ref: str) -> str:
    """The platform's identifier of a project: derived from the operator and its reference, so that
    it is known before any write and the same on every replay."""
    digest = hashlib.sha256(f"{operator_code}\n{operator_ref}".encode()).digest()
    # Base32 encodes 5 bytes as 8 characters: the first 10 characters come from the first 10 bytes.
    return PROJECT_ID_PREFIX + base64.b32encode(digest[:10]).decode()[:10].translate(_CROCKFORD)


_CROCKFORD = str.maketrans("ILOU", "XYZW")


@functools.cache
def _positional(
    model: type[Model],
) -> tuple[dict[str, int], tuple[Any, ...], tuple[tuple[int, Any], ...], bool]:
    """A model's column positions by name, their constant defaults, the columns whose default is made
    afresh for each instance (a callable such as ``list``), and whether an instance's values can be
    set directly: every column read and written by Django's plain deferred attributes, and no
    receiver of the model's init signals."""
    columns = model._meta.concrete_fields
    fresh = tuple(
        (position, column)
        for position, column in enumerate(columns)
        if (column.has_default() and callable(column.default)) or column.has_db_default()
    )
    fresh_positions = {position for position, _ in fresh}
    constants = tuple(
        None if position in fresh_positions else column.get_default()
        for position, column in enumerate(columns)
    )

    def attribute(name: str) -> Any:
        return next((kind.__dict__[name] for kind in model.__mro__ if name in kind.__dict__), None)

    plain = (DeferredAttribute, ForeignKeyDeferredAttribute)
    direct = not (signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)) and all(
        type(attribute(column.attname)) in plain for column in columns
    )
    return {column.attname: position for position, column in enumerate(columns)}, constants, fresh, direct


def _instance(model: type[Model], **values: Any) -> Model:
    """A new instance of ``model`` with ``values`` (by column name) and every other column at its
    default: the same instance as ``model(**values)``. Its values are set directly where the model
    allows it (``_positional``), else through the ORM's positional path (1,000 projects of a batch,
    each with some forty columns: 20 ms through ``Model.__init__``, 9 ms directly)."""
    positions, constants, fresh, direct = _positional(model)
    row = list(constants)
    for position, column in fresh:
        row[position] = column.get_default()
    for name, value in values.items():
        row[positions[name]] = value
    if not direct:
        return model(*row)
    return _built(model, zip(positions, row, strict=True))


def _built(model: type[Model], values: Iterable[tuple[str, Any]], *, saved_in: str | None = None) -> Model:
    """An instance with ``values`` (by column name) set directly, as ``Model.__init__`` would leave a
    new one, or ``from_db`` one read from the database ``saved_in`` (the columns not given deferred).
    For models whose instances ``_positional`` says can be built so."""
    instance = model.__new__(model)
    instance._state = ModelState()
    if saved_in is not None:
        instance._state.adding, instance._state.db = False, saved_in
    instance.__dict__.update(values)
    return instance


@dataclass
class RecordResult:
    index: int
    operator: str
    operator_ref: str
    outcome: Outcome
    public_id: str = ""
    version: int | None = None
    sha256: str = ""
    issues: list[Issue] = field(default_factory=list)
    project: Project | None = None  # the project as written, when the record wrote a version

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.is_error]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if not i.is_error]

    def as_dict(self) -> dict:
        return {
            "index": self.index,
            "operator": self.operator,
            "operator_ref": self.operator_ref,
            "outcome": str(self.outcome),
            "project_id": self.public_id or None,
            "version": self.version,
            "sha256": self.sha256 or None,
            "problems": [i.as_dict() for i in self.issues],
        }


@dataclass
class BatchResult:
    results: list[RecordResult]
    versions: list[ProjectVersion]
    dry_run: bool = False
    head: LedgerHead | None = None  # the ledger's head after this batch (locked until commit)

    @property
    def counts(self) -> dict[str, int]:
        counts = {"received": len(self.results)}
        for outcome in Outcome:
            counts[str(outcome)] = sum(1 for r in self.results if r.outcome == outcome)
        return counts


# The compiled columns that do not follow from a document alone (they depend on the catalogue or on
# earlier versions): compared as values before an UPDATE.
COMPARED_COLUMNS = (
    "title_fr",
    "title_ar",
    "search_text",
    "primary_commune_id",
    "region_code",
    "province_code",
    "initial_planned_end",
    "warning_codes",
)
# The columns read of a saved project before a batch: its identity, what the rules and the replay
# check need, and the compiled columns that do not follow from its current document alone (they
# depend on the catalogue or on earlier versions). A project that a record changes is rebuilt from
# these and the record; the UPDATE then writes the columns whose document parts changed (DESIGN §4).
# The others (creation and publication dates) stay deferred: read if ever asked for.
_STATE = {
    "id",
    "public_id",
    "operator_id",
    "operator_ref",
    "withdrawn",
    "version",
    "sha256",
    *COMPARED_COLUMNS,
}
STATE_COLUMNS = tuple(f.attname for f in Project._meta.concrete_fields if f.attname in _STATE)
# The parts of a record's document and the compiled columns each sets (the others: COMPARED_COLUMNS).
DOCUMENT_COLUMNS = {
    "title": ("title_fr", "title_ar"),
    "description": ("description_fr", "description_ar"),
    "programme": ("programme_id",),
    "status": ("status_id",),
    "agreement": ("agreement_id",),
    "location": ("latitude", "longitude"),
    "area_ha": ("area_ha",),
    "planned_start": ("planned_start",),
    "planned_end": ("planned_end",),
    "actual_start": ("actual_start",),
    "actual_end": ("actual_end",),
    "budget": ("budget",),
    "as_of": ("as_of",),
    "progress": ("progress",),
    "committed": ("committed",),
    "paid": ("paid",),
}
WITHDRAWAL_COLUMNS = frozenset({"withdrawn", "withdrawn_at", "withdrawal_reason"})
VERSION_STAMP_COLUMNS = frozenset({"version", "sha256", "updated_at"})


@dataclass
class _State:
    """A project as a batch sees it: as saved (or new), then after each of the batch's records."""

    public_id: str
    version: int
    sha256: str
    withdrawn: bool
    progress: Decimal | None  # the current version's, which the rules compare the next one to
    document: dict | None  # the current version's
    project: Project | None = None  # the instance written: built when a record of the batch changes it
    loaded: dict | None = None  # a saved project's STATE_COLUMNS, as read
    is_new: bool = False
    compiled: bool = False  # a record (not a withdrawal) was compiled into ``project``
    columns: set[str] = field(default_factory=set)  # a saved project's columns its UPDATE writes
    record: Record | None = None
    sections: set[str] = field(default_factory=set)  # child tables whose rows must be rewritten

    @property
    def changed(self) -> bool:
        return self.project is not None and (self.is_new or bool(self.columns))

    def instance(self) -> Project:
        """The project to write: a saved one is rebuilt from its columns as read; the record compiled
        into it next sets every other compiled column."""
        if self.project is None:
            alias = router.db_for_write(Project)
            _, _, _, direct = _positional(Project)
            if direct:
                self.project = _built(Project, self.loaded.items(), saved_in=alias)
            else:
                self.project = Project.from_db(alias, STATE_COLUMNS, tuple(self.loaded.values()))
        return self.project


def _load_states(
    keys: set[tuple[str, str]], catalogue: Catalogue, *, whole: set[tuple[str, str]] = frozenset()
) -> dict[tuple[str, str], _State]:
    """The saved projects of ``keys`` (operator code, reference) with their current documents. Those in
    ``whole`` (withdrawals, whose tombstones compile no columns) are read as whole instances."""
    states: dict[tuple[str, str], _State] = {}
    if not keys:
        return states
    code_of = {pk: code for code, pk in catalogue.organisations.items()}
    key_list = sorted(keys)
    found: list[tuple] = []
    for start in range(0, len(key_list), 400):
        chunk = key_list[start : start + 400]
        by_operator: dict[int, list[str]] = {}
        for operator, reference in chunk:
            by_operator.setdefault(catalogue.organisations[operator], []).append(reference)
        # One probe of the (operator, reference) index per key: an IN list of references per operator
        # (two IN lists would probe every operator with every reference).
        wanted = functools.reduce(
            operator_or,
            (Q(operator_id=pk, operator_ref__in=refs) for pk, refs in sorted(by_operator.items())),
        )
        found.extend(Project.objects.filter(wanted).values_list(*STATE_COLUMNS))
    for row in found:
        loaded = dict(zip(STATE_COLUMNS, row, strict=True))
        key = (code_of[loaded["operator_id"]], loaded["operator_ref"])
        states[key] = _State(
            loaded["public_id"], loaded["version"], loaded["sha256"], loaded["withdrawn"], None, None
        )
        states[key].loaded = loaded
    if whole & states.keys():
        ids = sorted(states[key].loaded["id"] for key in whole & states.keys())
        for project in Project.objects.filter(pk__in=ids):
            states[(code_of[project.operator_id], project.operator_ref)].project = project
    if states:
        current = ProjectVersion.objects.filter(
            project_id__in=sorted(state.loaded["id"] for state in states.values()),
            number=F("project__version"),
        )
        by_project = dict(current.values_list("project_id", "canonical"))
        for state in states.values():
            state.document = document = stored_document(by_project[state.loaded["id"]])
            progress = document.get("progress")
            state.progress = None if progress is None else Decimal(progress)
    return states


def _columns_changed(state: _State, before: dict, record: Record, document: dict) -> None:
    """Note the compiled columns of a saved project that a record (or a withdrawal) changes."""
    if record.withdrawn:
        state.columns |= WITHDRAWAL_COLUMNS
    else:
        state.compiled = True
        for name, columns in DOCUMENT_COLUMNS.items():
            if before.get(name) != document[name]:
                state.columns.update(columns)
    state.columns |= VERSION_STAMP_COLUMNS


def _search_text(record: Record, public_id: str) -> str:
    parts = [public_id, record.operator_ref, *record.title.values()]
    return search_key(" ".join(part for part in parts if part))


def _compile(project: Project, record: Record, catalogue: Catalogue, *, now: datetime) -> None:
    """Set the project's current-state columns from an accepted record."""
    if record.withdrawn:
        project.withdrawn = True
        project.withdrawn_at = now
        project.withdrawal_reason = record.reason
        return
    primary = catalogue.communes[record.primary_commune]
    # The search key depends on the identifiers and the titles only: a saved project whose titles
    # stay the same keeps its key (a monthly report rarely renames a project).
    same_titles = (
        bool(project.search_text)
        and set(record.title) == {"ar", "fr"}
        and project.title_fr == record.title["fr"]
        and project.title_ar == record.title["ar"]
    )
    project.title_fr = record.title.get("fr", "")
    project.title_ar = record.title.get("ar", "")
    project.description_fr = record.description.get("fr", "")
    project.description_ar = record.description.get("ar", "")
    project.programme_id = record.programme
    project.status_id = record.status
    project.agreement_id = catalogue.agreements.get(record.agreement) if record.agreement else None
    project.primary_commune_id = primary.id
    project.region_code = primary.region_code
    project.province_code = primary.province_code
    project.latitude, project.longitude = record.location or (None, None)
    project.area_ha = record.area_ha
    for name in ("planned_start", "planned_end", "actual_start", "actual_end", "as_of"):
        setattr(project, name, getattr(record, name))
    project.budget = record.budget
    project.progress = record.progress
    project.committed = record.committed
    project.paid = record.paid
    if not same_titles:
        project.search_text = _search_text(record, project.public_id)
    if project.initial_planned_end is None:
        project.initial_planned_end = record.planned_end


CHILD_COLUMNS = {
    "communes": ("project", "territory", "is_primary", "share", "path"),
    "financing": ("project", "partner", "amount"),
    "outputs": ("project", "indicator", "target", "achieved"),
    "milestones": ("project", "type", "planned", "forecast", "actual"),
}


def _children(project_id: int, record: Record, catalogue: Catalogue, section: str) -> list[tuple]:
    """The rows of one child table (communes, financing, outputs, milestones) for a record, as
    values in the order of ``CHILD_COLUMNS``."""
    if section == "communes":
        communes = catalogue.communes
        return [
            (project_id, communes[code].id, code == record.primary_commune, share, communes[code].path)
            for code, share in record.communes.items()
        ]
    if section == "financing":
        organisations = catalogue.organisations
        return [(project_id, organisations[partner], amount) for partner, amount in record.financing.items()]
    if section == "outputs":
        return [
            (project_id, code, values["target"], values["achieved"])
            for code, values in record.outputs.items()
        ]
    return [
        (project_id, code, d["planned"], d["forecast"], d["actual"]) for code, d in record.milestones.items()
    ]


@dataclass
class _Draft:
    """A record as checked and written out before its batch's transaction: the work that needs
    neither the write lock nor the project's saved state."""

    record: Record
    public_id: str  # the identifier a new project gets (a saved one has it already)
    issues: list[Issue]  # check_record's
    document: dict | None = None  # None when those issues reject the record
    text: str = ""
    digest: str = ""


@dataclass
class PreparedBatch:
    """A batch read, checked and written out by ``records_prepare``, before the write lock:
    ``records_apply`` then does under the lock only what depends on the projects' saved state."""

    catalogue: Catalogue
    scope: Scope
    results: list[RecordResult]
    drafts: list[tuple[int, _Draft]]  # (index, draft) of the records to apply, in order


def records_prepare(
    *, actor: Any, records: Sequence[Any], scope: Scope | None = None, today: date | None = None,
    catalogue: Catalogue | None = None,
) -> PreparedBatch:  # fmt: skip
    """Parse and check a batch's records and build each one's document, its canonical JSON and
    digest. Reads the catalogue and writes nothing: a submission calls it before its transaction,
    so that on SQLite (whose transactions take the write lock at BEGIN) another submission can
    write meanwhile."""
    catalogue = catalogue or Catalogue.load(today=today or local_today())
    scope = scope if scope is not None else principal_scope(actor)
    results: list[RecordResult] = []
    drafts: list[tuple[int, _Draft]] = []
    for index, raw in enumerate(records):
        record, found = parse(raw, catalogue)
        operator = raw.get("operator", "") if isinstance(raw, dict) else ""
        reference = raw.get("operator_ref", "") if isinstance(raw, dict) else ""
        result = RecordResult(
            index, str(operator or "")[:40], str(reference or "")[:64], Outcome.REJECTED, issues=found
        )
        results.append(result)
        if record is None:
            continue
        if not scope.may_write_for(catalogue.organisations.get(record.operator)):
            result.issues.append(issue("operator_not_permitted", "/operator", value=record.operator))
            continue
        draft = _Draft(record, public_id_for(record.operator, record.operator_ref), [])
        if not record.withdrawn:
            draft.issues = check_record(record, catalogue)
        if not any(i.is_error for i in draft.issues):
            draft.document = record_document(record, draft.public_id)
            draft.text = document_json(draft.document)
            draft.digest = sha256(draft.text)
        drafts.append((index, draft))
    return PreparedBatch(catalogue, scope, results, drafts)


@collector_paused()
def records_apply(
    *,
    actor: Any,
    source_kind: str,
    source_id: str,
    records: Sequence[Any] = (),
    prepared: PreparedBatch | None = None,
    scope: Scope | None = None,
    base_versions: Sequence[int | None] | None = None,
    received_at: datetime | None = None,
    today: date | None = None,
    dry_run: bool = False,
    request_id: str = "",
    catalogue: Catalogue | None = None,
    audit_each: bool = True,
) -> BatchResult:
    """Check and write a batch of project records (and withdrawals) for the operators ``scope`` may
    write for (the actor's own scope by default). Returns one result per record, in order.

    ``prepared``: the batch as ``records_prepare`` left it (``records``, ``scope``, ``today`` and
    ``catalogue`` are then its own).

    ``audit_each``: one audit event per new version, with its diff (forms, commands, the demo). An
    exchange submission or upload passes False and writes one event for the whole submission (DESIGN
    §6); each of its versions names the submission and the client or user as its source, and its
    diff is the version history's."""
    now = received_at or timezone.now()
    if prepared is None:
        prepared = records_prepare(
            actor=actor, records=records, scope=scope, today=today, catalogue=catalogue
        )
    catalogue, results, drafts = prepared.catalogue, prepared.results, prepared.drafts
    _, _, actor_label = actor_identity(actor)

    with transaction.atomic():
        # Writers queue on the ledger's lock before reading the projects' state, so two batches
        # touching one project cannot both compute its next version.
        head = None if dry_run else ledger.lock()
        states = _load_states(
            {draft.record.key for _, draft in drafts},
            catalogue,
            whole={draft.record.key for _, draft in drafts if draft.record.withdrawn},
        )
        versions: list[ProjectVersion] = []
        events: list[tuple[str, str, str, dict]] = []  # audit: action, project, label, changes
        for index, draft in drafts:
            record = draft.record
            result = results[index]
            state = states.get(record.key)
            base = base_versions[index] if base_versions is not None else None
            if state is None:
                if record.withdrawn:
                    result.issues.append(issue("unknown_project", "/operator_ref", value=record.operator_ref))
                    continue
                if base not in (None, 0):
                    result.issues.append(issue("version_conflict", "/base_version", base=base, current=0))
                    continue
                # Kept in ``states`` (and written) only once a record of the batch makes its first version:
                # a new record that the rules reject leaves nothing behind.
                state = _State(draft.public_id, 0, "", False, None, None, is_new=True)
            result.public_id = state.public_id
            if state.withdrawn:
                result.issues.append(issue("withdrawn_project", "/operator_ref", value=state.public_id))
                continue
            if base is not None and base != state.version:
                result.issues.append(
                    issue("version_conflict", "/base_version", base=base, current=state.version)
                )
                continue
            previous = None if state.version == 0 else Previous(state.version, state.progress, False)
            if not record.withdrawn:
                result.issues.extend(draft.issues)
                result.issues.extend(check_against(record, previous))
                if result.errors:
                    continue
            if draft.public_id == state.public_id:
                document, text, digest = draft.document, draft.text, draft.digest
            else:  # saved under an identifier from an earlier operator code
                document = record_document(record, state.public_id)
                text = document_json(document)
                digest = sha256(text)
            result.sha256 = digest
            if digest == state.sha256:
                result.outcome = Outcome.UNCHANGED
                result.version = state.version
                continue
            number = state.version + 1
            earlier = state.document
            warnings = [i.as_dict() for i in result.warnings]
            result.outcome = (
                Outcome.WITHDRAWN if record.withdrawn else Outcome.CREATED if number == 1 else Outcome.UPDATED
            )
            result.version = number
            if state.is_new and state.project is None:
                state.project = _instance(
                    Project,
                    public_id=state.public_id,
                    operator_id=catalogue.organisations[record.operator],
                    operator_ref=record.operator_ref,
                    version=0,
                    created_at=now,
                )
                states[record.key] = state
            project = result.project = state.instance()
            _compile(project, record, catalogue, now=now)
            project.version = number
            project.sha256 = digest
            project.warning_codes = sorted({w["code"] for w in warnings})
            project.updated_at = now
            if not state.is_new:
                _columns_changed(state, earlier, record, document)
            if not record.withdrawn:
                before = earlier or {}
                state.sections |= {
                    name for name in CHILD_SECTIONS if state.is_new or before.get(name) != document.get(name)
                }
                state.record = record
            state.version, state.sha256, state.withdrawn = number, digest, record.withdrawn
            state.progress = record.progress
            state.document = document
            version = _instance(
                ProjectVersion,
                number=number,
                canonical=text,
                sha256=digest,
                received_at=now,
                source_kind=source_kind,
                source_id=str(source_id)[:64],
                actor_label=actor_label[:150],
                is_tombstone=record.withdrawn,
                warnings=warnings,
            )
            version.project = project
            versions.append(version)
            if audit_each:
                action = {
                    Outcome.CREATED: "project.create",
                    Outcome.UPDATED: "project.update",
                    Outcome.WITHDRAWN: "project.withdraw",
                }[result.outcome]
                events.append(
                    (
                        action,
                        project.public_id,
                        project.title_fr or project.title_ar or project.operator_ref,
                        {
                            "version": number,
                            "sha256": digest,
                            "diff": diff(earlier, document) if number > 1 else [],
                        },
                    )
                )
        if dry_run:
            transaction.set_rollback(True)
            return BatchResult(results, [], dry_run=True)
        _write(states, versions, catalogue)
        ledger.append_versions(head, versions, now=now)
        audit_bulk_rows(
            actor=actor,
            object_type="registry.project",
            entries=events,
            source_kind=source_kind,
            source_id=str(source_id)[:64],
            request_id=request_id,
            occurred_at=now,
        )
        hooks.schedule(versions)
    return BatchResult(results, versions, head=head)


def _write(
    states: dict[tuple[str, str], _State], versions: list[ProjectVersion], catalogue: Catalogue
) -> None:
    changed = [state for state in states.values() if state.changed]
    new = [state.project for state in changed if state.is_new]
    for project, pk in zip(new, rows.ids_reserve(Project, len(new)), strict=True):
        project.pk = pk
    rows.insert_objects(new, rows.concrete_names(Project, pk=True))
    # The compiled columns of saved projects that changed: one prepared UPDATE per set of changed
    # columns (a monthly report changes the progress, amounts and dates, not the titles or the place:
    # SQLite and PostgreSQL then leave the indexes of the other columns alone).
    by_columns: dict[tuple[str, ...], list[Project]] = {}
    for state in changed:
        if state.is_new:
            continue
        project, loaded, columns = state.project, state.loaded, state.columns
        compared = COMPARED_COLUMNS if state.compiled else ("warning_codes",)
        columns |= {name for name in compared if getattr(project, name) != loaded[name]}
        names = tuple(name for name in PROJECT_FIELDS if name in columns)
        by_columns.setdefault(names, []).append(project)
    for names, projects in by_columns.items():
        rows.update_objects(projects, names)
    # Child rows are rewritten only for the parts of a record that changed (a monthly report
    # usually changes the progress and amounts, not the communes or the financing plan).
    for name, model in CHILD_SECTIONS.items():
        touched = [state for state in changed if name in state.sections]
        replaced = [state.project.pk for state in touched if not state.is_new]
        for start in range(0, len(replaced), 500):
            model.objects.filter(project_id__in=replaced[start : start + 500]).delete()
        rows.insert_rows(
            model,
            CHILD_COLUMNS[name],
            [row for state in touched for row in _children(state.project.pk, state.record, catalogue, name)],
            packed=True,
        )
    for version, pk in zip(versions, rows.ids_reserve(ProjectVersion, len(versions)), strict=True):
        version.pk = pk
        version.project = version.project  # its key is known now; the cached project stays
    rows.insert_objects(versions, VERSION_COLUMNS)


# --- One project at a time (forms, commands) --------------------------------------------------------------


def project_save(
    *,
    actor: Any,
    record: dict,
    base_version: int | None = None,
    source_kind: str = SourceKind.UI,
    source_id: str = "",
    today: date | None = None,
    request_id: str = "",
) -> RecordResult:
    """Create or update one project from a record; the result says which, or why it was rejected."""
    kind, identifier, _ = actor_identity(actor)
    batch = records_apply(
        actor=actor,
        records=[record],
        base_versions=[base_version],
        source_kind=source_kind,
        source_id=source_id or f"{kind}:{identifier}",
        today=today,
        request_id=request_id,
    )
    return batch.results[0]


def project_create(*, actor: Any, record: dict, **options) -> RecordResult:
    """Create a project; a record whose operator reference already exists is a version conflict."""
    return project_save(actor=actor, record=record, base_version=0, **options)


def project_update(*, actor: Any, project: Project, record: dict, **options) -> RecordResult:
    """A new version of ``project`` when the record differs from its current one ("unchanged" else)."""
    record = {**record, "operator": project.operator.code, "operator_ref": project.operator_ref}
    options.setdefault("base_version", project.version)
    return project_save(actor=actor, record=record, **options)


def project_withdraw(*, actor: Any, project: Project, reason: str, **options) -> RecordResult:
    """Withdraw a project (a wrong entry, a duplicate): a tombstone version, never a deletion."""
    record = {
        "operator": project.operator.code,
        "operator_ref": project.operator_ref,
        "withdrawn": True,
        "reason": reason,
    }
    return project_save(actor=actor, record=record, **options)


def project_document(project: Project) -> dict:
    """The current version's document."""
    version = ProjectVersion.objects.get(project=project, number=project.version)
    return stored_document(version.canonical)


def project_record(project: Project) -> dict:
    """The current record of a project, ready to be edited and saved again."""
    return editable_record(project_document(project))


def milestone_set(
    *,
    actor: Any,
    project: Project,
    type_code: str,
    planned: date | None = None,
    forecast: date | None = None,
    actual: date | None = None,
    **options,
) -> RecordResult:
    """Set (or, with no date, remove) a milestone: a new version of the project."""
    record = project_record(project)
    milestones = dict(record.get("milestones") or {})
    dates = {"planned": planned, "forecast": forecast, "actual": actual}
    if any(dates.values()):
        milestones[type_code] = {name: value.isoformat() if value else None for name, value in dates.items()}
    else:
        milestones.pop(type_code, None)
    record["milestones"] = milestones
    return project_update(actor=actor, project=project, record=record, **options)


class NotPermitted(Exception):
    """The actor may not do this; views turn it into a 403."""


@transaction.atomic
def project_publish(*, actor: Any, project: Project, published: bool = True, request_id: str = "") -> Project:
    """Publish a project (make it public) or unpublish it. Decided by its operator or a national analyst."""
    scope = principal_scope(actor)
    if not scope.may_publish_for(project.operator_id):
        raise NotPermitted
    if project.published == published:
        return project
    project.published = published
    project.published_at = timezone.now() if published else None
    Project.objects.filter(pk=project.pk).update(
        published=project.published, published_at=project.published_at
    )
    audit_record(
        actor=actor,
        action="project.publish" if published else "project.unpublish",
        object_type="registry.project",
        object_id=project.public_id,
        object_label=project.title_fr or project.title_ar,
        changes={"published": [not published, published]},
        request_id=request_id,
    )
    return project


def projects_publish(*, actor: Any, projects: Iterable[Project], request_id: str = "") -> int:
    """Publish many projects at once (the demo data, an operator's bulk publication)."""
    scope = principal_scope(actor)
    chosen = [p for p in projects if not p.published and scope.may_publish_for(p.operator_id)]
    if not chosen:
        return 0
    now = timezone.now()
    with transaction.atomic():
        for start in range(0, len(chosen), 500):
            ids = [p.pk for p in chosen[start : start + 500]]
            Project.objects.filter(pk__in=ids).update(published=True, published_at=now)
        audit_bulk_write(
            audit_build(
                actor=actor,
                action="project.publish",
                object_type="registry.project",
                object_id=p.public_id,
                object_label=p.title_fr or p.title_ar,
                changes={"published": [False, True]},
                request_id=request_id,
                occurred_at=now,
            )
            for p in chosen
        )
    return len(chosen)


# --- Agreements ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartyInput:
    organisation_code: str
    role: str
    commitment_amount: Decimal | None = None
    commitment_in_kind: str = ""


def _party_rows(agreement: Agreement, parties: Iterable[PartyInput]) -> list[AgreementParty]:
    from marsad.accounts.models import Organisation

    codes = {p.organisation_code for p in parties}
    ids = dict(Organisation.objects.filter(code__in=codes).values_list("code", "id"))
    missing = sorted(codes - set(ids))
    if missing:
        raise ValueError(f"Unknown organisations: {', '.join(missing)}")
    return [
        AgreementParty(
            agreement=agreement,
            organisation_id=ids[p.organisation_code],
            role=p.role,
            commitment_amount=p.commitment_amount,
            commitment_in_kind=p.commitment_in_kind,
        )
        for p in parties
    ]


def _agreement_snapshot(agreement: Agreement) -> dict:
    return {
        "reference": agreement.reference,
        "title_fr": agreement.title_fr,
        "title_ar": agreement.title_ar,
        "signed_on": agreement.signed_on.isoformat() if agreement.signed_on else None,
        "parties": [
            [
                p.organisation.code,
                p.role,
                None if p.commitment_amount is None else str(p.commitment_amount),
                p.commitment_in_kind,
            ]
            for p in agreement.parties.select_related("organisation").order_by("id")
        ],
    }


@transaction.atomic
def agreement_create(
    *,
    actor: Any,
    reference: str,
    title_fr: str,
    title_ar: str,
    signed_on: date | None,
    parties: Sequence[PartyInput] = (),
    request_id: str = "",
) -> Agreement:
    agreement = Agreement.objects.create(
        reference=reference, title_fr=title_fr, title_ar=title_ar, signed_on=signed_on
    )
    AgreementParty.objects.bulk_create(_party_rows(agreement, parties))
    audit_record(
        actor=actor,
        action="agreement.create",
        object_type="registry.agreement",
        object_id=agreement.reference,
        object_label=agreement.title_fr or agreement.title_ar,
        changes={"after": _agreement_snapshot(agreement)},
        request_id=request_id,
    )
    return agreement


@transaction.atomic
def agreement_update(
    *,
    actor: Any,
    agreement: Agreement,
    title_fr: str | None = None,
    title_ar: str | None = None,
    signed_on: date | None = None,
    parties: Sequence[PartyInput] | None = None,
    request_id: str = "",
) -> Agreement:
    before = _agreement_snapshot(agreement)
    if title_fr is not None:
        agreement.title_fr = title_fr
    if title_ar is not None:
        agreement.title_ar = title_ar
    if signed_on is not None:
        agreement.signed_on = signed_on
    agreement.save()
    if parties is not None:
        agreement.parties.all().delete()
        AgreementParty.objects.bulk_create(_party_rows(agreement, parties))
    after = _agreement_snapshot(agreement)
    audit_record(
        actor=actor,
        action="agreement.update",
        object_type="registry.agreement",
        object_id=agreement.reference,
        object_label=agreement.title_fr or agreement.title_ar,
        changes={"before": before, "after": after},
        request_id=request_id,
    )
    return agreement


# --- Reference catalogue ------------------------------------------------------------------------------------


@dataclass
class ReferenceSummary:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)


def _upsert(model, rows: list[dict], summary: ReferenceSummary, label: str) -> None:
    existing = {obj.code: obj for obj in model.objects.all()}
    created = updated = 0
    for row in rows:
        obj = existing.get(row["code"])
        if obj is None:
            model.objects.create(**row)
            created += 1
            continue
        if any(getattr(obj, name) != value for name, value in row.items()):
            for name, value in row.items():
                setattr(obj, name, value)
            obj.save()
            updated += 1
    summary.created[label] = created
    summary.updated[label] = updated


@transaction.atomic
def reference_load(*, actor: Any = None) -> ReferenceSummary:
    """Load (or bring up to date) the reference catalogue of reference/domain.md: programmes,
    statuses, milestone types, indicators and programmes' national targets. Idempotent."""
    from marsad.accounts.models import Organisation

    data = json.loads((FIXTURES / "catalogue.json").read_text(encoding="utf-8"))
    summary = ReferenceSummary()
    owners = dict(Organisation.objects.values_list("code", "id"))
    programmes = []
    for row in data["programmes"]:
        row = dict(row)
        row["owner_id"] = owners.get(row.pop("owner"))
        programmes.append(row)
    _upsert(Programme, programmes, summary, "programmes")
    _upsert(Status, data["statuses"], summary, "statuses")
    _upsert(MilestoneType, data["milestone_types"], summary, "milestone_types")
    _upsert(Indicator, data["indicators"], summary, "indicators")
    programme_ids = dict(Programme.objects.values_list("code", "id"))
    targets = 0
    for row in data["programme_targets"]:
        _, created = ProgrammeTarget.objects.update_or_create(
            programme_id=programme_ids[row["programme"]],
            indicator_id=row["indicator"],
            defaults={"value": Decimal(row["value"])},
        )
        targets += created
    summary.created["programme_targets"] = targets
    if any(summary.created.values()) or any(summary.updated.values()):
        audit_record(
            actor=actor,
            action="reference.load",
            object_type="registry.catalogue",
            object_label="catalogue",
            changes={"created": summary.created, "updated": summary.updated},
        )
    return summary
