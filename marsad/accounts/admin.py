from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from marsad.audit.admin import AuditedAdminMixin
from marsad.core.text import search_key

from .models import Membership, Organisation, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("territory", "organisation")


@admin.register(User)
class MarsadUserAdmin(AuditedAdminMixin, UserAdmin):
    inlines = (MembershipInline,)


@admin.register(Organisation)
class OrganisationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name_fr", "name_ar", "kind", "parent", "territory")
    list_filter = ("kind",)
    search_fields = ("code", "name_fr", "name_ar", "acronym")
    autocomplete_fields = ("parent", "territory")
    readonly_fields = ("search_text",)

    def save_model(self, request, obj, form, change):
        obj.search_text = search_key(
            " ".join(filter(None, (obj.code, obj.acronym, obj.name_fr, obj.name_ar)))
        )
        super().save_model(request, obj, form, change)
