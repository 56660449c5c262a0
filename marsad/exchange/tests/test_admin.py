"""Registering a client and its key in the admin: the token is shown once, and only its hash kept."""

import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.contrib.messages import get_messages

from marsad.accounts.models import Organisation, User
from marsad.audit.models import AuditEvent
from marsad.exchange.models import ApiClient, ClientKey
from marsad.exchange.selectors import client_by_token
from marsad.exchange.signing import public_key_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(client):
    user = User.objects.create_superuser("root", "root@example.org", "x" * 12)
    client.force_login(user)
    return user


def test_a_client_added_in_the_admin_gets_a_token_shown_once(client, admin_user):
    organisation = Organisation.objects.get(code="MA-ALOMRANE-CS")
    response = client.post(
        "/admin/exchange/apiclient/add/",
        {
            "client_id": "si-cs",
            "name": "SI Casablanca",
            "organisation": organisation.pk,
            "can_submit": "on",
            "can_read_feed": "on",
            "rate_per_minute": "60",
            "keys-TOTAL_FORMS": "0",
            "keys-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    tokens = [found for message in shown for found in re.findall(r"mrsd_[A-Za-z0-9_-]{43}", message)]
    assert len(tokens) == 1
    token = tokens[0]
    created = ApiClient.objects.get(client_id="si-cs")
    assert client_by_token(token) == created
    assert token not in created.token_hash
    assert AuditEvent.objects.filter(action="apiclient.admin_create", object_label="si-cs").count() == 1


def test_a_key_added_in_the_admin_goes_through_the_rotation_service(client, admin_user):
    from .support import sender

    doe = sender()
    public = public_key_text(Ed25519PrivateKey.generate().public_key())
    response = client.post(
        "/admin/exchange/clientkey/add/",
        {"client": doe.client.pk, "key_id": "doe-2026", "public_key": public},
    )
    assert response.status_code == 302
    old, new = ClientKey.objects.filter(client=doe.client).order_by("created_at")
    assert (new.key_id, new.expires_at, old.expires_at is not None) == ("doe-2026", None, True)
    assert AuditEvent.objects.filter(action="exchange.key.add", object_id="doe-2026").count() == 1
    bad = client.post(
        "/admin/exchange/clientkey/add/", {"client": doe.client.pk, "key_id": "bad", "public_key": "A" * 44}
    )
    assert bad.status_code == 302
    assert not ClientKey.objects.filter(key_id="bad").exists()
