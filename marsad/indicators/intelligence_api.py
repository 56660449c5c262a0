"""/api/v1/territories/{code}/intelligence: a territory's needs against its investment and outputs
(DESIGN §7, territorial intelligence). Thin: the figures come from ``intelligence.intelligence``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from marsad.accounts.scoping import principal_scope
from marsad.core.errors import Problem, query_invalid
from marsad.registry.schemas import MONTH, Measure, Money, Percent
from marsad.territories.models import Territory

from . import intelligence as selectors
from .services import local_today

router = Router()

DESCRIPTION = """\
What the census says a territory needs, against what the projects in it invest and deliver, for one
month. Every figure carries its source: the census fields it reads (`<column>.<area>` of
/territories/{code}, or `population_2024`) and the project list filtered to the projects behind it
(`projects.api`, `projects.page`; the list filters by any commune of a project, the figures count a
project in its primary commune).

- **Needs** (HCP, RGPH 2024; public): slum households = urban households × urban share of "maison
  sommaire ou bidonville" / 100; housing deficit = urban dwellings × urban deficit rate / 100 (urban areas
  only); households without electricity, running water or a public sewer = households × (100 − share) /
  100 (total area). Each is rounded half-up for a unit; a unit whose own census row lacks the figure
  takes the sum over the units below it (`units_below` says how many); `null` means it does not apply,
  never 0.
- **Investment**: INV (Σ budget, MAD) of the month, from the indicator engine, over the projects the
  caller may read only (national roles: all; a territorial officer: their territory and published
  projects; the public: published projects); per inhabitant = INV / population 2024, MAD to 0.01.
- **Outputs**: target and achieved of each output indicator, summed over the projects' outputs as
  reported up to the month; scoped like the investment.
- **VSB coverage** = households targeted by VSB projects (their MEN_CIB output targets) / slum
  households × 100.
- **Disparity** (the country and the regions only): population-weighted Gini, Theil and coefficient of
  variation of investment per inhabitant across the provinces and prefectures below (the 75 units of
  level `province`; the 8 prefectures of arrondissements count in their prefecture; a unit without a
  population is left out). The country's also gives the same indices within each region (`regions`).
- **Ranking** of the units below (provinces and prefectures of the country or a region, communes of a
  province, arrondissements of a city): need = slum households + housing deficit (`null` counts 0);
  coverage = VSB targeted households / need × 100; uncovered need = max(need − VSB targeted
  households, 0); ranked by uncovered need (largest first), then investment per inhabitant (lowest
  first), then code.
"""


class IntelligenceQuery(Schema):
    month: str | None = Field(None, pattern=MONTH, description="YYYY-MM; the current month by default")


class ProjectsLinkOut(Schema):
    api: str = Field(description="/api/v1/projects filtered to the projects behind the figure")
    page: str = Field(description="The project list page with the same filters")


class SourceOut(Schema):
    census: list[str] = Field(
        description="Census fields read (HCP, RGPH 2024): `<column>.<total|urban|rural>` or `population_2024`"
    )
    projects: ProjectsLinkOut | None = Field(description="The projects the figure sums, if any")
    units_below: int = Field(
        description="0 when the unit's own census row gives the figure, else the number of units below "
        "whose figures were added"
    )


class CountOut(Schema):
    value: int | None = Field(description="Households or dwellings; null where the figure does not apply")
    source: SourceOut


class MoneyOut(Schema):
    value: Money | None = Field(description="MAD")
    source: SourceOut


class QuantityOut(Schema):
    value: Measure | None = Field(description="Households")
    source: SourceOut


class PercentOut(Schema):
    value: Percent | None = Field(description="%; null without a denominator")
    source: SourceOut


class TerritoryBriefOut(Schema):
    code: str
    level: str
    name_fr: str
    name_ar: str
    population_2024: int
    households_2024: int


class NeedsOut(Schema):
    slum_households: CountOut = Field(description="Urban households × urban slum share / 100")
    housing_deficit: CountOut = Field(description="Urban dwellings × urban housing deficit rate / 100")
    without_electricity: CountOut = Field(description="Households × (100 − share with electricity) / 100")
    without_running_water: CountOut = Field(description="Households × (100 − share with running water) / 100")
    without_public_sewer: CountOut = Field(description="Households × (100 − share on the public sewer) / 100")


class InvestmentOut(Schema):
    amount: MoneyOut = Field(description="INV: Σ budget of the projects in the month, scoped")
    projects: int = Field(description="Projects the amount sums")
    per_inhabitant: MoneyOut = Field(description="INV_HAB: INV / population 2024, MAD per person")


class IntelligenceOutputOut(Schema):
    indicator: str
    name_fr: str
    name_ar: str
    unit: str
    target: Measure | None
    achieved: Measure | None = Field(description="Achieved up to the month")


class OutputsOut(Schema):
    items: list[IntelligenceOutputOut]
    source: SourceOut


class VsbOut(Schema):
    targeted_households: QuantityOut = Field(description="Σ MEN_CIB targets of the VSB projects")
    treated_households: QuantityOut = Field(description="Σ MEN_TRT achieved by the VSB projects")
    coverage: PercentOut = Field(description="Targeted households / slum households × 100")


class IndicesOut(Schema):
    units: int = Field(description="Provinces and prefectures compared")
    gini: Decimal | None = Field(description="Population-weighted Gini index (0 = equal), 4 places")
    theil: Decimal | None = Field(description="Population-weighted Theil T index, 4 places")
    coefficient_of_variation: Decimal | None = Field(
        description="Population-weighted standard deviation / mean, 4 places"
    )
    source: SourceOut


class RegionDisparityOut(IndicesOut):
    territory: TerritoryBriefOut


class DisparityOut(IndicesOut):
    rule: str
    regions: list[RegionDisparityOut] = Field(
        description="For the country: the same indices within each region; empty for a region"
    )


class PriorityOut(Schema):
    rank: int
    territory: TerritoryBriefOut
    slum_households: int | None
    housing_deficit: int | None
    need: int = Field(description="Slum households + housing deficit")
    vsb_targeted: Measure = Field(description="Households targeted by VSB projects")
    coverage: Percent | None = Field(description="VSB targeted / need × 100")
    uncovered_need: Measure = Field(description="max(need − VSB targeted, 0): the ranking key")
    investment: Money
    investment_per_inhabitant: Money | None
    projects: ProjectsLinkOut
    vsb_projects: ProjectsLinkOut


class RankingOut(Schema):
    level: str | None = Field(description="The level of the units ranked; null when there are none")
    formula: str
    units: list[PriorityOut]


class IntelligenceOut(Schema):
    territory: TerritoryBriefOut
    month: str = Field(description="YYYY-MM")
    needs: NeedsOut
    needs_rule: str
    investment: InvestmentOut
    outputs: OutputsOut
    vsb: VsbOut
    disparity: DisparityOut | None = Field(description="For the country and the regions only")
    ranking: RankingOut


def _link(link: selectors.ProjectsLink | None) -> dict | None:
    return None if link is None else {"api": link.api_url, "page": link.page_url}


def _source(source: selectors.Source) -> dict:
    return {
        "census": list(source.census),
        "projects": _link(source.projects),
        "units_below": source.units_below,
    }


def _figure(figure: selectors.Figure) -> dict:
    return {"value": figure.value, "source": _source(figure.source)}


def _territory(territory: Territory) -> dict:
    return {name: getattr(territory, name) for name in TerritoryBriefOut.model_fields}


def _indices(disparity: selectors.Disparity) -> dict:
    return {
        "units": disparity.units,
        "gini": disparity.gini,
        "theil": disparity.theil,
        "coefficient_of_variation": disparity.coefficient_of_variation,
        "source": _source(disparity.source),
    }


def _month(text: str | None) -> date:
    if not text:
        return local_today().replace(day=1)
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:  # a well-formed month the calendar does not have (year 0)
        raise query_invalid(
            "month",
            "invalid_month",
            _("Mois invalide : %(month)s"),
            _("Un ou plusieurs paramètres sont invalides ; voir errors."),
            month=text,
        ) from None


@router.get(
    "/territories/{code}/intelligence",
    response=IntelligenceOut,
    tags=["indicators"],
    summary="A territory's needs against its investment, outputs, VSB coverage, disparity and priorities",
    description=DESCRIPTION,
)
def territory_intelligence(request, code: str, query: Query[IntelligenceQuery]):
    month = _month(query.month)
    try:
        found = selectors.intelligence(principal_scope(request.user), code, month)
    except Territory.DoesNotExist:
        raise Problem(
            404, "not-found", _("Territoire introuvable"), _("Aucun territoire ne porte ce code HCP.")
        ) from None
    disparity = found.disparity
    return {
        "territory": _territory(found.territory),
        "month": found.month.isoformat()[:7],
        "needs": {name: _figure(getattr(found.needs, name)) for name in NeedsOut.model_fields},
        "needs_rule": str(selectors.NEEDS_RULE),
        "investment": {
            "amount": _figure(found.investment.amount),
            "projects": found.investment.projects,
            "per_inhabitant": _figure(found.investment.per_inhabitant),
        },
        "outputs": {
            "items": [
                {name: getattr(total, name) for name in IntelligenceOutputOut.model_fields}
                for total in found.outputs
            ],
            "source": _source(found.outputs_source),
        },
        "vsb": {name: _figure(getattr(found.vsb, name)) for name in VsbOut.model_fields},
        "disparity": None
        if disparity is None
        else {
            **_indices(disparity),
            "rule": str(selectors.DISPARITY_RULE),
            "regions": [
                {**_indices(region), "territory": _territory(region.territory)}
                for region in disparity.regions
            ],
        },
        "ranking": {
            "level": found.ranked_level or None,
            "formula": str(selectors.RANKING_FORMULA),
            "units": [
                {
                    **{name: getattr(row, name) for name in PriorityOut.model_fields},
                    "territory": _territory(row.territory),
                    "projects": _link(row.projects),
                    "vsb_projects": _link(row.vsb_projects),
                }
                for row in found.ranking
            ],
        },
    }
