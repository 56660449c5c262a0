"""/api/v1/indicators/map: the value of an engine indicator for every unit of a map layer. Thin: the
values come from ``maps.map_layer`` (itself ``selectors.figures``), scoped to the principal."""

from __future__ import annotations

import datetime
from datetime import date
from decimal import Decimal
from typing import Literal

from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from marsad.accounts.scoping import principal_scope
from marsad.core.errors import Problem, query_invalid
from marsad.registry.schemas import MONTH
from marsad.territories.models import Territory

from . import maps
from .services import local_today

router = Router()


class MapQuery(Schema):
    indicator: str = Field(
        ..., max_length=16, description="INV, INV_HAB, TX_PHYS, TX_ENG, TX_PAI or NB_PROJ (projects)"
    )
    level: Literal["region", "province", "commune", "arrondissement"] = Field(
        "region", description="The layer: every unit of this level"
    )
    parent: str | None = Field(
        None, max_length=20, description="Only the units under this one (an HCP code above the level)"
    )
    month: str | None = Field(None, pattern=MONTH, description="YYYY-MM; the current month by default")


class EngineMapOut(Schema):
    code: str
    name_fr: str
    name_ar: str
    unit: str = Field(description="MAD, MAD_per_person, percent or projects")


class EngineMapCloseOut(Schema):
    month: str
    closed_at: datetime.datetime
    revised: list[str] = Field(description="Units whose live figures differ from the published ones since")


class MapValuesOut(Schema):
    indicator: EngineMapOut
    level: str
    parent: str | None
    month: str
    close: EngineMapCloseOut | None = Field(
        None,
        description="When the month is closed and the layer is the country's regions or provinces read by a "
        "national reader: the values are the published figures, as /indicators/figures gives them",
    )
    values: dict[str, Decimal | int | None] = Field(
        description="HCP code → value: amounts and rates as decimal strings, the project count as an "
        "integer; null where the figure is undefined (a rate without projects, a unit without population)"
    )


def _invalid(name: str, problem: str, message, /, **params) -> Problem:
    detail = _("Un ou plusieurs paramètres sont invalides ; voir errors.")
    return query_invalid(name, problem, message, detail, **params)


@router.get(
    "/indicators/map",
    response=MapValuesOut,
    tags=["indicators"],
    summary="An indicator's value for every unit of a map layer",
    description="What the map colours by: for each region, province, commune or arrondissement (under "
    "`parent` when given), the indicator for the month, from the same figures as /indicators/figures.",
)
def indicator_map(request, filters: Query[MapQuery]):
    indicators = maps.map_indicators()
    found = indicators.get(filters.indicator)
    if found is None:
        raise _invalid(
            "indicator",
            "unknown_indicator",
            _("Indicateur inconnu : %(code)s (attendu : %(known)s)."),
            code=filters.indicator,
            known=", ".join(indicators),
        )
    parent = None
    if filters.parent:
        parent = Territory.objects.filter(code=filters.parent).first()
        if parent is None:
            raise _invalid(
                "parent", "unknown_territory", _("Territoire inconnu : %(code)s"), code=filters.parent
            )
        if not maps.parent_allowed(filters.level, parent):
            raise _invalid(
                "parent",
                "parent_level",
                _("Le territoire %(code)s ne contient pas d'unités de ce niveau."),
                code=filters.parent,
            )
    month = date.fromisoformat(f"{filters.month}-01") if filters.month else local_today().replace(day=1)
    layer = maps.map_layer(
        principal_scope(request.user), indicator=found.code, level=filters.level, month=month, parent=parent
    )
    close = layer.close
    return {
        "indicator": found,
        "level": filters.level,
        "parent": parent.code if parent else None,
        "month": month.isoformat()[:7],
        "close": None
        if close is None
        else {
            "month": close.month.isoformat()[:7],
            "closed_at": close.closed_at,
            "revised": list(layer.revised),
        },
        "values": {row.code: row.value for row in layer.rows},
    }
