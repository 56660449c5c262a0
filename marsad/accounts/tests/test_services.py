"""Accounts services write what they say and audit it; the loaders are idempotent."""

import pytest

from marsad.accounts.choices import Role
from marsad.accounts.models import Membership, Organisation
from marsad.accounts.services import (
    membership_grant,
    membership_revoke,
    organisation_save,
    user_create,
)
from marsad.audit.models import AuditEvent
from marsad.audit.services import SystemActor

pytestmark = pytest.mark.django_db
ACTOR = SystemActor("test")


def test_organisation_save_audits_creation_and_changes_only():
    _organisation, created = organisation_save(
        actor=ACTOR, code="MA-BANK-X", kind="bank", name_fr="Banque X", name_ar="بنك"
    )
    assert created
    _, created = organisation_save(
        actor=ACTOR, code="MA-BANK-X", kind="bank", name_fr="Banque X", name_ar="بنك"
    )
    assert not created
    organisation_save(actor=ACTOR, code="MA-BANK-X", kind="bank", name_fr="Banque Y", name_ar="بنك")
    events = AuditEvent.objects.filter(object_id="MA-BANK-X").order_by("id")
    assert [(e.action, e.actor_kind, e.actor_label) for e in events] == [
        ("organisation.create", "system", "test"),
        ("organisation.update", "system", "test"),
    ]
    assert events[1].changes == {"name_fr": ["Banque X", "Banque Y"]}
    assert Organisation.objects.get(code="MA-BANK-X").search_text == "ma bank x banque y بنك"


def test_users_and_memberships_are_audited():
    admin = user_create(actor=ACTOR, username="root", password="a long demo password")
    assert admin.password.startswith("md5$")  # the test settings; base settings use argon2
    grant = membership_grant(actor=admin, user=admin, role=Role.ADMINISTRATOR)
    again = membership_grant(actor=admin, user=admin, role=Role.ADMINISTRATOR)
    assert grant.pk == again.pk
    membership_revoke(actor=admin, membership=grant)
    assert not Membership.objects.filter(user=admin).exists()
    events = AuditEvent.objects.filter(object_type__in=["accounts.user", "accounts.membership"]).order_by(
        "id"
    )
    assert [(e.action, e.actor_kind, e.actor_id) for e in events] == [
        ("user.create", "system", ""),
        ("membership.grant", "user", str(admin.pk)),
        ("membership.revoke", "user", str(admin.pk)),
    ]


def test_passwords_are_hashed_with_argon2_outside_tests():
    from config.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert base.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"
