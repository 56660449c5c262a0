"""/api/v1/organisations: the list of organisations (operators, ministries, councils, partners).

Organisations are public information and every principal reads the same list. The detail of one
organisation counts the projects it operates, which lives in the registry: it is served by
``marsad.registry.api`` under the same tag (accounts sits below the registry and does not import it).
"""

from django.utils.translation import gettext_lazy as _
from ninja import Query, Router
from ninja.pagination import paginate

from marsad.core.errors import Problem, query_invalid
from marsad.core.pagination import PagePagination

from . import selectors
from .models import Organisation
from .schemas import OrganisationFilters, OrganisationOut

router = Router(tags=["organisations"])

TAG = {
    "name": "organisations",
    "description": "Operators (Al Omrane holding and subsidiaries), ministries, councils, agencies and "
    "partners, by exchange identifier. Public information: every principal reads the same organisations; the "
    "project counts of an organisation's detail only count the projects the principal may read "
    "(published ones for the public).",
}


def unknown_organisation(name: str, code: str) -> Problem:
    """A 422 problem for a query parameter naming no organisation (pointer ``/<name>``)."""
    detail = _("Aucune organisation ne porte l'identifiant indiqué.")
    return query_invalid(
        name, "unknown_organisation", _("Organisation inconnue : %(code)s"), detail, code=code[:40]
    )


@router.get(
    "/organisations",
    response=list[OrganisationOut],
    summary="List organisations",
    description="Filter by kind, by parent (the organisation and all its subsidiaries) and by text. "
    "Public information, the same for every principal.",
)
@paginate(PagePagination)
def list_organisations(request, filters: Query[OrganisationFilters]):
    parent = None
    if filters.parent:
        try:
            parent = selectors.organisation_get(filters.parent)
        except Organisation.DoesNotExist:
            raise unknown_organisation("parent", filters.parent) from None
    return selectors.organisation_list(kind=filters.kind, q=filters.q or "", parent=parent)
