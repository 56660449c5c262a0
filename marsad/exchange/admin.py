"""Admin of the exchange: clients are registered here (or with `marsad client`); the token is shown
once, on creation. Submissions, keys of the platform, checkpoints and deliveries are read-only."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marsad.audit.admin import AuditedAdminMixin
from marsad.core.admin import ReadOnlyAdmin

from . import services, webhooks
from .models import (
    ApiClient,
    ClientKey,
    LedgerCheckpoint,
    PlatformKey,
    Submission,
    WebhookDelivery,
    WebhookSubscription,
)
from .selectors import token_hash


class ClientKeyInline(admin.TabularInline):
    model = ClientKey
    extra = 0
    fields = ("key_id", "public_key", "created_at", "expires_at", "revoked_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ApiClient)
class ApiClientAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = (
        "client_id",
        "name",
        "organisation",
        "can_submit",
        "can_read_feed",
        "created_at",
        "revoked_at",
    )
    list_filter = ("can_submit", "can_read_feed", "organisation")
    search_fields = ("client_id", "name", "organisation__code")
    filter_horizontal = ("write_for",)
    readonly_fields = ("token_hint", "created_at", "revoked_at")
    fields = (
        "client_id", "name", "organisation", "write_for", "can_submit", "can_read_feed", "rate_per_minute",
        "token_hint", "created_at", "revoked_at",
    )  # fmt: skip
    inlines = [ClientKeyInline]
    actions = ["revoke", "new_token"]

    def save_model(self, request, obj, form, change):
        if not change:
            token = services.new_token()
            obj.token_hash, obj.token_hint, obj.created_at = token_hash(token), token[:12], timezone.now()
            messages.warning(
                request,
                _("Jeton du client %(client)s, affiché une seule fois : %(token)s")
                % {"client": obj.client_id, "token": token},
            )
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Révoquer les clients choisis"))
    def revoke(self, request, queryset):
        for client in queryset.filter(revoked_at__isnull=True):
            services.client_revoke(actor=request.user, client=client)

    @admin.action(description=_("Émettre un nouveau jeton"))
    def new_token(self, request, queryset):
        for client in queryset.filter(revoked_at__isnull=True):
            token = services.client_token_rotate(actor=request.user, client=client)
            messages.warning(
                request,
                _("Jeton du client %(client)s, affiché une seule fois : %(token)s")
                % {"client": client.client_id, "token": token},
            )


@admin.register(ClientKey)
class ClientKeyAdmin(admin.ModelAdmin):
    """A key is added through the rotation service: the keys already valid stay valid for a week."""

    list_display = ("key_id", "client", "created_at", "expires_at", "revoked_at")
    search_fields = ("key_id", "client__client_id")
    fields = ("client", "key_id", "public_key")
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            key = services.client_key_add(
                actor=request.user, client=obj.client, public_key=obj.public_key, key_id=obj.key_id
            )
        except ValueError:
            messages.error(
                request, _("Clé publique invalide : base64 des 32 octets d'une clé Ed25519 attendu.")
            )
            return
        obj.pk = key.pk

    @admin.action(description=_("Révoquer les clés choisies"))
    def revoke(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True).select_related("client"):
            services.client_key_revoke(actor=request.user, key=key)


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "channel", "client", "uploaded_by", "state", "received_at", "record_count")
    list_filter = ("channel", "state")
    search_fields = ("public_id", "idempotency_key", "client__client_id", "file_name")
    date_hierarchy = "received_at"


@admin.register(PlatformKey)
class PlatformKeyAdmin(ReadOnlyAdmin):
    list_display = ("key_id", "created_at", "retired_at")


@admin.register(LedgerCheckpoint)
class LedgerCheckpointAdmin(ReadOnlyAdmin):
    list_display = ("seq", "hash", "key_id", "signed_at")


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "client", "url", "created_at", "disabled_at", "disabled_reason")
    actions = ["disable"]

    def has_change_permission(self, request, obj=None):
        return obj is None and request.user.is_superuser  # the changelist, for the action

    @admin.action(description=_("Désactiver les abonnements choisis"))
    def disable(self, request, queryset):
        for subscription in queryset.filter(disabled_at__isnull=True):
            webhooks.webhook_disable(
                actor=request.user, subscription=subscription, reason=str(_("Désactivé par l'administration"))
            )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("message_id", "subscription", "state", "attempts", "created_at", "delivered_at")
    list_filter = ("state",)
