from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleCode(models.TextChoices):
    LATE = "late", _("Projet en retard")
    STALLED = "stalled", _("Avancement à l'arrêt")
    FINANCIAL_ANOMALY = "financial_anomaly", _("Anomalie financière")
    STALE_DATA = "stale_data", _("Données anciennes")
    SCHEDULE_PERFORMANCE = "schedule_performance", _("Performance calendaire faible")
    PROGRESS_REGRESSION = "progress_regression", _("Recul de l'avancement")


class Severity(models.TextChoices):
    HIGH = "high", _("Élevée")
    MEDIUM = "medium", _("Moyenne")
    LOW = "low", _("Faible")


# Lists and pages sort the most severe first.
SEVERITY_RANK = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2}


class State(models.TextChoices):
    OPEN = "open", _("Ouverte")
    CLOSED = "closed", _("Close")


class EventKind(models.TextChoices):
    OPENED = "opened", _("Ouverte")
    UPDATED = "updated", _("Mise à jour")
    CLOSED = "closed", _("Close")
    ACKNOWLEDGED = "acknowledged", _("Prise en compte")
