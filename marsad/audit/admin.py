from django.contrib import admin

from marsad.core.admin import ReadOnlyAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "actor_label", "action", "object_type", "object_label", "source_kind")
    list_filter = ("actor_kind", "action", "object_type", "source_kind")
    search_fields = ("actor_label", "object_id", "object_label", "source_id", "request_id")
    date_hierarchy = "occurred_at"


class AuditedAdminMixin:
    """Django admin writes go to the audit trail like every other write (DESIGN §8)."""

    def _audit(self, request, obj, action: str, changes: dict) -> None:
        from .services import audit_record

        audit_record(
            actor=request.user,
            action=f"{obj._meta.model_name}.{action}",
            object_type=f"{obj._meta.app_label}.{obj._meta.model_name}",
            object_id=str(getattr(obj, "code", None) or obj.pk),
            object_label=str(obj),
            changes=changes,
            source_kind="admin",
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changed = {name: str(form.cleaned_data.get(name)) for name in form.changed_data}
        self._audit(request, obj, "admin_update" if change else "admin_create", {"fields": changed})

    def delete_model(self, request, obj):
        label = {"id": str(obj.pk), "label": str(obj)}
        super().delete_model(request, obj)
        self._audit(request, obj, "admin_delete", label)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
