from django.db import models
from django.utils.translation import gettext_lazy as _


class SubmissionState(models.TextChoices):
    """A submission is reserved (its idempotency key taken) before it is processed; a crashed
    process leaves it reserved until its lease runs out, when a retry may take it over."""

    PROCESSING = "processing", _("En cours de traitement")
    DONE = "done", _("Traitée")


class SubmissionChannel(models.TextChoices):
    API = "api", _("API d'échange")
    UPLOAD = "upload", _("Fichier téléversé")


class ClientScope(models.TextChoices):
    SUBMIT = "submit", _("Soumettre des projets")
    FEED = "feed", _("Lire le flux des changements")


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("En attente")
    DELIVERED = "delivered", _("Remise")
    RETRYING = "retrying", _("Nouvel essai prévu")
    GONE = "gone", _("Destinataire disparu (410)")
    ABANDONED = "abandoned", _("Abandonnée après trop d'essais")
