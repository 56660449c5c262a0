"""Shapes of alerts in the API. Evidence holds JSON values only: dates as YYYY-MM-DD, amounts,
progress and rates as decimal strings, day counts as integers."""

from datetime import datetime
from typing import Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from marsad.core.formatting import page_language
from marsad.registry.schemas import CODE, ORGANISATION_CODE, PUBLIC_ID, TERRITORY_CODE

from . import texts
from .choices import EventKind, RuleCode, Severity, State

RuleName = Literal[tuple(RuleCode.values)]  # type: ignore[valid-type]
SeverityName = Literal[tuple(Severity.values)]  # type: ignore[valid-type]


class AlertQuery(Schema):
    state: Literal["open", "closed", "all"] = Field("open", description="Open alerts by default")
    severity: SeverityName | None = Field(None, description="high, medium or low")
    rule: RuleName | None = Field(None, description="The rule that raised the alert")
    region: str | None = Field(
        None, pattern=TERRITORY_CODE["region"], description="HCP code of the project's region"
    )
    province: str | None = Field(
        None,
        pattern=TERRITORY_CODE["province"],
        description="HCP code of the project's province or prefecture",
    )
    programme: str | None = Field(None, pattern=CODE, description="Programme code (VSB, PU, …)")
    operator: str | None = Field(
        None,
        pattern=ORGANISATION_CODE,
        description="Exchange identifier of the operator; subsidiaries included",
    )
    project: str | None = Field(None, pattern=PUBLIC_ID, description="Marsad id of a project")


class AlertProjectOut(Schema):
    id: str = Field(description="Marsad id")
    title: str = Field(description="In the request's language")
    status: str

    @staticmethod
    def resolve_id(obj) -> str:
        return obj.public_id

    @staticmethod
    def resolve_title(obj) -> str:
        return obj.title(page_language())

    @staticmethod
    def resolve_status(obj) -> str:
        return obj.status_id


class AlertOut(Schema):
    id: int
    rule: RuleName
    rule_name: str = Field(description="The rule's name in the request's language")
    severity: SeverityName
    state: Literal[tuple(State.values)]  # type: ignore[valid-type]
    project: AlertProjectOut
    programme: str
    region: str = Field(description="HCP code of the region of the project's primary commune")
    province: str = Field(description="HCP code of its province or prefecture")
    operator: str = Field(description="Exchange identifier of the operator")
    opened_at: datetime
    updated_at: datetime = Field(description="When the evidence or the severity last changed")
    closed_at: datetime | None
    evidence: dict = Field(description="The figures that raised the alert")
    summary: str = Field(description="The evidence in a sentence, in the request's language")
    acknowledged_at: datetime | None
    acknowledged_by: str | None = Field(description="Login of the user who acknowledged it")
    acknowledgement: str = Field(description="Their comment")

    @staticmethod
    def resolve_rule_name(obj) -> str:
        return str(RuleCode(obj.rule).label)

    @staticmethod
    def resolve_programme(obj) -> str:
        return obj.project.programme_id

    @staticmethod
    def resolve_region(obj) -> str:
        return obj.region_code

    @staticmethod
    def resolve_province(obj) -> str:
        return obj.province_code

    @staticmethod
    def resolve_operator(obj) -> str:
        return obj.operator.code

    @staticmethod
    def resolve_summary(obj) -> str:
        return texts.summary(obj.rule, obj.evidence)

    @staticmethod
    def resolve_acknowledged_by(obj) -> str | None:
        return obj.acknowledged_by.get_username() if obj.acknowledged_by else None


class AlertEventOut(Schema):
    kind: Literal[tuple(EventKind.values)]  # type: ignore[valid-type]
    at: datetime
    severity: SeverityName
    evidence: dict
    actor: str = Field(description="The user who acknowledged, or the rules (alerts)")
    comment: str

    @staticmethod
    def resolve_actor(obj) -> str:
        return obj.actor_label


class AlertDetailOut(AlertOut):
    events: list[AlertEventOut] = Field(description="The alert's history, oldest first")

    @staticmethod
    def resolve_events(obj) -> list:
        return list(obj.events.all())


class AcknowledgeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(..., max_length=2000, description="What is being done about the alert (required)")
