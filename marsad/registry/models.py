"""The registry: the reference catalogue, agreements, projects and their immutable versions.

``ProjectVersion`` is the record of truth: the whole project as accepted, in canonical JSON, with
its SHA-256, number, time of receipt and source. ``Project`` and its child rows (communes,
financing, outputs, milestones) are the compiled current state of the latest version, kept for
querying; only ``registry.services`` writes them, always together with a version.
"""

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

from marsad.accounts.models import Organisation
from marsad.territories.models import Territory

from .choices import IndicatorKind, IndicatorUnit, LedgerKind, PartyRole, SourceKind

MONEY = {"max_digits": 16, "decimal_places": 2}
PERCENT = {"max_digits": 5, "decimal_places": 2}
QUANTITY = {"max_digits": 14, "decimal_places": 2}
PROJECT_ID_PREFIX = "MRS-"
PROJECT_ID_LENGTH = 14  # MRS- and ten Crockford base-32 characters


class NamedCode(models.Model):
    """A reference entry: a stable string code and its names in both languages."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    name_fr = models.CharField(_("nom (français)"), max_length=200)
    name_ar = models.CharField(_("nom (arabe)"), max_length=200)
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)

    class Meta:
        abstract = True
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name_fr}"

    def name(self, language: str | None) -> str:
        return self.name_ar if (language or "").startswith("ar") else self.name_fr


class Programme(NamedCode):
    owner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("pilote")
    )
    start_year = models.PositiveSmallIntegerField(_("année de lancement"), null=True, blank=True)
    end_year = models.PositiveSmallIntegerField(_("année de fin"), null=True, blank=True)
    description_fr = models.TextField(_("description (français)"), blank=True)
    description_ar = models.TextField(_("description (arabe)"), blank=True)

    class Meta(NamedCode.Meta):
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        constraints = [
            models.CheckConstraint(
                condition=Q(start_year__isnull=True)
                | Q(end_year__isnull=True)
                | Q(end_year__gte=F("start_year")),
                name="programme_period_ordered",
            ),
            models.CheckConstraint(condition=~Q(code=""), name="programme_code_required"),
        ]


class Status(NamedCode):
    is_completed = models.BooleanField(_("achevé"), default=False)
    is_cancelled = models.BooleanField(_("annulé"), default=False)
    is_started = models.BooleanField(_("travaux commencés"), default=False)

    class Meta(NamedCode.Meta):
        verbose_name = _("statut")
        verbose_name_plural = _("statuts")
        constraints = [
            models.CheckConstraint(
                condition=~Q(is_completed=True, is_cancelled=True), name="status_not_completed_and_cancelled"
            ),
        ]


class MilestoneType(NamedCode):
    class Meta(NamedCode.Meta):
        verbose_name = _("type de jalon")
        verbose_name_plural = _("types de jalons")


class Indicator(NamedCode):
    """An indicator code of the catalogue. The registry needs the codes, names and units for output
    targets; the indicator engine computes with them."""

    unit = models.CharField(_("unité"), max_length=16, choices=IndicatorUnit.choices)
    kind = models.CharField(_("nature"), max_length=16, choices=IndicatorKind.choices)
    definition_fr = models.CharField(_("définition (français)"), max_length=300, blank=True)
    definition_ar = models.CharField(_("définition (arabe)"), max_length=300, blank=True)
    reported = models.BooleanField(
        _("déclaré par les opérateurs"),
        default=False,
        help_text=_(
            "Une réalisation que les projets déclarent (cible et réalisé), par opposition à un calcul."
        ),
    )

    class Meta(NamedCode.Meta):
        verbose_name = _("indicateur")
        verbose_name_plural = _("indicateurs")
        constraints = [
            models.CheckConstraint(condition=Q(unit__in=IndicatorUnit.values), name="indicator_unit_known"),
            models.CheckConstraint(condition=Q(kind__in=IndicatorKind.values), name="indicator_kind_known"),
        ]


class ProgrammeTarget(models.Model):
    """A national target of a programme for one indicator (e.g. VSB: households to treat)."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="targets")
    indicator = models.ForeignKey(
        Indicator, on_delete=models.PROTECT, to_field="code", db_column="indicator_code"
    )
    value = models.DecimalField(_("cible"), **QUANTITY)

    class Meta:
        verbose_name = _("cible nationale")
        verbose_name_plural = _("cibles nationales")
        constraints = [
            models.UniqueConstraint(fields=["programme", "indicator"], name="programme_target_unique"),
            models.CheckConstraint(condition=Q(value__gte=0), name="programme_target_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.programme_id} {self.indicator_id} {self.value}"


class Agreement(models.Model):
    """A convention (اتفاقية): who signed, who finances how much, which projects it covers."""

    reference = models.CharField(_("référence"), max_length=64, unique=True)
    title_fr = models.CharField(_("intitulé (français)"), max_length=300)
    title_ar = models.CharField(_("intitulé (arabe)"), max_length=300)
    signed_on = models.DateField(_("signée le"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("convention")
        verbose_name_plural = _("conventions")
        ordering = ["-signed_on", "reference"]
        constraints = [
            models.CheckConstraint(condition=~Q(reference=""), name="agreement_reference_required"),
            models.CheckConstraint(condition=~Q(title_fr="") | ~Q(title_ar=""), name="agreement_titled"),
        ]

    def __str__(self) -> str:
        return self.reference

    def title(self, language: str | None) -> str:
        return (
            (self.title_ar or self.title_fr)
            if (language or "").startswith("ar")
            else (self.title_fr or self.title_ar)
        )


class AgreementParty(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="parties")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="agreement_parties")
    role = models.CharField(_("rôle"), max_length=32, choices=PartyRole.choices)
    commitment_amount = models.DecimalField(_("engagement (MAD)"), null=True, blank=True, **MONEY)
    commitment_in_kind = models.CharField(_("apport en nature"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("partie")
        verbose_name_plural = _("parties")
        ordering = ["agreement", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "organisation", "role"], name="agreement_party_unique"
            ),
            models.CheckConstraint(condition=Q(role__in=PartyRole.values), name="agreement_party_role_known"),
            models.CheckConstraint(
                condition=Q(commitment_amount__isnull=True) | Q(commitment_amount__gte=0),
                name="agreement_party_commitment_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agreement_id} {self.organisation_id} {self.role}"


class Project(models.Model):
    public_id = models.CharField(
        _("identifiant Marsad"), max_length=PROJECT_ID_LENGTH, unique=True, editable=False
    )
    # No index of its own: the unique (operator, operator_ref) and the (operator, status) index
    # start with it. The same holds for the programme, the first column of (programme, status).
    operator = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="operated_projects",
        verbose_name=_("opérateur"),
        db_index=False,
    )
    operator_ref = models.CharField(_("référence de l'opérateur"), max_length=64)
    title_fr = models.CharField(_("intitulé (français)"), max_length=300, blank=True)
    title_ar = models.CharField(_("intitulé (arabe)"), max_length=300, blank=True)
    description_fr = models.TextField(_("description (français)"), blank=True)
    description_ar = models.TextField(_("description (arabe)"), blank=True)
    programme = models.ForeignKey(
        Programme,
        on_delete=models.PROTECT,
        to_field="code",
        db_column="programme_code",
        verbose_name=_("programme"),
        db_index=False,
    )
    status = models.ForeignKey(
        Status, on_delete=models.PROTECT, to_field="code", db_column="status_code", verbose_name=_("statut")
    )
    agreement = models.ForeignKey(
        Agreement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="projects",
        verbose_name=_("convention"),
    )
    primary_commune = models.ForeignKey(
        Territory,
        on_delete=models.PROTECT,
        related_name="primary_projects",
        verbose_name=_("commune principale"),
    )
    region_code = models.CharField(_("code de la région"), max_length=2, db_index=True)
    province_code = models.CharField(_("code de la province"), max_length=8, db_index=True)
    latitude = models.DecimalField(_("latitude"), max_digits=8, decimal_places=5, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=8, decimal_places=5, null=True, blank=True)
    area_ha = models.DecimalField(_("superficie (ha)"), null=True, blank=True, **QUANTITY)
    planned_start = models.DateField(_("début prévu"), null=True, blank=True)
    planned_end = models.DateField(_("fin prévue"), null=True, blank=True)
    actual_start = models.DateField(_("début effectif"), null=True, blank=True)
    actual_end = models.DateField(_("fin effective"), null=True, blank=True)
    initial_planned_end = models.DateField(_("fin prévue initiale"), null=True, blank=True, editable=False)
    budget = models.DecimalField(_("budget (MAD)"), **MONEY)
    as_of = models.DateField(_("situation au"), null=True, blank=True)
    progress = models.DecimalField(_("avancement physique (%)"), null=True, blank=True, **PERCENT)
    committed = models.DecimalField(_("engagé (MAD)"), null=True, blank=True, **MONEY)
    paid = models.DecimalField(_("payé (MAD)"), null=True, blank=True, **MONEY)
    published = models.BooleanField(_("publié"), default=False)
    published_at = models.DateTimeField(_("publié le"), null=True, blank=True)
    withdrawn = models.BooleanField(_("retiré"), default=False)
    withdrawn_at = models.DateTimeField(_("retiré le"), null=True, blank=True)
    withdrawal_reason = models.CharField(_("motif du retrait"), max_length=300, blank=True)
    version = models.PositiveIntegerField(_("version"), editable=False)
    sha256 = models.CharField(_("empreinte SHA-256"), max_length=64, editable=False)
    warning_codes = models.JSONField(_("avertissements"), default=list, blank=True, editable=False)
    created_at = models.DateTimeField(_("créé le"), editable=False)
    updated_at = models.DateTimeField(_("mis à jour le"), editable=False)
    search_text = models.TextField(editable=False, blank=True)

    class Meta:
        verbose_name = _("projet")
        verbose_name_plural = _("projets")
        ordering = ["public_id"]
        indexes = [
            models.Index(fields=["programme", "status"]),
            models.Index(fields=["operator", "status"]),
            models.Index(fields=["published", "withdrawn"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["operator", "operator_ref"], name="project_operator_ref_unique"),
            models.CheckConstraint(
                condition=Q(public_id__startswith=PROJECT_ID_PREFIX), name="project_public_id_prefix"
            ),
            models.CheckConstraint(
                condition=Exact(Length("public_id"), PROJECT_ID_LENGTH), name="project_public_id_length"
            ),
            models.CheckConstraint(condition=~Q(operator_ref=""), name="project_operator_ref_required"),
            models.CheckConstraint(condition=~Q(title_fr="") | ~Q(title_ar=""), name="project_titled"),
            models.CheckConstraint(condition=Q(budget__gte=0), name="project_budget_not_negative"),
            models.CheckConstraint(
                condition=Q(committed__isnull=True) | Q(committed__gte=0),
                name="project_committed_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(paid__isnull=True) | Q(paid__gte=0), name="project_paid_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(progress__isnull=True) | Q(progress__gte=0, progress__lte=100),
                name="project_progress_is_a_percentage",
            ),
            models.CheckConstraint(
                condition=Q(area_ha__isnull=True) | Q(area_ha__gt=0), name="project_area_positive"
            ),
            models.CheckConstraint(
                condition=Q(planned_start__isnull=True)
                | Q(planned_end__isnull=True)
                | Q(planned_end__gte=F("planned_start")),
                name="project_planned_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(actual_start__isnull=True)
                | Q(actual_end__isnull=True)
                | Q(actual_end__gte=F("actual_start")),
                name="project_actual_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(
                    latitude__isnull=False,
                    longitude__isnull=False,
                    latitude__gte=20,
                    latitude__lte=36.5,
                    longitude__gte=-17.5,
                    longitude__lte=-0.5,
                ),
                name="project_location_in_morocco",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="project_version_positive"),
            models.CheckConstraint(condition=Exact(Length("sha256"), 64), name="project_sha256_length"),
            models.CheckConstraint(
                condition=Q(published=False, published_at__isnull=True)
                | Q(published=True, published_at__isnull=False),
                name="project_published_has_date",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn=False, withdrawn_at__isnull=True)
                | Q(withdrawn=True, withdrawn_at__isnull=False),
                name="project_withdrawn_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.title_fr or self.title_ar}"

    def title(self, language: str | None) -> str:
        return (
            (self.title_ar or self.title_fr)
            if (language or "").startswith("ar")
            else (self.title_fr or self.title_ar)
        )

    @property
    def is_public(self) -> bool:
        return self.published and not self.withdrawn


class ProjectCommune(models.Model):
    """A commune (or arrondissement) the project is in. The primary one carries everything unless
    shares are given. Its territory's path is copied here so that scoping finds projects under a
    region or a province without a join."""

    # Indexed by the unique (project, territory), which starts with it.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="communes", db_index=False)
    territory = models.ForeignKey(Territory, on_delete=models.PROTECT, related_name="project_links")
    is_primary = models.BooleanField(_("principale"), default=False)
    share = models.DecimalField(_("part (%)"), null=True, blank=True, **PERCENT)
    path = models.CharField(max_length=96, db_index=True, editable=False)

    class Meta:
        verbose_name = _("commune du projet")
        verbose_name_plural = _("communes du projet")
        ordering = ["project", "-is_primary", "territory"]
        constraints = [
            models.UniqueConstraint(fields=["project", "territory"], name="project_commune_unique"),
            models.UniqueConstraint(
                fields=["project"], condition=Q(is_primary=True), name="project_commune_one_primary"
            ),
            models.CheckConstraint(
                condition=Q(share__isnull=True) | Q(share__gt=0, share__lte=100),
                name="project_commune_share_percentage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.territory_id}"


class Financing(models.Model):
    """One line of a project's financing plan: a partner and its amount."""

    # Indexed by the unique (project, partner), which starts with it.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="financing", db_index=False)
    partner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="financing_lines")
    amount = models.DecimalField(_("montant (MAD)"), **MONEY)

    class Meta:
        verbose_name = _("ligne de financement")
        verbose_name_plural = _("plan de financement")
        ordering = ["project", "-amount", "partner"]
        constraints = [
            models.UniqueConstraint(fields=["project", "partner"], name="financing_one_line_per_partner"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="financing_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.partner_id} {self.amount}"


class ProjectOutput(models.Model):
    """A project's target and latest achieved value for one output indicator."""

    # Indexed by the unique (project, indicator), which starts with it.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="outputs", db_index=False)
    indicator = models.ForeignKey(
        Indicator, on_delete=models.PROTECT, to_field="code", db_column="indicator_code"
    )
    target = models.DecimalField(_("cible"), null=True, blank=True, **QUANTITY)
    achieved = models.DecimalField(_("réalisé"), null=True, blank=True, **QUANTITY)

    class Meta:
        verbose_name = _("réalisation")
        verbose_name_plural = _("réalisations")
        ordering = ["project", "indicator"]
        constraints = [
            models.UniqueConstraint(fields=["project", "indicator"], name="project_output_unique"),
            models.CheckConstraint(
                condition=Q(target__isnull=True) | Q(target__gte=0), name="project_output_target_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(achieved__isnull=True) | Q(achieved__gte=0),
                name="project_output_achieved_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(target__isnull=False) | Q(achieved__isnull=False),
                name="project_output_has_a_value",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.indicator_id}"


class Milestone(models.Model):
    # Indexed by the unique (project, type), which starts with it.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones", db_index=False)
    type = models.ForeignKey(MilestoneType, on_delete=models.PROTECT, to_field="code", db_column="type_code")
    planned = models.DateField(_("date prévue"), null=True, blank=True)
    forecast = models.DateField(_("date prévisionnelle"), null=True, blank=True)
    actual = models.DateField(_("date effective"), null=True, blank=True)

    class Meta:
        verbose_name = _("jalon")
        verbose_name_plural = _("jalons")
        ordering = ["project", "planned", "type"]
        constraints = [
            models.UniqueConstraint(fields=["project", "type"], name="milestone_one_per_type"),
            models.CheckConstraint(
                condition=Q(planned__isnull=False) | Q(forecast__isnull=False) | Q(actual__isnull=False),
                name="milestone_has_a_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.type_id}"


class ProjectVersion(models.Model):
    """An immutable snapshot of a project as accepted. Never updated, never deleted: a withdrawal is
    a version too (a tombstone). The source is a kind and an identifier (a user, a submission, an
    upload, a command) with no foreign key to the apps above the registry."""

    # Indexed by the unique (project, number), which starts with it.
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="versions", db_index=False)
    number = models.PositiveIntegerField(_("numéro"))
    canonical = models.TextField(_("enregistrement canonique (JSON)"))
    sha256 = models.CharField(_("empreinte SHA-256"), max_length=64)
    received_at = models.DateTimeField(_("reçu le"), db_index=True)
    source_kind = models.CharField(_("source"), max_length=16, choices=SourceKind.choices)
    source_id = models.CharField(_("identifiant de la source"), max_length=64)
    actor_label = models.CharField(_("auteur"), max_length=150)
    is_tombstone = models.BooleanField(_("retrait"), default=False)
    warnings = models.JSONField(_("avertissements"), default=list, blank=True)

    class Meta:
        verbose_name = _("version")
        verbose_name_plural = _("versions")
        ordering = ["project", "number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="project_version_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="project_version_number_positive"),
            models.CheckConstraint(
                condition=Exact(Length("sha256"), 64), name="project_version_sha256_length"
            ),
            models.CheckConstraint(
                condition=Q(source_kind__in=SourceKind.values), name="project_version_source_known"
            ),
            models.CheckConstraint(condition=~Q(canonical=""), name="project_version_has_record"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} v{self.number}"


class LedgerHead(models.Model):
    """The chain's head: one row, locked by every append so that appends are serialised (one writer
    at a time, on SQLite and PostgreSQL alike) and the chain never forks."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(_("dernière entrée"), default=0)
    hash = models.CharField(_("empreinte de tête"), max_length=64)

    class Meta:
        verbose_name = _("tête du registre")
        verbose_name_plural = _("tête du registre")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="ledger_head_single_row"),
            models.CheckConstraint(condition=Q(seq__gte=0), name="ledger_head_seq_not_negative"),
            models.CheckConstraint(condition=Exact(Length("hash"), 64), name="ledger_head_hash_length"),
        ]

    def __str__(self) -> str:
        return f"{self.seq} {self.hash[:12]}"


class LedgerEntry(models.Model):
    """One link of the hash chain: an accepted version or a signed receipt. Append-only; its hash
    covers its own fields and the previous entry's hash, so an edit, a deletion or a reordering
    breaks the chain from that entry on. Its sequence is also the change feed's cursor."""

    seq = models.BigIntegerField(_("numéro d'ordre"), primary_key=True)
    kind = models.CharField(_("nature"), max_length=16, choices=LedgerKind.choices)
    subject = models.CharField(_("objet"), max_length=64)
    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    version = models.OneToOneField(
        ProjectVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entry"
    )
    number = models.PositiveIntegerField(_("version"), null=True, blank=True)
    digest = models.CharField(_("empreinte du contenu"), max_length=64)
    recorded_at = models.DateTimeField(_("enregistré le"))
    prev_hash = models.CharField(_("empreinte précédente"), max_length=64)
    hash = models.CharField(_("empreinte"), max_length=64)

    class Meta:
        verbose_name = _("entrée du registre")
        verbose_name_plural = _("entrées du registre")
        ordering = ["seq"]
        constraints = [
            models.CheckConstraint(condition=Q(seq__gte=1), name="ledger_entry_seq_positive"),
            models.CheckConstraint(condition=Q(kind__in=LedgerKind.values), name="ledger_entry_kind_known"),
            models.CheckConstraint(
                condition=(
                    Q(kind=LedgerKind.VERSION)
                    & Q(version__isnull=False, project__isnull=False, number__isnull=False)
                )
                | (
                    Q(kind=LedgerKind.RECEIPT)
                    & Q(version__isnull=True, project__isnull=True, number__isnull=True)
                ),
                name="ledger_entry_version_fields",
            ),
            models.CheckConstraint(condition=Exact(Length("hash"), 64), name="ledger_entry_hash_length"),
            models.CheckConstraint(condition=Exact(Length("digest"), 64), name="ledger_entry_digest_length"),
            models.UniqueConstraint(fields=["prev_hash"], name="ledger_entry_one_successor"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {self.subject}"
