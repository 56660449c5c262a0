"""The "needs against investment" section of a territory page: the territorial intelligence of the
indicator engine for the current month, as the reader may see it, with its labels in the page's
language. The figures themselves come from ``marsad.indicators.intelligence`` only."""

from django.utils.translation import gettext_lazy as _

from marsad.accounts.scoping import principal_scope
from marsad.core import formatting
from marsad.indicators.intelligence import DISPARITY_RULE, NEEDS_RULE, RANKING_FORMULA, intelligence
from marsad.indicators.services import local_today
from marsad.territories.census import find_indicator
from marsad.territories.models import Territory

NEED_LABELS = {
    "slum_households": _("Ménages en bidonville ou habitat sommaire (urbain)"),
    "housing_deficit": _("Déficit en logements (urbain)"),
    "without_electricity": _("Ménages sans électricité"),
    "without_running_water": _("Ménages sans eau courante"),
    "without_public_sewer": _("Ménages non raccordés au réseau public d'assainissement"),
}


def census_label(key: str, language: str) -> str:
    """A census field key (``households_count.urban``, ``population_2024``) as its name."""
    found = find_indicator(key)
    return found.name(language) if found else key


def intelligence_context(request, unit: Territory) -> dict:
    """What the section template needs: the figures and the labels of their census sources."""
    language = formatting.page_language()
    found = intelligence(principal_scope(request.user), unit, local_today())
    needs = [
        {
            "label": label,
            "figure": getattr(found.needs, name),
            "sources": [census_label(key, language) for key in getattr(found.needs, name).source.census],
        }
        for name, label in NEED_LABELS.items()
    ]
    return {
        "intelligence": found,
        "intelligence_month": formatting.format_month(found.month, language),
        "intelligence_needs": needs,
        "intelligence_rules": {
            "needs": NEEDS_RULE,
            "ranking": RANKING_FORMULA,
            "disparity": DISPARITY_RULE,
        },
    }
