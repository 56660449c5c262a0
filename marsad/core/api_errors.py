"""Exception handlers that make every API error an RFC 9457 problem, including unexpected ones."""

import logging

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from .errors import Problem, in_both_languages, problem

logger = logging.getLogger("marsad.api")

# Pydantic error types → a message a person reads, in Arabic and French.
VALIDATION_MESSAGES = {
    "missing": _("Ce champ est obligatoire."),
    "enum": _("Valeur non reconnue ; valeurs admises : {expected}."),
    "literal_error": _("Valeur non reconnue ; valeurs admises : {expected}."),
    "int_parsing": _("Un nombre entier est attendu."),
    "int_type": _("Un nombre entier est attendu."),
    "greater_than_equal": _("La valeur doit être supérieure ou égale à {ge}."),
    "less_than_equal": _("La valeur doit être inférieure ou égale à {le}."),
    "string_too_long": _("Le texte est trop long (au plus {max_length} caractères)."),
    "string_too_short": _("Le texte est trop court (au moins {min_length} caractères)."),
    "string_pattern_mismatch": _("Format invalide."),
    "bool_parsing": _("true ou false est attendu."),
    "json_invalid": _("Le corps de la requête n'est pas du JSON valide."),
}
FALLBACK_MESSAGE = _("Valeur invalide.")
SOURCES = {"query", "path", "body", "header", "cookie", "form", "file"}


def _field_path(loc) -> list:
    parts = list(loc)
    if parts and parts[0] in SOURCES:
        parts = parts[1:]
    # ninja nests query parameters under the name of the schema that holds them
    if len(parts) > 1 and parts[0] in {"filters", "pagination"}:
        parts = parts[1:]
    return parts


def describe_validation_errors(errors: list[dict]) -> list[dict]:
    described = []
    for error in errors:
        path = _field_path(error.get("loc", ()))
        message = VALIDATION_MESSAGES.get(error.get("type", ""), FALLBACK_MESSAGE)
        context = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, str | int | float)}
        if isinstance(context.get("expected"), str):  # pydantic writes "'a', 'b' or 'c'" in English
            context["expected"] = context["expected"].replace(" or ", ", ")
        texts = in_both_languages(message)
        try:
            texts = {language: text.format(**context) for language, text in texts.items()}
        except (KeyError, IndexError):
            texts = in_both_languages(FALLBACK_MESSAGE)
        described.append(
            {
                "pointer": "/" + "/".join(str(p) for p in path),
                "source": error.get("loc", ("",))[0],
                "code": error.get("type", "invalid"),
                "message_fr": texts["fr"],
                "message_ar": texts["ar"],
            }
        )
    return described


def install_problem_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(Problem)
    def _problem(request, exc: Problem):
        return exc.response()

    @api.exception_handler(ValidationError)
    def _validation(request, exc: ValidationError):
        return problem(
            422,
            "validation",
            _("Requête invalide"),
            _("Un ou plusieurs paramètres ne sont pas valides ; voir errors."),
            errors=describe_validation_errors(exc.errors),
        )

    @api.exception_handler(AuthenticationError)
    def _authentication(request, exc):
        return problem(401, "unauthenticated", _("Authentification requise"))

    @api.exception_handler(PermissionDenied)
    def _forbidden(request, exc):
        return problem(403, "forbidden", _("Accès refusé"))

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return problem(404, "not-found", _("Ressource introuvable"))

    @api.exception_handler(ObjectDoesNotExist)
    def _does_not_exist(request, exc):
        return problem(404, "not-found", _("Ressource introuvable"))

    @api.exception_handler(HttpError)
    def _http_error(request, exc: HttpError):
        return problem(exc.status_code, "http-error", _("Requête refusée"), str(exc))

    @api.exception_handler(Exception)
    def _unexpected(request, exc):
        logger.exception("unexpected API error on %s %s", request.method, request.path)
        return problem(500, "internal", _("Erreur interne"), _("L'erreur a été enregistrée."))
