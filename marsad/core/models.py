"""The scheduler's state (DESIGN §2): which process leads, and when each periodic job last ran."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SchedulerLease(models.Model):
    """One row per lease name; the process whose lease has not expired is the only one scheduling."""

    name = models.CharField(_("nom"), max_length=40, primary_key=True)
    holder = models.CharField(_("détenteur"), max_length=80)
    expires_at = models.DateTimeField(_("expire le"))

    class Meta:
        verbose_name = _("bail du planificateur")
        verbose_name_plural = _("baux du planificateur")

    def __str__(self) -> str:
        return f"{self.name}: {self.holder}"


class ScheduledJob(models.Model):
    name = models.CharField(_("tâche"), max_length=80, primary_key=True)
    last_run_at = models.DateTimeField(_("dernier lancement"), null=True, blank=True)

    class Meta:
        verbose_name = _("tâche périodique")
        verbose_name_plural = _("tâches périodiques")

    def __str__(self) -> str:
        return self.name
