"""Reads of organisations and users. Organisations are public information (names of operators,
councils and partners); users and memberships are read by administrators only."""

from django.db.models import QuerySet

from marsad.core.text import search_words

from .models import Organisation
from .scoping import Scope, organisation_family_ids, principal_scope, scope_q

__all__ = [
    "Scope",
    "organisation_family_ids",
    "organisation_get",
    "organisation_list",
    "principal_scope",
    "scope_q",
]


def organisation_list(
    *, kind: str | None = None, q: str = "", parent: Organisation | None = None
) -> QuerySet[Organisation]:
    organisations = Organisation.objects.select_related("parent", "territory").order_by("code")
    if kind:
        organisations = organisations.filter(kind=kind)
    if parent is not None:
        organisations = organisations.filter(id__in=organisation_family_ids([parent.pk]))
    if q:
        for word in search_words(q):
            organisations = organisations.filter(search_text__contains=word)
    return organisations


def organisation_get(code: str) -> Organisation:
    return Organisation.objects.select_related("parent", "territory").get(code=code)
