"""Scoping: what a principal may read and write, computed once and used by every read.

A *principal* is whoever asks: a user (through their memberships), an anonymous visitor (the
public), or anything implementing ``Principal`` (the exchange's API clients). Its ``Scope`` lists
its grants; ``scope_q`` turns them into one filter, given how each grant maps onto the model being
read. Territories are matched through their stored delimited path (everything below a region or a
province), never through a prefix of the HCP code; organisations include their subsidiaries.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from django.db.models import Q

from marsad.audit.services import SystemActor

from .choices import Role


@dataclass(frozen=True)
class Scope:
    roles: frozenset[str] = frozenset()
    territory_paths: tuple[str, ...] = ()
    operator_ids: frozenset[int] = frozenset()
    partner_ids: frozenset[int] = frozenset()
    label: str = "public"

    @property
    def is_administrator(self) -> bool:
        return Role.ADMINISTRATOR in self.roles

    @property
    def is_national(self) -> bool:
        """Reads everything (administrators and national analysts)."""
        return bool(self.roles & {Role.ADMINISTRATOR, Role.NATIONAL_ANALYST})

    @property
    def is_public(self) -> bool:
        return not self.roles

    @property
    def organisation_ids(self) -> frozenset[int]:
        return self.operator_ids | self.partner_ids

    def may_write_for(self, operator_id: int | None) -> bool:
        """May create, edit and withdraw the projects of this operator."""
        return self.is_administrator or (operator_id is not None and operator_id in self.operator_ids)

    def may_create(self) -> bool:
        return self.is_administrator or bool(self.operator_ids)

    def may_publish_for(self, operator_id: int | None) -> bool:
        """Publication is decided by the operator or a national analyst."""
        return self.is_national or self.may_write_for(operator_id)


PUBLIC = Scope()


@runtime_checkable
class Principal(Protocol):
    """What scoping needs from a principal that is not a user (an API client implements it)."""

    def marsad_scope(self) -> Scope: ...


def organisation_family_ids(ids: Iterable[int]) -> frozenset[int]:
    """The organisations and all their subsidiaries, at any depth."""
    from .models import Organisation

    found = set(ids)
    frontier = set(found)
    while frontier:
        children = set(Organisation.objects.filter(parent_id__in=frontier).values_list("id", flat=True))
        frontier = children - found
        found |= frontier
    return frozenset(found)


def user_scope(user) -> Scope:
    from .models import Membership

    memberships = list(Membership.objects.filter(user=user).select_related("territory").order_by("id"))
    roles = frozenset(m.role for m in memberships)
    paths = tuple(sorted({m.territory.path for m in memberships if m.territory_id}))
    operators = {
        m.organisation_id for m in memberships if m.role == Role.OPERATOR_STEWARD and m.organisation_id
    }
    partners = {m.organisation_id for m in memberships if m.role == Role.PARTNER_VIEWER and m.organisation_id}
    return Scope(
        roles=roles,
        territory_paths=paths,
        operator_ids=organisation_family_ids(operators) if operators else frozenset(),
        partner_ids=organisation_family_ids(partners) if partners else frozenset(),
        label=user.get_username(),
    )


def principal_scope(principal: Any) -> Scope:
    """The scope of a user, an anonymous visitor (public), a system actor (a command: national) or
    a ``Principal``. A user's scope is computed once per object (one request) and kept on it."""
    if principal is None or getattr(principal, "is_anonymous", False):
        return PUBLIC
    if isinstance(principal, SystemActor):
        # A command run on the platform's own account (loaders, the demo generator) acts nationally.
        return Scope(roles=frozenset({Role.ADMINISTRATOR}), label=principal.name)
    if isinstance(principal, Principal):
        return principal.marsad_scope()
    if not getattr(principal, "is_active", True):
        return PUBLIC
    cached = getattr(principal, "_marsad_scope", None)
    if cached is None:
        cached = user_scope(principal)
        principal._marsad_scope = cached
    return cached


def scope_q(
    scope: Scope,
    *,
    public: Q,
    territory: Callable[[tuple[str, ...]], Q] | None = None,
    operator: Callable[[frozenset[int]], Q] | None = None,
    partner: Callable[[frozenset[int]], Q] | None = None,
) -> Q | None:
    """The filter of what ``scope`` may read, or None when it reads everything.

    The caller says how each grant maps onto its model: ``public`` (what anyone may read),
    ``territory`` (rows under the given delimited paths), ``operator`` (rows of these operators),
    ``partner`` (rows these partners finance or signed for). A grant without a mapping adds nothing.
    """
    if scope.is_national:
        return None
    condition = public
    if scope.territory_paths and territory is not None:
        condition |= territory(scope.territory_paths)
    if scope.operator_ids and operator is not None:
        condition |= operator(scope.operator_ids)
    if scope.partner_ids and partner is not None:
        condition |= partner(scope.partner_ids)
    return condition
