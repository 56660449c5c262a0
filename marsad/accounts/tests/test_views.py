"""Signing in and out, login throttling (django-axes), password hashing and the admin's address."""

import importlib

import pytest
from axes.models import AccessAttempt

from marsad.accounts.services import user_create

pytestmark = pytest.mark.django_db
PASSWORD = "a long passphrase 2026"


@pytest.fixture
def user(db):
    return user_create(
        actor=None, username="amina", password=PASSWORD, first_name="Amina", last_name="Alaoui"
    )


def attempt(client, password, *, username="amina", language="fr"):
    return client.post(f"/{language}/connexion/", {"username": username, "password": password})


def test_login_page_in_both_languages(client):
    french = client.get("/fr/connexion/")
    assert french.status_code == 200
    text = french.content.decode()
    assert "<h1>Connexion</h1>" in text
    assert 'name="username"' in text
    assert 'name="password"' in text
    assert 'name="csrfmiddlewaretoken"' in text
    arabic = client.get("/ar/connexion/")
    assert arabic.status_code == 200
    assert '<html lang="ar" dir="rtl">' in arabic.content.decode()


def test_a_correct_password_signs_in_and_lands_on_the_home_page(client, user):
    response = attempt(client, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/fr/"
    text = client.get("/fr/territoires/").content.decode()
    assert '<span class="account-name" data-testid="account-name">Amina Alaoui</span>' in text
    assert "Se déconnecter" in text


def test_next_is_followed_after_signing_in(client, user):
    response = client.post(
        "/fr/connexion/", {"username": "amina", "password": PASSWORD, "next": "/fr/projets/nouveau/"}
    )
    assert response["Location"] == "/fr/projets/nouveau/"


def test_next_may_not_leave_the_site(client, user):
    response = client.post(
        "/fr/connexion/", {"username": "amina", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/fr/"


def test_a_wrong_password_is_refused_with_a_message(client, user):
    response = attempt(client, "wrong")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'class="error" role="alert"' in text
    assert "Saisissez un nom d’utilisateur et un mot de passe valides" in text
    assert "_auth_user_id" not in client.session


def test_five_failures_lock_the_account_from_this_address(client, user):
    for _ in range(4):
        assert attempt(client, "wrong").status_code == 200
    # The fifth failure reaches the limit: it is answered by the lockout page already.
    fifth = attempt(client, "wrong")
    assert fifth.status_code == 429
    assert AccessAttempt.objects.get(username="amina").failures_since_start == 5
    # The sixth attempt is refused even with the right password.
    sixth = attempt(client, PASSWORD)
    assert sixth.status_code == 429
    text = sixth.content.decode()
    assert "<h1>Connexion bloquée</h1>" in text
    assert "Trop de tentatives de connexion échouées (5)." in text
    assert "Réessayez dans 15 minutes." in text
    assert "_auth_user_id" not in client.session
    # The lock is per user name and address: another user signs in from the same address.
    user_create(actor=None, username="karim", password=PASSWORD)
    assert attempt(client, PASSWORD, username="karim").status_code == 302


def test_lockout_page_in_arabic(client, user):
    for _ in range(5):
        attempt(client, "wrong", language="ar")
    response = attempt(client, PASSWORD, language="ar")
    assert response.status_code == 429
    assert '<html lang="ar" dir="rtl">' in response.content.decode()


def test_a_success_resets_the_failure_count(client, user):
    for _ in range(4):
        attempt(client, "wrong")
    assert attempt(client, PASSWORD).status_code == 302
    client.post("/fr/deconnexion/")
    for _ in range(4):
        assert attempt(client, "wrong").status_code == 200
    assert attempt(client, PASSWORD).status_code == 302


def test_logout_is_a_post_that_lands_on_the_home_page(client, user):
    client.force_login(user)
    assert client.get("/fr/deconnexion/").status_code == 405
    response = client.post("/fr/deconnexion/")
    assert response.status_code == 302
    assert response["Location"] == "/fr/"
    assert "_auth_user_id" not in client.session
    assert '<a href="/fr/connexion/?next=/fr/territoires/">Se connecter</a>' in (
        client.get("/fr/territoires/").content.decode()
    )


def test_passwords_are_hashed_with_argon2_in_production_settings():
    base = importlib.import_module("config.settings.base")
    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_the_admin_is_served_outside_the_language_prefix(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
    assert client.get("/admin/login/").status_code == 200


def test_a_forbidden_page_is_a_403_in_the_site_style(client):
    staff = user_create(actor=None, username="visitor", password=PASSWORD)
    client.force_login(staff)
    response = client.get("/fr/projets/nouveau/")
    assert response.status_code == 403
    text = response.content.decode()
    assert "<h1>Accès refusé</h1>" in text
    assert "Votre compte ne permet pas cette action." in text
    assert '<html lang="fr" dir="ltr">' in text
