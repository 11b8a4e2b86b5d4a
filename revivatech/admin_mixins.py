"""Admin building blocks every app's admin shares."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Viewable, never added, changed or deleted in the admin: services write these rows (history,
    audit logs, stored events). Works for ModelAdmins and inlines (``obj`` is optional)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
