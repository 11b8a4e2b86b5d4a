"""Who may do what in the notifications admin: the shop's Staff group gets every permission of
this app (technicians get none: they never see customers' messages)."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

from repairs.roles import STAFF_GROUP, is_shop_staff

__all__ = ["grant_staff_permissions", "is_shop_staff"]


def grant_staff_permissions(**kwargs) -> None:
    """Run after migrate (also in test databases)."""
    staff, _ = Group.objects.get_or_create(name=STAFF_GROUP)
    staff.permissions.add(*Permission.objects.filter(content_type__app_label="notifications"))
