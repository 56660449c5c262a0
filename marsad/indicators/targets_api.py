"""/api/v1/indicators/targets: creating, changing and deleting indicator targets (DESIGN §7). Thin: the
checks, the rights and the audit are in ``targets``; the read (targets with what was achieved) is
``GET /indicators/targets`` in ``api``.

Authentication is the signed-in session (the cookie of ``/fr/connexion/``) with Django's CSRF token
in the ``X-CSRFToken`` header: targets are entered by people, not by operators' systems, so the
exchange's API clients cannot write them. Without a session the answer is 401; with one but without
a valid CSRF token, 403 ``csrf-failed``; a principal who may write no target (operators' stewards,
partners), 403 before the body or the id is looked at; an unknown target, 404; a target out of the
principal's territory, 403; a duplicate, 409 with the existing target's id; bad input, 422 naming
each field (JSON pointer into the body). Every refusal is an RFC 9457 problem in Arabic or French (by
Accept-Language), with both under ``i18n``.

``POST /indicators/targets`` shares its path with the read, and django-ninja serves a path from the
one router that declared it first (one URL pattern per router and path), so the creation is declared
on the indicators router; changing and deleting a target have their own path, on ``router`` below.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema, Status
from ninja.security import SessionAuth
from ninja.utils import check_csrf
from pydantic import ConfigDict, ValidationError

from marsad.accounts.scoping import principal_scope
from marsad.core.api_errors import describe_validation_errors
from marsad.core.errors import LANGUAGES, Problem
from marsad.registry.schemas import CODE

from . import targets
from .api import router as indicators_router
from .models import Target

router = Router(tags=["indicators"])

TERRITORY = r"^[A-Z0-9.]{1,16}$"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
INVALID_DETAIL = _("Un ou plusieurs paramètres ne sont pas valides ; voir errors.")
WRITE_RIGHTS = (
    " Administrators and national analysts write every target; a territorial officer those of their "
    "region or province and of the territories below it. Session authentication with the CSRF token in "
    "the X-CSRFToken header."
)


class SignedInSession(SessionAuth):
    """The signed-in user of the session. CSRF is checked once the user is known, so that a request
    without a session is told to authenticate (401) rather than refused for its token (403)."""

    def __call__(self, request: HttpRequest):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise Problem(
                403,
                "csrf-failed",
                _("Vérification CSRF échouée"),
                _("Envoyez le jeton CSRF de la session dans l'en-tête X-CSRFToken."),
            )
        return user


SESSION = SignedInSession()


class TargetIn(Schema):
    model_config = ConfigDict(extra="forbid")

    indicator: str = Field(..., pattern=CODE, description="Indicator code: an output (MEN_TRT…) or a rate")
    territory: str | None = Field(
        None,
        pattern=TERRITORY,
        description="HCP code of a region, province or prefecture, or commune; null or MA: national",
    )
    programme: str | None = Field(None, pattern=CODE, description="Programme code; null: every programme")
    year: int = Field(..., description="2000–2100")
    value: Decimal = Field(
        ...,
        description="Above zero, at most two decimals; a whole number for counts, at most 100 for rates",
    )


class TargetValueIn(Schema):
    model_config = ConfigDict(extra="forbid")

    value: Decimal = Field(..., description="The new value, under the same rules as at creation")


class TargetWrittenOut(Schema):
    id: int
    indicator: str
    territory: str | None = Field(description="HCP code; none for a national target")
    programme: str | None = Field(description="None: every programme")
    year: int
    value: Decimal


def _body(request: HttpRequest, schema: type[Schema]):
    """The JSON body read with ``schema``. Read here rather than by ninja so that a field at fault is
    named by its JSON pointer in the body (``/value``), the whole body by the empty pointer."""
    try:
        return schema.model_validate_json(request.body or b"{}")
    except ValidationError as error:
        described = describe_validation_errors(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        )
        for item in described:
            item["pointer"] = "" if item["pointer"] == "/" else item["pointer"]
        raise Problem(422, "validation", _("Requête invalide"), INVALID_DETAIL, errors=described) from None


def _request_body(schema: type[Schema]) -> dict:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema.model_json_schema()}},
        }
    }


def _out(target: Target) -> dict:
    return {
        "id": target.pk,
        "indicator": target.indicator_id,
        "territory": target.territory.code if target.territory_id else None,
        "programme": target.programme_id,
        "year": target.year,
        "value": target.value,
    }


def _request_id(request: HttpRequest, response: HttpResponse) -> str:
    """The caller's X-Request-Id when it is a plain token, else a new one; echoed on the response."""
    given = request.headers.get("X-Request-Id", "")
    request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    response["X-Request-Id"] = request_id
    return request_id


def _texts(message, params: dict) -> dict[str, str]:
    texts = {}
    for language in LANGUAGES:
        with translation.override(language):
            texts[language] = str(message) % {name: str(value) for name, value in params.items()}
    return texts


def _invalid(error: targets.TargetInvalid) -> Problem:
    errors = []
    for issue in error.issues:
        texts = _texts(issue.message, issue.params)
        errors.append(
            {
                "pointer": f"/{issue.field}",
                "source": "body",
                "code": issue.code,
                "message_fr": texts["fr"],
                "message_ar": texts["ar"],
            }
        )
    return Problem(422, "validation", _("Requête invalide"), INVALID_DETAIL, errors=errors)


def _forbidden() -> Problem:
    return Problem(
        403,
        "forbidden",
        _("Accès refusé"),
        _(
            "Les cibles sont fixées par les administrateurs, les analystes nationaux et, dans leur "
            "territoire, les responsables territoriaux."
        ),
    )


def _not_found() -> Problem:
    return Problem(404, "not-found", _("Cible introuvable"), _("Aucune cible ne porte cet identifiant."))


def _writable_target(request: HttpRequest, target_id: int) -> Target:
    """The target to change or delete, once the principal may: 403 for who may write no target at all
    (before saying whether the id exists), 404 for an unknown id, 403 for a target out of scope."""
    scope = principal_scope(request.auth)
    if not targets.may_write_targets(scope):
        raise _forbidden()
    target = targets.target_find(target_id)
    if target is None:
        raise _not_found()
    if not targets.may_write_target(scope, target.territory if target.territory_id else None):
        raise _forbidden()
    return target


@indicators_router.post(
    "/indicators/targets",
    auth=SESSION,
    response={201: TargetWrittenOut},
    tags=["indicators"],
    summary="Create a target of an indicator for a territory, a programme and a year",
    description="201 with the target. One target per indicator, territory, programme and year: a second "
    "is a 409 problem whose `target_id` names the existing one (change its value with PATCH)." + WRITE_RIGHTS,
    openapi_extra=_request_body(TargetIn),
)
def target_create(request: HttpRequest, response: HttpResponse):
    if not targets.may_write_targets(principal_scope(request.auth)):
        raise _forbidden()  # before reading the body: its faults are no business of who may not write
    payload = _body(request, TargetIn)
    try:
        target = targets.target_create(
            actor=request.auth,
            indicator=payload.indicator,
            territory=payload.territory,
            programme=payload.programme,
            year=payload.year,
            value=payload.value,
            request_id=_request_id(request, response),
        )
    except targets.NotPermitted:
        raise _forbidden() from None
    except targets.TargetInvalid as error:
        raise _invalid(error) from None
    except targets.TargetConflict as conflict:
        raise Problem(
            409,
            "target-exists",
            _("Cible déjà fixée"),
            _(
                "Une cible existe déjà pour cet indicateur, ce territoire, ce programme et cette année ; "
                "modifiez sa valeur."
            ),
            target_id=conflict.existing,
        ) from None
    return Status(201, _out(target))


@router.patch(
    "/indicators/targets/{int:target_id}",
    auth=SESSION,
    response=TargetWrittenOut,
    summary="Change the value of a target",
    description="What a target points at (indicator, territory, programme, year) never changes: delete "
    "it and create another." + WRITE_RIGHTS,
    openapi_extra=_request_body(TargetValueIn),
)
def target_update(request: HttpRequest, response: HttpResponse, target_id: int):
    target = _writable_target(request, target_id)
    payload = _body(request, TargetValueIn)
    try:
        target = targets.target_update(
            actor=request.auth, target=target, value=payload.value, request_id=_request_id(request, response)
        )
    except targets.NotPermitted:
        raise _forbidden() from None
    except targets.TargetInvalid as error:
        raise _invalid(error) from None
    except Target.DoesNotExist:
        raise _not_found() from None
    return _out(target)


@router.delete(
    "/indicators/targets/{int:target_id}",
    auth=SESSION,
    response={204: None},
    summary="Delete a target",
    description="204 without a body." + WRITE_RIGHTS,
)
def target_delete(request: HttpRequest, response: HttpResponse, target_id: int):
    target = _writable_target(request, target_id)
    try:
        targets.target_delete(actor=request.auth, target=target, request_id=_request_id(request, response))
    except targets.NotPermitted:
        raise _forbidden() from None
    except Target.DoesNotExist:
        raise _not_found() from None
    return Status(204, None)
