from django.contrib import admin

from .models import Territory


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    """Read-only: territories come from HCP through `marsad territories_load`."""

    list_display = ("code", "name_fr", "name_ar", "level", "kind", "population_2024")
    list_filter = ("level", "kind", "region_code")
    search_fields = ("code", "name_fr", "name_ar")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
