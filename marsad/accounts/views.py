"""Signing in and out (throttled by django-axes) and the page that refuses a forbidden action."""

from django.contrib.auth import views as auth_views
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from marsad.core.errors import problem


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """Signing out is a POST (a form in the header); the visitor lands on the home page."""


def permission_denied(request, exception=None):
    """403: signed in, but not allowed to do this here."""
    if request.path.startswith("/api/"):
        return problem(403, "forbidden", _("Accès refusé"))
    return render(request, "accounts/forbidden.html", {"title": _("Accès refusé")}, status=403)
