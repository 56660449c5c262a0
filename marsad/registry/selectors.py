"""Reads of the registry. Every read of projects goes through ``visible_projects``, which applies
the principal's scope (accounts.scoping); agreements are visible through their projects and their
parties. Selectors own prefetching: list pages and endpoints run a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from marsad.accounts.models import Organisation
from marsad.accounts.scoping import Scope, organisation_family_ids, principal_scope, scope_q
from marsad.core.text import search_words

from .canonical import diff, stored_document
from .choices import LedgerKind
from .models import (
    Agreement,
    AgreementParty,
    Financing,
    Indicator,
    LedgerEntry,
    LedgerHead,
    Milestone,
    MilestoneType,
    Programme,
    Project,
    ProjectCommune,
    ProjectOutput,
    ProjectVersion,
    Status,
)


def _under_paths(paths: tuple[str, ...]) -> Q:
    condition = Q()
    for path in paths:
        condition |= Q(path__startswith=path)
    return Q(Exists(ProjectCommune.objects.filter(condition, project=OuterRef("pk"))))


def _financed_or_signed(ids: frozenset[int]) -> Q:
    return Q(Exists(Financing.objects.filter(project=OuterRef("pk"), partner_id__in=ids))) | Q(
        Exists(AgreementParty.objects.filter(agreement=OuterRef("agreement_id"), organisation_id__in=ids))
    )


PUBLIC_PROJECTS = Q(published=True, withdrawn=False)


def project_scope_q(scope: Scope, *, public: Q = PUBLIC_PROJECTS) -> Q | None:
    """The projects a scope may read: published ones for everybody; those under the territories of
    a territorial officer; those of a steward's operators (with subsidiaries); those a partner
    finances or whose agreement it signed; everything for national roles (None)."""
    return scope_q(
        scope,
        public=public,
        territory=_under_paths,
        operator=lambda ids: Q(operator_id__in=ids),
        partner=_financed_or_signed,
    )


def visible_projects(principal: Any) -> QuerySet[Project]:
    condition = project_scope_q(principal_scope(principal))
    projects = Project.objects.all()
    return projects if condition is None else projects.filter(condition)


@dataclass(frozen=True)
class ProjectFilters:
    region: str = ""
    province: str = ""
    commune: str = ""
    programme: str = ""
    operator: str = ""
    status: str = ""
    agreement: str = ""
    q: str = ""
    published: bool | None = None
    withdrawn: bool | None = None


def project_list(principal: Any, filters: ProjectFilters | None = None) -> QuerySet[Project]:
    """Projects the principal may read, filtered. Territory filters use the stored ancestor codes
    (region, province) and the projects' communes; an operator filter includes its subsidiaries."""
    filters = filters or ProjectFilters()
    projects = visible_projects(principal).select_related(
        "programme", "status", "operator", "primary_commune"
    )
    if filters.region:
        projects = projects.filter(
            Exists(
                ProjectCommune.objects.filter(project=OuterRef("pk"), territory__region_code=filters.region)
            )
        )
    if filters.province:
        projects = projects.filter(
            Exists(
                ProjectCommune.objects.filter(
                    project=OuterRef("pk"), territory__province_code=filters.province
                )
            )
        )
    if filters.commune:
        # The unit and everything below it by path (Tanger's arrondissements), and the arrondissements
        # that name it as their commune (Casablanca's sit under its prefectures of arrondissements).
        projects = projects.filter(
            Exists(
                ProjectCommune.objects.filter(
                    Q(path__contains=f"/{filters.commune}/") | Q(territory__commune_code=filters.commune),
                    project=OuterRef("pk"),
                )
            )
        )
    if filters.programme:
        projects = projects.filter(programme_id=filters.programme)
    if filters.status:
        projects = projects.filter(status_id=filters.status)
    if filters.operator:
        operator = Organisation.objects.filter(code=filters.operator).values_list("id", flat=True).first()
        family = organisation_family_ids([operator]) if operator else frozenset()
        projects = projects.filter(operator_id__in=family)
    if filters.agreement:
        projects = projects.filter(agreement__reference=filters.agreement)
    if filters.published is not None:
        projects = projects.filter(published=filters.published)
    if filters.withdrawn is not None:
        projects = projects.filter(withdrawn=filters.withdrawn)
    if filters.q:
        for word in search_words(filters.q):
            projects = projects.filter(search_text__contains=word)
    return projects.order_by("public_id")


def project_get(principal: Any, public_id: str) -> Project:
    """One project the principal may read, with everything its page shows. Raises
    Project.DoesNotExist when it does not exist or is out of scope (the caller answers 404)."""
    return (
        visible_projects(principal)
        .select_related("programme", "status", "operator", "operator__parent", "agreement", "primary_commune")
        .prefetch_related(
            Prefetch(
                "communes",
                ProjectCommune.objects.select_related("territory").order_by("-is_primary", "territory__code"),
            ),
            Prefetch(
                "financing", Financing.objects.select_related("partner").order_by("-amount", "partner__code")
            ),
            Prefetch(
                "outputs", ProjectOutput.objects.select_related("indicator").order_by("indicator__position")
            ),
            Prefetch("milestones", Milestone.objects.select_related("type").order_by("type__position")),
        )
        .get(public_id=public_id)
    )


def project_versions(project: Project) -> QuerySet[ProjectVersion]:
    return ProjectVersion.objects.filter(project=project).order_by("-number")


@dataclass
class VersionView:
    version: ProjectVersion
    document: dict
    changes: list[dict]


def version_history(project: Project) -> list[VersionView]:
    """Every version of a project, newest first, each with what it changed from the one before."""
    versions = list(ProjectVersion.objects.filter(project=project).order_by("number"))
    views: list[VersionView] = []
    previous: dict | None = None
    for version in versions:
        document = stored_document(version.canonical)
        views.append(VersionView(version, document, diff(previous, document)))
        previous = document
    return list(reversed(views))


def version_get(project: Project, number: int) -> VersionView:
    versions = list(
        ProjectVersion.objects.filter(project=project, number__in=[number - 1, number]).order_by("number")
    )
    if not versions or versions[-1].number != number:
        raise ProjectVersion.DoesNotExist
    document = stored_document(versions[-1].canonical)
    previous = stored_document(versions[0].canonical) if len(versions) == 2 else None
    return VersionView(versions[-1], document, diff(previous, document))


# --- Agreements, programmes, organisations, reference ------------------------------------------------------


def visible_agreements(principal: Any) -> QuerySet[Agreement]:
    """Agreements of projects the principal may read, plus those its organisations are party to."""
    scope = principal_scope(principal)
    condition = project_scope_q(scope)
    agreements = Agreement.objects.all()
    if condition is None:
        return agreements
    visible = Q(Exists(Project.objects.filter(condition, agreement=OuterRef("pk"))))
    if scope.organisation_ids:
        visible |= Q(
            Exists(
                AgreementParty.objects.filter(
                    agreement=OuterRef("pk"), organisation_id__in=scope.organisation_ids
                )
            )
        )
    return agreements.filter(visible)


def agreement_list(principal: Any, *, q: str = "", party: str = "") -> QuerySet[Agreement]:
    agreements = visible_agreements(principal).prefetch_related(
        Prefetch("parties", AgreementParty.objects.select_related("organisation").order_by("id"))
    )
    if party:
        agreements = agreements.filter(parties__organisation__code=party).distinct()
    if q:
        for word in q.split():
            agreements = agreements.filter(
                Q(reference__icontains=word) | Q(title_fr__icontains=word) | Q(title_ar__icontains=word)
            )
    return agreements.order_by("-signed_on", "reference")


def agreement_get(principal: Any, reference: str) -> Agreement:
    return (
        visible_agreements(principal)
        .prefetch_related(
            Prefetch("parties", AgreementParty.objects.select_related("organisation").order_by("id"))
        )
        .get(reference=reference)
    )


def programme_list() -> QuerySet[Programme]:
    return (
        Programme.objects.select_related("owner")
        .prefetch_related("targets__indicator")
        .order_by("position", "code")
    )


def programme_get(code: str) -> Programme:
    return programme_list().get(code=code)


def project_counts_by(principal: Any, field: str) -> dict[str, int]:
    """How many visible projects per value of ``field`` (programme_id, status_id, region_code...)."""
    rows = (
        visible_projects(principal).filter(withdrawn=False).values(field).annotate(n=Count("id")).order_by()
    )
    return {row[field]: row["n"] for row in rows}


def statuses() -> QuerySet[Status]:
    return Status.objects.order_by("position")


def milestone_types() -> QuerySet[MilestoneType]:
    return MilestoneType.objects.order_by("position")


def indicators(*, reported: bool | None = None) -> QuerySet[Indicator]:
    found = Indicator.objects.order_by("position")
    return found if reported is None else found.filter(reported=reported)


def feed_entries(principal: Any, *, after: int, upto: int, limit: int) -> list[dict]:
    """The version events after ``after`` and up to ``upto`` in commit order (the ledger's
    sequence), limited to the projects ``principal`` may read; one more than ``limit`` is fetched to
    tell whether more follow. Publication is not versioned: a project's earlier events appear to the
    public once it is published."""
    entries = LedgerEntry.objects.filter(kind=LedgerKind.VERSION, seq__gt=after, seq__lte=upto)
    # A published project's withdrawal is news to the public too: the feed shows its tombstone.
    condition = project_scope_q(principal_scope(principal), public=Q(published=True))
    if condition is not None:
        entries = entries.filter(project__in=Project.objects.filter(condition).values("pk"))
    return list(
        entries.order_by("seq").values(
            "seq", "subject", "number", "digest", "recorded_at", "project__operator__code",
            "project__operator_ref", "version__is_tombstone",
        )[: limit + 1]
    )  # fmt: skip


def ledger_head_seq() -> int:
    return LedgerHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0


def ledger_entry_time(seq: int):
    return LedgerEntry.objects.filter(seq=seq).values_list("recorded_at", flat=True).first()


def ledger_entries_for_versions(principal: Any, version_ids: list[int]) -> list[tuple[int, str]]:
    """(sequence, project id) of the given versions' ledger entries that ``principal`` may read, in
    commit order (what a webhook tells a subscriber about)."""
    entries = LedgerEntry.objects.filter(version_id__in=version_ids)
    condition = project_scope_q(principal_scope(principal), public=Q(published=True))
    if condition is not None:
        entries = entries.filter(project__in=Project.objects.filter(condition).values("pk"))
    return list(entries.order_by("seq").values_list("seq", "subject"))
