"""/api/v1/exchange: signed submissions and their receipts, the platform's keys, the record schema
and the change feed (DESIGN §6). Thin: authentication and the HTTP shape here, the pipeline in
``services``, the reads in ``selectors``. Every refusal is an RFC 9457 problem."""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Path, Query, Router, Schema, Status
from ninja.security import HttpBearer
from pydantic import Field

from marsad.accounts.models import Organisation
from marsad.accounts.scoping import organisation_family_ids
from marsad.core.errors import Problem

from . import selectors, services, signing, webhooks
from .models import ApiClient
from .schemas import (
    SCHEMA_VERSIONS,
    ChangesOut,
    DeliveryOut,
    HealthOut,
    KeysOut,
    ReceiptOut,
    SubmissionBody,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
)

router = Router(tags=["Exchange"])
TAG = {
    "name": "Exchange",
    "description": (
        "Automatic exchange with operators' information systems: signed submissions (Ed25519 over "
        '`timestamp + "." + body`, headers Marsad-Key-Id, Marsad-Timestamp, Marsad-Signature), '
        "an Idempotency-Key on every submission, signed receipts, and the change feed. A client reads "
        "and writes for its own organisations (with their subsidiaries); see docs/exchange.md."
    ),
}

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
SIGNATURE_WINDOW = 300
JSON_CONTENT_TYPE = "application/json"
# As ``json.dumps(default=str)`` would: dates, times and dataclasses through ``str``, keys made text.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


def max_body_bytes() -> int:
    return getattr(settings, "MARSAD_SUBMISSION_MAX_BYTES", 16 * 1024 * 1024)


def max_records() -> int:
    return getattr(settings, "MARSAD_SUBMISSION_MAX_RECORDS", 1000)


def _unauthorized(slug: str, title) -> Problem:
    return Problem(401, slug, title, headers={"WWW-Authenticate": 'Bearer realm="marsad"'})


class ClientBearer(HttpBearer):
    """A client's bearer token. A token that is present but unknown or revoked is refused at once
    (it never falls back to reading as the public)."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiClient:
        client = selectors.client_by_token(token)
        if client is None:
            raise _unauthorized("invalid-token", _("Jeton inconnu ou révoqué"))
        return client


def session_or_public(request: HttpRequest):
    """Without a token, the reader is the signed-in user, or the public."""
    return request.user


def _json(document: dict, status: int, headers: dict | None = None) -> HttpResponse:
    try:  # a receipt of 1,000 results: orjson writes it in a fifth of json's time
        content = orjson.dumps(document, default=str, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:  # a lone surrogate, say
        content = json.dumps(document, ensure_ascii=False, default=str)
    response = HttpResponse(content, status=status, content_type=JSON_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _rate_limited(client: ApiClient) -> None:
    retry_after = services.rate_check(client)
    if retry_after is not None:
        raise Problem(
            429,
            "rate-limited",
            _("Trop de requêtes"),
            _("Ce client a dépassé son quota de requêtes par minute ; réessayez plus tard."),
            headers={"Retry-After": str(retry_after)},
        )


def _verify_signature(request: HttpRequest, client: ApiClient, body: bytes) -> None:
    key_id = request.headers.get("Marsad-Key-Id", "")
    stamp = request.headers.get("Marsad-Timestamp", "")
    signature = request.headers.get("Marsad-Signature", "")
    if not (key_id and stamp and signature):
        raise _unauthorized(
            "signature-missing",
            _(
                "Signature manquante : les en-têtes Marsad-Key-Id, Marsad-Timestamp et Marsad-Signature "
                "sont requis"
            ),
        )
    if not stamp.isdigit() or len(stamp) > 12:
        raise _unauthorized("timestamp-invalid", _("Horodatage invalide (secondes Unix attendues)"))
    if abs(time.time() - int(stamp)) > SIGNATURE_WINDOW:
        raise _unauthorized(
            "timestamp-out-of-window", _("Horodatage hors de la fenêtre admise (± 300 secondes)")
        )
    key, reason = selectors.client_key(client, key_id, now=timezone.now())
    if key is None:
        titles = {
            "unknown_key": _("Clé de signature inconnue pour ce client"),
            "revoked_key": _("Clé de signature révoquée"),
            "expired_key": _("Clé de signature expirée (rotation terminée)"),
        }
        raise _unauthorized(reason.replace("_", "-"), titles[reason])
    if not signing.verify(key.public_key, signature, signing.signed_bytes(stamp, body)):
        raise _unauthorized("bad-signature", _("Signature invalide pour ce corps et cet horodatage"))


def _envelope(body: bytes) -> tuple[list, list[int | None], bool]:
    """The batch from the body, without judging the records (the registry's rules do, one by one)."""

    def refuse(detail, pointer: str = "") -> Problem:
        return Problem(
            422, "invalid-submission", _("Soumission mal formée"), detail,
            errors=[{"pointer": pointer, "code": "invalid"}] if pointer else None,
        )  # fmt: skip

    def no_constants(name):
        raise ValueError(name)

    try:
        document = json.loads(body, parse_constant=no_constants)
    except (ValueError, UnicodeDecodeError) as error:
        raise refuse(_("Le corps de la requête n'est pas du JSON valide.")) from error
    if not isinstance(document, dict):
        raise refuse(_("Le corps doit être un objet JSON avec un membre « records »."))
    unknown = sorted(set(document) - {"records", "dry_run"})
    if unknown:
        raise refuse(_("Membre inconnu dans la soumission."), "/" + unknown[0])
    records = document.get("records")
    if not isinstance(records, list) or not records:
        raise refuse(_("« records » doit être une liste non vide d'enregistrements."), "/records")
    if len(records) > max_records():
        raise Problem(
            413,
            "batch-too-large",
            _("Lot trop grand"),
            _("Une soumission contient au plus %(max)s enregistrements.") % {"max": max_records()},
        )
    dry_run = document.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise refuse(_("« dry_run » doit valoir true ou false."), "/dry_run")
    base_versions: list[int | None] = []
    for index, record in enumerate(records):
        base = record.pop("base_version", None) if isinstance(record, dict) else None
        if base is not None and (isinstance(base, bool) or not isinstance(base, int) or base < 0):
            raise refuse(
                _("« base_version » doit être un entier positif ou nul."), f"/records/{index}/base_version"
            )
        base_versions.append(base)
    return records, base_versions, dry_run


def inline_definitions(schema: dict) -> dict:
    """The JSON Schema with its ``$defs`` written in place, to embed it in the OpenAPI document."""
    definitions = schema.get("$defs", {})

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node and node["$ref"].startswith("#/$defs/"):
                return walk(definitions[node["$ref"].rsplit("/", 1)[1]])
            return {k: walk(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


SUBMISSION_BODY = {
    "requestBody": {
        "required": True,
        "content": {JSON_CONTENT_TYPE: {"schema": inline_definitions(SubmissionBody.model_json_schema())}},
    },
    "parameters": [
        {"name": "Idempotency-Key", "in": "header", "required": True,
         "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY.pattern}},
        {"name": "Marsad-Key-Id", "in": "header", "required": True, "schema": {"type": "string"}},
        {"name": "Marsad-Timestamp", "in": "header", "required": True, "schema": {"type": "string"}},
        {"name": "Marsad-Signature", "in": "header", "required": True, "schema": {"type": "string"}},
    ],
}  # fmt: skip


@router.post(
    "/exchange/submissions",
    auth=ClientBearer(),
    response={200: ReceiptOut, 201: ReceiptOut},
    by_alias=True,
    openapi_extra=SUBMISSION_BODY,
    summary="Submit a batch of project records",
)
def submission_create(request: HttpRequest, dry_run: bool = False):
    """Validates and writes up to 1,000 records; answers with the signed receipt (201), the stored
    receipt on a replay of the same key and body (200, `Marsad-Replay: true`), or a dry run's (200,
    nothing written; `dry_run=true` as a query parameter or in the body)."""
    client: ApiClient = request.auth
    if not client.can_submit:
        raise Problem(403, "scope-missing", _("Ce client n'est pas autorisé à soumettre"))
    _rate_limited(client)
    declared = request.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_body_bytes():
        raise Problem(
            413, "body-too-large", _("Corps trop volumineux"),
            _("Une soumission pèse au plus %(max)s octets.") % {"max": max_body_bytes()},
        )  # fmt: skip
    body = request.body
    _verify_signature(request, client, body)
    key = request.headers.get("Idempotency-Key", "")
    if not key:
        raise Problem(400, "idempotency-key-missing", _("En-tête Idempotency-Key manquant"))
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise Problem(
            400, "idempotency-key-invalid", _("Idempotency-Key invalide"),
            _("1 à 128 caractères parmi lettres, chiffres et . _ : -"),
        )  # fmt: skip
    records, base_versions, body_dry_run = _envelope(body)
    request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
    try:
        outcome = services.submission_process(
            client=client, records=records, base_versions=base_versions, idempotency_key=key,
            digest=hashlib.sha256(body).hexdigest(), dry_run=dry_run or body_dry_run, request_id=request_id,
        )  # fmt: skip
    except services.SubmissionConflict as conflict:
        if conflict.reason == "reused":
            raise Problem(
                422, "idempotency-key-reused", _("Clé d'idempotence déjà utilisée pour un autre corps"),
                _(
                    "Cette clé a servi à une soumission différente ; une nouvelle soumission prend une "
                    "nouvelle clé."
                ),
            ) from conflict  # fmt: skip
        raise Problem(
            409, "submission-in-flight", _("Soumission en cours de traitement"),
            _("Une soumission avec cette clé est en cours ; réessayez après le délai indiqué."),
            headers={"Retry-After": str(conflict.retry_after)},
        ) from conflict  # fmt: skip
    headers = {"X-Request-Id": request_id}
    if outcome.replay:
        headers["Marsad-Replay"] = "true"
    if outcome.receipt.get("submission_id"):
        headers["Location"] = f"/api/v1/exchange/submissions/{outcome.receipt['submission_id']}"
    return _json(outcome.receipt, outcome.status, headers)


SUBMISSION_ID = r"^SUB-\d{8}-[0-9A-F]{10}$"


@router.get(
    "/exchange/submissions/{submission_id}",
    auth=[ClientBearer(), session_or_public],
    response=ReceiptOut,
    by_alias=True,
    summary="A submission's signed receipt",
)
def submission_detail(request: HttpRequest, submission_id: str = Path(..., pattern=SUBMISSION_ID)):
    """The stored receipt of a submission the reader sent (a client), or of its operator's clients
    (a data steward), or any (national roles)."""
    submission = selectors.submission_get(request.auth, submission_id)
    if submission is None:
        raise Problem(404, "not-found", _("Soumission introuvable"))
    if submission.receipt is None:
        raise Problem(
            409, "submission-in-flight", _("Soumission en cours de traitement"), headers={"Retry-After": "5"}
        )
    return _json(submission.receipt, 200)


@router.get("/exchange/keys", response=KeysOut, summary="The platform's public signing keys")
def keys(request: HttpRequest):
    """Every Ed25519 public key the platform has signed receipts and checkpoints with, retired ones
    included, to verify receipts offline (base64 of the 32 raw bytes)."""
    signing.platform_signer()  # a fresh installation makes its first key here
    return {"keys": selectors.platform_keys()}


@router.get("/exchange/schema/{version}", summary="The JSON Schema of a submission")
def schema(request: HttpRequest, version: str = Path(..., pattern=r"^\d{1,3}$")):
    if version not in SCHEMA_VERSIONS:
        raise Problem(
            404, "schema-version-unknown", _("Version de schéma inconnue"),
            _("Versions publiées : %(versions)s.") % {"versions": ", ".join(SCHEMA_VERSIONS)},
        )  # fmt: skip
    document = SubmissionBody.model_json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["$id"] = f"/api/v1/exchange/schema/{version}"
    return _json(document, 200)


class ChangesQuery(Schema):
    after: str | None = Field(None, max_length=64, description="The `next` cursor of the previous page.")
    limit: int = Field(100, ge=1, le=1000)


@router.get(
    "/exchange/changes",
    auth=[ClientBearer(), session_or_public],
    response=ChangesOut,
    summary="The change feed: every version event in commit order",
)
def changes(request: HttpRequest, query: Query[ChangesQuery]):
    """Version events (created, updated, withdrawn) after a cursor, in commit order, with no gaps
    even under concurrent writers; scoped to the reader. Sync by cursor, never by timestamps."""
    reader = request.auth
    if isinstance(reader, ApiClient):
        if not reader.can_read_feed:
            raise Problem(403, "scope-missing", _("Ce client n'est pas autorisé à lire le flux"))
        _rate_limited(reader)
    try:
        page = selectors.changes(reader, after=query.after, limit=query.limit)
    except selectors.CursorError as error:
        raise Problem(
            400, "cursor-invalid", _("Curseur invalide"),
            _("Utilisez le curseur « next » d'une page précédente."),
            errors=[{"pointer": "/after", "code": "invalid"}],
        ) from error  # fmt: skip
    except selectors.CursorExpired as error:
        raise Problem(
            410, "cursor-expired", _("Curseur expiré"),
            _(
                "Ce curseur est plus ancien que la durée de conservation du flux ; resynchronisez "
                "depuis /projects."
            ),
        ) from error  # fmt: skip
    return page


# --- Webhooks -----------------------------------------------------------------------------------------


def _feed_client(request: HttpRequest) -> ApiClient:
    client: ApiClient = request.auth
    if not client.can_read_feed:
        raise Problem(403, "scope-missing", _("Ce client n'est pas autorisé à lire le flux"))
    _rate_limited(client)
    return client


@router.post(
    "/exchange/webhooks",
    auth=ClientBearer(),
    response={201: WebhookCreatedOut},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {JSON_CONTENT_TYPE: {"schema": inline_definitions(WebhookIn.model_json_schema())}},
        }
    },
    summary="Subscribe an endpoint to change notifications",
)
def webhook_create(request: HttpRequest):
    """Signed like a submission. The secret (Standard Webhooks, `whsec_…`) is returned this once."""
    client = _feed_client(request)
    body = request.body
    _verify_signature(request, client, body)
    try:
        payload = WebhookIn.model_validate_json(body)
    except ValueError as error:
        raise Problem(
            422, "invalid-webhook", _("Abonnement mal formé"),
            _("Un objet JSON avec « url » (http ou https) est attendu."),
            errors=[{"pointer": "/url", "code": "invalid"}],
        ) from error  # fmt: skip
    subscription = webhooks.webhook_subscribe(actor=client, client=client, url=str(payload.url))
    return Status(201, {**selectors.webhook_row(subscription), "secret": subscription.secret})


@router.get(
    "/exchange/webhooks", auth=ClientBearer(), response=list[WebhookOut], summary="The client's webhooks"
)
def webhook_list(request: HttpRequest):
    client = _feed_client(request)
    return [selectors.webhook_row(s) for s in selectors.client_webhooks(client)]


@router.get(
    "/exchange/webhooks/{webhook_id}/deliveries",
    auth=ClientBearer(),
    response=list[DeliveryOut],
    summary="The delivery log of a webhook (latest 100)",
)
def webhook_deliveries(request: HttpRequest, webhook_id: str = Path(..., pattern=r"^WH-[0-9A-F]{12}$")):
    client = _feed_client(request)
    subscription = selectors.client_webhooks(client).filter(public_id=webhook_id).first()
    if subscription is None:
        raise Problem(404, "not-found", _("Abonnement introuvable"))
    return selectors.webhook_deliveries(subscription)


# --- Sync health ------------------------------------------------------------------------------------


class HealthQuery(Schema):
    operator: str | None = Field(
        None, pattern=r"^MA-[A-Z0-9][A-Z0-9.\-]{0,36}$", description="With its subsidiaries."
    )


@router.get(
    "/exchange/health",
    auth=[ClientBearer(), session_or_public],
    response=HealthOut,
    summary="Sync health of the sending systems",
)
def health(request: HttpRequest, query: Query[HealthQuery]):
    """Per client: last submission, records and rejections over 30 days, lag between a batch's as-of
    date and its arrival, and a status (ok, silent: a daily sender quiet for 3 days, failing: most
    records rejected, never, revoked). A client sees itself; a data steward its operators' clients;
    national roles every client; the public none."""
    operators = None
    if query.operator:
        organisation = Organisation.objects.filter(code=query.operator).first()
        if organisation is None:
            raise Problem(404, "not-found", _("Organisation introuvable"))
        operators = organisation_family_ids([organisation.pk])
    return {"operator": query.operator, "clients": selectors.sync_health(request.auth, operators=operators)}
