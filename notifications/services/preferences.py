"""Customers' choices: which kinds of message on which channels, and their quiet hours.

A choice nobody made falls back to a default: essential service messages, status updates,
quotes and payments by email and push; by SMS only for customers who asked to be texted;
marketing nowhere until the customer opts in. Essential service messages by email
(``REQUIRED_PREFERENCES``) cannot be switched off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction

from repairs.models import ContactChannel, Customer

from ..models import (
    REQUIRED_PREFERENCES,
    Channel,
    MessageKind,
    NotificationPreference,
    Priority,
    QuietHours,
)

UNSUBSCRIBE_SALT = "notifications.unsubscribe"


def is_required(kind: str, channel: str) -> bool:
    return (kind, channel) in REQUIRED_PREFERENCES


def default_enabled(customer: Customer, channel: str, kind: str) -> bool:
    if is_required(kind, channel):
        return True
    if kind == MessageKind.MARKETING:
        return False
    if channel == Channel.SMS:
        return customer.preferred_contact == ContactChannel.SMS
    return True


@dataclass(frozen=True)
class PreferenceCell:
    kind: str
    channel: str
    enabled: bool
    locked: bool


def preference_matrix(customer: Customer) -> dict[str, dict[str, PreferenceCell]]:
    """kind → channel → the customer's effective choice (stored or default)."""
    stored = {
        (p.kind, p.channel): p.enabled for p in NotificationPreference.objects.filter(customer=customer)
    }
    matrix: dict[str, dict[str, PreferenceCell]] = {}
    for kind in MessageKind.values:
        matrix[kind] = {}
        for channel in Channel.values:
            locked = is_required(kind, channel)
            enabled = (
                True if locked else stored.get((kind, channel), default_enabled(customer, channel, kind))
            )
            matrix[kind][channel] = PreferenceCell(kind, channel, enabled, locked)
    return matrix


def allowed_channels(customer: Customer, kind: str) -> dict[str, bool]:
    """channel → may a message of ``kind`` go to this customer on it."""
    return {channel: cell.enabled for channel, cell in preference_matrix(customer)[kind].items()}


@transaction.atomic
def update_preferences(customer: Customer, choices: dict[tuple[str, str], bool]) -> None:
    """Store ``{(kind, channel): enabled}``; switching off a required one is refused."""
    errors = {}
    for (kind, channel), enabled in choices.items():
        if kind not in MessageKind.values or channel not in Channel.values:
            errors[f"{kind}.{channel}"] = f"Unknown kind or channel: {kind}/{channel}."
        elif is_required(kind, channel) and not enabled:
            errors[f"{kind}.{channel}"] = (
                f"{MessageKind(kind).label} by {Channel(channel).label.lower()} cannot be switched off: "
                "they tell you about your repair and your money."
            )
    if errors:
        raise ValidationError(errors)
    for (kind, channel), enabled in choices.items():
        if is_required(kind, channel):
            continue
        NotificationPreference.objects.update_or_create(
            customer=customer, kind=kind, channel=channel, defaults={"enabled": enabled}
        )


# --- quiet hours --------------------------------------------------------------------------------


def parse_window(spec: str) -> tuple[time, time]:
    """``"21:00-08:00"`` → (21:00, 08:00)."""
    try:
        start, end = (part.strip() for part in spec.split("-"))
        return time.fromisoformat(start), time.fromisoformat(end)
    except ValueError as exc:
        raise ValidationError(f"Quiet hours must look like 21:00-08:00, not {spec!r}.") from exc


@dataclass(frozen=True)
class QuietWindow:
    enabled: bool
    start: time
    end: time
    time_zone: str


def customer_zone(customer: Customer) -> ZoneInfo:
    try:
        return ZoneInfo(customer.time_zone or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def quiet_window(customer: Customer) -> QuietWindow:
    stored = QuietHours.objects.filter(customer=customer).first()
    zone = customer_zone(customer).key
    if stored is not None:
        return QuietWindow(stored.enabled, stored.start, stored.end, zone)
    start, end = parse_window(settings.NOTIFICATIONS_QUIET_HOURS)
    return QuietWindow(True, start, end, zone)


@transaction.atomic
def set_quiet_hours(customer: Customer, *, enabled: bool, start: time, end: time) -> QuietHours:
    if enabled and start == end:
        raise ValidationError({"quiet_end": "Quiet hours must end at a different time than they start."})
    quiet, _ = QuietHours.objects.update_or_create(
        customer=customer, defaults={"enabled": enabled, "start": start, "end": end}
    )
    return quiet


def quiet_hours_end(window: QuietWindow, now: datetime) -> datetime | None:
    """When the quiet hours around ``now`` end (aware UTC), or None if ``now`` is not in them."""
    if not window.enabled or window.start == window.end:
        return None
    zone = ZoneInfo(window.time_zone)
    local = now.astimezone(zone)
    moment = local.time().replace(tzinfo=None)
    if window.start < window.end:  # e.g. 13:00-15:00, within one day
        if not window.start <= moment < window.end:
            return None
        end_day = local.date()
    else:  # across midnight, e.g. 21:00-08:00
        if moment >= window.start:
            end_day = local.date() + timedelta(days=1)
        elif moment < window.end:
            end_day = local.date()
        else:
            return None
    end = datetime.combine(end_day, window.end, tzinfo=zone)
    return end.astimezone(UTC)


def hold_until(
    customer: Customer | None,
    channel: str,
    priority: str,
    now: datetime,
    *,
    windows: dict[int, QuietWindow] | None = None,
) -> datetime | None:
    """The end of the customer's quiet hours when a message must wait for it, else None.
    Urgent messages and channels outside NOTIFICATIONS_QUIET_HOURS_CHANNELS never wait.
    ``windows`` remembers customers' windows across the messages of one worker batch."""
    if customer is None or priority == Priority.URGENT:
        return None
    if channel not in settings.NOTIFICATIONS_QUIET_HOURS_CHANNELS:
        return None
    if windows is None:
        return quiet_hours_end(quiet_window(customer), now)
    if customer.pk not in windows:
        windows[customer.pk] = quiet_window(customer)
    return quiet_hours_end(windows[customer.pk], now)


# --- one-click unsubscribe ------------------------------------------------------------------------


def unsubscribe_token(
    customer: Customer, kind: str = MessageKind.MARKETING, channel: str = Channel.EMAIL
) -> str:
    # Not timestamped: the link in an old email keeps working, and the body and the
    # List-Unsubscribe header (signed at different moments) carry the same URL.
    signer = signing.Signer(salt=UNSUBSCRIBE_SALT)
    return signer.sign_object({"c": customer.pk, "k": kind, "ch": channel}, compress=True)


@dataclass(frozen=True)
class UnsubscribeRequest:
    customer: Customer
    kind: str
    channel: str


def read_unsubscribe_token(token: str) -> UnsubscribeRequest | None:
    """The customer and choice a signed unsubscribe link stands for (None if forged)."""
    try:
        data = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    customer = Customer.objects.filter(pk=data.get("c")).first()
    kind, channel = data.get("k"), data.get("ch")
    if customer is None or kind not in MessageKind.values or channel not in Channel.values:
        return None
    if is_required(kind, channel):
        return None
    return UnsubscribeRequest(customer, kind, channel)


def unsubscribe(request: UnsubscribeRequest) -> None:
    update_preferences(request.customer, {(request.kind, request.channel): False})


# --- the signed link to a customer's choices (no login: guests book without an account) ----------

PREFERENCES_SALT = "notifications.preferences"


def preferences_token(customer: Customer) -> str:
    # Timestamped so an old, forwarded email stops granting access after
    # NOTIFICATIONS_PREFERENCES_LINK_MAX_AGE_DAYS; a newer email always carries a fresh link.
    return signing.TimestampSigner(salt=PREFERENCES_SALT).sign_object({"c": customer.pk}, compress=True)


def read_preferences_token(token: str) -> Customer | None:
    """The customer a signed preferences link stands for (None if forged or expired)."""
    max_age = timedelta(days=settings.NOTIFICATIONS_PREFERENCES_LINK_MAX_AGE_DAYS)
    try:
        data = signing.TimestampSigner(salt=PREFERENCES_SALT).unsign_object(token, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired included
        return None
    if not isinstance(data, dict):
        return None
    return Customer.objects.filter(pk=data.get("c")).first()
