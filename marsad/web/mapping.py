"""What the map page colours by: the census figures of the territories (HCP, RGPH 2024) or the indicator
engine's figures of the projects (INV, INV_HAB, TX_PHYS, TX_ENG, TX_PAI, project count) for a month.

The choice is a GET form; the page states the indicator, its unit and its month in a legend, and for
an engine indicator lists every unit's value in a table (the same values the map draws, read from
/api/v1/indicators/map), so that the figures read without JavaScript.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.utils.translation import gettext_lazy as _

from marsad.accounts.scoping import principal_scope
from marsad.core import formatting
from marsad.indicators import maps
from marsad.indicators.panels import chosen_month
from marsad.indicators.services import local_today
from marsad.territories.census import DEFAULT_INDICATOR, INDICATORS
from marsad.territories.models import Territory
from marsad.territories.selectors import MAP_CHILD_LEVEL

# The units of the census figures, as the legend names them.
CENSUS_UNITS = {
    "people": _("personnes"),
    "households": _("ménages"),
    "people_per_household": _("personnes par ménage"),
    "people_per_room": _("personnes par pièce"),
    "percent": _("%"),
    "km": _("km"),
    "dwellings": _("logements"),
}
VALUES_URL = "/api/v1/indicators/map"


def shown(value, unit: str, language: str) -> str:
    """An engine figure as the page writes it, in its unit."""
    if value is None:
        return "—"
    if unit == "MAD":
        return formatting.format_mad(value, language)
    if unit == "percent":
        return formatting.format_percent(value, language, 2)
    if unit == "MAD_per_person":
        return f"{formatting.format_number(value, language, 2)}{formatting.NBSP}{maps.UNIT_LABELS[unit]}"
    return formatting.format_number(value, language)


def map_context(request, parent: Territory, language: str) -> dict:
    """The indicator lists, the chosen indicator with its legend, and for an engine indicator its
    month, the address of its values and the values of the layer's units."""
    engine = maps.map_indicators()
    key = request.GET.get("indicator") or DEFAULT_INDICATOR
    unknown = key not in INDICATORS and key not in engine
    if unknown:
        key = DEFAULT_INDICATOR
    current = local_today().replace(day=1)
    month, month_error = chosen_month(request.GET.get("month"), current=current)
    context = {
        "census_indicators": [(code, indicator.name(language)) for code, indicator in INDICATORS.items()],
        "engine_indicators": [(code, indicator.name(language)) for code, indicator in engine.items()],
        "indicator_key": key,
        "unknown_indicator": unknown,
        "month_value": month.isoformat()[:7],
        "current_value": current.isoformat()[:7],
        "month_label": formatting.format_month(month, language),
        "month_error": None,
        "engine": None,
        "values_url": "",
        "rows": [],
        "close": None,
        "revised": (),
    }
    chosen = engine.get(key)
    if chosen is None:
        census = INDICATORS[key]
        context.update(
            {
                "indicator_name": census.name(language),
                "unit_label": str(CENSUS_UNITS.get(census.unit, census.unit)),
            }
        )
        return context
    level = str(MAP_CHILD_LEVEL[parent.level])
    layer = maps.map_layer(
        principal_scope(request.user), indicator=chosen.code, level=level, month=month, parent=parent
    )
    query = {"indicator": chosen.code, "level": level, "month": context["month_value"]}
    if parent.level != "country":
        query["parent"] = parent.code
    context.update(
        {
            "engine": chosen,
            "indicator_name": chosen.name(language),
            "unit_label": chosen.unit_label,
            "month_error": month_error,
            "values_url": f"{VALUES_URL}?{urlencode(query)}",
            "rows": [
                {
                    "code": row.code,
                    "name": row.name(language),
                    "value": shown(row.value, chosen.unit, language),
                }
                for row in layer.rows
            ],
            "close": layer.close,
            "revised": layer.revised,
            "revised_codes": ", ".join(layer.revised),
        }
    )
    return context
