"""Shapes of the registry in the API: projects, their versions, programmes, agreements and the reference
lists. Money, percentages and measures are decimal strings (never JSON numbers, never floats): amounts
with two decimals ("1500000000.00"), measures without trailing zeros ("275", "12.5")."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import PlainSerializer, WithJsonSchema

from marsad.accounts.schemas import OrganisationDetailOut, OrganisationRef, TerritoryRef

from .canonical import money, number

Money = Annotated[
    Decimal,
    PlainSerializer(money, return_type=str),
    WithJsonSchema({"type": "string", "format": "decimal", "examples": ["1500000000.00"]}),
]
Percent = Annotated[
    Decimal,
    PlainSerializer(money, return_type=str),
    WithJsonSchema({"type": "string", "format": "decimal", "examples": ["12.50"]}),
]
Measure = Annotated[
    Decimal,
    PlainSerializer(number, return_type=str),
    WithJsonSchema({"type": "string", "format": "decimal", "examples": ["275", "23.7"]}),
]

# Shapes of the codes the API takes (a code of another shape names nothing: 422 in a query, 404 in a path).
CODE = r"^[A-Z][A-Z0-9_]{0,15}$"
ORGANISATION_CODE = r"^MA-[A-Z0-9][A-Z0-9.\-]{0,36}$"
REFERENCE = r"^[^\x00-\x1f\x7f/]{1,64}$"
PUBLIC_ID = r"^MRS-[0-9A-Z]{10}$"
# A month, YYYY-MM, of a year from 1000 (the calendar has no year 0).
MONTH = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"
TEXT = r"^[^\x00]*$"
TERRITORY_CODE = {
    "region": r"^\d{2}$",
    "province": r"^\d{2}\.\d{3}$",
    "commune": r"^\d{2}\.\d{3}\.\d{2}\.\d{1,2}$",
}


# --- Filters ------------------------------------------------------------------------------------------------


class ProjectQuery(Schema):
    region: str | None = Field(None, pattern=TERRITORY_CODE["region"], description="HCP code of a region")
    province: str | None = Field(
        None, pattern=TERRITORY_CODE["province"], description="HCP code of a province or prefecture"
    )
    commune: str | None = Field(
        None,
        pattern=TERRITORY_CODE["commune"],
        description="HCP code of a commune (its arrondissements included), a prefecture of "
        "arrondissements or an arrondissement",
    )
    programme: str | None = Field(None, pattern=CODE, description="Programme code (VSB, PU, …)")
    operator: str | None = Field(
        None,
        pattern=ORGANISATION_CODE,
        description="Exchange identifier of the operator; its subsidiaries included",
    )
    status: str | None = Field(None, pattern=CODE, description="Status code (ENCO, ACHV, …)")
    agreement: str | None = Field(None, pattern=REFERENCE, description="Reference of an agreement")
    q: str | None = Field(
        None,
        max_length=100,
        pattern=TEXT,
        description="Words of the title (Arabic or French), the Marsad id or the operator's reference; "
        "accents, harakat, hamza forms and taa marbuta do not count",
    )
    published: bool | None = Field(None, description="Only published (true) or unpublished (false) projects")
    withdrawn: bool | None = Field(None, description="Only withdrawn (true) or active (false) projects")


class AgreementQuery(Schema):
    q: str | None = Field(
        None, max_length=100, pattern=TEXT, description="Words of the reference or the title"
    )
    party: str | None = Field(None, pattern=ORGANISATION_CODE, description="Exchange identifier of a party")


class IndicatorQuery(Schema):
    reported: bool | None = Field(
        None, description="Only indicators operators report as outputs (true) or computed ones (false)"
    )


# --- Reference ----------------------------------------------------------------------------------------------


class CodeName(Schema):
    code: str
    name_fr: str
    name_ar: str


class StatusOut(CodeName):
    position: int
    is_completed: bool
    is_cancelled: bool
    is_started: bool


class MilestoneTypeOut(CodeName):
    position: int


class IndicatorOut(CodeName):
    position: int
    unit: str
    kind: str
    reported: bool = Field(description="Reported by operators as a project output (target and achieved)")
    definition_fr: str
    definition_ar: str


class TargetOut(Schema):
    indicator: CodeName
    unit: str
    value: Measure

    @staticmethod
    def resolve_unit(obj) -> str:
        return obj.indicator.unit


class ProgrammeOut(CodeName):
    owner: OrganisationRef | None
    start_year: int | None
    end_year: int | None
    description_fr: str
    description_ar: str
    targets: list[TargetOut] = Field(description="National targets per indicator")
    project_count: int = Field(
        description="Projects of the programme the principal may read, withdrawn excluded"
    )

    @staticmethod
    def resolve_targets(obj) -> list:
        return sorted(obj.targets.all(), key=lambda target: (target.indicator.position, target.indicator_id))

    @staticmethod
    def resolve_project_count(obj) -> int:
        return obj.project_count


# --- Organisations, agreements ------------------------------------------------------------------------------


class OrganisationProjectsOut(OrganisationDetailOut):
    project_count: int = Field(
        description="Projects it operates, its subsidiaries' included, that the principal may read; "
        "withdrawn excluded (the count of /projects?operator=<code>&withdrawn=false)"
    )

    @staticmethod
    def resolve_project_count(obj) -> int:
        return obj.project_count


class PartyOut(Schema):
    organisation: OrganisationRef
    role: str = Field(
        description="signatory, financier, contracting_authority, delegated_contracting_authority"
    )
    commitment_amount: Money | None
    commitment_in_kind: str


class AgreementOut(Schema):
    reference: str
    title_fr: str
    title_ar: str
    signed_on: date | None
    parties: list[PartyOut]

    @staticmethod
    def resolve_parties(obj) -> list:
        return list(obj.parties.all())


class AgreementDetailOut(AgreementOut):
    projects: list[str] = Field(description="Marsad ids of the linked projects the principal may read")

    @staticmethod
    def resolve_projects(obj) -> list[str]:
        return obj.project_ids


class AgreementRef(Schema):
    reference: str
    title_fr: str
    title_ar: str
    signed_on: date | None


# --- Projects -----------------------------------------------------------------------------------------------


class ProjectOut(Schema):
    id: str = Field(description="Marsad id (MRS-…), immutable")
    operator_ref: str
    title_fr: str
    title_ar: str
    programme: CodeName
    status: CodeName
    operator: OrganisationRef
    commune: TerritoryRef = Field(description="The primary commune (or arrondissement)")
    region_code: str
    province_code: str
    budget: Money
    as_of: date | None
    progress: Percent | None
    planned_end: date | None
    published: bool
    withdrawn: bool
    version: int

    @staticmethod
    def resolve_id(obj) -> str:
        return obj.public_id

    @staticmethod
    def resolve_commune(obj):
        return obj.primary_commune


class ProjectCommuneOut(TerritoryRef):
    region_code: str
    province_code: str
    primary: bool
    share: Percent | None = Field(
        description="Share in percent; null: the primary commune carries everything"
    )

    @staticmethod
    def resolve_code(obj) -> str:
        return obj.territory.code

    @staticmethod
    def resolve_level(obj) -> str:
        return obj.territory.level

    @staticmethod
    def resolve_name_fr(obj) -> str:
        return obj.territory.name_fr

    @staticmethod
    def resolve_name_ar(obj) -> str:
        return obj.territory.name_ar

    @staticmethod
    def resolve_region_code(obj) -> str:
        return obj.territory.region_code

    @staticmethod
    def resolve_province_code(obj) -> str:
        return obj.territory.province_code

    @staticmethod
    def resolve_primary(obj) -> bool:
        return obj.is_primary


class LocationOut(Schema):
    lat: Measure
    lon: Measure


class FinancingOut(Schema):
    partner: OrganisationRef
    amount: Money


class OutputOut(Schema):
    indicator: CodeName
    unit: str
    target: Measure | None
    achieved: Measure | None

    @staticmethod
    def resolve_unit(obj) -> str:
        return obj.indicator.unit


class MilestoneOut(Schema):
    type: CodeName
    planned: date | None
    forecast: date | None
    actual: date | None


class IssueOut(Schema):
    code: str
    severity: str
    pointer: str = Field(description="JSON pointer into the record")
    message_fr: str
    message_ar: str


class StatusRef(CodeName):
    is_completed: bool
    is_cancelled: bool


class ProjectDetailOut(Schema):
    id: str = Field(description="Marsad id (MRS-…), immutable")
    operator_ref: str
    title_fr: str
    title_ar: str
    description_fr: str
    description_ar: str
    programme: CodeName
    status: StatusRef
    operator: OrganisationRef
    agreement: AgreementRef | None
    communes: list[ProjectCommuneOut] = Field(description="The primary commune first")
    region_code: str
    province_code: str
    location: LocationOut | None
    area_ha: Measure | None
    planned_start: date | None
    planned_end: date | None
    initial_planned_end: date | None = Field(description="The planned end of the first version")
    actual_start: date | None
    actual_end: date | None
    budget: Money
    financing: list[FinancingOut] = Field(description="Financing plan, largest amount first")
    outputs: list[OutputOut]
    milestones: list[MilestoneOut]
    as_of: date | None = Field(description="Date of the latest reported state")
    progress: Percent | None = Field(description="Physical progress in percent")
    committed: Money | None
    paid: Money | None
    published: bool
    published_at: datetime | None
    withdrawn: bool
    withdrawn_at: datetime | None
    withdrawal_reason: str
    version: int = Field(description="Number of the current version")
    sha256: str = Field(description="SHA-256 of the current version's canonical JSON")
    warnings: list[IssueOut] = Field(description="Warnings the rules raised on the current version")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_id(obj) -> str:
        return obj.public_id

    @staticmethod
    def resolve_communes(obj) -> list:
        return list(obj.communes.all())

    @staticmethod
    def resolve_location(obj) -> dict | None:
        if obj.latitude is None or obj.longitude is None:
            return None
        return {"lat": obj.latitude, "lon": obj.longitude}

    @staticmethod
    def resolve_financing(obj) -> list:
        return list(obj.financing.all())

    @staticmethod
    def resolve_outputs(obj) -> list:
        return list(obj.outputs.all())

    @staticmethod
    def resolve_milestones(obj) -> list:
        return list(obj.milestones.all())

    @staticmethod
    def resolve_warnings(obj) -> list:
        return obj.current_warnings


class FieldChangeOut(Schema):
    pointer: str = Field(description="JSON pointer of the changed leaf of the record")
    before: Any = Field(description="Value in the previous version (null: absent)")
    after: Any = Field(description="Value in this version (null: absent)")


class VersionOut(Schema):
    number: int
    received_at: datetime
    source_kind: str = Field(description="ui, submission, upload, command or demo")
    source_id: str | None = Field(description="The user, submission, upload or command (null for the public)")
    actor_label: str | None = Field(description="Who wrote it (null for the public: no personal data)")
    sha256: str
    is_tombstone: bool = Field(description="A withdrawal")
    warnings: list[IssueOut]
    changes: list[FieldChangeOut] = Field(description="What changed from the previous version, leaf by leaf")


class VersionDetailOut(VersionOut):
    document: dict[str, Any] = Field(description="The record as accepted (canonical JSON document)")
