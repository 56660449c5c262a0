"""The engine's figures on the map (DESIGN §7, §9): one value per territory of a layer, for a month.

A layer is every unit of a level (region, province, commune or arrondissement), or those under a
parent unit. Each value comes from ``selectors.figures`` grouped by that level for the month, within
the reader's scope; a unit without projects counts 0 projects and 0 MAD, and has no rate (None,
never 0). INV_HAB divides INV by the unit's 2024 population.

The facts name a project's primary commune, which in the six cities divided into arrondissements may
be an arrondissement: on the commune layer an arrondissement's figures count towards its commune
(see ``groups.combined``: sums and the rates over the budget are exact; TX_PHYS is left undefined for
a commune made of several groups, and is shown per arrondissement on the city's own layer).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from marsad.accounts.scoping import Scope
from marsad.registry.choices import IndicatorUnit
from marsad.registry.models import Indicator
from marsad.territories.choices import Level
from marsad.territories.models import Territory

from . import history, selectors
from .groups import combined
from .intelligence import per_inhabitant  # INV_HAB: one calculation, the territory pages' and the map's
from .models import MonthClose
from .selectors import FigureFilters, Figures

PROJECT_COUNT = "NB_PROJ"
# The catalogue's codes the map offers, in the order of its list; the project count is not in the
# catalogue (it is a count, not an indicator with a formula) and is named here.
CATALOGUE_CODES = ("INV", "INV_HAB", "TX_PHYS", "TX_ENG", "TX_PAI")
CODES = (*CATALOGUE_CODES, PROJECT_COUNT)
PROJECTS_UNIT = "projects"
UNIT_LABELS = {PROJECTS_UNIT: _("projets"), **{unit.value: unit.label for unit in IndicatorUnit}}

LEVELS = (Level.REGION, Level.PROVINCE, Level.COMMUNE, Level.ARRONDISSEMENT)
# The dimension of ``selectors.figures`` each layer reads (arrondissements are communes in the facts).
DIMENSION = {
    Level.REGION: "region",
    Level.PROVINCE: "province",
    Level.COMMUNE: "commune",
    Level.ARRONDISSEMENT: "commune",
}
# The units a layer may be restricted to, and the stored code of theirs each unit of the layer holds.
PARENT_COLUMN = {
    Level.REGION: {Level.COUNTRY: None},
    Level.PROVINCE: {Level.COUNTRY: None, Level.REGION: "region_code"},
    Level.COMMUNE: {Level.COUNTRY: None, Level.REGION: "region_code", Level.PROVINCE: "province_code"},
    Level.ARRONDISSEMENT: {
        Level.COUNTRY: None,
        Level.REGION: "region_code",
        Level.PROVINCE: "province_code",
        Level.COMMUNE: "commune_code",
    },
}


@dataclass(frozen=True)
class MapIndicator:
    code: str
    name_fr: str
    name_ar: str
    unit: str

    def name(self, language: str | None) -> str:
        return self.name_ar if (language or "").startswith("ar") else self.name_fr

    @property
    def unit_label(self) -> str:
        return str(UNIT_LABELS.get(self.unit, self.unit))


def map_indicators() -> dict[str, MapIndicator]:
    """The indicators the map colours by, by code, with the catalogue's names and units (one query)."""
    found = {
        row.code: MapIndicator(row.code, row.name_fr, row.name_ar, row.unit)
        for row in Indicator.objects.filter(code__in=CATALOGUE_CODES).only(
            "code", "name_fr", "name_ar", "unit"
        )
    }
    found[PROJECT_COUNT] = MapIndicator(PROJECT_COUNT, "Nombre de projets", "عدد المشاريع", PROJECTS_UNIT)
    return {code: found[code] for code in CODES if code in found}


def value_of(code: str, figures: Figures | None, population: int | None) -> Decimal | int | None:
    """The value of indicator ``code`` for a unit from its figures (None: no project in scope)."""
    if code == PROJECT_COUNT:
        return figures.projects if figures else 0
    budget = figures.budget if figures else Decimal("0.00")
    if code == "INV":
        return budget
    if code == "INV_HAB":
        return per_inhabitant(budget, population)
    if figures is None:
        return None
    return {"TX_PHYS": figures.tx_phys, "TX_ENG": figures.tx_eng, "TX_PAI": figures.tx_pai}[code]


def parent_allowed(level: str, parent: Territory) -> bool:
    return parent.level in PARENT_COLUMN[level]


@dataclass(frozen=True)
class MapRow:
    code: str
    name_fr: str
    name_ar: str
    population: int
    value: Decimal | int | None
    projects: int

    def name(self, language: str | None) -> str:
        return self.name_ar if (language or "").startswith("ar") else self.name_fr


@dataclass(frozen=True)
class Layer:
    """The units of a map layer with their values; for a closed month read nationally (the regions or
    the provinces of the country), the values are the published figures of the close (``close``), and
    ``revised`` names the units whose live figures differ since."""

    rows: list[MapRow]
    close: MonthClose | None = None
    revised: tuple[str, ...] = ()


def map_layer(
    scope: Scope, *, indicator: str, level: str, month: date, parent: Territory | None = None
) -> Layer:
    """Every unit of ``level`` (under ``parent`` when given) with the value of ``indicator`` for
    ``month`` (its first day), sorted by code."""
    if indicator not in CODES:
        raise ValueError(f"unknown map indicator: {indicator}")
    if level not in DIMENSION:
        raise ValueError(f"unknown map level: {level}")
    units = Territory.objects.filter(level=level).order_by("code")
    filters = FigureFilters()
    if parent is not None:
        if not parent_allowed(level, parent):
            raise ValueError(f"a {parent.level} does not hold units of level {level}")
        column = PARENT_COLUMN[level][parent.level]
        if column is not None:
            units = units.filter(**{column: parent.code})
        if parent.level == Level.REGION:
            filters = FigureFilters(region=parent.code)
        elif parent.level in (Level.PROVINCE, Level.COMMUNE):
            filters = FigureFilters(province=parent.province_code or parent.code)
    rows = list(units.values_list("code", "name_fr", "name_ar", "population_2024"))
    close, revised = None, ()
    published = _published(scope, level, month, parent)
    if published is None:
        groups = selectors.figures(scope, by=DIMENSION[level], month=month, filters=filters)
    else:
        groups, close, revised = published
    by_unit = _by_unit(level, {row[0] for row in rows}, groups)
    found = []
    for code, name_fr, name_ar, population in rows:
        figures = by_unit.get(code)
        found.append(
            MapRow(
                code=code,
                name_fr=name_fr,
                name_ar=name_ar,
                population=population,
                value=value_of(indicator, figures, population),
                projects=figures.projects if figures else 0,
            )
        )
    return Layer(rows=found, close=close, revised=revised)


def _published(
    scope: Scope, level: str, month: date, parent: Territory | None
) -> tuple[list[Figures], MonthClose, tuple[str, ...]] | None:
    """The published figures of a closed month, as /indicators/figures gives them to a national reader
    (by region or province, unfiltered), its close and the groups revised since; None when they do not
    apply (another reader, a layer under a parent, a month not closed)."""
    whole_country = parent is None or parent.level == Level.COUNTRY
    if not (scope.is_national and whole_country and level in (Level.REGION, Level.PROVINCE)):
        return None
    found = history.published(month, by=DIMENSION[level])
    if found is None:
        return None
    revised = sorted(
        (row.published or row.revision).key for row in found.rows if row.revision is not None or row.withdrawn
    )
    frozen = [row.published for row in found.rows if row.published is not None]
    return frozen, found.close, tuple(revised)


def _by_unit(level: str, codes: set[str], groups: list[Figures]) -> dict[str, Figures]:
    """The figures of each unit of the layer; on the commune layer, arrondissements count towards
    their commune."""
    if level != Level.COMMUNE:
        return {group.key: group for group in groups if group.key in codes}
    outside = [group.key for group in groups if group.key not in codes]
    communes = (
        dict(
            Territory.objects.filter(level=Level.ARRONDISSEMENT, code__in=outside).values_list(
                "code", "commune_code"
            )
        )
        if outside
        else {}
    )
    parts: dict[str, list[Figures]] = defaultdict(list)
    for group in groups:
        unit = group.key if group.key in codes else communes.get(group.key)
        if unit in codes:
            parts[unit].append(group)
    return {unit: combined(unit, found) for unit, found in parts.items()}
