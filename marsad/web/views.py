"""Pages that span apps. Views stay thin: reads go through selectors, formatting through core."""

from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from marsad.core.errors import problem
from marsad.territories import selectors
from marsad.territories.census import FIELDS_BY_COLUMN
from marsad.territories.choices import Area
from marsad.territories.models import COUNTRY_CODE, Territory

from .intelligence import intelligence_context
from .mapping import map_context

# The census facts a territory page shows, in this order.
TERRITORY_FACTS = [
    "households_count",
    "households_average_size",
    "households_people_per_room",
    "dwelling_type_basic_or_slum",
    "dwelling_type_moroccan_house",
    "dwelling_type_apartment",
    "dwelling_type_rural",
    "amenities_electricity",
    "amenities_running_water",
    "wastewater_public_sewer",
    "occupancy_owner",
    "occupancy_tenant",
    "households_distance_to_paved_road_km",
    "dwellings_total",
    "dwellings_deficit_rate",
]


@require_GET
def home(request):
    return redirect("web:territory-root")


@require_GET
def territory(request, code: str = COUNTRY_CODE):
    try:
        unit = selectors.territory_get(code)
    except Territory.DoesNotExist:
        raise Http404(code) from None
    language = get_language()
    census = selectors.territory_census(unit)
    areas = [area for area in Area.values if area in census]
    facts = [
        {
            "name": FIELDS_BY_COLUMN[column].name(language),
            "unit": FIELDS_BY_COLUMN[column].unit,
            "values": [getattr(census[area], column) for area in areas],
        }
        for column in TERRITORY_FACTS
    ]
    context = {
        "unit": unit,
        "name": unit.name(language),
        "ancestors": selectors.territory_ancestors(unit),
        "children": selectors.territory_children(unit),
        "areas": [Area(area).label for area in areas],
        "facts": facts,
        "slum_households": selectors.territory_slum_households(census),
        "has_map": selectors.has_map_children(unit),
        **intelligence_context(request, unit),
    }
    return render(request, "web/territory.html", context)


@require_GET
def map_page(request):
    code = request.GET.get("parent") or COUNTRY_CODE
    try:
        parent = selectors.territory_get(code)
    except Territory.DoesNotExist:
        raise Http404(code) from None
    parent = selectors.map_parent(parent)
    language = get_language()
    context = {
        "parent": parent,
        "name": parent.name(language),
        "ancestors": selectors.territory_ancestors(parent),
        **map_context(request, parent, language),
    }
    return render(request, "web/map.html", context)


@require_GET
def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def api_not_found(request):
    return problem(404, "not-found", _("Ressource introuvable"))


def not_found(request, exception=None):
    if _is_api(request):
        return problem(404, "not-found", _("Ressource introuvable"))
    return render(request, "web/error.html", {"status": 404, "title": _("Page introuvable")}, status=404)


def server_error(request):
    if _is_api(request):
        return problem(500, "internal", _("Erreur interne"), _("L'erreur a été enregistrée."))
    return render(request, "web/error.html", {"status": 500, "title": _("Erreur interne")}, status=500)
