from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import PlainSerializer

from .choices import Level

CODE_PATTERN = r"^(MA|\d{2}(\.\d{3}(\.\d{2}(\.\d{1,2})?)?)?)$"

# Census measures are statistics, shown as JSON numbers (money never goes through this type).
Measure = Annotated[Decimal, PlainSerializer(lambda value: float(value), return_type=float)]


class TerritoryFilters(Schema):
    level: Level | None = Field(
        None, description="country, region, province, prefecture_of_arrondissements, …"
    )
    parent: str | None = Field(None, pattern=CODE_PATTERN, description="HCP code of the direct parent")
    ancestor: str | None = Field(
        None, pattern=CODE_PATTERN, description="HCP code of a region or province: every unit below it"
    )
    q: str | None = Field(
        None,
        max_length=100,
        description="Name in Arabic or French; accents, hamza forms, taa marbuta and alef maqsura "
        "do not count",
    )


class CercleOut(Schema):
    code: str
    name_fr: str
    name_ar: str


class TerritoryOut(Schema):
    code: str
    level: str
    type: str | None
    name_fr: str
    name_ar: str
    parent_code: str | None
    region_code: str | None
    province_code: str | None
    path: str
    cercle: CercleOut | None
    population_2024: int
    households_2024: int
    population_2014: int | None
    households_2014: int | None

    @staticmethod
    def resolve_type(obj) -> str | None:
        return obj.kind or None

    @staticmethod
    def resolve_parent_code(obj) -> str | None:
        return obj.parent.code if obj.parent_id else None

    @staticmethod
    def resolve_region_code(obj) -> str | None:
        return obj.region_code or None

    @staticmethod
    def resolve_province_code(obj) -> str | None:
        return obj.province_code or None

    @staticmethod
    def resolve_cercle(obj) -> dict | None:
        if not obj.cercle_code:
            return None
        return {"code": obj.cercle_code, "name_fr": obj.cercle_name_fr, "name_ar": obj.cercle_name_ar}


class AncestorOut(Schema):
    code: str
    level: str
    name_fr: str
    name_ar: str


class TerritoryDetailOut(TerritoryOut):
    """A territory with its ancestors, census figures and slum households (set by the view in ``detail``)."""

    ancestors: list[AncestorOut]
    census: dict[str, dict[str, Measure | int | None] | None] = Field(
        description="RGPH 2024 household figures for the total, urban and rural areas (null where the "
        "unit has no such area); shares in percent"
    )
    slum_households: int | None = Field(
        description="Urban households × urban share of basic houses or slums / 100, rounded; null without "
        "an urban area"
    )
    has_boundary: bool

    @staticmethod
    def resolve_ancestors(obj) -> list:
        return obj.detail["ancestors"]

    @staticmethod
    def resolve_census(obj) -> dict:
        return obj.detail["census"]

    @staticmethod
    def resolve_slum_households(obj) -> int | None:
        return obj.detail["slum_households"]

    @staticmethod
    def resolve_has_boundary(obj) -> bool:
        return obj.detail["has_boundary"]


class MapIndicatorOut(Schema):
    key: str
    name_fr: str
    name_ar: str
    unit: str


class FeatureCollectionOut(Schema):
    type: Literal["FeatureCollection"]
    indicator: MapIndicatorOut
    parent: AncestorOut
    features: list[dict]
