"""Who is who, for every app: customers, technicians (the Technicians group) and shop staff (the
Staff group or superusers). Apps grant their own model permissions to these groups."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, Group, Permission

TECHNICIANS_GROUP = "Technicians"
STAFF_GROUP = "Staff"

ROLE_STAFF = "staff"
ROLE_TECHNICIAN = "technician"
ROLE_CUSTOMER = "customer"
ROLE_ANONYMOUS = "anonymous"


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


def grant_staff_permissions(app_label: str) -> None:
    """Give the Staff group every permission of ``app_label`` (run after migrate, also in tests)."""
    staff, _ = Group.objects.get_or_create(name=STAFF_GROUP)
    staff.permissions.add(*Permission.objects.filter(content_type__app_label=app_label))


def acting_user(by):
    """The user to record as having made a change: ``by`` when it is a signed-in user, else ``None``
    (anonymous visitors, system tasks and webhooks leave "changed by" empty)."""
    return by if by is not None and getattr(by, "is_authenticated", False) else None
