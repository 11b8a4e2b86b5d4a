"""Delivery tracking: signed open-pixel and click-redirect links, provider webhook events, and the
one rule every status report follows: a message only moves forward (a late "sent" never
replaces "delivered"). Provider events are stored once per event id, so a webhook delivered
twice (or replayed) changes nothing the second time.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from ..models import (
    FAILED_STATUSES,
    STATUS_RANK,
    Channel,
    DeliveryEvent,
    Message,
    MessageKind,
    MessageStatus,
)

logger = logging.getLogger(__name__)

OPEN_SALT = "notifications.open"
CLICK_SALT = "notifications.click"
S = MessageStatus

#: The timestamp column each reported status fills in (first report wins).
STATUS_TIMESTAMPS = {
    S.SENT: "sent_at",
    S.DELIVERED: "delivered_at",
    S.OPENED: "opened_at",
    S.CLICKED: "clicked_at",
    S.BOUNCED: "failed_at",
    S.FAILED: "failed_at",
}


# --- signed links ---------------------------------------------------------------------------------


def open_pixel_url(message_token: str) -> str:
    signed = signing.Signer(salt=OPEN_SALT).sign(str(message_token))
    return settings.NOTIFICATIONS_PUBLIC_URL + reverse("notifications-open", args=[signed])


def click_url(message_token: str, target: str) -> str:
    signed = signing.dumps({"m": str(message_token), "u": target}, salt=CLICK_SALT, compress=True)
    return settings.NOTIFICATIONS_PUBLIC_URL + reverse("notifications-click", args=[signed])


def read_open_token(signed: str) -> str | None:
    try:
        return signing.Signer(salt=OPEN_SALT).unsign(signed)
    except signing.BadSignature:
        return None


@dataclass(frozen=True)
class Click:
    message_token: str
    target: str


def read_click(signed: str) -> Click | None:
    """The message and URL a click link stands for; None when forged or not an http(s) URL (the
    target is inside the signature, so the redirect cannot be pointed anywhere else)."""
    try:
        data = signing.loads(signed, salt=CLICK_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    target = data.get("u")
    if not isinstance(target, str) or urlsplit(target).scheme not in ("http", "https"):
        return None
    return Click(str(data.get("m", "")), target)


def _message_by_token(token: str) -> Message | None:
    try:
        parsed = uuid.UUID(str(token))
    except ValueError:
        return None
    return Message.objects.filter(token=parsed).first()


def record_open(message_token: str, *, user_agent: str = "") -> bool:
    message = _message_by_token(message_token)
    if message is None:
        return False
    return report(
        message,
        S.OPENED,
        source="tracking",
        event_id=f"open:{message.token}",
        kind="open",
        detail={"user_agent": user_agent[:300]},
    )


def record_click(click: Click, *, user_agent: str = "") -> bool:
    message = _message_by_token(click.message_token)
    if message is None:
        return False
    url_hash = hashlib.sha256(click.target.encode()).hexdigest()[:16]
    return report(
        message,
        S.CLICKED,
        source="tracking",
        event_id=f"click:{message.token}:{url_hash}",
        kind="click",
        detail={"url": click.target[:500], "user_agent": user_agent[:300]},
    )


# --- the forward-only status rule -----------------------------------------------------------------


def _can_move(current: str, outcome_unknown: bool, new: str) -> bool:
    if current == S.QUEUED:
        return False  # never sent: a report cannot be about this row
    if current == S.DEAD and outcome_unknown:
        return True  # a provider report resolves a send whose outcome we did not know
    if current not in STATUS_RANK:
        return False  # dead, skipped: only staff move those
    return STATUS_RANK[new] > STATUS_RANK[current]


def report(
    message: Message,
    status: str | None,
    *,
    source: str,
    event_id: str,
    kind: str,
    occurred_at: datetime | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Record one delivery event and move the message forward if it says more than we knew.
    Returns False for a duplicate event (same source and event id), which changes nothing."""
    occurred_at = occurred_at or timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                DeliveryEvent.objects.create(
                    message=message,
                    source=source,
                    event_id=event_id[:255],
                    kind=kind[:40],
                    status=status or "",
                    detail=detail or {},
                    occurred_at=occurred_at,
                )
        except IntegrityError:
            return False
        if status is None:
            return True
        locked = Message.objects.select_for_update().get(pk=message.pk)
        fields = {}
        column = STATUS_TIMESTAMPS.get(status)
        if column and getattr(locked, column) is None:
            fields[column] = occurred_at
        if status == S.CLICKED and locked.opened_at is None:
            fields["opened_at"] = occurred_at
        moved = _can_move(locked.status, locked.outcome_unknown, status)
        if moved:
            fields["status"] = status
            fields["outcome_unknown"] = False
            if status in FAILED_STATUSES and detail and detail.get("reason"):
                fields["last_error"] = str(detail["reason"])[:1000]
        if fields:
            fields["updated_at"] = timezone.now()
            Message.objects.filter(pk=locked.pk).update(**fields)
        if moved and status in FAILED_STATUSES:
            from .dispatch import advance_fallback_safely  # a failure report lets the next channel try

            advance_fallback_safely(locked.pk)
    return True


# --- provider webhooks ---------------------------------------------------------------------------

SENDGRID_STATUSES = {
    "delivered": S.DELIVERED,
    "open": S.OPENED,
    "click": S.CLICKED,
    "bounce": S.BOUNCED,
    "dropped": S.FAILED,
}
TWILIO_STATUSES = {
    "sent": S.SENT,
    "delivered": S.DELIVERED,
    "read": S.OPENED,
    "undelivered": S.BOUNCED,
    "failed": S.FAILED,
}
SES_STATUSES = {
    "sent": S.SENT,
    "delivered": S.DELIVERED,
    "opened": S.OPENED,
    "clicked": S.CLICKED,
    "bounced": S.BOUNCED,
    "rejected": S.FAILED,
    "failed": S.FAILED,
}
#: Reports that mean "stop sending me offers".
OPT_OUT_EVENTS = {"spamreport", "unsubscribe", "group_unsubscribe", "complained", "unsubscribed"}


def _find(provider: str, *, token: str = "", provider_message_id: str = "") -> Message | None:
    if token:
        message = _message_by_token(token)
        if message is not None:
            return message
    if provider_message_id:
        return Message.objects.filter(provider=provider, provider_message_id=provider_message_id).first()
    return None


def _opt_out_of_marketing(message: Message) -> None:
    if message.customer_id is None:
        return
    from repairs.models import Customer

    from .preferences import update_preferences

    customer = Customer.objects.filter(pk=message.customer_id).first()
    if customer is not None:
        update_preferences(customer, {(MessageKind.MARKETING, Channel.EMAIL): False})


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def handle_sendgrid_events(events: list[dict[str, Any]]) -> int:
    """Apply a verified SendGrid event webhook post; returns how many events were new."""
    from ..providers.sendgrid import event_message_id, event_token

    applied = 0
    for event in events:
        if not isinstance(event, dict):
            continue
        name = str(event.get("event", ""))
        message = _find("sendgrid", token=event_token(event), provider_message_id=event_message_id(event))
        if message is None:
            logger.info("SendGrid event %s for an unknown message", name)
            continue
        event_id = str(event.get("sg_event_id") or "")
        if not event_id:
            continue
        status = SENDGRID_STATUSES.get(name)
        new = report(
            message,
            status,
            source="sendgrid",
            event_id=event_id,
            kind=name,
            occurred_at=_timestamp(event.get("timestamp")),
            detail={k: event[k] for k in ("reason", "type", "url", "response", "status") if k in event},
        )
        if new and name in OPT_OUT_EVENTS:
            _opt_out_of_marketing(message)
        applied += int(new)
    return applied


def handle_twilio_status(params: dict[str, str], *, token: str = "") -> bool:
    """Apply a verified Twilio status callback; False when unknown or already seen."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    status_name = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    message = _find("twilio", token=token, provider_message_id=sid)
    if message is None or not status_name:
        return False
    detail = {"sid": sid}
    if params.get("ErrorCode"):
        detail["reason"] = f"Twilio error {params['ErrorCode']}"
    return report(
        message,
        TWILIO_STATUSES.get(status_name),
        source="twilio",
        event_id=f"{sid or message.token}:{status_name}",
        kind=status_name,
        detail=detail,
    )


def handle_ses_events(events) -> int:
    """Apply SES notifications that anymail parsed from a verified SNS post."""
    applied = 0
    for event in events:
        message = _find("ses", token=event.token, provider_message_id=event.message_id)
        if message is None:
            continue
        new = report(
            message,
            SES_STATUSES.get(event.event_type),
            source="ses",
            event_id=event.event_id,
            kind=event.event_type,
            occurred_at=event.timestamp,
            detail={"reason": event.description} if event.description else {},
        )
        if new and event.event_type in OPT_OUT_EVENTS:
            _opt_out_of_marketing(message)
        applied += int(new)
    return applied
