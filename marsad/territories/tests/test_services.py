"""The loader, checked against figures written here from HCP's publications, not read back."""

from decimal import Decimal

import pytest

from marsad.territories.choices import Area, Level
from marsad.territories.models import HouseholdCensus, Territory
from marsad.territories.services import prefecture_of_arrondissements_code, territories_load

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]


def test_counts_per_level():
    counts = {level: Territory.objects.filter(level=level).count() for level in Level.values}
    assert counts == {
        "country": 1,
        "region": 12,
        "province": 75,
        "prefecture_of_arrondissements": 8,
        "commune": 1503,
        "arrondissement": 41,
    }
    assert Territory.objects.filter(level=Level.PROVINCE, kind="province").count() == 62
    assert Territory.objects.filter(level=Level.PROVINCE, kind="prefecture").count() == 13


def test_region_tanger_tetouan_al_hoceima():
    region = Territory.objects.get(code="01")
    assert region.name_fr == "Tanger-Tétouan-Al Hoceima"
    assert region.name_ar == "طنجة-تطوان-الحسيمة"
    assert region.population_2024 == 4_030_222
    assert region.households_2024 == 1_048_860
    assert region.path == "/01/"
    assert region.parent.code == "MA"


def test_country_totals():
    country = Territory.objects.get(code="MA")
    assert country.population_2024 == 36_828_330
    assert country.population_2014 == 33_848_242
    assert country.path == "/"


def test_ancestor_codes_and_path_are_stored():
    assilah = Territory.objects.get(code="01.511.01.01")
    assert (assilah.region_code, assilah.province_code, assilah.path) == (
        "01",
        "01.511",
        "/01/01.511/01.511.01.01/",
    )
    assert assilah.kind == "urban"
    bni_makada = Territory.objects.get(code="01.511.01.03")
    assert bni_makada.level == Level.ARRONDISSEMENT
    assert bni_makada.parent.code == "01.511.01.0"
    assert bni_makada.commune_code == "01.511.01.0"
    assert bni_makada.path == "/01/01.511/01.511.01.0/01.511.01.03/"


def test_cercle_is_an_attribute_of_rural_communes():
    commune = Territory.objects.get(code="01.051.11.01")  # Ait Kamra, province of Al Hoceima
    assert commune.kind == "rural"
    assert commune.cercle_code != ""
    assert Territory.objects.exclude(cercle_code="").exclude(level=Level.COMMUNE, kind="rural").count() == 0
    assert Territory.objects.filter(level=Level.COMMUNE, kind="rural").count() == 1261
    assert Territory.objects.filter(level=Level.COMMUNE, kind="rural", cercle_code="").count() == 0


def test_casablanca_prefectures_of_arrondissements_group_their_arrondissements():
    anfa = Territory.objects.get(code="06.141.01.00")
    assert anfa.level == Level.PREFECTURE_OF_ARRONDISSEMENTS
    assert anfa.parent.code == "06.141"
    arrondissements = Territory.objects.filter(parent=anfa).order_by("code")
    assert [a.code for a in arrondissements] == ["06.141.01.01", "06.141.01.03", "06.141.01.07"]
    assert sum(a.population_2024 for a in arrondissements) == anfa.population_2024 == 344_165
    for prefecture in Territory.objects.filter(level=Level.PREFECTURE_OF_ARRONDISSEMENTS):
        assert sum(c.population_2024 for c in prefecture.children.all()) == prefecture.population_2024
    assert prefecture_of_arrondissements_code("06.141.01.53") == "06.141.01.50"


def test_named_commune_census_figures():
    sidi_taibi = Territory.objects.get(code="04.281.01.13")
    assert sidi_taibi.name_fr == "Sidi Taibi"
    urban = HouseholdCensus.objects.get(territory=sidi_taibi, area=Area.URBAN)
    assert urban.households_count == 16_455
    assert urban.dwelling_type_basic_or_slum == Decimal("44.20")
    assert urban.dwellings_deficit_rate == Decimal("74.80")
    tanger = HouseholdCensus.objects.get(territory__code="01.511.01.0", area=Area.URBAN)
    assert tanger.dwelling_type_basic_or_slum == Decimal("0.40")
    assert tanger.amenities_electricity == Decimal("99.40")


def test_deficit_rate_is_urban_only_and_never_zero_for_rural():
    assert HouseholdCensus.objects.exclude(area=Area.URBAN).exclude(dwellings_deficit_rate=None).count() == 0
    assert HouseholdCensus.objects.filter(area=Area.URBAN).exclude(dwellings_deficit_rate=None).count() == 510
    rural = HouseholdCensus.objects.get(territory__code="01.511.03.03", area=Area.RURAL)
    assert rural.dwellings_deficit_rate is None


def test_census_rows_per_area():
    assert HouseholdCensus.objects.filter(area=Area.TOTAL).count() == 1 + 12 + 83 + 1503 + 41
    assert HouseholdCensus.objects.filter(territory__level=Level.COMMUNE, area=Area.RURAL).count() == 1282
    assert HouseholdCensus.objects.filter(territory__level=Level.COMMUNE, area=Area.URBAN).count() == 381


def test_second_load_refreshes_without_duplicates():
    Territory.objects.filter(code="01").update(name_fr="changed", population_2024=1)
    summary = territories_load(boundaries=False)
    assert summary.created == 0
    assert summary.updated == 1640
    assert Territory.objects.count() == 1640
    assert HouseholdCensus.objects.count() == 3526
    region = Territory.objects.get(code="01")
    assert (region.name_fr, region.population_2024) == ("Tanger-Tétouan-Al Hoceima", 4_030_222)
