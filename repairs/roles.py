"""Who is who: customers, technicians (the Technicians group) and shop staff (the Staff group)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, Group, Permission

TECHNICIANS_GROUP = "Technicians"
STAFF_GROUP = "Staff"

ROLE_STAFF = "staff"
ROLE_TECHNICIAN = "technician"
ROLE_CUSTOMER = "customer"
ROLE_ANONYMOUS = "anonymous"

_TECHNICIAN_PERMISSIONS = [
    "view_repairticket",
    "change_repairticket",
    "transition_repairticket",
    "view_customer",
    "view_device",
    "view_statuschange",
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


def _group_names(user) -> set[str]:
    cached = getattr(user, "_revivatech_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True)) if user.is_authenticated else set()
        user._revivatech_groups = cached
    return cached


def is_shop_staff(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or STAFF_GROUP in _group_names(user)))


def is_technician(user) -> bool:
    return bool(user and user.is_authenticated and TECHNICIANS_GROUP in _group_names(user))


def role_of(user) -> str:
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return ROLE_ANONYMOUS
    if is_shop_staff(user):
        return ROLE_STAFF
    if is_technician(user):
        return ROLE_TECHNICIAN
    return ROLE_CUSTOMER


def ensure_role_groups(**kwargs) -> None:
    """Create the Technicians and Staff groups with their permissions (run after migrate)."""
    repairs_perms = Permission.objects.filter(content_type__app_label="repairs")
    technicians, _ = Group.objects.get_or_create(name=TECHNICIANS_GROUP)
    technicians.permissions.add(*repairs_perms.filter(codename__in=_TECHNICIAN_PERMISSIONS))
    staff, _ = Group.objects.get_or_create(name=STAFF_GROUP)
    staff.permissions.add(*Permission.objects.filter(content_type__app_label__in=["repairs", "authtoken"]))
