"""The one NinjaAPI of the platform, at /api/v1/ (OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs)."""

from ninja import NinjaAPI
from ninja.renderers import JSONRenderer

from marsad.accounts import api as accounts_api
from marsad.alerts import api as alerts_api
from marsad.core.api_errors import install_problem_handlers
from marsad.exchange import api as exchange_api
from marsad.exchange import exports_api
from marsad.indicators import api as indicators_api
from marsad.indicators import intelligence_api
from marsad.indicators import map_api as indicators_map_api
from marsad.indicators import targets_api as indicators_targets_api
from marsad.registry import api as registry_api
from marsad.territories.api import router as territories_router


class Utf8JSONRenderer(JSONRenderer):
    """Arabic and French as they are, not as \\u escapes."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=Utf8JSONRenderer(),
    title="Marsad API",
    version="1",
    description=(
        "Marsad (مرصد), the observatory of housing and territorial-development projects. Territories and "
        "census figures: HCP, RGPH 2024 and 2014 (CC BY 4.0). Every error is an RFC 9457 problem "
        "(application/problem+json)."
    ),
    urls_namespace="api-v1",
)
install_problem_handlers(api)
api.add_router("/", territories_router)
api.add_router("/", registry_api.router)
api.add_router("/", accounts_api.router)
api.add_router("/", indicators_api.router)
api.add_router("/", indicators_map_api.router)
api.add_router("/", alerts_api.router)
api.add_router("/", indicators_targets_api.router)
api.add_router("/", intelligence_api.router)
api.add_router("/", exchange_api.router)
api.add_router("/", exports_api.router)
# Descriptions of the tags the routers use (how each resource is scoped), shown by the docs.
api.openapi_extra.setdefault("tags", []).extend(
    [
        *registry_api.TAGS,
        accounts_api.TAG,
        indicators_api.TAG,
        alerts_api.TAG,
        exchange_api.TAG,
        exports_api.TAG,
    ]
)
