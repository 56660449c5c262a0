from django.contrib import admin

from .models import Alert, AlertEvent


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    extra = 0
    can_delete = False
    fields = ("kind", "at", "severity", "evidence", "actor_label", "comment")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Alerts are written by the rules and acknowledged in the inbox: the admin only reads them."""

    list_display = ("id", "rule", "severity", "state", "project", "region_code", "province_code", "opened_at")
    list_filter = ("state", "severity", "rule", "region_code")
    search_fields = ("project__public_id", "project__title_fr", "project__title_ar")
    list_select_related = ("project",)
    inlines = [AlertEventInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
