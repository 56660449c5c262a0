"""/api/v1 reads of the registry: projects and their versions, programmes, organisations' project
counts, agreements and the reference lists.

Every read is scoped to the principal, ``request.user`` (session authentication): the public
(anonymous) reads published, non-withdrawn projects; a national analyst or an administrator reads
everything; a territorial officer the projects in their region or province; an operator's data
steward its operators' projects (subsidiaries included); a partner the projects it finances or whose
agreement it signed; each on top of what the public reads. Scoping lives in ``registry.selectors``:
this module never queries projects itself. A project or agreement out of scope answers 404, exactly
like one that does not exist. Bad input answers a 422 problem naming the parameter (JSON pointer).
"""

import re

from django.utils.translation import gettext_lazy as _
from ninja import Path, Query, Router
from ninja.pagination import paginate

from marsad.accounts import selectors as accounts_selectors
from marsad.accounts.models import Organisation
from marsad.accounts.scoping import principal_scope
from marsad.core.errors import Problem, query_invalid
from marsad.core.pagination import PagePagination
from marsad.territories.choices import Level
from marsad.territories.selectors import territory_find

from . import selectors
from .models import Agreement, Programme, Project, ProjectVersion
from .schemas import (
    CODE,
    ORGANISATION_CODE,
    PUBLIC_ID,
    REFERENCE,
    AgreementDetailOut,
    AgreementOut,
    AgreementQuery,
    IndicatorOut,
    IndicatorQuery,
    MilestoneTypeOut,
    OrganisationProjectsOut,
    ProgrammeOut,
    ProjectDetailOut,
    ProjectOut,
    ProjectQuery,
    StatusOut,
    VersionDetailOut,
    VersionOut,
)

router = Router()

SCOPING = (
    "Scoped to the principal (session): the public reads published, non-withdrawn projects; national "
    "analysts and administrators read everything; a territorial officer adds the projects of their "
    "region or province; an operator's data steward adds its operators' projects (subsidiaries "
    "included); a partner adds the projects it finances or whose agreement it signed."
)
TAGS = [
    {
        "name": "projects",
        "description": "Projects, their current state and their immutable versions with diffs. "
        + SCOPING
        + " A project out of scope answers 404, exactly like one that does not exist.",
    },
    {
        "name": "programmes",
        "description": "Programmes (VSB, PU, …) with their national targets. Project counts are scoped: "
        + SCOPING,
    },
    {
        "name": "agreements",
        "description": "Agreements (conventions) with their parties, roles and commitments. An agreement is "
        "visible when one of its projects is, or when one of the principal's organisations is a party; "
        "its linked projects are the visible ones. Otherwise it answers 404.",
    },
    {
        "name": "reference",
        "description": "The reference lists: project statuses, milestone types and the indicator catalogue. "
        "Public, the same for every principal.",
    },
]
MAX_VERSION = 2_147_483_647

# Levels a territory filter accepts, by parameter.
FILTER_LEVELS = {
    "region": {Level.REGION},
    "province": {Level.PROVINCE},
    "commune": {Level.COMMUNE, Level.PREFECTURE_OF_ARRONDISSEMENTS, Level.ARRONDISSEMENT},
}
UNKNOWN = {
    "region": (_("Région inconnue : %(value)s"), "unknown_territory"),
    "province": (_("Province ou préfecture inconnue : %(value)s"), "unknown_territory"),
    "commune": (_("Commune ou arrondissement inconnu : %(value)s"), "unknown_territory"),
    "programme": (_("Programme inconnu : %(value)s"), "unknown_programme"),
    "status": (_("Statut inconnu : %(value)s"), "unknown_status"),
    "operator": (_("Organisation inconnue : %(value)s"), "unknown_organisation"),
    "party": (_("Organisation inconnue : %(value)s"), "unknown_organisation"),
    "agreement": (_("Convention inconnue : %(value)s"), "unknown_agreement"),
}


def _unknown(name: str, value: str) -> Problem:
    message, code = UNKNOWN[name]
    detail = _("Un ou plusieurs paramètres ne désignent rien de connu ; voir errors.")
    return query_invalid(name, code, message, detail, value=value)


def _not_found(title, detail) -> Problem:
    return Problem(404, "not-found", title, detail)


def _well_formed(pattern: str, value: str) -> bool:
    """Whether a path parameter has the shape of a code; one that has not names nothing (404), and
    never reaches the database (which may refuse some characters)."""
    return re.fullmatch(pattern, value) is not None


def _project_not_found() -> Problem:
    return _not_found(_("Projet introuvable"), _("Aucun projet accessible ne porte cet identifiant."))


def project_filters(request, query: ProjectQuery) -> selectors.ProjectFilters:
    """The selector's filters from the query, each code checked: one that names nothing is a 422."""
    for name in ("region", "province", "commune"):
        code = getattr(query, name)
        if code:
            territory = territory_find(code)
            if territory is None or territory.level not in FILTER_LEVELS[name]:
                raise _unknown(name, code)
    if query.programme and not selectors.programme_list().filter(code=query.programme).exists():
        raise _unknown("programme", query.programme)
    if query.status and not selectors.statuses().filter(code=query.status).exists():
        raise _unknown("status", query.status)
    if query.operator and not accounts_selectors.organisation_list().filter(code=query.operator).exists():
        raise _unknown("operator", query.operator)
    if (
        query.agreement
        and not selectors.visible_agreements(request.user).filter(reference=query.agreement).exists()
    ):
        raise _unknown("agreement", query.agreement)  # unknown and out of scope alike
    return selectors.ProjectFilters(
        region=query.region or "",
        province=query.province or "",
        commune=query.commune or "",
        programme=query.programme or "",
        operator=query.operator or "",
        status=query.status or "",
        agreement=query.agreement or "",
        q=query.q or "",
        published=query.published,
        withdrawn=query.withdrawn,
    )


def project_or_404(request, public_id: str) -> Project:
    if not _well_formed(PUBLIC_ID, public_id):
        raise _project_not_found()
    try:
        return selectors.project_get(request.user, public_id)
    except Project.DoesNotExist:
        raise _project_not_found() from None


def _project_head_or_404(request, public_id: str) -> Project:
    """The project row alone (no children), when in scope."""
    if not _well_formed(PUBLIC_ID, public_id):
        raise _project_not_found()
    try:
        return selectors.visible_projects(request.user).only("id", "public_id").get(public_id=public_id)
    except Project.DoesNotExist:
        raise _project_not_found() from None


def _version_out(view, *, public: bool, document: bool = False) -> dict:
    version = view.version
    out = {
        "number": version.number,
        "received_at": version.received_at,
        "source_kind": version.source_kind,
        "source_id": None if public else version.source_id,
        "actor_label": None if public else version.actor_label,
        "sha256": version.sha256,
        "is_tombstone": version.is_tombstone,
        "warnings": version.warnings,
        "changes": view.changes,
    }
    if document:
        out["document"] = view.document
    return out


# --- Projects -----------------------------------------------------------------------------------------------


@router.get(
    "/projects",
    response=list[ProjectOut],
    tags=["projects"],
    summary="List projects",
    description="Projects the principal may read, by Marsad id. Territory filters take HCP codes (a "
    "commune includes its arrondissements); an operator includes its subsidiaries; `q` searches titles in "
    "Arabic and French, the Marsad id and the operator's reference. An unknown code is a 422 problem "
    "pointing at the parameter. " + SCOPING,
)
@paginate(PagePagination)
def list_projects(request, filters: Query[ProjectQuery]):
    return selectors.project_list(request.user, project_filters(request, filters))


@router.get(
    "/projects/{public_id}",
    response=ProjectDetailOut,
    tags=["projects"],
    summary="A project: identity, communes, financing, outputs, milestones, latest state",
    description="404 when the project does not exist or is out of the principal's scope. " + SCOPING,
)
def project_detail(request, public_id: str):
    project = project_or_404(request, public_id)
    current = selectors.project_versions(project).only("warnings").first()
    project.current_warnings = current.warnings if current else []
    return project


@router.get(
    "/projects/{public_id}/versions",
    response=list[VersionOut],
    tags=["projects"],
    summary="Versions of a project, newest first, each with what it changed",
    description="Each version with its provenance, warnings and its diff from the previous one "
    "(JSON pointers into the record). The public sees no source identifier nor author. " + SCOPING,
)
@paginate(PagePagination)
def list_versions(request, public_id: str):
    project = _project_head_or_404(request, public_id)
    public = principal_scope(request.user).is_public
    return [_version_out(view, public=public) for view in selectors.version_history(project)]


@router.get(
    "/projects/{public_id}/versions/{number}",
    response=VersionDetailOut,
    tags=["projects"],
    summary="One version of a project, with its full document and its diff",
    description="404 when the project is out of scope or has no such version. " + SCOPING,
)
def version_detail(request, public_id: str, number: int = Path(..., ge=1, le=MAX_VERSION)):
    project = _project_head_or_404(request, public_id)
    try:
        view = selectors.version_get(project, number)
    except ProjectVersion.DoesNotExist:
        raise _not_found(
            _("Version introuvable"), _("Ce projet n'a pas de version portant ce numéro.")
        ) from None
    return _version_out(view, public=principal_scope(request.user).is_public, document=True)


# --- Programmes ---------------------------------------------------------------------------------------------


def _with_counts(request, programmes) -> list[Programme]:
    counts = selectors.project_counts_by(request.user, "programme_id")
    for programme in programmes:
        programme.project_count = counts.get(programme.code, 0)
    return programmes


@router.get(
    "/programmes",
    response=list[ProgrammeOut],
    tags=["programmes"],
    summary="Programmes with their national targets and project counts",
    description="Every programme of the catalogue; `project_count` counts the projects the principal "
    "may read (withdrawn excluded). " + SCOPING,
)
def list_programmes(request):
    return _with_counts(request, list(selectors.programme_list()))


@router.get(
    "/programmes/{code}",
    response=ProgrammeOut,
    tags=["programmes"],
    summary="A programme with its national targets and project count",
    description="`project_count` counts the projects the principal may read (withdrawn excluded). " + SCOPING,
)
def programme_detail(request, code: str):
    missing = _not_found(_("Programme introuvable"), _("Aucun programme ne porte ce code."))
    if not _well_formed(CODE, code):
        raise missing
    try:
        programme = selectors.programme_get(code)
    except Programme.DoesNotExist:
        raise missing from None
    return _with_counts(request, [programme])[0]


# --- Organisations (the list is in accounts.api) ----------------------------------------------------------


@router.get(
    "/organisations/{code}",
    response=OrganisationProjectsOut,
    tags=["organisations"],
    summary="An organisation with its subsidiaries, territory and project count",
    description="Public information; `project_count` counts the projects it operates (subsidiaries "
    "included) that the principal may read, withdrawn excluded. " + SCOPING,
)
def organisation_detail(request, code: str):
    missing = _not_found(_("Organisation introuvable"), _("Aucune organisation ne porte cet identifiant."))
    if not _well_formed(ORGANISATION_CODE, code):
        raise missing
    try:
        organisation = accounts_selectors.organisation_get(code)
    except Organisation.DoesNotExist:
        raise missing from None
    organisation.subsidiaries_list = list(organisation.subsidiaries.order_by("code"))
    organisation.project_count = selectors.project_list(
        request.user, selectors.ProjectFilters(operator=organisation.code, withdrawn=False)
    ).count()
    return organisation


# --- Agreements ---------------------------------------------------------------------------------------------


@router.get(
    "/agreements",
    response=list[AgreementOut],
    tags=["agreements"],
    summary="List agreements",
    description="Agreements the principal may see (one of their projects is visible, or one of the "
    "principal's organisations is a party), newest signature first. `party` takes an exchange "
    "identifier; `q` searches the reference and the titles.",
)
@paginate(PagePagination)
def list_agreements(request, filters: Query[AgreementQuery]):
    if filters.party and not accounts_selectors.organisation_list().filter(code=filters.party).exists():
        raise _unknown("party", filters.party)
    return selectors.agreement_list(request.user, q=(filters.q or "").strip(), party=filters.party or "")


@router.get(
    "/agreements/{reference}",
    response=AgreementDetailOut,
    tags=["agreements"],
    summary="An agreement with its parties, commitments and visible projects",
    description="404 when it does not exist or is not visible to the principal. `projects` lists the "
    "Marsad ids of its projects the principal may read.",
)
def agreement_detail(request, reference: str):
    missing = _not_found(
        _("Convention introuvable"), _("Aucune convention accessible ne porte cette référence.")
    )
    if not _well_formed(REFERENCE, reference):
        raise missing
    try:
        agreement = selectors.agreement_get(request.user, reference)
    except Agreement.DoesNotExist:
        raise missing from None
    agreement.project_ids = list(
        selectors.project_list(
            request.user, selectors.ProjectFilters(agreement=agreement.reference)
        ).values_list("public_id", flat=True)
    )
    return agreement


# --- Reference lists ----------------------------------------------------------------------------------------


@router.get("/reference/statuses", response=list[StatusOut], tags=["reference"], summary="Project statuses")
def list_statuses(request):
    return list(selectors.statuses())


@router.get(
    "/reference/milestone-types",
    response=list[MilestoneTypeOut],
    tags=["reference"],
    summary="Milestone types",
)
def list_milestone_types(request):
    return list(selectors.milestone_types())


@router.get(
    "/reference/indicators",
    response=list[IndicatorOut],
    tags=["reference"],
    summary="The indicator catalogue",
    description="`reported=true`: the outputs operators report (targets and achieved values).",
)
def list_indicators(request, filters: Query[IndicatorQuery]):
    return list(selectors.indicators(reported=filters.reported))
