"""The exchange: API clients and their keys, submissions with their receipts, the platform's own
signing keys, and the signed checkpoints of the ledger's head.

A client is one sending system of an operator (DESIGN §6). It authenticates with a bearer token,
of which only the SHA-256 is kept, and signs every write with an Ed25519 key whose private half
never leaves the operator. Several keys may be valid at once while a key is rotated.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

from marsad.accounts.models import Organisation

from .choices import DeliveryState, SubmissionChannel, SubmissionState


class ApiClient(models.Model):
    client_id = models.SlugField(_("identifiant du client"), max_length=64, unique=True)
    name = models.CharField(_("nom"), max_length=200)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="api_clients", verbose_name=_("organisation")
    )
    write_for = models.ManyToManyField(
        Organisation,
        related_name="+",
        blank=True,
        verbose_name=_("écrit pour"),
        help_text=_("Organisations (et leurs filiales) dont le client peut transmettre les projets."),
    )
    can_submit = models.BooleanField(_("peut soumettre"), default=True)
    can_read_feed = models.BooleanField(_("peut lire le flux"), default=True)
    token_hash = models.CharField(_("empreinte du jeton"), max_length=64, unique=True)
    token_hint = models.CharField(_("début du jeton"), max_length=12)
    rate_per_minute = models.PositiveIntegerField(_("requêtes par minute"), default=120)
    created_at = models.DateTimeField(_("créé le"))
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)

    class Meta:
        verbose_name = _("client de l'API")
        verbose_name_plural = _("clients de l'API")
        ordering = ["client_id"]
        constraints = [
            models.CheckConstraint(
                condition=Exact(Length("token_hash"), 64), name="api_client_token_hash_length"
            ),
            models.CheckConstraint(condition=Q(rate_per_minute__gte=1), name="api_client_rate_positive"),
        ]

    def __str__(self) -> str:
        return self.client_id

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    # The principal of DESIGN §4: scoping and audit see a client as they see a user.
    def marsad_scope(self):
        from .selectors import client_scope

        cached = getattr(self, "_marsad_scope", None)
        if cached is None:
            cached = self._marsad_scope = client_scope(self)
        return cached

    def audit_identity(self) -> tuple[str, str, str]:
        return "client", self.client_id, f"{self.name} ({self.client_id})"


class ClientKey(models.Model):
    """An Ed25519 public key of a client. During a rotation the old key stays valid until
    ``expires_at``; a revoked key is refused at once."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="keys")
    key_id = models.SlugField(_("identifiant de clé"), max_length=64, unique=True)
    public_key = models.CharField(_("clé publique (base64)"), max_length=44)
    created_at = models.DateTimeField(_("ajoutée le"))
    expires_at = models.DateTimeField(_("expire le"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoquée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("clé de client")
        verbose_name_plural = _("clés de client")
        ordering = ["client", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Exact(Length("public_key"), 44), name="client_key_public_key_length"
            ),
        ]

    def __str__(self) -> str:
        return self.key_id


class Submission(models.Model):
    """One batch received, with its idempotency key and, once processed, its signed receipt."""

    public_id = models.CharField(_("identifiant"), max_length=32, unique=True)
    client = models.ForeignKey(
        ApiClient, on_delete=models.PROTECT, null=True, blank=True, related_name="submissions"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(_("canal"), max_length=16, choices=SubmissionChannel.choices)
    idempotency_key = models.CharField(_("clé d'idempotence"), max_length=128)
    digest = models.CharField(_("empreinte de la requête"), max_length=64)
    state = models.CharField(_("état"), max_length=16, choices=SubmissionState.choices)
    lease_until = models.DateTimeField(_("réservée jusqu'au"))
    received_at = models.DateTimeField(_("reçue le"), db_index=True)
    processed_at = models.DateTimeField(_("traitée le"), null=True, blank=True)
    file_name = models.CharField(_("fichier"), max_length=200, blank=True)
    record_count = models.PositiveIntegerField(_("enregistrements"), default=0)
    counts = models.JSONField(_("décompte"), default=dict, blank=True)
    # Earliest as-of date among the records, to measure the lag between a record and its arrival.
    oldest_as_of = models.DateField(_("situation la plus ancienne"), null=True, blank=True)
    receipt = models.JSONField(_("accusé de réception"), null=True, blank=True)
    # For an uploaded file: each row's outcome and problems, located to row, column and cell.
    upload_report = models.JSONField(_("rapport du fichier"), null=True, blank=True)

    class Meta:
        verbose_name = _("soumission")
        verbose_name_plural = _("soumissions")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "idempotency_key"],
                condition=Q(client__isnull=False),
                name="submission_one_per_client_key",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=SubmissionChannel.values), name="submission_channel"
            ),
            models.CheckConstraint(condition=Q(state__in=SubmissionState.values), name="submission_state"),
            models.CheckConstraint(
                condition=Q(client__isnull=False) | Q(uploaded_by__isnull=False), name="submission_has_sender"
            ),
            models.CheckConstraint(
                condition=Q(state=SubmissionState.PROCESSING)
                | Q(receipt__isnull=False, processed_at__isnull=False),
                name="submission_done_has_receipt",
            ),
            models.CheckConstraint(condition=Exact(Length("digest"), 64), name="submission_digest_length"),
        ]
        indexes = [models.Index(fields=["client", "received_at"], name="submission_client_time")]

    def __str__(self) -> str:
        return self.public_id


class PlatformKey(models.Model):
    """A public key of the platform's own Ed25519 keys, which sign receipts and ledger checkpoints.
    Retired keys stay listed so that what they signed stays verifiable."""

    key_id = models.SlugField(_("identifiant de clé"), max_length=64, unique=True)
    public_key = models.CharField(_("clé publique (base64)"), max_length=44)
    created_at = models.DateTimeField(_("créée le"))
    retired_at = models.DateTimeField(_("retirée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("clé de la plateforme")
        verbose_name_plural = _("clés de la plateforme")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.key_id


class LedgerCheckpoint(models.Model):
    """The ledger's head at a moment, signed by the platform (the scheduler does it periodically)."""

    seq = models.BigIntegerField(_("numéro d'ordre"))
    hash = models.CharField(_("empreinte"), max_length=64)
    key_id = models.CharField(_("clé"), max_length=64)
    signature = models.CharField(_("signature (base64)"), max_length=120)
    signed_at = models.DateTimeField(_("signée le"), db_index=True)

    class Meta:
        verbose_name = _("point de contrôle du registre")
        verbose_name_plural = _("points de contrôle du registre")
        ordering = ["-signed_at"]

    def __str__(self) -> str:
        return f"{self.seq} {self.hash[:12]}"


class WebhookSubscription(models.Model):
    """A client's endpoint, notified after each commit that brings versions it may read. The payload
    is thin (the cursor range and the projects); the consumer then reads the change feed."""

    public_id = models.CharField(_("identifiant"), max_length=32, unique=True)
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(_("adresse"), max_length=500)
    # Standard Webhooks signs with a shared secret, which the platform must therefore keep.
    secret = models.CharField(_("secret"), max_length=80)
    created_at = models.DateTimeField(_("créé le"))
    disabled_at = models.DateTimeField(_("désactivé le"), null=True, blank=True)
    disabled_reason = models.CharField(_("motif de désactivation"), max_length=200, blank=True)
    consecutive_gone = models.PositiveIntegerField(_("réponses 410 consécutives"), default=0)

    class Meta:
        verbose_name = _("abonnement webhook")
        verbose_name_plural = _("abonnements webhook")
        ordering = ["client", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(url__startswith="http://") | Q(url__startswith="https://"),
                name="webhook_url_http",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


class WebhookDelivery(models.Model):
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.CharField(_("identifiant du message"), max_length=40, unique=True)
    event_type = models.CharField(_("type d'évènement"), max_length=40)
    payload = models.JSONField(_("contenu"))
    state = models.CharField(_("état"), max_length=16, choices=DeliveryState.choices)
    attempts = models.PositiveIntegerField(_("essais"), default=0)
    next_attempt_at = models.DateTimeField(_("prochain essai"), null=True, blank=True)
    created_at = models.DateTimeField(_("créée le"), db_index=True)
    delivered_at = models.DateTimeField(_("remise le"), null=True, blank=True)

    class Meta:
        verbose_name = _("remise de webhook")
        verbose_name_plural = _("remises de webhook")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=DeliveryState.values), name="webhook_delivery_state"
            ),
        ]

    def __str__(self) -> str:
        return self.message_id


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery, for the subscriber's delivery log."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(_("tenté le"))
    status_code = models.PositiveSmallIntegerField(_("code HTTP"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("durée (ms)"), default=0)
    error = models.CharField(_("erreur"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("essai de remise")
        verbose_name_plural = _("essais de remise")
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status_code or self.error}"
