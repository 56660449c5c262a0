"""/api/v1/alerts: the alerts a signed-in user reads, and their acknowledgement (DESIGN §7).

Thin: reads through ``alerts.selectors`` (scoped), the acknowledgement through ``alerts.services``.
Session authentication: without one, 401. An alert out of scope answers 404, exactly like one that
does not exist; one the user reads but may not acknowledge answers 403 to the acknowledgement.
"""

import re
import uuid

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router
from ninja.pagination import paginate
from ninja.security import django_auth
from pydantic import ValidationError

from marsad.core.api_errors import describe_validation_errors
from marsad.core.errors import Problem, in_both_languages, query_invalid
from marsad.core.pagination import PagePagination
from marsad.registry.api import project_filters
from marsad.registry.schemas import ProjectQuery
from marsad.registry.selectors import visible_projects

from . import selectors, services
from .models import Alert
from .schemas import AcknowledgeIn, AlertDetailOut, AlertOut, AlertQuery

router = Router(auth=django_auth, tags=["alerts"])
TAG = {
    "name": "alerts",
    "description": "Alerts the rules raise on projects (late, stalled, financial anomaly, stale data, "
    "schedule performance below 0.8, progress regression), with their severity, the figures behind them "
    "and their history; they open, update and close themselves as data changes and with the date. "
    "Signed-in users only (401 otherwise): national roles read every alert; a territorial officer those "
    "of the projects in their territory; an operator's data steward those of its operators' projects "
    "(subsidiaries included); a partner those of the projects it finances or whose agreement it signed. "
    "Administrators, national analysts, and territorial officers and data stewards within their "
    "territory or operator acknowledge them, with a comment.",
}
# An alert's number as the database stores it (a positive 64-bit integer): anything else names nothing.
ALERT_ID = re.compile(r"[1-9][0-9]{0,17}")
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
COMMENT_MESSAGES = {
    services.COMMENT_REQUIRED: _(
        "Le commentaire est obligatoire : dites ce qui est fait au sujet de l'alerte."
    ),
    services.COMMENT_TOO_LONG: _("Le commentaire est trop long (au plus %(max)s caractères)."),
    services.COMMENT_CHARACTER: _("Le commentaire contient un caractère nul, qui n'est pas admis."),
}


def _not_found() -> Problem:
    return Problem(
        404, "not-found", _("Alerte introuvable"), _("Aucune alerte accessible ne porte ce numéro.")
    )


def _alert_or_404(request, alert_id: str) -> Alert:
    if not ALERT_ID.fullmatch(alert_id):
        raise _not_found()
    try:
        return selectors.alert_get(request.user, int(alert_id))
    except Alert.DoesNotExist:
        raise _not_found() from None


def _request_id(request: HttpRequest, response: HttpResponse) -> str:
    """The caller's X-Request-Id when it is a plain token, else a new one; echoed on the response."""
    given = request.headers.get("X-Request-Id", "")
    request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    response["X-Request-Id"] = request_id
    return request_id


@router.get(
    "/alerts",
    response=list[AlertOut],
    summary="List alerts",
    description="The alerts the user reads, the most severe first, then the newest. `state` is `open` by "
    "default (`closed`, `all`); `region` and `province` are those of the project's primary commune; "
    "`operator` includes its subsidiaries. A code that names nothing (a territory, programme, operator, "
    "or a project the user cannot see) is a 422 problem pointing at the parameter.",
)
@paginate(PagePagination)
def list_alerts(request, filters: Query[AlertQuery]):
    checked = project_filters(
        request,
        ProjectQuery(
            region=filters.region,
            province=filters.province,
            programme=filters.programme,
            operator=filters.operator,
        ),
    )
    if filters.project and not visible_projects(request.user).filter(public_id=filters.project).exists():
        raise query_invalid(
            "project",
            "unknown_project",
            _("Aucun projet accessible ne porte l'identifiant %(value)s."),
            _("Un ou plusieurs paramètres ne désignent rien de connu ; voir errors."),
            value=filters.project,
        )
    return selectors.alert_list(
        request.user,
        selectors.AlertFilters(
            state="" if filters.state == "all" else filters.state,
            severity=filters.severity or "",
            rule=filters.rule or "",
            region=checked.region,
            province=checked.province,
            programme=checked.programme,
            operator=checked.operator,
            project=filters.project or "",
        ),
    )


@router.get(
    "/alerts/{alert_id}",
    response=AlertDetailOut,
    summary="An alert with its history",
    description="404 when the alert does not exist or is out of the user's scope.",
)
def alert_detail(request, alert_id: str):
    return _alert_or_404(request, alert_id)


def _comment_invalid(code: str) -> Problem:
    message = COMMENT_MESSAGES[code]
    texts = {
        language: text % {"max": services.MAX_COMMENT}
        for language, text in in_both_languages(message).items()
    }
    return Problem(
        422,
        "validation",
        _("Requête invalide"),
        _("Un ou plusieurs paramètres ne sont pas valides ; voir errors."),
        errors=[
            {
                "pointer": "/comment",
                "source": "body",
                "code": code,
                "message_fr": texts["fr"],
                "message_ar": texts["ar"],
            }
        ],
    )


def _forbidden() -> Problem:
    return Problem(
        403, "forbidden", _("Accès refusé"), _("Vous ne pouvez pas prendre en compte cette alerte.")
    )


def _body(request: HttpRequest) -> AcknowledgeIn:
    """The JSON body, read here rather than by ninja so that a field at fault is named by its JSON
    pointer in the body (``/comment``), the whole body by the empty pointer; and so that the
    permission is checked before the body (403 before 422)."""
    try:
        return AcknowledgeIn.model_validate_json(request.body or b"{}")
    except ValidationError as error:
        described = describe_validation_errors(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        )
        for item in described:
            item["pointer"] = "" if item["pointer"] == "/" else item["pointer"]
        raise Problem(
            422,
            "validation",
            _("Requête invalide"),
            _("Un ou plusieurs champs sont invalides ; voir errors."),
            errors=described,
        ) from None


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response=AlertDetailOut,
    summary="Acknowledge an alert, with a comment",
    description="Records who saw the alert and what is being done (the comment is required, at most "
    "2,000 characters: 422 otherwise); acknowledging again replaces the comment. 404 out of scope; 403 "
    "for a user who reads the alert but may not acknowledge it (partners); 409 when the alert is closed. "
    "The audit event carries the request's `X-Request-Id` (a new one when absent, echoed on the response).",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": AcknowledgeIn.model_json_schema()}},
        }
    },
)
def alert_acknowledge(request, alert_id: str, response: HttpResponse):
    alert = _alert_or_404(request, alert_id)
    if not selectors.may_acknowledge(request.user, alert):
        raise _forbidden()
    body = _body(request)
    try:
        services.alert_acknowledge(
            alert=alert,
            actor=request.user,
            comment=body.comment,
            request_id=_request_id(request, response),
        )
    except services.NotPermitted:
        raise _forbidden() from None
    except services.CommentInvalid as invalid:
        raise _comment_invalid(invalid.code) from None
    except services.AlertClosed:
        raise Problem(
            409,
            "alert-closed",
            _("Alerte close"),
            _("Cette alerte est close : elle ne se prend plus en compte."),
        ) from None
    return selectors.alert_get(request.user, alert.pk)
