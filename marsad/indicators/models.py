"""The indicator engine's tables (DESIGN §7): monthly facts per project, their rollups, and targets.

Facts and rollups are derived data: ``marsad indicators_rebuild`` recomputes them from the registry's
versions and must give identical rows; the registry's after-commit hook keeps them current between
rebuilds. Targets are entered by people (admin, API).
"""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from marsad.accounts.models import Organisation
from marsad.registry.models import Indicator, Programme, Project
from marsad.territories.models import Territory

MONEY = {"max_digits": 16, "decimal_places": 2}
QUANTITY = {"max_digits": 14, "decimal_places": 2}
PERCENT = {"max_digits": 5, "decimal_places": 2}


class ProjectMonth(models.Model):
    """The state of a project at the end of a month, as its reports give it: the last report dated
    in or before the month, carried forward until the project's actual end or the current month.
    Territory, programme and operator are copied here for grouping."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="months")
    month = models.DateField(_("mois"))  # the first day of the month
    region_code = models.CharField(max_length=2)
    province_code = models.CharField(max_length=8)
    commune_code = models.CharField(max_length=16)
    programme_code = models.CharField(max_length=16)
    operator = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    status_code = models.CharField(max_length=16)
    version = models.PositiveIntegerField(_("version en vigueur"))
    reported = models.BooleanField(_("rapport reçu dans le mois"), default=False)
    budget = models.DecimalField(_("budget"), **MONEY)
    progress = models.DecimalField(_("avancement physique"), null=True, **PERCENT)
    committed = models.DecimalField(_("engagé"), null=True, **MONEY)
    paid = models.DecimalField(_("payé"), null=True, **MONEY)
    completeness = models.DecimalField(_("complétude"), **PERCENT)

    class Meta:
        verbose_name = _("fait mensuel de projet")
        verbose_name_plural = _("faits mensuels de projets")
        indexes = [
            models.Index(fields=["month", "province_code"]),
            models.Index(fields=["month", "programme_code"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["project", "month"], name="project_month_unique"),
            models.CheckConstraint(
                condition=Q(progress__gte=0, progress__lte=100), name="project_month_progress"
            ),
            models.CheckConstraint(condition=Q(budget__gte=0), name="project_month_budget"),
            models.CheckConstraint(
                condition=Q(completeness__gte=0, completeness__lte=100), name="project_month_completeness"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.month:%Y-%m}"


class OutputMonth(models.Model):
    """An output of a project at the end of a month (target and achieved), carried forward like the
    project's month."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="output_months")
    month = models.DateField(_("mois"))
    indicator = models.ForeignKey(
        Indicator, on_delete=models.PROTECT, to_field="code", db_column="indicator_code", related_name="+"
    )
    region_code = models.CharField(max_length=2)
    province_code = models.CharField(max_length=8)
    programme_code = models.CharField(max_length=16)
    operator = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    target = models.DecimalField(_("cible"), null=True, **QUANTITY)
    achieved = models.DecimalField(_("réalisé"), null=True, **QUANTITY)

    class Meta:
        verbose_name = _("réalisation mensuelle")
        verbose_name_plural = _("réalisations mensuelles")
        indexes = [models.Index(fields=["month", "indicator", "province_code"])]
        constraints = [
            models.UniqueConstraint(fields=["project", "month", "indicator"], name="output_month_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.month:%Y-%m} {self.indicator_id}"


class Rollup(models.Model):
    """Sums of the monthly facts per month × province × programme × operator: what national and
    regional figures add up, instead of grouping millions of facts."""

    month = models.DateField(_("mois"))
    region_code = models.CharField(max_length=2)
    province_code = models.CharField(max_length=8)
    programme_code = models.CharField(max_length=16)
    operator = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    projects = models.PositiveIntegerField(_("projets"))
    reported = models.PositiveIntegerField(_("projets rapportés dans le mois"))
    completed = models.PositiveIntegerField(_("projets achevés"))
    budget = models.DecimalField(_("budget"), **MONEY)
    # Σ budget × progress over projects with a progress, and the budget they carry: TX_PHYS is their
    # quotient (budget-weighted physical progress).
    progress_weighted = models.DecimalField(max_digits=20, decimal_places=4)
    progress_budget = models.DecimalField(**MONEY)
    committed = models.DecimalField(_("engagé"), **MONEY)
    paid = models.DecimalField(_("payé"), **MONEY)
    completeness = models.DecimalField(max_digits=14, decimal_places=2)  # Σ of the facts' completeness

    class Meta:
        verbose_name = _("agrégat mensuel")
        verbose_name_plural = _("agrégats mensuels")
        indexes = [models.Index(fields=["month", "region_code"])]
        constraints = [
            models.UniqueConstraint(
                fields=["month", "province_code", "programme_code", "operator"], name="rollup_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.province_code} {self.programme_code}"


class Target(models.Model):
    """A target of an indicator for a year, nationally (no territory) or for a territory, for every
    programme or one."""

    indicator = models.ForeignKey(
        Indicator,
        on_delete=models.PROTECT,
        to_field="code",
        db_column="indicator_code",
        verbose_name=_("indicateur"),
    )
    territory = models.ForeignKey(
        Territory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("territoire"),
    )
    programme = models.ForeignKey(
        Programme,
        on_delete=models.PROTECT,
        to_field="code",
        db_column="programme_code",
        null=True,
        blank=True,
        verbose_name=_("programme"),
    )
    year = models.PositiveSmallIntegerField(_("année"))
    value = models.DecimalField(_("valeur cible"), max_digits=18, decimal_places=2)

    class Meta:
        verbose_name = _("cible")
        verbose_name_plural = _("cibles")
        ordering = ["year", "indicator"]
        constraints = [
            models.UniqueConstraint(
                "indicator",
                Coalesce("territory", 0),
                Coalesce("programme", models.Value("")),
                "year",
                name="target_unique",
            ),
            models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100), name="target_year_range"),
            models.CheckConstraint(condition=Q(value__gte=0), name="target_value_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.indicator_id} {self.year}: {self.value}"


class MonthClose(models.Model):
    """The close of a month (DESIGN §7): the national figures of the month as published that day,
    frozen so that official numbers never change silently. Corrections received later show against
    them as revisions."""

    month = models.DateField(_("mois"), unique=True)
    closed_at = models.DateTimeField(_("clôturé le"))
    closed_by = models.CharField(_("clôturé par"), max_length=150)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("clôture mensuelle")
        verbose_name_plural = _("clôtures mensuelles")
        ordering = ["-month"]
        constraints = [
            models.CheckConstraint(condition=Q(month__day=1), name="month_close_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"


class PublishedFigure(models.Model):
    """One group's figures as published at a month's close."""

    close = models.ForeignKey(MonthClose, on_delete=models.CASCADE, related_name="figures")
    dimension = models.CharField(_("dimension"), max_length=16)
    key = models.CharField(_("groupe"), max_length=32)
    projects = models.PositiveIntegerField(_("projets"))
    reported = models.PositiveIntegerField(_("projets rapportés dans le mois"))
    completed = models.PositiveIntegerField(_("projets achevés"))
    budget = models.DecimalField(_("budget"), **MONEY)
    committed = models.DecimalField(_("engagé"), **MONEY)
    paid = models.DecimalField(_("payé"), **MONEY)
    tx_phys = models.DecimalField(max_digits=9, decimal_places=2, null=True)
    tx_eng = models.DecimalField(max_digits=9, decimal_places=2, null=True)
    tx_pai = models.DecimalField(max_digits=9, decimal_places=2, null=True)

    class Meta:
        verbose_name = _("chiffre publié")
        verbose_name_plural = _("chiffres publiés")
        constraints = [
            models.UniqueConstraint(fields=["close", "dimension", "key"], name="published_figure_unique"),
            models.CheckConstraint(
                condition=Q(dimension__in=["country", "region", "province", "programme", "operator"]),
                name="published_figure_dimension",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.close} {self.dimension} {self.key}"
