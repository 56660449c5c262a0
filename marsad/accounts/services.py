"""Writes of organisations, users and memberships; each writes its audit event."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from marsad.audit.services import audit_record
from marsad.core.text import search_key
from marsad.territories.models import Territory

from .models import Membership, Organisation, User

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _search_text(code: str, name_fr: str, name_ar: str, acronym: str) -> str:
    return search_key(" ".join(part for part in (code, acronym, name_fr, name_ar) if part))


@transaction.atomic
def organisation_save(
    *,
    actor: Any,
    code: str,
    kind: str,
    name_fr: str,
    name_ar: str,
    acronym: str = "",
    parent: Organisation | None = None,
    territory: Territory | None = None,
) -> tuple[Organisation, bool]:
    """Create or update an organisation by its exchange identifier. Returns (organisation, created)."""
    values = {
        "kind": kind,
        "name_fr": name_fr,
        "name_ar": name_ar,
        "acronym": acronym,
        "parent": parent,
        "territory": territory,
        "search_text": _search_text(code, name_fr, name_ar, acronym),
    }
    organisation = Organisation.objects.filter(code=code).first()
    if organisation is None:
        organisation = Organisation.objects.create(code=code, **values)
        audit_record(
            actor=actor,
            action="organisation.create",
            object_type="accounts.organisation",
            object_id=code,
            object_label=name_fr,
            changes={
                "after": {
                    k: str(v) if v is not None else None for k, v in values.items() if k != "search_text"
                }
            },
        )
        return organisation, True
    before = {k: getattr(organisation, k) for k in values}
    if before == values:
        return organisation, False
    for name, value in values.items():
        setattr(organisation, name, value)
    organisation.save()
    audit_record(
        actor=actor,
        action="organisation.update",
        object_type="accounts.organisation",
        object_id=code,
        object_label=name_fr,
        changes={
            k: [str(before[k]) if before[k] is not None else None, str(v) if v is not None else None]
            for k, v in values.items()
            if before[k] != v and k != "search_text"
        },
    )
    return organisation, False


@dataclass
class OrganisationsSummary:
    created: int = 0
    unchanged: int = 0


def organisations_load(*, actor: Any = None) -> OrganisationsSummary:
    """The organisations of the reference fixture (Al Omrane and its subsidiaries, the DGCT, the
    ministries, the region councils, a few communes, a GIE, a bank). Idempotent."""
    rows = json.loads((FIXTURES / "organisations.json").read_text(encoding="utf-8"))["organisations"]
    territories = {
        t.code: t
        for t in Territory.objects.filter(code__in=[r["territory"] for r in rows if r.get("territory")])
    }
    summary = OrganisationsSummary()
    saved: dict[str, Organisation] = {}
    with transaction.atomic():
        for row in rows:
            organisation, created = organisation_save(
                actor=actor,
                code=row["code"],
                kind=row["kind"],
                name_fr=row["name_fr"],
                name_ar=row["name_ar"],
                acronym=row.get("acronym", ""),
                parent=saved.get(row["parent"]) if row.get("parent") else None,
                territory=territories.get(row["territory"]) if row.get("territory") else None,
            )
            saved[row["code"]] = organisation
            if created:
                summary.created += 1
            else:
                summary.unchanged += 1
    return summary


@transaction.atomic
def user_create(
    *,
    actor: Any,
    username: str,
    password: str | None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    is_staff: bool = False,
) -> User:
    user = User(username=username, first_name=first_name, last_name=last_name, email=email, is_staff=is_staff)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit_record(
        actor=actor,
        action="user.create",
        object_type="accounts.user",
        object_id=str(user.pk),
        object_label=username,
        changes={"after": {"username": username, "email": email, "is_staff": is_staff}},
    )
    return user


@transaction.atomic
def membership_grant(
    *,
    actor: Any,
    user: User,
    role: str,
    territory: Territory | None = None,
    organisation: Organisation | None = None,
) -> Membership:
    membership, created = Membership.objects.get_or_create(
        user=user, role=role, territory=territory, organisation=organisation
    )
    if created:
        audit_record(
            actor=actor,
            action="membership.grant",
            object_type="accounts.membership",
            object_id=str(membership.pk),
            object_label=str(membership),
            changes={
                "user": user.get_username(),
                "role": role,
                "territory": territory.code if territory else None,
                "organisation": organisation.code if organisation else None,
            },
        )
    return membership


@transaction.atomic
def membership_revoke(*, actor: Any, membership: Membership) -> None:
    label = str(membership)
    pk = membership.pk
    membership.delete()
    audit_record(
        actor=actor,
        action="membership.revoke",
        object_type="accounts.membership",
        object_id=str(pk),
        object_label=label,
    )
