"""/api/v1/territories: list, detail with census figures, and GeoJSON of a territory's children."""

import json

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router
from ninja.pagination import paginate

from marsad.core.errors import Problem, query_invalid
from marsad.core.pagination import PagePagination

from . import selectors
from .census import COLUMNS, DEFAULT_INDICATOR, INDICATORS, find_indicator
from .choices import Area
from .models import Territory
from .schemas import FeatureCollectionOut, MapIndicatorOut, TerritoryDetailOut, TerritoryFilters, TerritoryOut

router = Router(tags=["territories"])


def _unknown_filter(name: str, code: str) -> Problem:
    detail = _("Aucun territoire ne porte le code indiqué.")
    return query_invalid(name, "unknown_territory", _("Territoire inconnu : %(code)s"), detail, code=code)


def _territory_or_404(code: str) -> Territory:
    try:
        return selectors.territory_get(code)
    except Territory.DoesNotExist:
        raise Problem(
            404, "not-found", _("Territoire introuvable"), _("Aucun territoire ne porte ce code HCP.")
        ) from None


@router.get("/territories", response=list[TerritoryOut], summary="List territories")
@paginate(PagePagination)
def list_territories(request, filters: Query[TerritoryFilters]):
    parent = ancestor = None
    if filters.parent and (parent := selectors.territory_find(filters.parent)) is None:
        raise _unknown_filter("parent", filters.parent)
    if filters.ancestor and (ancestor := selectors.territory_find(filters.ancestor)) is None:
        raise _unknown_filter("ancestor", filters.ancestor)
    return selectors.territory_list(level=filters.level, parent=parent, ancestor=ancestor, q=filters.q or "")


@router.get("/territories/indicators", response=list[MapIndicatorOut], summary="Indicators the map can show")
def list_indicators(request):
    return list(INDICATORS.values())


@router.get(
    "/territories/geojson",
    response={200: FeatureCollectionOut},
    openapi_extra={
        "responses": {
            200: {
                "content": {
                    "application/geo+json": {"schema": {"$ref": "#/components/schemas/FeatureCollectionOut"}}
                }
            }
        }
    },
    summary="GeoJSON of a territory's children (all regions by default) with an indicator",
    description="`indicator` is a key of /territories/indicators or any census column as "
    "`<column>.<total|urban|rural>`. Properties carry the value (null where it does not apply).",
)
def children_geojson(request, parent: str = "MA", indicator: str = DEFAULT_INDICATOR):
    found = find_indicator(indicator)
    if found is None:
        raise query_invalid(
            "indicator",
            "unknown_indicator",
            _("Indicateur inconnu : %(code)s"),
            _("Indicateur inconnu ; voir /api/v1/territories/indicators."),
            code=indicator[:80],
        )
    territory = selectors.territory_find(parent)
    if territory is None:
        raise _unknown_filter("parent", parent[:20])
    units = list(selectors.map_units(territory))
    values = selectors.indicator_values(units, found)
    drillable = selectors.map_drillable_codes(territory, units)
    features = []
    for unit in units:
        boundary = getattr(unit, "boundary", None)
        value = values.get(unit.pk)
        features.append(
            {
                "type": "Feature",
                "id": unit.code,
                "geometry": boundary.geometry if boundary else None,
                "properties": {
                    "code": unit.code,
                    "level": unit.level,
                    "name_fr": unit.name_fr,
                    "name_ar": unit.name_ar,
                    "value": None if value is None else float(value),
                    # whether the map has a layer below this unit (click to drill down)
                    "drill": unit.code in drillable,
                },
            }
        )
    body = {
        "type": "FeatureCollection",
        "indicator": {
            "key": found.key,
            "name_fr": found.name_fr,
            "name_ar": found.name_ar,
            "unit": found.unit,
        },
        "parent": {
            "code": territory.code,
            "level": territory.level,
            "name_fr": territory.name_fr,
            "name_ar": territory.name_ar,
        },
        "features": features,
    }
    return HttpResponse(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")), content_type="application/geo+json"
    )


@router.get("/territories/{code}", response=TerritoryDetailOut, summary="A territory with its census figures")
def territory_detail(request, code: str):
    territory = _territory_or_404(code)
    census = selectors.territory_census(territory)
    territory.detail = {
        "ancestors": selectors.territory_ancestors(territory),
        "census": {
            area: ({column: getattr(census[area], column) for column in COLUMNS} if area in census else None)
            for area in Area.values
        },
        "slum_households": selectors.territory_slum_households(census),
        "has_boundary": selectors.territory_has_boundary(territory),
    }
    return territory
