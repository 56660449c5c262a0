from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    COUNTRY = "country", _("Pays")
    REGION = "region", _("Région")
    PROVINCE = "province", _("Province ou préfecture")
    PREFECTURE_OF_ARRONDISSEMENTS = "prefecture_of_arrondissements", _("Préfecture d'arrondissements")
    COMMUNE = "commune", _("Commune")
    ARRONDISSEMENT = "arrondissement", _("Arrondissement")


class Kind(models.TextChoices):
    PROVINCE = "province", _("Province")
    PREFECTURE = "prefecture", _("Préfecture")
    URBAN = "urban", _("Commune urbaine")
    RURAL = "rural", _("Commune rurale")


class Area(models.TextChoices):
    """The part of a unit a census figure describes."""

    TOTAL = "total", _("Ensemble")
    URBAN = "urban", _("Urbain")
    RURAL = "rural", _("Rural")
