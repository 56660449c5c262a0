"""Admin for the reference catalogue (programmes, statuses, milestone types, indicators) and read-only
views of projects and versions: projects change only through the services, by new versions."""

from django.contrib import admin

from marsad.audit.admin import AuditedAdminMixin
from marsad.core.admin import ReadOnlyAdmin

from .models import (
    Agreement,
    AgreementParty,
    Indicator,
    MilestoneType,
    Programme,
    ProgrammeTarget,
    Project,
    ProjectVersion,
    Status,
)


class ProgrammeTargetInline(admin.TabularInline):
    model = ProgrammeTarget
    extra = 0


@admin.register(Programme)
class ProgrammeAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name_fr", "name_ar", "start_year", "end_year", "owner", "position")
    search_fields = ("code", "name_fr", "name_ar")
    autocomplete_fields = ("owner",)
    inlines = (ProgrammeTargetInline,)


@admin.register(Status)
class StatusAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name_fr", "name_ar", "is_started", "is_completed", "is_cancelled", "position")


@admin.register(MilestoneType)
class MilestoneTypeAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name_fr", "name_ar", "position")


@admin.register(Indicator)
class IndicatorAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name_fr", "name_ar", "unit", "kind", "reported", "position")
    list_filter = ("kind", "reported")


class AgreementPartyInline(admin.TabularInline):
    model = AgreementParty
    extra = 0
    autocomplete_fields = ("organisation",)


@admin.register(Agreement)
class AgreementAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("reference", "title_fr", "signed_on")
    search_fields = ("reference", "title_fr", "title_ar")
    inlines = (AgreementPartyInline,)


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "operator",
        "operator_ref",
        "title_fr",
        "programme",
        "status",
        "version",
        "published",
        "withdrawn",
    )
    list_filter = ("programme", "status", "published", "withdrawn", "region_code")
    search_fields = ("public_id", "operator_ref", "title_fr", "title_ar")
    list_select_related = ("operator", "programme", "status")


@admin.register(ProjectVersion)
class ProjectVersionAdmin(ReadOnlyAdmin):
    list_display = (
        "project",
        "number",
        "received_at",
        "source_kind",
        "source_id",
        "actor_label",
        "is_tombstone",
    )
    list_filter = ("source_kind", "is_tombstone")
    list_select_related = ("project",)
