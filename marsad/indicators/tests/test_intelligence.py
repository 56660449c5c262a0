"""Territorial intelligence: needs from the census against investment, outputs and VSB coverage, the
disparity indices and the priority ranking, in the selector, the API and the territory page.

The world: region 11 (Laâyoune-Sakia El Hamra) and its four provinces, with hand-set populations and
census rows, and six projects in September 2026 (five in region 11, one in Dakhla, region 12):

| project  | commune (province)              | programme | budget (MAD) | outputs (target/achieved)   |
|----------|---------------------------------|-----------|--------------|-----------------------------|
| BJD-VSB  | 11.121.01.01 Boujdour (11.121)  | VSB       | 20,000,000   | MEN_CIB 400/400 MEN_TRT 400/150 |
| LAA-VSB  | 11.321.01.03 Laâyoune (11.321)  | VSB       | 49,100,000   | MEN_CIB 600/600 MEN_TRT 600/200 |
| MRS-PU   | 11.321.01.01 El Marsa (11.321)  | PU        | 30,000,000   | SUP 100/40, MEN_CIB 50/50   |
| DCH-PRD  | 11.321.03.03 Dcheira (11.321)   | PRDTS     | 900,000      | none                        |
| SEM-MANU | 11.221.01.01 Es-Semara (11.221) | MANU      | 10,000,000   | SUP 10/5; the one published |
| DKH-PU   | 12.391.01.01 Dakhla (12.391)    | PU        | 10,000,000   | SUP 275/40                  |

The page's tests (the same world) are in ``marsad/web/tests/test_intelligence_page.py``.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from marsad.accounts.choices import Role
from marsad.accounts.scoping import PUBLIC, Scope
from marsad.accounts.services import membership_grant, user_create
from marsad.indicators.intelligence import (
    OutputTotal,
    ProjectsLink,
    intelligence,
    per_inhabitant,
)
from marsad.indicators.services import facts_refresh, local_today
from marsad.indicators.tests.support import SYSTEM, apply
from marsad.registry.models import Project
from marsad.registry.services import projects_publish
from marsad.registry.tests.records import ADMIN_SCOPE, record
from marsad.registry.tests.test_api import assert_problem
from marsad.territories.choices import Area, Level
from marsad.territories.models import HouseholdCensus, Territory

pytestmark = pytest.mark.dbsensitive  # sums of decimals in SQL
SEPTEMBER = date(2026, 9, 1)
DAKHLA_OFFICER = Scope(roles=frozenset({Role.TERRITORIAL_OFFICER}), territory_paths=("/12/",), label="wali")
LAAYOUNE_OFFICER = Scope(roles=frozenset({Role.TERRITORIAL_OFFICER}), territory_paths=("/11/",), label="wali")

POPULATION = {
    "11": 1_000_000,
    "11.121": 100_000,
    "11.221": 200_000,
    "11.321": 500_000,
    "11.537": 200_000,
    "11.321.01.03": 400_000,
    "11.321.01.01": 50_000,
    "11.321.03.03": 1_000,
}
# code: urban (households, slum share %, dwellings, deficit rate %), total (households, electricity %,
# running water %, public sewer %); None leaves the row out.
CENSUS = {
    "11": (None, (140_000, "97.00", "95.00", "80.00")),
    "11.121": ((10_000, "5.00", 12_000, "2.50"), (15_000, "96.00", "90.00", "70.00")),
    "11.221": ((20_000, "2.50", 25_000, "4.00"), (30_000, "99.50", "95.00", "80.00")),
    "11.321": ((80_000, "1.25", 90_000, "3.00"), (90_000, "98.00", "97.50", "90.00")),
    "11.537": ((4_100, "0.50", None, None), (5_000, "90.00", "80.00", "50.00")),
    "11.321.01.03": ((60_000, "1.50", 70_000, "3.00"), (60_000, "99.00", "99.00", "95.00")),
    "11.321.01.01": ((10_000, "1.00", 12_000, "5.00"), (10_000, "99.00", "99.00", "95.00")),
    "11.321.03.01": (None, (300, "90.00", "50.00", "0.00")),
    "11.321.03.03": (None, (200, "90.00", "50.00", "0.00")),
    "11.321.03.05": (None, (400, "90.00", "50.00", "0.00")),
}
LAAYOUNE_OPERATOR = "MA-ALOMRANE-LSH"


def _out(target: str, achieved: str) -> dict:
    return {"target": target, "achieved": achieved}


def _project(ref: str, commune: str, programme: str, budget: str, outputs: dict, **more) -> dict:
    return record(
        operator=more.pop("operator", LAAYOUNE_OPERATOR), operator_ref=ref, programme=programme,
        communes={commune: {"primary": True, "share": None}}, location=None, budget=budget, financing={},
        outputs=outputs, progress="20.00", committed="0.00", paid="0.00", as_of="2026-09-20", **more,
    )  # fmt: skip


def _set_census() -> None:
    for code, population in POPULATION.items():
        Territory.objects.filter(code=code).update(population_2024=population)
    for code, (urban, total) in CENSUS.items():
        territory = Territory.objects.get(code=code)
        if urban is None:
            HouseholdCensus.objects.filter(territory=territory, area=Area.URBAN).delete()
        else:
            households, slum, dwellings, deficit = urban
            HouseholdCensus.objects.update_or_create(
                territory=territory, area=Area.URBAN,
                defaults={"households_count": households, "dwelling_type_basic_or_slum": Decimal(slum),
                          "dwellings_total": dwellings,
                          "dwellings_deficit_rate": None if deficit is None else Decimal(deficit)},
            )  # fmt: skip
        households, electricity, water, sewer = total
        HouseholdCensus.objects.update_or_create(
            territory=territory, area=Area.TOTAL,
            defaults={"households_count": households, "amenities_electricity": Decimal(electricity),
                      "amenities_running_water": Decimal(water), "wastewater_public_sewer": Decimal(sewer)},
        )  # fmt: skip


def build_world() -> list[int]:
    """The census rows and the six projects of the table above, with their facts; the ids written."""
    _set_census()
    ids = apply(
        [
            _project("BJD-VSB", "11.121.01.01", "VSB", "20000000.00",
                     {"MEN_CIB": _out("400", "400"), "MEN_TRT": _out("400", "150")}),
            _project("LAA-VSB", "11.321.01.03", "VSB", "49100000.00",
                     {"MEN_CIB": _out("600", "600"), "MEN_TRT": _out("600", "200")}),
            _project("MRS-PU", "11.321.01.01", "PU", "30000000.00",
                     {"SUP": _out("100", "40"), "MEN_CIB": _out("50", "50")}),
            _project("DCH-PRD", "11.321.03.03", "PRDTS", "900000.00", {}),
            _project("SEM-MANU", "11.221.01.01", "MANU", "10000000.00", {"SUP": _out("10", "5")}),
            _project("DKH-PU", "12.391.01.01", "PU", "10000000.00", {"SUP": _out("275", "40")},
                     operator="MA-ALOMRANE-DOE"),
        ]
    )  # fmt: skip
    facts_refresh(ids, today=local_today())  # the facts run from September to the current month
    projects_publish(actor=SYSTEM, projects=Project.objects.filter(operator_ref="SEM-MANU"))
    return ids


@pytest.fixture
def world(db):
    return build_world()


# --- Needs --------------------------------------------------------------------------------------------------


def test_needs_of_a_region_without_its_own_urban_row(world):
    found = intelligence(ADMIN_SCOPE, "11", SEPTEMBER)
    needs = found.needs
    # No urban row for the region: the sums over its four provinces.
    # Slum: 10,000 × 5 % = 500; 20,000 × 2.5 % = 500; 80,000 × 1.25 % = 1,000; 4,100 × 0.5 % = 20.5 → 21.
    assert needs.slum_households.value == 2021
    assert needs.slum_households.source.units_below == 4
    assert needs.slum_households.source.census == (
        "households_count.urban",
        "dwelling_type_basic_or_slum.urban",
    )
    # Deficit: 12,000 × 2.5 % = 300; 25,000 × 4 % = 1,000; 90,000 × 3 % = 2,700; Tarfaya: none.
    assert (needs.housing_deficit.value, needs.housing_deficit.source.units_below) == (4000, 3)
    assert needs.housing_deficit.source.census == ("dwellings_total.urban", "dwellings_deficit_rate.urban")
    # The region's own total row: 140,000 × 3 %, × 5 %, × 20 %.
    assert [
        (f.value, f.source.units_below, f.source.census[1])
        for f in (needs.without_electricity, needs.without_running_water, needs.without_public_sewer)
    ] == [
        (4200, 0, "amenities_electricity.total"),
        (7000, 0, "amenities_running_water.total"),
        (28000, 0, "wastewater_public_sewer.total"),
    ]
    assert {f.source.projects for f in (needs.slum_households, needs.without_electricity)} == {None}


def test_needs_of_a_province_from_its_own_rows_and_not_applicable_elsewhere(world):
    needs = intelligence(ADMIN_SCOPE, "11.321", SEPTEMBER).needs
    assert [getattr(needs, name).value for name in (
        "slum_households", "housing_deficit", "without_electricity", "without_running_water",
        "without_public_sewer",
    )] == [1000, 2700, 1800, 2250, 9000]  # fmt: skip
    assert needs.slum_households.source.units_below == 0
    rural = intelligence(ADMIN_SCOPE, "11.321.03.01", SEPTEMBER).needs  # no urban area, nothing below
    assert (rural.slum_households.value, rural.housing_deficit.value) == (None, None)
    assert rural.without_running_water.value == 150  # 300 × 50 %


# --- Investment, outputs, VSB coverage ----------------------------------------------------------------------


def test_investment_outputs_and_vsb_coverage_of_a_region(world):
    found = intelligence(ADMIN_SCOPE, "11", SEPTEMBER)
    # 20,000,000 + 49,100,000 + 30,000,000 + 900,000 + 10,000,000 = 110,000,000 for 1,000,000 people.
    assert (found.investment.amount.value, found.investment.projects) == (Decimal("110000000.00"), 5)
    assert found.investment.per_inhabitant.value == Decimal("110.00")
    assert found.investment.per_inhabitant.source.census == ("population_2024",)
    hh = "households"
    assert found.outputs == [
        OutputTotal("MEN_CIB", "Ménages concernés", "الأسر المعنية", hh, Decimal(1050), Decimal(1050)),
        OutputTotal("MEN_TRT", "Ménages traités", "الأسر المستفيدة", hh, Decimal(1000), Decimal(350)),
        OutputTotal("SUP", "Superficie aménagée", "المساحة المهيأة", "ha", Decimal(110), Decimal(45)),
    ]  # fmt: skip
    # VSB only: 400 + 600 targeted (not El Marsa's 50, a PU project), 150 + 200 treated; 1,000 / 2,021.
    assert found.vsb.targeted_households.value == Decimal("1000")
    assert found.vsb.treated_households.value == Decimal("350")
    assert found.vsb.coverage.value == Decimal("49.48")
    assert found.vsb.coverage.source.units_below == 4
    with translation.override("fr"):
        link = found.investment.amount.source.projects
        assert (link.api_url, link.page_url) == (
            "/api/v1/projects?region=11&withdrawn=false",
            "/fr/projets/?region=11",
        )
        vsb = found.vsb.coverage.source.projects
        assert vsb.api_url == "/api/v1/projects?region=11&programme=VSB&withdrawn=false"
        assert vsb.page_url == "/fr/projets/?region=11&programme=VSB"
    with translation.override("ar"):
        assert found.outputs_source.projects.page_url == "/ar/projets/?region=11"


def test_a_commune_its_figures_and_no_ranking(world):
    found = intelligence(ADMIN_SCOPE, "11.321.01.03", SEPTEMBER)
    assert found.needs.slum_households.value == 900  # 60,000 × 1.5 %
    assert found.investment.amount.value == Decimal("49100000.00")
    assert found.investment.per_inhabitant.value == Decimal("122.75")  # 49,100,000 / 400,000
    assert found.vsb.coverage.value == Decimal("66.67")  # 600 / 900
    assert [o.indicator for o in found.outputs] == ["MEN_CIB", "MEN_TRT"]
    assert (found.disparity, found.ranking, found.ranked_level) == (None, [], "")
    assert found.investment.amount.source.projects == ProjectsLink((("commune", "11.321.01.03"),))


def test_a_city_counts_its_arrondissements(db):
    ids = apply(
        [
            _project("CASA-1", "06.141.01.53", "VSB", "1000000.00", {"MEN_CIB": _out("10", "0")},
                     operator="MA-ALOMRANE-CS"),
            _project("CASA-2", "06.141.01.0", "MANU", "2000000.00", {}, operator="MA-ALOMRANE-CS"),
        ]
    )  # fmt: skip
    facts_refresh(ids, today=local_today())
    city = intelligence(ADMIN_SCOPE, "06.141.01.0", SEPTEMBER)
    assert (city.investment.amount.value, city.investment.projects) == (Decimal("3000000.00"), 2)
    assert city.ranked_level == Level.ARRONDISSEMENT
    ranked = {row.territory.code: (row.investment, row.vsb_targeted) for row in city.ranking}
    assert ranked["06.141.01.53"] == (Decimal("1000000.00"), Decimal("10"))
    assert sum(amount for amount, _ in ranked.values()) == Decimal(
        "1000000.00"
    )  # the city's own project aside
    prefecture = Territory.objects.get(code="06.141.01.53").parent
    assert prefecture.level == Level.PREFECTURE_OF_ARRONDISSEMENTS
    assert intelligence(ADMIN_SCOPE, prefecture.code, SEPTEMBER).investment.amount.value == Decimal(
        "1000000.00"
    )
    assert intelligence(ADMIN_SCOPE, "06.141.01.53", SEPTEMBER).vsb.targeted_households.value == Decimal("10")
    assert intelligence(ADMIN_SCOPE, "06.141", SEPTEMBER).investment.amount.value == Decimal("3000000.00")


def test_investment_per_inhabitant_rounds_half_up():
    assert per_inhabitant(Decimal("1.00"), 8) == Decimal("0.13")  # 0.125
    assert per_inhabitant(Decimal("2.00"), 3) == Decimal("0.67")
    assert per_inhabitant(Decimal("5.00"), 0) is None


# --- Disparity and ranking ----------------------------------------------------------------------------------


def test_disparity_across_the_provinces_of_a_region(world):
    disparity = intelligence(ADMIN_SCOPE, "11", SEPTEMBER).disparity
    # Investment per inhabitant x and population w (in 100,000s): Boujdour 200 (1), Es-Semara 50 (2),
    # Laâyoune 80,000,000 / 500,000 = 160 (5), Tarfaya 0 (2); W = 10, mean μ = 1,100 / 10 = 110.
    # Gini = Σi Σj wi wj |xi − xj| / (2 W² μ) = 2 × (2×150 + 5×40 + 2×200 + 10×110 + 4×50 + 10×160)
    #      / (2 × 100 × 110) = 7,600 / 22,000 = 0.34545…
    # Theil = (1/W) Σ wi (xi/μ) ln(xi/μ)
    #       = (1.8182 ln 1.8182 + 2 × 0.4545 ln 0.4545 + 5 × 1.4545 ln 1.4545) / 10
    #       = (1.08698 − 0.71678 + 2.72504) / 10 = 0.30952…
    # CV = √(Σ wi (xi − μ)² / W) / μ = √((8,100 + 7,200 + 12,500 + 24,200) / 10) / 110
    #    = √5,200 / 110 = 0.65555…
    assert disparity.units == 4
    assert (disparity.gini, disparity.theil, disparity.coefficient_of_variation) == (
        Decimal("0.3455"),
        Decimal("0.3095"),
        Decimal("0.6556"),
    )


def test_disparity_across_the_75_provinces_and_prefectures_of_the_country(world):
    assert Territory.objects.filter(level=Level.PROVINCE).count() == 75
    Territory.objects.filter(level=Level.PROVINCE).exclude(code__in=POPULATION).update(
        population_2024=1_000_000
    )
    disparity = intelligence(ADMIN_SCOPE, "MA", SEPTEMBER).disparity
    # The four of region 11 as above (w = 1, 2, 5, 2 in 100,000s) and 71 others of w = 10, all at 0 but
    # Oued Ed-Dahab (10,000,000 / 1,000,000 = 10). W = 720, Σ wx = 1,100 + 100, μ = 1,200 / 720 = 5/3.
    # Gini: Σi Σj wi wj |xi − xj| = 7,600 (region 11) + 2 × [the four against Oued Ed-Dahab:
    #   10 × (190 + 2×40 + 5×150 + 2×10) = 10,400; the four against the 70 zeros: 700 × 1,100 = 770,000;
    #   Oued Ed-Dahab against the 70 zeros: 10 × 700 × 10 = 70,000] = 1,708,400;
    #   / (2 × 720² × 5/3) = 1,708,400 / 1,728,000 = 4,271 / 4,320 = 0.98866…
    # Theil: (1/720) Σ wi (3xi/5) ln(3xi/5)
    #   = (120 ln 120 + 2×30 ln 30 + 5×96 ln 96 + 10×6 ln 6) / 720 = 4.27356…
    # CV: Σ wi xi² / W − μ² = (40,000 + 5,000 + 128,000 + 1,000) / 720 − 25/9 = 238.8889;
    #   √… / (5/3) = 9.27362…
    assert disparity.units == 75
    assert (disparity.gini, disparity.theil, disparity.coefficient_of_variation) == (
        Decimal("0.9887"),
        Decimal("4.2736"),
        Decimal("9.2736"),
    )
    # Within each region, from the same figures: region 11 as in the region's own view; region 12,
    # Oued Ed-Dahab (x = 10) and Aousserd (x = 0) of equal weight: μ = 5, Gini = 2 × 10 / (2 × 2² × 5)
    # = 0.5, Theil = (1/2) × 2 ln 2 = ln 2 = 0.69315…, CV = 5 / 5 = 1; the ten others invest nothing
    # (mean 0: no index).
    regions = {
        d.territory.code: (d.units, d.gini, d.theil, d.coefficient_of_variation) for d in disparity.regions
    }
    assert len(regions) == 12
    assert regions["11"] == (4, Decimal("0.3455"), Decimal("0.3095"), Decimal("0.6556"))
    assert regions["12"] == (2, Decimal("0.5000"), Decimal("0.6931"), Decimal("1.0000"))
    assert {code: r[1:] for code, r in regions.items() if code not in ("11", "12")} == {
        code: (None, None, None) for code in regions if code not in ("11", "12")
    }
    assert sum(r[0] for r in regions.values()) == 75
    assert disparity.regions[0].source.projects == ProjectsLink((("region", "01"),))
    assert intelligence(ADMIN_SCOPE, "11", SEPTEMBER).disparity.regions == ()


def test_disparity_leaves_out_a_province_without_population(world):
    Territory.objects.filter(code="11.537").update(population_2024=0)  # Tarfaya, x = 0
    disparity = intelligence(ADMIN_SCOPE, "11", SEPTEMBER).disparity
    # x = 200, 50, 160 with w = 1, 2, 5: W = 8, μ = 1,100 / 8 = 137.5.
    # Gini = 2 × (2×150 + 5×40 + 10×110) / (2 × 64 × 137.5) = 3,200 / 17,600 = 0.18181…
    # Theil = (1.4545 ln 1.4545 + 2 × 0.3636 ln 0.3636 + 5 × 1.1636 ln 1.1636) / 8
    #       = (0.54500 − 0.73571 + 0.88175) / 8 = 0.08638…
    # CV = √((1×62.5² + 2×87.5² + 5×22.5²) / 8) / 137.5 = √2,718.75 / 137.5 = 0.37921…
    assert disparity.units == 3
    assert (disparity.gini, disparity.theil, disparity.coefficient_of_variation) == (
        Decimal("0.1818"),
        Decimal("0.0864"),
        Decimal("0.3792"),
    )


def test_priority_ranking_of_the_provinces_of_a_region(world):
    ranking = intelligence(ADMIN_SCOPE, "11", SEPTEMBER).ranking
    # need = slum + deficit; uncovered = need − VSB targeted households.
    # Laâyoune 1,000 + 2,700 = 3,700 − 600 = 3,100; Es-Semara 500 + 1,000 = 1,500 − 0;
    # Boujdour 500 + 300 = 800 − 400 = 400; Tarfaya 21 + n/a = 21.
    assert [
        (r.rank, r.territory.code, r.need, r.vsb_targeted, r.coverage, r.uncovered_need,
         r.investment_per_inhabitant)
        for r in ranking
    ] == [
        (1, "11.321", 3700, Decimal("600"), Decimal("16.22"), Decimal("3100"), Decimal("160.00")),
        (2, "11.221", 1500, Decimal("0"), Decimal("0.00"), Decimal("1500"), Decimal("50.00")),
        (3, "11.121", 800, Decimal("400"), Decimal("50.00"), Decimal("400"), Decimal("200.00")),
        (4, "11.537", 21, Decimal("0"), Decimal("0.00"), Decimal("21"), Decimal("0.00")),
    ]  # fmt: skip
    assert (ranking[3].slum_households, ranking[3].housing_deficit) == (21, None)
    assert ranking[0].projects == ProjectsLink((("province", "11.321"),))
    assert ranking[0].vsb_projects == ProjectsLink((("province", "11.321"), ("programme", "VSB")))


def test_priority_ranking_of_the_communes_of_a_province(world):
    found = intelligence(ADMIN_SCOPE, "11.321", SEPTEMBER)
    assert found.disparity is None
    assert found.ranked_level == Level.COMMUNE
    # Laâyoune 900 + 2,100 − 600 = 2,400; El Marsa 100 + 600 = 700 (its 50 MEN_CIB are not VSB); the
    # three rural communes need nothing: ties broken by investment per inhabitant (Dcheira 900,000 / 1,000),
    # then by code.
    assert [(r.territory.code, r.uncovered_need, r.investment_per_inhabitant) for r in found.ranking] == [
        ("11.321.01.03", Decimal("2400"), Decimal("122.75")),
        ("11.321.01.01", Decimal("700"), Decimal("600.00")),
        ("11.321.03.01", Decimal("0"), Decimal("0.00")),
        ("11.321.03.05", Decimal("0"), Decimal("0.00")),
        ("11.321.03.03", Decimal("0"), Decimal("900.00")),
    ]
    assert found.ranking[2].coverage is None  # no need, no coverage rate


def test_country_ranks_its_75_provinces(world):
    ranking = intelligence(ADMIN_SCOPE, "MA", SEPTEMBER).ranking
    assert [r.rank for r in ranking] == list(range(1, 76))
    keys = [r.uncovered_need for r in ranking]
    assert keys == sorted(keys, reverse=True)


# --- Scope --------------------------------------------------------------------------------------------------


def test_a_territorial_officer_of_another_region_sees_only_what_they_may_read(world):
    national = intelligence(ADMIN_SCOPE, "11", SEPTEMBER)
    outsider = intelligence(DAKHLA_OFFICER, "11", SEPTEMBER)
    assert outsider.needs == national.needs  # the census is public
    # Dakhla's officer reads Dakhla's projects and the published ones: only Es-Semara's here.
    assert (outsider.investment.amount.value, outsider.investment.projects) == (Decimal("10000000.00"), 1)
    assert outsider.investment.per_inhabitant.value == Decimal("10.00")
    assert [(o.indicator, o.achieved) for o in outsider.outputs] == [("SUP", Decimal("5"))]
    assert (outsider.vsb.targeted_households.value, outsider.vsb.coverage.value) == (
        Decimal("0"),
        Decimal("0.00"),
    )
    assert [r.investment for r in outsider.ranking] == [
        Decimal(0),
        Decimal("10000000.00"),
        Decimal(0),
        Decimal(0),
    ]
    public = intelligence(PUBLIC, "11", SEPTEMBER)
    assert public.investment == outsider.investment  # the published project only
    assert (public.outputs, public.vsb) == (outsider.outputs, outsider.vsb)
    assert public.needs == national.needs
    assert intelligence(LAAYOUNE_OFFICER, "11", SEPTEMBER).investment == national.investment
    country = intelligence(DAKHLA_OFFICER, "MA", SEPTEMBER)
    assert country.investment.amount.value == Decimal("20000000.00")  # Dakhla's and the published one
    assert {r.territory.code for r in country.ranking if r.investment} == {"11.221", "12.391"}
    assert intelligence(DAKHLA_OFFICER, "12", SEPTEMBER).investment.amount.value == Decimal("10000000.00")


@pytest.mark.parametrize(
    ("scope", "code", "queries"),
    [
        # territory, units below, census, figures of the unit and of the units below (rollups), outputs
        (ADMIN_SCOPE, "11", 6),
        (ADMIN_SCOPE, "MA", 6),
        # the facts, not the rollups: one more query per figures() for the completed statuses
        (DAKHLA_OFFICER, "11", 8),
        # communes are read from the facts for every reader
        (ADMIN_SCOPE, "11.321", 7),
        # a commune: no units below to rank
        (ADMIN_SCOPE, "11.321.01.03", 6),
    ],
)
def test_pinned_query_counts(world, django_assert_num_queries, scope, code, queries):
    with django_assert_num_queries(queries):
        intelligence(scope, code, SEPTEMBER)


def test_an_unknown_code_raises(world):
    with pytest.raises(Territory.DoesNotExist):
        intelligence(ADMIN_SCOPE, "11.999", SEPTEMBER)


# --- API ----------------------------------------------------------------------------------------------------

URL = "/api/v1/territories/{}/intelligence"


@pytest.fixture
def analyst(world):
    user = user_create(actor=SYSTEM, username="analyst", password=None)
    membership_grant(actor=SYSTEM, user=user, role=Role.NATIONAL_ANALYST)
    return user


def test_the_api_gives_the_selector_s_figures_with_their_sources(client, analyst):
    client.force_login(analyst)
    response = client.get(URL.format("11"), {"month": "2026-09"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["territory"]["code"], body["territory"]["population_2024"], body["month"]) == (
        "11",
        1_000_000,
        "2026-09",
    )
    assert body["needs"]["slum_households"] == {
        "value": 2021,
        "source": {"census": ["households_count.urban", "dwelling_type_basic_or_slum.urban"],
                   "projects": None, "units_below": 4},
    }  # fmt: skip
    region_11 = {"api": "/api/v1/projects?region=11&withdrawn=false", "page": "/fr/projets/?region=11"}
    assert body["investment"] == {
        "amount": {"value": "110000000.00",
                   "source": {"census": [], "units_below": 0, "projects": region_11}},
        "projects": 5,
        "per_inhabitant": {"value": "110.00",
                           "source": {"census": ["population_2024"], "units_below": 0,
                                      "projects": region_11}},
    }  # fmt: skip
    assert [(o["indicator"], o["target"], o["achieved"]) for o in body["outputs"]["items"]] == [
        ("MEN_CIB", "1050", "1050"),
        ("MEN_TRT", "1000", "350"),
        ("SUP", "110", "45"),
    ]
    assert (body["vsb"]["targeted_households"]["value"], body["vsb"]["coverage"]["value"]) == (
        "1000",
        "49.48",
    )
    assert body["vsb"]["coverage"]["source"]["projects"]["api"] == (
        "/api/v1/projects?region=11&programme=VSB&withdrawn=false"
    )
    disparity = body["disparity"]
    assert [disparity[k] for k in ("units", "gini", "theil", "coefficient_of_variation", "regions")] == [
        4, "0.3455", "0.3095", "0.6556", []
    ]  # fmt: skip
    assert disparity["source"] == {"census": ["population_2024"], "units_below": 0, "projects": region_11}
    assert body["ranking"]["level"] == "province"
    assert "Besoin = ménages en bidonville" in body["ranking"]["formula"]
    first = body["ranking"]["units"][0]
    assert [first[k] for k in ("rank", "need", "uncovered_need", "coverage")] == [1, 3700, "3100", "16.22"]
    assert first["territory"]["code"] == "11.321"
    assert first["projects"] == {"api": "/api/v1/projects?province=11.321&withdrawn=false",
                                 "page": "/fr/projets/?province=11.321"}  # fmt: skip
    # The linked list answers (the same filters the registry's list takes).
    assert client.get(first["vsb_projects"]["api"]).json()["count"] == 1


def test_the_api_gives_the_country_s_disparity_within_each_region(client, analyst):
    client.force_login(analyst)
    body = client.get(URL.format("MA"), {"month": "2026-09"}).json()
    assert (body["ranking"]["level"], len(body["ranking"]["units"])) == ("province", 75)
    regions = body["disparity"]["regions"]
    assert [r["territory"]["code"] for r in regions] == [f"{n:02d}" for n in range(1, 13)]
    (laayoune,) = (r for r in regions if r["territory"]["code"] == "11")
    assert laayoune == {
        "territory": {"code": "11", "level": "region", "name_fr": "Laâyoune-Sakia El Hamra",
                      "name_ar": laayoune["territory"]["name_ar"], "population_2024": 1_000_000,
                      "households_2024": laayoune["territory"]["households_2024"]},
        "units": 4, "gini": "0.3455", "theil": "0.3095", "coefficient_of_variation": "0.6556",
        "source": {"census": ["population_2024"], "units_below": 0,
                   "projects": {"api": "/api/v1/projects?region=11&withdrawn=false",
                                "page": "/ar/projets/?region=11"}},
    }  # fmt: skip
    assert sum(r["units"] for r in regions) == body["disparity"]["units"] == 75


def test_the_api_is_scoped_and_defaults_to_this_month(client, world):
    body = client.get(URL.format("11")).json()  # the public
    assert body["month"] == local_today().isoformat()[:7]
    assert body["investment"]["amount"]["value"] == "10000000.00"  # the published project only
    assert body["needs"]["without_public_sewer"]["value"] == 28000
    commune = client.get(URL.format("11.321.01.03"), {"month": "2026-09"}).json()
    assert (commune["disparity"], commune["ranking"]["level"], commune["ranking"]["units"]) == (
        None,
        None,
        [],
    )


def test_unknown_territory_is_a_404_problem(client, world):
    body = assert_problem(client.get(URL.format("99.999")), 404)
    assert body["type"].endswith("/not-found")
    assert_problem(client.get(URL.format("nope")), 404)


@pytest.mark.parametrize("month", ["2026-13", "septembre", "2026-9", "0000-01", "2026-09-01"])
def test_a_bad_month_is_a_422_problem(client, world, month):
    assert_problem(client.get(URL.format("11"), {"month": month}), 422, "/month")


def test_the_endpoint_s_pinned_query_count(client, world, django_assert_num_queries):
    # The public: the selector's queries (the facts: two per figures() call), nothing else.
    with django_assert_num_queries(8):
        assert client.get(URL.format("11"), {"month": "2026-09"}).status_code == 200
