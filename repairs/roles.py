"""Who is who: customers, technicians (the Technicians group) and shop staff (the Staff group)."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

# The roles themselves live in the project kernel; re-exported for this app's callers.
from revivatech.roles import (  # noqa: F401
    ROLE_ANONYMOUS,
    ROLE_CUSTOMER,
    ROLE_STAFF,
    ROLE_TECHNICIAN,
    STAFF_GROUP,
    TECHNICIANS_GROUP,
    is_shop_staff,
    is_technician,
    role_of,
)

_TECHNICIAN_PERMISSIONS = [
    "view_repairticket",
    "change_repairticket",
    "transition_repairticket",
    "view_customer",
    "view_device",
    "view_ticketevent",
    "add_milestone",
    "view_milestone",
    "add_photo",
    "view_photo",
    "add_qualitycheck",
    "view_qualitycheck",
    "add_note",
    "view_note",
]


def ensure_role_groups(**kwargs) -> None:
    """Create the Technicians and Staff groups with their permissions (run after migrate)."""
    repairs_perms = Permission.objects.filter(content_type__app_label="repairs")
    technicians, _ = Group.objects.get_or_create(name=TECHNICIANS_GROUP)
    technicians.permissions.add(*repairs_perms.filter(codename__in=_TECHNICIAN_PERMISSIONS))
    staff, _ = Group.objects.get_or_create(name=STAFF_GROUP)
    staff.permissions.add(*Permission.objects.filter(content_type__app_label__in=["repairs", "authtoken"]))
