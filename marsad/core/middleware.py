"""Last line of defence for the API's promise: under /api/, an error response is always a problem.

Views and ninja's handlers already answer problems; this catches what is produced elsewhere (a 405
from the router, a CSRF refusal, a 404 from URL resolution) and re-expresses it, keeping headers such
as Allow and Retry-After.
"""

from django.utils.translation import gettext_lazy as _

from .errors import PROBLEM_CONTENT_TYPE, problem

TITLES = {
    400: ("bad-request", _("Requête invalide")),
    401: ("unauthenticated", _("Authentification requise")),
    403: ("forbidden", _("Accès refusé")),
    404: ("not-found", _("Ressource introuvable")),
    405: ("method-not-allowed", _("Méthode non autorisée")),
    406: ("not-acceptable", _("Format de réponse non disponible")),
    413: ("too-large", _("Requête trop volumineuse")),
    415: ("unsupported-media-type", _("Type de contenu non pris en charge")),
    429: ("too-many-requests", _("Trop de requêtes")),
}
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


class ApiProblemMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith(PROBLEM_CONTENT_TYPE)
        ):
            slug, title = TITLES.get(
                response.status_code,
                ("internal", _("Erreur interne"))
                if response.status_code >= 500
                else ("error", _("Requête refusée")),
            )
            replacement = problem(response.status_code, slug, title)
            for header in KEPT_HEADERS:
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response
