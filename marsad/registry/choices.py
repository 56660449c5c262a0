from django.db import models
from django.utils.translation import gettext_lazy as _


class PartyRole(models.TextChoices):
    SIGNATORY = "signatory", _("Signataire")
    FINANCIER = "financier", _("Financeur")
    CONTRACTING_AUTHORITY = "contracting_authority", _("Maître d'ouvrage")
    DELEGATED_CONTRACTING_AUTHORITY = "delegated_contracting_authority", _("Maître d'ouvrage délégué")


class IndicatorUnit(models.TextChoices):
    HOUSEHOLDS = "households", _("ménages")
    UNITS = "units", _("unités")
    LOTS = "lots", _("lots")
    CONTRACTS = "contracts", _("contrats")
    TITLES = "titles", _("titres")
    HECTARES = "ha", _("ha")
    MAD = "MAD", _("MAD")
    PERCENT = "percent", _("%")
    DAYS = "days", _("jours")
    PEOPLE = "people", _("personnes")
    MAD_PER_PERSON = "MAD_per_person", _("MAD par habitant")


class IndicatorKind(models.TextChoices):
    OUTPUT = "output", _("Réalisation")
    FINANCIAL = "financial", _("Financier")
    SCHEDULE = "schedule", _("Délais")
    CONTEXT = "context", _("Contexte")


class SourceKind(models.TextChoices):
    """Where a version came from; the identifier names the user, submission, upload or command."""

    UI = "ui", _("Saisie dans l'interface")
    SUBMISSION = "submission", _("Soumission par l'API d'échange")
    UPLOAD = "upload", _("Fichier téléversé")
    COMMAND = "command", _("Commande")
    DEMO = "demo", _("Données de démonstration")


class Outcome(models.TextChoices):
    CREATED = "created", _("créé")
    UPDATED = "updated", _("mis à jour")
    UNCHANGED = "unchanged", _("inchangé")
    WITHDRAWN = "withdrawn", _("retiré")
    REJECTED = "rejected", _("rejeté")


class LedgerKind(models.TextChoices):
    """What a ledger entry seals: an accepted version, or a receipt the platform signed."""

    VERSION = "version", _("Version")
    RECEIPT = "receipt", _("Accusé de réception")
