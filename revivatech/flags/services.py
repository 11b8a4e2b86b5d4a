"""Every change to a flag goes through here, so the history is complete."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction
from waffle.models import Flag

from .models import FlagChange, FlagCustomers

TRACKED = ("everyone", "percent", "staff", "superusers", "authenticated", "testing", "note")


def _state(flag: Flag) -> dict:
    state = {field: getattr(flag, field) for field in TRACKED}
    state["percent"] = None if state["percent"] is None else str(state["percent"])
    if flag.pk:
        row = FlagCustomers.objects.filter(flag=flag).first()
        state["customers"] = row.customer_numbers if row else ""
        state["users"] = sorted(flag.users.values_list("username", flat=True))
        state["groups"] = sorted(flag.groups.values_list("name", flat=True))
    return state


def snapshot(flag: Flag) -> dict:
    return _state(flag) if flag.pk else {}


@transaction.atomic
def record_change(flag: Flag, *, before: dict, by) -> FlagChange | None:
    """Store what changed between ``before`` (a ``snapshot``) and the flag as saved now."""
    flag.refresh_from_db()  # compare stored values (a percent typed as "25" is stored as 25.0)
    after = _state(flag)
    changes = {key: [before.get(key), value] for key, value in after.items() if before.get(key) != value}
    if not changes:
        return None
    flag.flush()  # users/groups changed after save(): drop waffle's cached sets too
    cache.delete(f"flags:named:{flag.name}")
    return FlagChange.objects.create(flag_name=flag.name, changed_by=by, changes=changes)


def set_flag(name: str, *, by=None, **values) -> Flag:
    """Create or change a flag from code or a command (the admin saves through its own form)."""
    flag, created = Flag.objects.get_or_create(name=name)
    before = {} if created else snapshot(flag)
    customers = values.pop("customers", None)
    for field, value in values.items():
        setattr(flag, field, value)
    flag.save()
    if customers is not None:
        FlagCustomers.objects.update_or_create(flag=flag, defaults={"customer_numbers": customers})
    record_change(flag, before=before, by=by)
    return flag
