"""Territorial intelligence (DESIGN §7): what the census says a territory needs, against the investment
and the outputs of the projects in it, for one month. Reads only.

Definitions (the API description and the territory page state them too):

- **Needs**, from HCP's RGPH 2024 (public: the same for every reader), each a whole number of
  households or dwellings, rounded half-up for one unit:

  - slum households = urban households × urban share of "maison sommaire ou bidonville" / 100
    (``census.slum_households``);
  - housing deficit = urban dwellings × urban housing deficit rate / 100 (it exists for urban areas
    only);
  - network access gaps = households × (100 − share of households with electricity, running water or
    a public sewer) / 100, over the total area.

  A unit whose own census row lacks a figure takes the sum of that figure over the units below it (the
  units the ranking lists: the provinces and prefectures of the country or of a region, the communes of
  a province, the arrondissements of a city), each rounded first; ``Source.units_below`` then says how
  many units contributed. Without any, the figure is None ("n/a", never 0).
- **Investment**: INV (Σ budget, MAD) of the projects of the territory in the month, as the engine's
  ``selectors.figures`` gives it, so only over the projects the principal may read; per inhabitant:
  INV / population 2024, MAD to 0.01 (half-up).
- **Outputs**: the target and the achieved value of each output indicator, summed over the monthly
  outputs of the projects of the territory in the month (carried forward from the last report, so what
  was achieved up to the month); scoped like the investment.
- **VSB coverage**: households targeted by the projects of programme VSB (the target of their MEN_CIB
  output) / slum households × 100, to 0.01.
- **Disparity** (the country and the regions): the population-weighted Gini, Theil and coefficient of
  variation (``measures``) of investment per inhabitant across the provinces and prefectures below
  (level ``province``: the 75, not the 8 prefectures of arrondissements, whose projects count in their
  prefecture), each province's exact INV / population weighted by its population; a province without
  a population is left out (``units`` counts those compared). The country's also gives the indices
  within each of the 12 regions, from the same figures (``Disparity.regions``).
- **Priority ranking** of the units below (RANKING_FORMULA): need = slum households + housing deficit
  (a figure that does not apply counts 0); coverage = VSB targeted households / need × 100; uncovered
  need = max(need − VSB targeted households, 0). Ranked by uncovered need (largest first), then
  investment per inhabitant (lowest first), then HCP code.

Every figure carries its ``Source``: the census fields it reads (``<column>.<area>``, or
``population_2024``) and a link to the project list filtered to the projects behind it. The list
filters a territory by any of a project's communes while the facts count a project in its primary
commune, so the list can show a few more projects than the figure sums.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from urllib.parse import urlencode

from django.db.models import OuterRef, Q, Subquery, Sum
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from marsad.accounts.scoping import Scope
from marsad.registry.models import Project
from marsad.registry.selectors import project_scope_q
from marsad.territories.census import slum_households
from marsad.territories.choices import Area, Level
from marsad.territories.models import HouseholdCensus, Territory

from . import measures
from .models import OutputMonth, ProjectMonth
from .selectors import FigureFilters, Figures, figures

VSB = "VSB"
TARGETED = "MEN_CIB"  # households a project targets (its output target)
TREATED = "MEN_TRT"  # households a project treated (its output achieved)
PROJECTS_API = "/api/v1/projects"

RANKING_FORMULA = _(
    "Besoin = ménages en bidonville + déficit en logements ; couverture = ménages ciblés par les projets "
    "VSB (MEN_CIB) / besoin × 100 ; besoin non couvert = besoin − ménages ciblés (au moins 0). Classement "
    "par besoin non couvert décroissant, puis investissement par habitant croissant."
)
NEEDS_RULE = _(
    "Recensement RGPH 2024 (HCP). Ménages en bidonville = ménages urbains × part urbaine des maisons "
    "sommaires ou bidonvilles ; déficit = logements urbains × taux de déficit urbain ; sans réseau = "
    "ménages × (100 − part raccordée) / 100. Faute de chiffre pour l'unité : somme des unités en dessous."
)
DISPARITY_RULE = _(
    "Indices de Gini et de Theil et coefficient de variation de l'investissement par habitant entre les "
    "provinces et préfectures, pondérés par la population 2024."
)

# The census fields each need reads.
NEED_FIELDS = {
    "slum_households": ("households_count.urban", "dwelling_type_basic_or_slum.urban"),
    "housing_deficit": ("dwellings_total.urban", "dwellings_deficit_rate.urban"),
    "without_electricity": ("households_count.total", "amenities_electricity.total"),
    "without_running_water": ("households_count.total", "amenities_running_water.total"),
    "without_public_sewer": ("households_count.total", "wastewater_public_sewer.total"),
}
NETWORKS = {
    "without_electricity": "amenities_electricity",
    "without_running_water": "amenities_running_water",
    "without_public_sewer": "wastewater_public_sewer",
}
CENSUS_COLUMNS = (
    "households_count",
    "dwelling_type_basic_or_slum",
    "dwellings_total",
    "dwellings_deficit_rate",
    *NETWORKS.values(),
)
POPULATION = ("population_2024",)
HUNDRED = Decimal(100)
ZERO = Decimal("0.00")


# --- What the reader gets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectsLink:
    """The project list filtered to the projects behind a figure (the query parameters of
    ``registry.selectors.ProjectFilters``: region, province, commune, programme)."""

    params: tuple[tuple[str, str], ...] = ()

    @property
    def api_url(self) -> str:
        # The facts leave withdrawn projects out; the API list can too.
        return f"{PROJECTS_API}?{urlencode((*self.params, ('withdrawn', 'false')))}"

    @property
    def page_url(self) -> str:
        """The project list page in the active language."""
        url = reverse("registry:project-list")
        return f"{url}?{urlencode(self.params)}" if self.params else url

    def with_programme(self, programme: str) -> ProjectsLink:
        return ProjectsLink((*self.params, ("programme", programme)))


@dataclass(frozen=True)
class Source:
    """Where a figure comes from: census fields (``<column>.<area>`` or ``population_2024``) and the
    projects it sums. ``units_below`` > 0 when the unit's own census row lacked the figure and it is the
    sum over that many units below."""

    census: tuple[str, ...] = ()
    projects: ProjectsLink | None = None
    units_below: int = 0


@dataclass(frozen=True)
class Figure:
    value: int | Decimal | None
    source: Source


@dataclass(frozen=True)
class Needs:
    slum_households: Figure
    housing_deficit: Figure
    without_electricity: Figure
    without_running_water: Figure
    without_public_sewer: Figure


@dataclass(frozen=True)
class Investment:
    amount: Figure  # INV, MAD
    projects: int  # projects counted in the month
    per_inhabitant: Figure  # MAD per person, 2 places; None without a population


@dataclass(frozen=True)
class OutputTotal:
    indicator: str
    name_fr: str
    name_ar: str
    unit: str
    target: Decimal | None
    achieved: Decimal | None

    def name(self, language: str | None) -> str:
        return self.name_ar if (language or "").startswith("ar") else self.name_fr


@dataclass(frozen=True)
class VsbCoverage:
    targeted_households: Figure  # Σ MEN_CIB targets of VSB projects
    treated_households: Figure  # Σ MEN_TRT achieved of VSB projects
    coverage: Figure  # targeted / slum households × 100, %


@dataclass(frozen=True)
class Disparity:
    """Inequality of investment per inhabitant across ``units`` provinces and prefectures (those with a
    population) of ``territory``; for the country, ``regions`` holds the same indices within each region."""

    territory: Territory
    units: int
    gini: Decimal | None
    theil: Decimal | None
    coefficient_of_variation: Decimal | None
    source: Source
    regions: tuple[Disparity, ...] = ()


@dataclass(frozen=True)
class Priority:
    """A unit below in the priority ranking (see RANKING_FORMULA)."""

    rank: int
    territory: Territory
    slum_households: int | None
    housing_deficit: int | None
    need: int
    vsb_targeted: Decimal
    coverage: Decimal | None  # %, None when there is no need
    uncovered_need: Decimal
    investment: Decimal
    investment_per_inhabitant: Decimal | None
    projects: ProjectsLink
    vsb_projects: ProjectsLink


@dataclass(frozen=True)
class Intelligence:
    territory: Territory
    month: date
    needs: Needs
    investment: Investment
    outputs: list[OutputTotal]
    outputs_source: Source
    vsb: VsbCoverage
    disparity: Disparity | None  # the country and regions only
    ranked_level: str  # the level of the units ranked ("" when there are none)
    ranking: list[Priority] = field(default_factory=list)


# --- Arithmetic -------------------------------------------------------------------------------------------


def _part(count: int | None, percent: Decimal | None) -> int | None:
    """count × percent / 100, rounded half-up; None when either is missing."""
    if count is None or percent is None:
        return None
    return int((Decimal(count) * percent / HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def per_inhabitant(amount: Decimal, population: int | None) -> Decimal | None:
    """amount / population, MAD to 0.01 rounded half-up (exact, through a fraction)."""
    if not population:
        return None
    exact = Fraction(amount) / population
    cents = math.floor(abs(exact) * 100 + Fraction(1, 2))
    return Decimal(-cents if exact < 0 else cents).scaleb(-2)


def _unit_needs(rows: dict[str, dict]) -> dict[str, int | None]:
    """The needs of one unit from its census rows by area."""
    urban = rows.get(Area.URBAN, {})
    total = rows.get(Area.TOTAL, {})
    needs: dict[str, int | None] = {
        "slum_households": slum_households(
            urban.get("households_count"), urban.get("dwelling_type_basic_or_slum")
        ),
        "housing_deficit": _part(urban.get("dwellings_total"), urban.get("dwellings_deficit_rate")),
    }
    for name, column in NETWORKS.items():
        share = total.get(column)
        needs[name] = _part(total.get("households_count"), None if share is None else HUNDRED - share)
    return needs


def _sum(values: Iterable[Decimal | None]) -> Decimal | None:
    known = [value for value in values if value is not None]
    return sum(known, Decimal(0)) if known else None


# --- Units and their place in the facts ------------------------------------------------------------------


def _territory_params(territory: Territory) -> tuple[tuple[str, str], ...]:
    if territory.level == Level.COUNTRY:
        return ()
    if territory.level == Level.REGION:
        return (("region", territory.code),)
    if territory.level == Level.PROVINCE:
        return (("province", territory.code),)
    return (("commune", territory.code),)  # a commune with its arrondissements, a prefecture of them


def _units_below(unit: Territory) -> tuple[list[Territory], dict[str, str], list[Territory]]:
    """The units ranked below ``unit`` (one query), for each commune code the facts may carry the ranked
    unit it counts in (communes of a province: the commune and its arrondissements), and, for the
    country, its regions (read with the provinces)."""
    level = unit.level
    if level == Level.COUNTRY:
        found = list(Territory.objects.filter(level__in=(Level.REGION, Level.PROVINCE)).order_by("code"))
        provinces = [t for t in found if t.level == Level.PROVINCE]
        return provinces, {}, [t for t in found if t.level == Level.REGION]
    if level == Level.REGION:
        return (
            list(Territory.objects.filter(level=Level.PROVINCE, region_code=unit.code).order_by("code")),
            {},
            [],
        )
    if level == Level.PROVINCE:
        found = list(
            Territory.objects.filter(
                Q(level=Level.COMMUNE) | Q(level=Level.ARRONDISSEMENT), province_code=unit.code
            ).order_by("code")
        )
        communes = [t for t in found if t.level == Level.COMMUNE]
        keys = {t.code: t.code for t in communes}
        keys.update({t.code: t.commune_code for t in found if t.level == Level.ARRONDISSEMENT})
        return communes, keys, []
    if level == Level.COMMUNE:
        below = Territory.objects.filter(level=Level.ARRONDISSEMENT, commune_code=unit.code)
    elif level == Level.PREFECTURE_OF_ARRONDISSEMENTS:
        below = Territory.objects.filter(level=Level.ARRONDISSEMENT, parent=unit)
    else:
        return [], {}, []
    arrondissements = list(below.order_by("code"))
    return arrondissements, {t.code: t.code for t in arrondissements}, []


def _fact_codes(unit: Territory, keys: dict[str, str]) -> set[str]:
    """The commune codes of the facts of a commune, a prefecture of arrondissements or an arrondissement."""
    codes = set(keys)
    if unit.level in (Level.COMMUNE, Level.ARRONDISSEMENT):
        codes.add(unit.code)
    return codes


# --- Reads -------------------------------------------------------------------------------------------------


def _census(territories: list[Territory]) -> dict[int, dict[str, dict]]:
    """Census rows (total and urban) of these territories: id → area → column → value (one query)."""
    found: dict[int, dict[str, dict]] = defaultdict(dict)
    rows = HouseholdCensus.objects.filter(
        territory_id__in=[t.pk for t in territories], area__in=(Area.TOTAL, Area.URBAN)
    ).values("territory_id", "area", *CENSUS_COLUMNS)
    for row in rows:
        found[row["territory_id"]][row["area"]] = row
    return found


def _investments(
    scope: Scope, unit: Territory, month: date, below: list[Territory], keys: dict[str, str]
) -> tuple[tuple[Decimal, int], dict[str, tuple[Decimal, int]]]:
    """(INV, projects) of the unit and of each unit below, from the engine's figures (one ``figures``
    call for the unit and one for the units below; a city divided into arrondissements needs one)."""
    by_unit: dict[str, tuple[Decimal, int]] = {}

    def add(code: str, row: Figures) -> None:
        budget, projects = by_unit.get(code, (Decimal(0), 0))
        by_unit[code] = (budget + row.budget, projects + row.projects)

    level = unit.level
    if level in (Level.COUNTRY, Level.REGION, Level.PROVINCE):
        filters = {
            Level.COUNTRY: FigureFilters(),
            Level.REGION: FigureFilters(region=unit.code),
            Level.PROVINCE: FigureFilters(province=unit.code),
        }[level]
        own = [(row.budget, row.projects) for row in figures(scope, month=month, filters=filters)]
        if below:
            by = "province" if level in (Level.COUNTRY, Level.REGION) else "commune"
            for row in figures(scope, by=by, month=month, filters=filters):
                code = row.key if by == "province" else keys.get(row.key)
                if code is not None:
                    add(code, row)
        return (own[0] if own else (ZERO, 0)), by_unit
    codes = _fact_codes(unit, keys)
    if codes == {unit.code}:
        own = [
            (row.budget, row.projects)
            for row in figures(scope, month=month, filters=FigureFilters(commune=unit.code))
        ]
        return (own[0] if own else (ZERO, 0)), by_unit
    # A city divided into arrondissements: the engine's figures of the communes of the province, those
    # of the city's codes added up, and each arrondissement's.
    rows = figures(scope, by="commune", month=month, filters=FigureFilters(province=unit.province_code))
    mine = [row for row in rows if row.key in codes]
    for row in mine:
        if row.key in keys:
            add(keys[row.key], row)
    amount = sum((row.budget for row in mine), ZERO)
    return (amount, sum(row.projects for row in mine)), by_unit


def _outputs(
    scope: Scope, unit: Territory, month: date, below: list[Territory], keys: dict[str, str]
) -> list[dict]:
    """Sums of target and achieved of the month's outputs in the territory, per indicator, programme and
    (where units are ranked) unit below, over the projects the scope may read (one query)."""
    outputs = OutputMonth.objects.filter(month=month)
    condition = project_scope_q(scope)
    if condition is not None:
        outputs = outputs.filter(project__in=Project.objects.filter(condition).values("pk"))
    group = None
    if unit.level == Level.REGION:
        outputs = outputs.filter(region_code=unit.code)
    elif unit.level != Level.COUNTRY:
        outputs = outputs.filter(province_code=unit.province_code or unit.code)
    if unit.level in (Level.COUNTRY, Level.REGION):
        group = "province_code"
    elif unit.level != Level.PROVINCE or below:
        # Outputs carry no commune: the project's commune in the month's facts places them.
        outputs = outputs.annotate(
            fact_commune=Subquery(
                ProjectMonth.objects.filter(project_id=OuterRef("project_id"), month=month).values(
                    "commune_code"
                )[:1]
            )
        )
        if unit.level != Level.PROVINCE:
            outputs = outputs.filter(fact_commune__in=_fact_codes(unit, keys))
        group = "fact_commune" if below else None
    columns = [
        "indicator_id",
        "indicator__name_fr",
        "indicator__name_ar",
        "indicator__unit",
        "programme_code",
    ]
    if group:
        columns.append(group)
    rows = list(
        outputs.values(*columns).annotate(s_target=Sum("target"), s_achieved=Sum("achieved")).order_by()
    )
    for row in rows:
        row["unit_code"] = (
            row.get(group) if group == "province_code" else keys.get(row.get(group) or "") if group else None
        )
    return rows


def _vsb_sum(rows: Iterable[dict], indicator: str, column: str) -> Decimal:
    return sum(
        (
            row[column]
            for row in rows
            if row["indicator_id"] == indicator and row["programme_code"] == VSB and row[column] is not None
        ),
        Decimal(0),
    )


def _needs_figures(own: dict[str, int | None], below: dict[str, dict[str, int | None]]) -> Needs:
    """The unit's own figure, else the sum over the units below that have it."""
    found = {}
    for name, fields in NEED_FIELDS.items():
        value = own[name]
        units_below = 0
        if value is None:
            parts = [needs[name] for needs in below.values() if needs[name] is not None]
            units_below = len(parts)
            value = sum(parts) if parts else None
        found[name] = Figure(value, Source(census=fields, units_below=units_below))
    return Needs(**found)


def intelligence(scope: Scope, code: str | Territory, month: date) -> Intelligence:
    """The needs, investment, outputs, VSB coverage, disparity and priority ranking of a territory
    (``MA``, a region, a province, a commune; prefectures of arrondissements and arrondissements are
    read like communes) for ``month`` (any day of it), as ``scope`` may see them. Raises
    Territory.DoesNotExist for an unknown code. A loaded Territory may be passed instead of a code."""
    unit = code if isinstance(code, Territory) else Territory.objects.get(code=code)
    month = month.replace(day=1)
    below, keys, regions = _units_below(unit)
    census = _census([unit, *below])
    link = ProjectsLink(_territory_params(unit))
    vsb_link = link.with_programme(VSB)

    own_needs = _unit_needs(census.get(unit.pk, {}))
    needs_below = {t.code: _unit_needs(census.get(t.pk, {})) for t in below}
    needs = _needs_figures(own_needs, needs_below)

    (amount, projects), invested = _investments(scope, unit, month, below, keys)
    investment = Investment(
        amount=Figure(amount, Source(projects=link)),
        projects=projects,
        per_inhabitant=Figure(
            per_inhabitant(amount, unit.population_2024), Source(census=POPULATION, projects=link)
        ),
    )

    rows = _outputs(scope, unit, month, below, keys)
    totals: dict[str, dict] = {}
    for row in rows:
        total = totals.setdefault(
            row["indicator_id"],
            {
                "indicator": row["indicator_id"],
                "name_fr": row["indicator__name_fr"],
                "name_ar": row["indicator__name_ar"],
                "unit": row["indicator__unit"],
                "target": [],
                "achieved": [],
            },
        )
        total["target"].append(row["s_target"])
        total["achieved"].append(row["s_achieved"])
    outputs = [
        OutputTotal(**{**t, "target": _sum(t["target"]), "achieved": _sum(t["achieved"])})
        for _code, t in sorted(totals.items())
    ]
    targeted = _vsb_sum(rows, TARGETED, "s_target")
    slum = needs.slum_households
    vsb = VsbCoverage(
        targeted_households=Figure(targeted, Source(projects=vsb_link)),
        treated_households=Figure(_vsb_sum(rows, TREATED, "s_achieved"), Source(projects=vsb_link)),
        coverage=Figure(
            measures.rate(targeted, None if slum.value is None else Decimal(slum.value)),
            Source(census=slum.source.census, projects=vsb_link, units_below=slum.source.units_below),
        ),
    )

    disparity = None
    if unit.level in (Level.COUNTRY, Level.REGION):
        disparity = _disparity(unit, below, invested)
        if regions:
            disparity = replace(
                disparity,
                regions=tuple(
                    _disparity(region, [t for t in below if t.region_code == region.code], invested)
                    for region in regions
                ),
            )

    ranking = _ranking(below, needs_below, invested, rows)
    return Intelligence(
        territory=unit,
        month=month,
        needs=needs,
        investment=investment,
        outputs=outputs,
        outputs_source=Source(projects=link),
        vsb=vsb,
        disparity=disparity,
        ranked_level=below[0].level if below else "",
        ranking=ranking,
    )


def _disparity(
    unit: Territory, provinces: list[Territory], invested: dict[str, tuple[Decimal, int]]
) -> Disparity:
    """The indices of investment per inhabitant across ``provinces`` (those with a population), each
    value exact (INV / population as a fraction) and weighted by the population."""
    compared = [t for t in provinces if t.population_2024]
    values = [Fraction(invested.get(t.code, (ZERO, 0))[0]) / t.population_2024 for t in compared]
    weights = [t.population_2024 for t in compared]
    return Disparity(
        territory=unit,
        units=len(compared),
        gini=measures.gini(values, weights),
        theil=measures.theil(values, weights),
        coefficient_of_variation=measures.coefficient_of_variation(values, weights),
        source=Source(census=POPULATION, projects=ProjectsLink(_territory_params(unit))),
    )


def _ranking(
    below: list[Territory],
    needs: dict[str, dict[str, int | None]],
    invested: dict[str, tuple[Decimal, int]],
    rows: list[dict],
) -> list[Priority]:
    by_unit: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if row["unit_code"]:
            by_unit[row["unit_code"]].append(row)
    entries = []
    for territory in below:
        slum = needs[territory.code]["slum_households"]
        deficit = needs[territory.code]["housing_deficit"]
        need = (slum or 0) + (deficit or 0)
        targeted = _vsb_sum(by_unit.get(territory.code, []), TARGETED, "s_target")
        amount = invested.get(territory.code, (Decimal(0), 0))[0]
        link = ProjectsLink(_territory_params(territory))
        entries.append(
            {
                "territory": territory,
                "slum_households": slum,
                "housing_deficit": deficit,
                "need": need,
                "vsb_targeted": targeted,
                "coverage": measures.rate(targeted, Decimal(need)),
                "uncovered_need": max(Decimal(need) - targeted, Decimal(0)),
                "investment": amount,
                "investment_per_inhabitant": per_inhabitant(amount, territory.population_2024),
                "projects": link,
                "vsb_projects": link.with_programme(VSB),
            }
        )
    entries.sort(
        key=lambda e: (
            -e["uncovered_need"],
            e["investment_per_inhabitant"] if e["investment_per_inhabitant"] is not None else Decimal(0),
            e["territory"].code,
        )
    )
    return [Priority(rank=index, **entry) for index, entry in enumerate(entries, start=1)]
