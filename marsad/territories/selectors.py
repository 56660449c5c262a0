"""Reads of territories. Descendants are found through the stored delimited path, never a code prefix."""

from decimal import Decimal

from django.db.models import Q, QuerySet

from marsad.core.text import normalize_search

from .census import Indicator, slum_households
from .choices import Area, Level
from .models import COUNTRY_CODE, HouseholdCensus, Territory, TerritoryBoundary

# What the map shows under each level: regions of the country, provinces of a region, communes of a
# province (the prefectures of arrondissements overlap the commune of Casablanca and are left out),
# and the arrondissements of the six cities divided into them.
MAP_CHILD_LEVEL = {
    Level.COUNTRY: Level.REGION,
    Level.REGION: Level.PROVINCE,
    Level.PROVINCE: Level.COMMUNE,
    Level.COMMUNE: Level.ARRONDISSEMENT,
}


def has_map_children(territory: Territory) -> bool:
    if territory.level == Level.COMMUNE:
        return Territory.objects.filter(level=Level.ARRONDISSEMENT, commune_code=territory.code).exists()
    return territory.level in MAP_CHILD_LEVEL


def map_parent(territory: Territory) -> Territory:
    """The unit whose map shows ``territory``: itself if it has a layer below it, else the nearest
    unit above that has one (an arrondissement is shown on its city's map)."""
    if territory.level == Level.ARRONDISSEMENT:
        territory = Territory.objects.get(code=territory.commune_code)
    while not has_map_children(territory):
        territory = territory.parent
    return territory


def map_drillable_codes(parent: Territory, units: list[Territory]) -> set[str]:
    """Codes of the units drawn under ``parent`` that have a map layer of their own below them."""
    if parent.level in (Level.COUNTRY, Level.REGION):
        return {unit.code for unit in units}
    if parent.level == Level.PROVINCE:
        return set(
            Territory.objects.filter(level=Level.ARRONDISSEMENT, province_code=parent.code)
            .values_list("commune_code", flat=True)
            .distinct()
        )
    return set()


def territory_list(
    *,
    level: str | None = None,
    parent: Territory | None = None,
    ancestor: Territory | None = None,
    q: str = "",
) -> QuerySet[Territory]:
    queryset = Territory.objects.select_related("parent").order_by("code")
    if level:
        queryset = queryset.filter(level=level)
    if parent is not None:
        queryset = queryset.filter(parent=parent)
    if ancestor is not None:
        queryset = queryset.filter(path__startswith=ancestor.path).exclude(pk=ancestor.pk)
    if key := normalize_search(q):
        queryset = queryset.filter(search_text__contains=key)
    return queryset


def territory_get(code: str) -> Territory:
    """The territory with this HCP code (``MA`` for the country); raises Territory.DoesNotExist."""
    return Territory.objects.select_related("parent").get(code=code)


def territory_find(code: str) -> Territory | None:
    return Territory.objects.filter(code=code).first()


def country() -> Territory:
    return Territory.objects.get(code=COUNTRY_CODE)


def territory_ancestors(territory: Territory) -> list[Territory]:
    """The chain from the country down to the territory's parent, in one query."""
    if territory.level == Level.COUNTRY:
        return []
    codes = [code for code in territory.path.strip("/").split("/") if code and code != territory.code]
    found = {t.code: t for t in Territory.objects.filter(Q(code__in=codes) | Q(code=COUNTRY_CODE))}
    return [found[COUNTRY_CODE], *(found[code] for code in codes if code in found)]


def territory_children(territory: Territory) -> QuerySet[Territory]:
    """Units directly below: a commune divided into arrondissements lists them even where they are
    grouped under prefectures of arrondissements (Casablanca)."""
    condition = Q(parent=territory)
    if territory.level == Level.COMMUNE:
        condition |= Q(level=Level.ARRONDISSEMENT, commune_code=territory.code)
    return Territory.objects.filter(condition).order_by("level", "code")


def territory_has_boundary(territory: Territory) -> bool:
    return TerritoryBoundary.objects.filter(territory=territory).exists()


def territory_census(territory: Territory) -> dict[str, HouseholdCensus]:
    return {row.area: row for row in HouseholdCensus.objects.filter(territory=territory)}


def territory_slum_households(census: dict[str, HouseholdCensus]) -> int | None:
    urban = census.get(Area.URBAN)
    if urban is None:
        return None
    return slum_households(urban.households_count, urban.dwelling_type_basic_or_slum)


def map_units(parent: Territory) -> QuerySet[Territory]:
    """The units the map draws under ``parent``, with their boundaries (one query)."""
    child_level = MAP_CHILD_LEVEL.get(parent.level)
    if child_level is None:
        return Territory.objects.none()
    below = Q(commune_code=parent.code) if child_level == Level.ARRONDISSEMENT else Q(parent=parent)
    return Territory.objects.filter(below, level=child_level).select_related("boundary").order_by("code")


def indicator_values(territories: list[Territory], indicator: Indicator) -> dict[int, Decimal | int | None]:
    """The indicator's value for each territory (None where it does not apply), in at most one query."""
    ids = [t.pk for t in territories]
    if indicator.source == "territory":
        return {t.pk: getattr(t, indicator.column) for t in territories}
    if indicator.key == "population_change_pct":
        return {
            t.pk: (
                (Decimal(t.population_2024 - t.population_2014) * 100 / t.population_2014).quantize(
                    Decimal("0.01")
                )
                if t.population_2014
                else None
            )
            for t in territories
        }
    if indicator.key == "slum_households":
        rows = HouseholdCensus.objects.filter(territory_id__in=ids, area=Area.URBAN).values_list(
            "territory_id", "households_count", "dwelling_type_basic_or_slum"
        )
        found = {tid: slum_households(count, share) for tid, count, share in rows}
        return {pk: found.get(pk) for pk in ids}
    rows = HouseholdCensus.objects.filter(territory_id__in=ids, area=indicator.area).values_list(
        "territory_id", indicator.column
    )
    found = dict(rows)
    return {pk: found.get(pk) for pk in ids}
