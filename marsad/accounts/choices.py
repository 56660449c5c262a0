from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganisationKind(models.TextChoices):
    OPERATOR = "operator", _("Opérateur")
    MINISTRY = "ministry", _("Ministère")
    ADMINISTRATION = "administration", _("Administration centrale")
    REGION_COUNCIL = "region_council", _("Conseil régional")
    PROVINCE_COUNCIL = "province_council", _("Conseil préfectoral ou provincial")
    COMMUNE_COUNCIL = "commune_council", _("Conseil communal")
    AGENCY = "agency", _("Agence")
    GIE = "gie", _("Groupement d'intérêt économique")
    BANK = "bank", _("Banque")
    PRIVATE = "private", _("Partenaire privé")


COUNCIL_KINDS = (
    OrganisationKind.REGION_COUNCIL,
    OrganisationKind.PROVINCE_COUNCIL,
    OrganisationKind.COMMUNE_COUNCIL,
)


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrateur")
    NATIONAL_ANALYST = "national_analyst", _("Analyste national")
    TERRITORIAL_OFFICER = "territorial_officer", _("Responsable territorial")
    OPERATOR_STEWARD = "operator_steward", _("Gestionnaire de données d'un opérateur")
    PARTNER_VIEWER = "partner_viewer", _("Partenaire (lecture)")


NATIONAL_ROLES = (Role.ADMINISTRATOR, Role.NATIONAL_ANALYST)
