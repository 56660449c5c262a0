"""The admin edits the reference catalogue, and its writes reach the audit trail like any other."""

import pytest
from django.test import Client

from marsad.accounts.choices import Role
from marsad.accounts.services import membership_grant, user_create
from marsad.audit.models import AuditEvent
from marsad.audit.services import SystemActor
from marsad.registry.models import Programme

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    user = user_create(actor=SystemActor("test"), username="root", password=None, is_staff=True)
    user.is_superuser = True
    user.save()
    membership_grant(actor=SystemActor("test"), user=user, role=Role.ADMINISTRATOR)
    client = Client()
    client.force_login(user)
    return client, user


def test_changing_a_programme_in_the_admin_is_audited(admin_client):
    client, user = admin_client
    programme = Programme.objects.get(code="PDTI")
    response = client.get(f"/admin/registry/programme/{programme.pk}/change/")
    assert response.status_code == 200
    form = response.context["adminform"].form
    data = {name: form[name].value() if form[name].value() is not None else "" for name in form.fields}
    data.update(
        {
            "end_year": "2031",
            "targets-TOTAL_FORMS": "0",
            "targets-INITIAL_FORMS": "0",
            "targets-MIN_NUM_FORMS": "0",
            "targets-MAX_NUM_FORMS": "1000",
        }
    )
    response = client.post(f"/admin/registry/programme/{programme.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    programme.refresh_from_db()
    assert programme.end_year == 2031
    event = AuditEvent.objects.get(action="programme.admin_update")
    assert (event.actor_kind, event.actor_id, event.object_type, event.object_id, event.source_kind) == (
        "user",
        str(user.pk),
        "registry.programme",
        "PDTI",
        "admin",
    )
    assert event.changes == {"fields": {"end_year": "2031"}}


def test_projects_and_versions_are_read_only_in_the_admin(admin_client):
    client, _ = admin_client
    assert client.get("/admin/registry/project/add/").status_code == 403
    assert client.get("/admin/registry/projectversion/add/").status_code == 403
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
