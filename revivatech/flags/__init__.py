"""Feature flags with gradual rollout (django-waffle underneath).

A feature asks ``flags.is_active("ready_by", request=…, customer_id=…)`` (views, templates through
``{% feature %}``, the API, consumers, Celery tasks: a request is optional). A flag is on or off for
everyone (the kill switch), on for staff, superusers, named users or groups, named customers, or a
percentage of customers. The percentage is stable per customer: the customer's number hashed with the
flag's name picks a point in 0–100, so a customer never flips between versions, and raising 10% to 20%
keeps the first 10% in. Visitors who are not yet anyone's customer get waffle's browser cookie.

Flags live in the database and waffle caches them in the shared cache (Redis when configured); a save
flushes that cache, so a change takes effect on every process at the next read.

Apps declare their flags with ``register`` in ``AppConfig.ready()``, with the value used while no one
has created the flag's row in the admin.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Feature:
    name: str
    default: bool
    description: str


REGISTRY: dict[str, Feature] = {}
#: user -> customer number, set by the app that owns customers (so a signed-in customer and the same
#: customer's guest tracking link get the same answer).
_customer_of_user: Callable[[object], int | None] = lambda user: None  # noqa: E731


def register(name: str, *, default: bool, description: str) -> Feature:
    feature = Feature(name, default, description)
    REGISTRY[name] = feature
    return feature


def set_customer_resolver(resolver: Callable[[object], int | None]) -> None:
    global _customer_of_user
    _customer_of_user = resolver


def rollout_point(name: str, subject: str) -> float:
    """Where ``subject`` falls in 0–100 for flag ``name`` (uniform, stable, independent per flag)."""
    digest = hashlib.sha256(f"{name}:{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100


def subject_for(*, customer_id: int | None = None, user=None) -> str | None:
    if customer_id is None and user is not None and getattr(user, "is_authenticated", False):
        customer_id = _customer_of_user(user)
        if customer_id is None:
            return f"user:{user.pk}"
    return f"customer:{customer_id}" if customer_id is not None else None


def forget_cached(names=None) -> None:
    """Drop what the shared cache holds about these flags (default: every registered one). A save
    does this itself; tests call it because a rolled-back transaction does not."""
    from django.core.cache import cache
    from waffle.models import Flag

    try:
        for name in REGISTRY if names is None else names:
            Flag(name=name).flush()
            cache.delete(f"flags:named:{name}")
    except Exception:  # the cache is down: nothing of it can be stale then
        logger.warning("feature flags: cache unavailable, nothing to forget")


def _named_customers(flag) -> set[str]:
    from django.core.cache import cache

    from .models import FlagCustomers

    key = f"flags:named:{flag.name}"
    try:
        ids = cache.get(key)
    except Exception:  # the cache is down: read the database
        ids = None
    if ids is None:
        row = FlagCustomers.objects.filter(flag=flag).first()
        ids = row.ids() if row else set()
        with contextlib.suppress(Exception):
            cache.set(key, ids, 300)
    return ids


def _active_for_user(flag, user) -> bool:
    try:
        return bool(flag.is_active_for_user(user))
    except Exception:  # waffle keeps the named users and groups in the cache: down, none match
        logger.warning("feature flags: cache unavailable, users and groups of %s not checked", flag.name)
        return False


def is_active(name: str, *, request=None, customer_id: int | None = None, user=None) -> bool:
    """Is feature ``name`` on for this request / customer / user? Unknown names are an error."""
    from waffle.models import Flag

    feature = REGISTRY.get(name)
    if feature is None:
        raise KeyError(f"unknown feature flag {name!r}: register it in the owning app's ready()")
    try:
        flag = Flag.get(name)  # from the shared cache; a save flushes it on every process
    except Exception:  # the cache (Redis) is down: a flag must never cost a booking or a message
        logger.warning("feature flags: cache unavailable, %s read from the database", name)
        flag = Flag.objects.filter(name=name).first() or Flag(name=name)
    if not flag.pk:  # nobody has created it in the admin yet
        return feature.default
    if flag.everyone is not None:  # on or off for everyone, overriding the rest: the kill switch
        return flag.everyone
    if user is None and request is not None:
        user = getattr(request, "user", None)
    if user is not None and _active_for_user(flag, user):  # staff, superusers, named users, groups
        return True
    subject = subject_for(customer_id=customer_id, user=user)
    if subject and subject.startswith("customer:") and subject[9:] in _named_customers(flag):
        return True
    if flag.percent and subject is not None:
        return rollout_point(name, subject) < float(flag.percent)
    if flag.percent and request is not None:  # an anonymous visitor: waffle's sticky cookie
        return bool(flag._is_active_for_percent(request, read_only=False))
    return False
