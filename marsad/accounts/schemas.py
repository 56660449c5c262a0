"""Shapes of organisations in the API (/api/v1/organisations). Organisations are public information:
names of operators, councils and partners, their parent and their territory."""

from ninja import Field, Schema

from .choices import OrganisationKind

ORGANISATION_CODE = r"^MA-[A-Z0-9][A-Z0-9.\-]{0,36}$"
TEXT = r"^[^\x00]*$"


class TerritoryRef(Schema):
    code: str
    level: str
    name_fr: str
    name_ar: str


class OrganisationRef(Schema):
    code: str = Field(description="Exchange identifier, e.g. MA-ALOMRANE-CS")
    name_fr: str
    name_ar: str


class OrganisationFilters(Schema):
    kind: OrganisationKind | None = Field(
        None, description="operator, ministry, administration, region_council, province_council, …"
    )
    parent: str | None = Field(
        None,
        pattern=ORGANISATION_CODE,
        description="Exchange identifier: the organisation and all its subsidiaries",
    )
    q: str | None = Field(
        None,
        max_length=100,
        pattern=TEXT,
        description="Code, acronym or name in Arabic or French; accents and hamza forms do not count",
    )


class OrganisationOut(Schema):
    code: str = Field(description="Exchange identifier, e.g. MA-ALOMRANE-CS")
    kind: str
    name_fr: str
    name_ar: str
    acronym: str
    parent_code: str | None = Field(description="Exchange identifier of the parent organisation")
    territory_code: str | None = Field(description="HCP code of its territory (councils, regional bodies)")

    @staticmethod
    def resolve_parent_code(obj) -> str | None:
        return obj.parent.code if obj.parent_id else None

    @staticmethod
    def resolve_territory_code(obj) -> str | None:
        return obj.territory.code if obj.territory_id else None


class OrganisationDetailOut(OrganisationOut):
    """An organisation with its parent, direct subsidiaries and territory (``subsidiaries_list`` is set
    by the view)."""

    parent: OrganisationRef | None
    subsidiaries: list[OrganisationRef] = Field(description="Direct subsidiaries, by code")
    territory: TerritoryRef | None

    @staticmethod
    def resolve_subsidiaries(obj) -> list:
        return obj.subsidiaries_list
