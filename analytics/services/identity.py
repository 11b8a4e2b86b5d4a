"""Consent-tiered identity.

* **No consent** (the default): the visitor is ``blake2b(key=salt of the UTC day, site + IP + user
  agent)``, 128 bits. The salt is random, kept in the database, created on first use each day and
  deleted after 48 hours, so yesterday's visitors cannot be recognised today and the raw IP is never
  stored. For the first minutes after midnight (the session timeout) yesterday's key is computed as
  well, so a visit that crosses midnight continues.
* **Consent** (banner; choice stored in a first-party cookie and as a :class:`ConsentRecord` with
  its time and version): a persistent random device id (cookie) and richer device signals.
* **Linking**: on login or booking the visitor (the day's key and the consented device) is linked to
  the customer; all of a customer's devices then count as one person (cross-device).
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from revivatech.request_info import client_ip

from ..models import ConsentRecord, DailySalt, LinkSource, Session, TrackedDevice, VisitorLink
from .request_info import parse_user_agent
from .storage import write

logger = logging.getLogger(__name__)

SALT_BYTES = 32
#: Salts are kept this long after their day starts: the day itself plus one for continuity.
SALT_KEEP = timedelta(hours=48)

_salt_lock = threading.Lock()
#: Salts per day, cached for the life of the process (a day's salt never changes once created).
#: ``None`` records a day whose salt is known to be gone (older days are never recreated).
_salts: dict[date, bytes | None] = {}


@dataclass(frozen=True)
class Identity:
    """Who sent a request, as far as their consent allows."""

    visitor_key: uuid.UUID | None
    #: Yesterday's key, only in the first minutes after midnight (continuity of open visits).
    previous_visitor_key: uuid.UUID | None = None
    #: The consented first-party device id; ``None`` without consent.
    device_id: uuid.UUID | None = None
    consent: bool = False


# --- salts -------------------------------------------------------------------------------------------


def utc_day(now: datetime) -> date:
    return now.astimezone(UTC).date()


def _delete_expired_salts(today: date) -> int:
    deleted, _ = DailySalt.objects.filter(day__lt=today - timedelta(days=1)).delete()
    with _salt_lock:
        for day in [day for day in _salts if day < today - timedelta(days=1)]:
            del _salts[day]
    return deleted


def salt_for(day: date, *, create: bool) -> bytes | None:
    """The salt of ``day`` (created if ``create`` and missing). No query once cached."""
    cached = _salts.get(day, False)
    if cached is not False and (cached is not None or not create):
        return cached
    row = DailySalt.objects.filter(day=day).first()
    if row is None and create:
        try:
            with transaction.atomic():
                row = DailySalt.objects.create(day=day, salt=secrets.token_bytes(SALT_BYTES))
        except IntegrityError:  # another process created it first
            row = DailySalt.objects.get(day=day)
        _delete_expired_salts(day)
    salt = bytes(row.salt) if row is not None else None
    with _salt_lock:
        _salts[day] = salt
    return salt


def rotate_salts(now: datetime | None = None) -> dict[str, Any]:
    """Create today's salt and delete those older than 48 hours (run at midnight UTC by beat; the
    same happens lazily on the first request of a day)."""
    now = now or timezone.now()
    today = utc_day(now)
    salt_for(today, create=True)
    deleted = _delete_expired_salts(today)
    return {"day": today.isoformat(), "deleted": deleted}


def forget_cached_salts() -> None:
    with _salt_lock:
        _salts.clear()


def site_name() -> str:
    return settings.ANALYTICS_SITE or urlsplit(settings.SITE_URL).netloc or "revivatech"


def keyed_hash(salt: bytes, ip: str, user_agent: str) -> uuid.UUID:
    digest = hashlib.blake2b(
        f"{site_name()}\x00{ip}\x00{user_agent}".encode(), key=salt, digest_size=16
    ).digest()
    return uuid.UUID(bytes=digest)


def visitor_keys(ip: str, user_agent: str, now: datetime) -> tuple[uuid.UUID, uuid.UUID | None]:
    """Today's anonymous key and, shortly after midnight, yesterday's (or ``None``)."""
    today = utc_day(now)
    current = keyed_hash(salt_for(today, create=True), ip, user_agent)
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    previous = None
    if now - midnight < timedelta(minutes=settings.ANALYTICS_SESSION_TIMEOUT_MINUTES):
        old_salt = salt_for(today - timedelta(days=1), create=False)
        if old_salt is not None:
            previous = keyed_hash(old_salt, ip, user_agent)
    return current, previous


# --- consent cookies -----------------------------------------------------------------------------------


def consent_cookie_value(granted: bool) -> str:
    return f"{settings.ANALYTICS_CONSENT_VERSION}.{'1' if granted else '0'}"


def consent_from_cookie(value: str | None) -> bool | None:
    """``True``/``False`` for a choice made on the current consent version, ``None`` otherwise."""
    if not value:
        return None
    version, _, choice = value.rpartition(".")
    if version != settings.ANALYTICS_CONSENT_VERSION or choice not in ("0", "1"):
        return None
    return choice == "1"


def _device_from_cookie(value: str | None) -> uuid.UUID | None:
    if not value or len(value) > 40:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def identity_from_request(request: HttpRequest, now: datetime | None = None) -> Identity:
    """The request's identity: the device id only when the current consent is granted."""
    now = now or timezone.now()
    meta = request.META
    user_agent = str(meta.get("HTTP_USER_AGENT", ""))[:512]
    current, previous = visitor_keys(client_ip(meta), user_agent, now)
    consent = consent_from_cookie(request.COOKIES.get(settings.ANALYTICS_CONSENT_COOKIE)) is True
    device_id = (
        _device_from_cookie(request.COOKIES.get(settings.ANALYTICS_DEVICE_COOKIE)) if consent else None
    )
    return Identity(visitor_key=current, previous_visitor_key=previous, device_id=device_id, consent=consent)


# --- the request being served (set by analytics.middleware) ---------------------------------------------

_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "analytics_current_request", default=None
)


def set_current_request(request: HttpRequest | None) -> contextvars.Token:
    return _current_request.set(request)


def reset_current_request(token: contextvars.Token) -> None:
    _current_request.reset(token)


def current_request() -> HttpRequest | None:
    return _current_request.get()


def browser_request_identity(customer_id: int | None = None) -> Identity | None:
    """The identity of the browser request being served, if it may speak for ``customer_id``: it
    must come from a browser that loaded our pages (it carries the CSRF cookie; webhooks do not),
    and be anonymous or logged in as that customer (staff booking for a walk-in never links)."""
    request = current_request()
    if request is None or settings.CSRF_COOKIE_NAME not in request.COOKIES:
        return None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        own = getattr(user, "customer", None)
        if own is None or (customer_id is not None and own.pk != customer_id):
            return None
    return identity_from_request(request)


# --- consent records and devices -----------------------------------------------------------------------


def record_consent(
    request: HttpRequest, *, granted: bool, signals: dict[str, Any] | None = None, now: datetime | None = None
) -> tuple[ConsentRecord, uuid.UUID | None]:
    """Store the visitor's choice (time and version) and, when granted, the consented device with
    the richer signals consent allows (reusing the browser's device id if it has one). Returns the
    record and the device id to set in the cookie (``None``: delete the cookie)."""
    return write(lambda: _record_consent(request, granted, signals, now or timezone.now()))


def _record_consent(
    request: HttpRequest, granted: bool, signals: dict[str, Any] | None, now: datetime
) -> tuple[ConsentRecord, uuid.UUID | None]:
    current, _ = visitor_keys(
        client_ip(request.META), str(request.META.get("HTTP_USER_AGENT", ""))[:512], now
    )
    user = getattr(request, "user", None)
    customer = getattr(user, "customer", None) if user is not None and user.is_authenticated else None
    device_id = None
    if granted:
        device_id = _device_from_cookie(request.COOKIES.get(settings.ANALYTICS_DEVICE_COOKIE)) or uuid.uuid4()
        agent = parse_user_agent(str(request.META.get("HTTP_USER_AGENT", "")))
        device, _ = TrackedDevice.objects.get_or_create(
            id=device_id,
            defaults={"first_seen_at": now, "last_seen_at": now},
        )
        device.browser, device.os, device.device_type = agent.browser, agent.os, agent.device_type
        if signals:
            device.screen = signals.get("screen", "")
            device.time_zone = signals.get("tz", "")
            device.language = signals.get("lang", "")
            device.hardware = signals.get("hw", {})
        device.last_seen_at = max(device.last_seen_at, now)
        device.save()
    record = ConsentRecord.objects.create(
        granted=granted,
        version=settings.ANALYTICS_CONSENT_VERSION,
        device_id=device_id or _device_from_cookie(request.COOKIES.get(settings.ANALYTICS_DEVICE_COOKIE)),
        visitor_key=current,
        customer=customer,
        created_at=now,
    )
    if customer is not None:
        link_identity(
            Identity(visitor_key=current, device_id=device_id), customer.pk, LinkSource.LOGIN, now=now
        )
    return record, device_id


# --- linking visitors to customers ---------------------------------------------------------------------


def link_identity(
    identity: Identity, customer_id: int, source: str, now: datetime | None = None
) -> dict[str, int]:
    """Link the visitor's keys and consented device to the customer; their sessions so far (on
    every device linked to them) are attributed to the customer too."""
    return write(lambda: _link_identity(identity, customer_id, source, now or timezone.now()))


def _link_identity(identity: Identity, customer_id: int, source: str, now: datetime) -> dict[str, int]:
    keys = [key for key in (identity.visitor_key, identity.previous_visitor_key) if key is not None]
    for key in keys:
        VisitorLink.objects.get_or_create(
            visitor_key=key, customer_id=customer_id, defaults={"source": source, "linked_at": now}
        )
    devices = 0
    if identity.device_id is not None:
        devices = TrackedDevice.objects.filter(id=identity.device_id).update(
            customer_id=customer_id, linked_at=now
        )
        if not devices:
            TrackedDevice.objects.create(
                id=identity.device_id,
                customer_id=customer_id,
                first_seen_at=now,
                last_seen_at=now,
                linked_at=now,
            )
            devices = 1
    sessions = Session.objects.filter(customer__isnull=True)
    by_key = sessions.filter(visitor_key__in=keys).update(customer_id=customer_id) if keys else 0
    by_device = (
        sessions.filter(device_id=identity.device_id).update(customer_id=customer_id)
        if identity.device_id is not None
        else 0
    )
    return {"visitor_keys": len(keys), "devices": devices, "sessions": by_key + by_device}
