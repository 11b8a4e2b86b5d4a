"""The base of every analytics admin (analytics/admin.py and the parts' own admin modules), kept
apart so that the parts do not import analytics/admin.py, which imports them to register them."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from repairs.roles import is_shop_staff
from revivatech.admin_mixins import ReadOnlyAdminMixin


class StaffReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Visible to shop staff; nothing is edited by hand (services write)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_shop_staff(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_shop_staff(request.user)
