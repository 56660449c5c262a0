"""Territories: the HCP units from the country down to the arrondissement, their census figures and
their boundaries.

HCP codes are strings and are not prefix-free (commune 01.511.01.0 Tanger is a string prefix of
01.511.01.01 Assilah), so nothing groups or scopes by a prefix of the code: every row stores its
ancestors' codes (``region_code``, ``province_code``) and a delimited ``path`` such as
``/01/01.511/01.511.01.0/``, and a unit's descendants are the rows whose path starts with its path.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .census import ALL_FIELDS
from .choices import Area, Kind, Level

COUNTRY_CODE = "MA"


class Territory(models.Model):
    code = models.CharField(_("code HCP"), max_length=16, unique=True)
    level = models.CharField(_("niveau"), max_length=32, choices=Level.choices)
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices, blank=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    region_code = models.CharField(_("code de la région"), max_length=2, blank=True, db_index=True)
    province_code = models.CharField(_("code de la province"), max_length=8, blank=True, db_index=True)
    commune_code = models.CharField(_("code de la commune"), max_length=16, blank=True)
    path = models.CharField(_("chemin"), max_length=96, unique=True)
    cercle_code = models.CharField(_("code du cercle"), max_length=12, blank=True)
    cercle_name_fr = models.CharField(_("cercle (français)"), max_length=120, blank=True)
    cercle_name_ar = models.CharField(_("cercle (arabe)"), max_length=120, blank=True)
    name_fr = models.CharField(_("nom (français)"), max_length=120)
    name_ar = models.CharField(_("nom (arabe)"), max_length=120)
    search_text = models.CharField(max_length=300, editable=False, db_index=True)
    population_2024 = models.PositiveIntegerField(_("population 2024"))
    households_2024 = models.PositiveIntegerField(_("ménages 2024"))
    population_2014 = models.PositiveIntegerField(_("population 2014"), null=True, blank=True)
    households_2014 = models.PositiveIntegerField(_("ménages 2014"), null=True, blank=True)

    class Meta:
        verbose_name = _("territoire")
        verbose_name_plural = _("territoires")
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "code"]), models.Index(fields=["path"])]
        constraints = [
            models.CheckConstraint(condition=Q(level__in=Level.values), name="territory_level_known"),
            models.CheckConstraint(
                condition=(
                    Q(level=Level.PROVINCE, kind__in=[Kind.PROVINCE, Kind.PREFECTURE])
                    | Q(level=Level.COMMUNE, kind__in=[Kind.URBAN, Kind.RURAL])
                    | (~Q(level__in=[Level.PROVINCE, Level.COMMUNE]) & Q(kind=""))
                ),
                name="territory_kind_matches_level",
            ),
            models.CheckConstraint(
                condition=Q(level=Level.COUNTRY, parent__isnull=True, region_code="")
                | (~Q(level=Level.COUNTRY) & Q(parent__isnull=False) & ~Q(region_code="")),
                name="territory_parent_and_region_unless_country",
            ),
            models.CheckConstraint(
                condition=Q(province_code="") | ~Q(level__in=[Level.COUNTRY, Level.REGION]),
                name="territory_province_code_below_region",
            ),
            models.CheckConstraint(
                condition=~Q(province_code="") | Q(level__in=[Level.COUNTRY, Level.REGION]),
                name="territory_province_code_required_below_region",
            ),
            models.CheckConstraint(
                condition=Q(cercle_code="") | Q(level=Level.COMMUNE, kind=Kind.RURAL),
                name="territory_cercle_only_for_rural_communes",
            ),
            models.CheckConstraint(
                condition=Q(path__startswith="/") & Q(path__endswith="/"), name="territory_path_delimited"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name_fr}"

    def name(self, language: str | None) -> str:
        return self.name_ar if (language or "").startswith("ar") else self.name_fr


class HouseholdCensus(models.Model):
    """RGPH 2024 household figures of one territory for one area. Shares are percentages."""

    territory = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="census")
    area = models.CharField(_("milieu"), max_length=8, choices=Area.choices)

    class Meta:
        verbose_name = _("recensement des ménages")
        verbose_name_plural = _("recensements des ménages")
        constraints = [
            models.UniqueConstraint(fields=["territory", "area"], name="household_census_one_row_per_area"),
            models.CheckConstraint(condition=Q(area__in=Area.values), name="household_census_area_known"),
            models.CheckConstraint(
                condition=Q(area=Area.URBAN)
                | Q(dwellings_total__isnull=True, dwellings_deficit_rate__isnull=True),
                name="household_census_housing_stock_urban_only",
            ),
            models.CheckConstraint(
                condition=Q(dwelling_type_basic_or_slum__isnull=True)
                | Q(dwelling_type_basic_or_slum__gte=0, dwelling_type_basic_or_slum__lte=100),
                name="household_census_slum_share_is_a_percentage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.territory_id} {self.area}"


for _field in ALL_FIELDS:
    HouseholdCensus.add_to_class(
        _field.column,
        models.PositiveIntegerField(_field.name_fr, null=True, blank=True)
        if _field.whole
        else models.DecimalField(_field.name_fr, max_digits=8, decimal_places=2, null=True, blank=True),
    )


class TerritoryBoundary(models.Model):
    """A territory's simplified boundary, as a GeoJSON geometry in WGS 84 longitude/latitude."""

    territory = models.OneToOneField(Territory, on_delete=models.CASCADE, related_name="boundary")
    geometry = models.JSONField(_("géométrie"))
    source = models.CharField(_("source"), max_length=400)
    method = models.CharField(_("méthode de jointure"), max_length=40)
    vertices = models.PositiveIntegerField(_("sommets"))
    # A point inside the shape (not always the centroid, which can fall outside), for markers.
    label_lon = models.DecimalField(max_digits=9, decimal_places=5)
    label_lat = models.DecimalField(max_digits=9, decimal_places=5)

    class Meta:
        verbose_name = _("limite")
        verbose_name_plural = _("limites")

    def __str__(self) -> str:
        return f"{self.territory_id} {self.method}"
