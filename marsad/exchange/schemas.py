"""The exchange's published schemas (Pydantic, served as JSON Schema at
``/api/v1/exchange/schema/{version}``) and the API's response shapes.

The record schema says what a well-formed record looks like, so that a sending system can check its
records before it sends them; the registry's rules remain the judge (they also know the codes, the
communes and the project's history) and report each record's problems in the receipt.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

SCHEMA_VERSIONS = ("1",)

Amount = Annotated[
    str, Field(pattern=r"^\d{1,14}(\.\d{1,2})?$", description="Montant en dirhams (MAD), chaîne décimale.")
]
Quantity = Annotated[str, Field(pattern=r"^\d{1,12}(\.\d+)?$", description="Quantité, chaîne décimale.")]
Coordinate = Annotated[str, Field(pattern=r"^-?\d{1,3}(\.\d+)?$")]
Code = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,15}$")]
OrganisationCode = Annotated[str, Field(pattern=r"^MA-[A-Z0-9][A-Z0-9.\-]{0,36}$")]
CommuneCode = Annotated[str, Field(pattern=r"^\d{2}\.\d{3}\.\d{2}\.\d{1,2}$")]
Reference = Annotated[str, Field(pattern=r"^[^\s/][^/]{0,63}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Texts(_Strict):
    fr: str = Field("", max_length=5000)
    ar: str = Field("", max_length=5000)


class CommuneShare(_Strict):
    primary: bool = False
    share: Annotated[str, Field(pattern=r"^\d{1,3}(\.\d{1,2})?$")] | None = None


class Location(_Strict):
    lat: Coordinate
    lon: Coordinate


class Output(_Strict):
    target: Quantity | None = None
    achieved: Quantity | None = None


class MilestoneDates(_Strict):
    planned: date | None = None
    forecast: date | None = None
    actual: date | None = None


class ProjectRecord(_Strict):
    """A project as the operator knows it today (the registry's record, DESIGN §5)."""

    operator: OrganisationCode
    operator_ref: Reference
    title: Texts
    description: Texts | None = None
    programme: Code
    status: Code
    agreement: Annotated[str, Field(max_length=40)] | None = None
    communes: dict[CommuneCode, CommuneShare] = Field(min_length=1)
    location: Location | None = None
    area_ha: Quantity | None = None
    planned_start: date | None = None
    planned_end: date | None = None
    actual_start: date | None = None
    actual_end: date | None = None
    budget: Amount
    financing: dict[OrganisationCode, Amount] = Field(default_factory=dict)
    outputs: dict[Code, Output] = Field(default_factory=dict)
    milestones: dict[Code, MilestoneDates] = Field(default_factory=dict)
    as_of: date | None = None
    progress: Annotated[str, Field(pattern=r"^\d{1,3}(\.\d{1,2})?$")] | None = None
    committed: Amount | None = None
    paid: Amount | None = None
    base_version: int | None = Field(
        None, ge=0, description="La version que l'émetteur croit courante ; 0 pour un projet nouveau."
    )


class Withdrawal(_Strict):
    """Withdraws a project: a tombstone version; the project stays in the history."""

    operator: OrganisationCode
    operator_ref: Reference
    withdrawn: Literal[True]
    reason: str = Field("", max_length=300)
    base_version: int | None = Field(None, ge=0)


class SubmissionBody(_Strict):
    """``POST /api/v1/exchange/submissions``: at most 1,000 records."""

    model_config = ConfigDict(
        extra="forbid", title="Submission", json_schema_extra={"$id": "marsad.submission/1"}
    )

    records: list[ProjectRecord | Withdrawal] = Field(min_length=1, max_length=1000)
    dry_run: bool = False


# --- Responses -------------------------------------------------------------------------------------


class ProblemOut(Schema):
    code: str
    severity: Literal["error", "warning"]
    pointer: str
    status: int | None
    message_fr: str
    message_ar: str


class RecordResultOut(Schema):
    index: int
    operator: str
    operator_ref: str
    outcome: Literal["created", "updated", "unchanged", "withdrawn", "rejected"]
    project_id: str | None
    version: int | None
    sha256: str | None
    problems: list[ProblemOut]


class CountsOut(Schema):
    received: int
    created: int
    updated: int
    unchanged: int
    withdrawn: int
    rejected: int


class LedgerHeadOut(Schema):
    seq: int
    hash: str


class SignatureOut(Schema):
    key_id: str
    algorithm: Literal["ed25519"]
    value: str


class ReceiptOut(Schema):
    schema_: str = Field(alias="schema")
    submission_id: str | None
    client_id: str | None
    idempotency_key: str
    dry_run: bool
    received_at: str
    processed_at: str
    request_digest: str
    counts: CountsOut
    results: list[RecordResultOut]
    ledger: LedgerHeadOut
    signature: SignatureOut


class KeyOut(Schema):
    key_id: str
    algorithm: Literal["ed25519"]
    public_key: str
    created_at: datetime
    retired_at: datetime | None


class KeysOut(Schema):
    keys: list[KeyOut]


class ChangeOut(Schema):
    cursor: str
    project_id: str
    operator: str
    operator_ref: str
    version: int
    sha256: str
    event: Literal["created", "updated", "withdrawn"]
    recorded_at: datetime


class ChangesOut(Schema):
    events: list[ChangeOut]
    next: str | None
    has_more: bool


class WebhookIn(_Strict):
    url: AnyHttpUrl = Field(description="L'adresse (http ou https) qui recevra les notifications.")


class WebhookOut(Schema):
    id: str
    url: str
    created_at: datetime
    active: bool
    disabled_at: datetime | None
    disabled_reason: str


class WebhookCreatedOut(WebhookOut):
    secret: str


class AttemptOut(Schema):
    attempted_at: datetime
    status_code: int | None
    duration_ms: int
    error: str


class DeliveryOut(Schema):
    message_id: str
    event_type: str
    state: str
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    payload: dict
    attempt_log: list[AttemptOut]


class ClientHealthOut(Schema):
    client_id: str
    name: str
    organisation: str
    status: Literal["ok", "silent", "failing", "never", "revoked"]
    last_submission_at: datetime | None
    submissions_30d: int
    records_30d: int
    rejected_30d: int
    rejection_rate: float | None = Field(description="Share of records rejected over 30 days, in percent.")
    median_lag_days: int | None = Field(
        description="Median days between a batch's oldest as-of date and its arrival."
    )


class HealthOut(Schema):
    operator: str | None
    clients: list[ClientHealthOut]
