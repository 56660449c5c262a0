from django.contrib import admin

from marsad.core.admin import ReadOnlyAdmin

from .models import Territory


@admin.register(Territory)
class TerritoryAdmin(ReadOnlyAdmin):
    """Read-only: territories come from HCP through `marsad territories_load`."""

    list_display = ("code", "name_fr", "name_ar", "level", "kind", "population_2024")
    list_filter = ("level", "kind", "region_code")
    search_fields = ("code", "name_fr", "name_ar")
