"""Admin for indicator targets (entered by people, audited); facts and rollups are derived data that
only the engine writes, shown read-only."""

from django.contrib import admin

from marsad.audit.admin import AuditedAdminMixin
from marsad.core.admin import ReadOnlyAdmin

from .models import ProjectMonth, Rollup, Target


@admin.register(Target)
class TargetAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("indicator", "year", "territory", "programme", "value")
    list_filter = ("year", "indicator", "programme")
    autocomplete_fields = ("territory",)
    search_fields = ("indicator__code", "territory__code", "territory__name_fr", "territory__name_ar")


@admin.register(ProjectMonth)
class ProjectMonthAdmin(ReadOnlyAdmin):
    list_display = (
        "project",
        "month",
        "province_code",
        "programme_code",
        "status_code",
        "progress",
        "reported",
    )
    list_filter = ("month", "programme_code", "reported")
    search_fields = ("project__public_id", "project__operator_ref", "province_code")


@admin.register(Rollup)
class RollupAdmin(ReadOnlyAdmin):
    list_display = ("month", "province_code", "programme_code", "operator", "projects", "budget")
    list_filter = ("month", "programme_code", "region_code")
