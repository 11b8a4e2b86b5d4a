"""Orchestration: turn "tell this customer X" into outbox rows, one per channel and recipient.

A :class:`Dispatch` is created once per idempotency key (asking twice changes nothing). Its
mode decides the channels:

* ``all``: every channel the customer allows (or the chosen ones, for ``chosen``), at once;
* ``fallback``: the first usable channel in order; when all its messages fail (dead letter,
  bounce, rejected), the next channel is tried (e.g. push, then SMS, then email).

A channel that cannot be used gets a ``skipped`` row with the reason (the customer switched it
off, no provider is configured, no phone number, no push device), so the timeline explains
every message that was not sent. Rows are enqueued after the transaction commits.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from repairs.contact import contact_confirmation_token
from repairs.models import ContactChannel, Customer, RepairTicket

from .. import providers
from ..models import (
    FAILED_STATUSES,
    AutomationRule,
    Channel,
    Dispatch,
    DispatchMode,
    Message,
    MessageKind,
    MessageStatus,
    MessageTemplate,
    Priority,
    PushDevice,
    TemplateVersion,
)
from ..selectors import active_push_devices
from . import preferences
from . import templates as rendering

logger = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_KEY_LENGTH = 255


def normalized_key(key: str) -> str:
    """Keys longer than the column are hashed (still unique, still stable)."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return key[:180] + ":" + hashlib.sha256(key.encode()).hexdigest()


def e164(phone: str) -> str | None:
    """``+44 7700 900123`` / ``07700 900123`` → ``+447700900123`` (None if it cannot be one)."""
    raw = (phone or "").strip()
    digits = re.sub(r"\D", "", raw)
    if not digits:
        return None
    if raw.startswith("+"):
        candidate = "+" + digits
    elif digits.startswith("00"):
        candidate = "+" + digits[2:]
    elif digits.startswith("0") and settings.NOTIFICATIONS_SMS_DEFAULT_COUNTRY_CODE:
        candidate = "+" + settings.NOTIFICATIONS_SMS_DEFAULT_COUNTRY_CODE + digits[1:]
    else:
        candidate = "+" + digits
    return candidate if E164.match(candidate) else None


def unsubscribe_url(customer: Customer, kind: str = MessageKind.MARKETING) -> str:
    """A one-click link that turns off emails of ``kind`` (any optional kind, not only marketing)."""
    token = preferences.unsubscribe_token(customer, kind)
    return settings.NOTIFICATIONS_PUBLIC_URL + reverse("notifications-unsubscribe", args=[token])


def email_unsubscribe_url(customer: Customer | None, kind: str) -> str:
    """The unsubscribe link an email of ``kind`` carries ("" for the ones that cannot be switched off)."""
    if customer is None or preferences.is_required(kind, Channel.EMAIL):
        return ""
    return unsubscribe_url(customer, kind)


def _channel_order(mode: str, channels: Sequence[str]) -> list[str]:
    chosen = [channel for channel in channels if channel in Channel.values]
    if mode == DispatchMode.ALL and not chosen:
        return list(Channel.values)
    seen: list[str] = []
    for channel in chosen:
        if channel not in seen:
            seen.append(channel)
    return seen


def _content_source(dispatch: Dispatch) -> MessageTemplate | TemplateVersion | None:
    """The wording of the version the dispatch was made with (fallback steps use it too)."""
    if dispatch.template_id is None:
        return None
    version = TemplateVersion.objects.filter(
        template_id=dispatch.template_id, version=dispatch.template_version
    ).first()
    return version or dispatch.template


def _skip(dispatch: Dispatch, channel: str, step: int, reason: str, recipient: str = "") -> Message:
    key = normalized_key(f"{dispatch.key}|{channel}|skipped")
    message, _ = Message.objects.get_or_create(
        idempotency_key=key,
        defaults=_row_defaults(dispatch, channel, step)
        | {"recipient": recipient, "status": MessageStatus.SKIPPED, "last_error": reason},
    )
    return message


def _row_defaults(dispatch: Dispatch, channel: str, step: int) -> dict[str, Any]:
    now = timezone.now()
    return {
        "dispatch": dispatch,
        "customer_id": dispatch.customer_id,
        "ticket_id": dispatch.ticket_id,
        "ticket_reference": dispatch.ticket_reference,
        "channel": channel,
        "kind": dispatch.kind,
        "priority": dispatch.priority,
        "fallback_step": step,
        "template_key": dispatch.template.key if dispatch.template_id else "",
        "template_version": dispatch.template_version,
        "context": dispatch.context,
        "max_attempts": settings.NOTIFICATIONS_MAX_ATTEMPTS,
        "created_at": now,
        "updated_at": now,
        "not_before": now,
    }


def _recipients(customer: Customer, channel: str) -> tuple[list[tuple[str, PushDevice | None]], str]:
    """(address, push device) pairs for a channel, or none and the reason."""
    if channel == Channel.EMAIL:
        return ([(customer.email, None)], "") if customer.email else ([], "the customer has no email address")
    if channel == Channel.SMS:
        number = e164(customer.phone)
        if number is None:
            return [], "the customer has no mobile number we can text"
        return [(number, None)], ""
    devices = list(active_push_devices(customer))
    if not devices:
        return [], "the customer has no device registered for push notifications"
    return [(device.token, device) for device in devices], ""


def _unconfirmed_contact_reason(customer: Customer, channel: str, address: str) -> str:
    """Why a message to details nobody has confirmed yet (typed into the public booking form, by
    anyone) is not sent: no texts at all (SMS pumping), and emails rationed per address and in
    total per day (the shop's name must not become a way to mail anybody at will)."""
    if customer.contact_confirmed or channel == Channel.PUSH:  # push devices need a login
        return ""
    if channel == Channel.SMS:
        return (
            "the number is not confirmed yet: texts start once the customer confirms it from the "
            "booking email or brings the device in"
        )
    since = timezone.now() - timedelta(days=1)
    unconfirmed = Message.objects.filter(
        channel=Channel.EMAIL, created_at__gte=since, customer__contact_confirmed_at__isnull=True
    ).exclude(status=MessageStatus.SKIPPED)
    per_address = settings.NOTIFICATIONS_UNCONFIRMED_PER_ADDRESS_DAILY
    if unconfirmed.filter(recipient__iexact=address).count() >= per_address:
        return f"{per_address} emails already went to this unconfirmed address in the last 24 hours"
    if unconfirmed.count() >= settings.NOTIFICATIONS_UNCONFIRMED_DAILY_BUDGET:
        return "the day's budget of emails to unconfirmed addresses is spent"
    return ""


def _create_channel_messages(dispatch: Dispatch, channel: str, step: int) -> list[Message]:
    """The rows of one channel: queued ones (returned) or a skipped one with the reason."""
    customer = dispatch.customer
    source = _content_source(dispatch)
    kind_label = MessageKind(dispatch.kind).label.lower()
    if customer is None:
        _skip(dispatch, channel, step, "the customer no longer exists")
        return []
    if source is None or not rendering.template_supports(source, channel):
        _skip(dispatch, channel, step, f"the template has no {Channel(channel).label} wording")
        return []
    if not preferences.allowed_channels(customer, dispatch.kind)[channel]:
        _skip(dispatch, channel, step, f"the customer turned off {kind_label} by {Channel(channel).label}")
        return []
    unavailable = providers.unavailable_reason(channel)
    if unavailable:
        _skip(dispatch, channel, step, unavailable)
        return []
    recipients, reason = _recipients(customer, channel)
    if not recipients:
        _skip(dispatch, channel, step, reason)
        return []
    held = _unconfirmed_contact_reason(customer, channel, recipients[0][0])
    if held:
        _skip(dispatch, channel, step, held, recipients[0][0])
        return []
    now = timezone.now()
    held_until = preferences.hold_until(customer, channel, dispatch.priority, now)
    created: list[Message] = []
    for address, device in recipients:
        key = normalized_key(
            f"{dispatch.key}|{channel}|{device.pk}" if device else f"{dispatch.key}|{channel}"
        )
        token = uuid.uuid4()
        fields = _row_defaults(dispatch, channel, step) | {
            "token": token,
            "recipient": address,
            "push_device": device,
            "not_before": held_until or now,
        }
        try:
            rendered = _render(source, channel, dispatch, customer, str(token))
        except rendering.TemplateRenderError as exc:
            fields |= {
                "status": MessageStatus.FAILED,
                "failed_at": now,
                "last_error": f"template error: {exc}",
            }
        else:
            fields |= {
                "subject": rendered.subject,
                "body_text": rendered.body_text,
                "body_html": rendered.body_html,
            }
        message, was_created = Message.objects.get_or_create(idempotency_key=key, defaults=fields)
        if was_created and message.status == MessageStatus.QUEUED:
            created.append(message)
    return created


def confirm_contact_url(customer: Customer) -> str:
    """The signed link that lets the customer confirm the details a booking form put on file."""
    token = contact_confirmation_token(customer)
    return settings.NOTIFICATIONS_PUBLIC_URL + reverse("contact-confirm", args=[token])


def _render(source, channel: str, dispatch: Dispatch, customer: Customer, token: str) -> rendering.Rendered:
    context = dispatch.context
    if channel == Channel.EMAIL:
        unsubscribe = email_unsubscribe_url(customer, dispatch.kind)
        # Details nobody vouched for yet, with a number to text: the email (which reached the
        # address) carries the link that confirms them.
        wants_texts = bool(e164(customer.phone)) and customer.preferred_contact == ContactChannel.SMS
        confirm = confirm_contact_url(customer) if not customer.contact_confirmed and wants_texts else ""
        return rendering.render_email(
            source,
            context,
            kind=dispatch.kind,
            message_token=token,
            unsubscribe_url=unsubscribe,
            confirm_contact_url=confirm,
        )
    if channel == Channel.SMS:
        return rendering.render_sms(source, context)
    return rendering.render_push(source, context)


def _start_from(dispatch: Dispatch, order: list[str], first_step: int) -> list[Message]:
    """Fallback: try channels from ``first_step`` on until one yields a queued message."""
    for step in range(first_step, len(order)):
        queued = _create_channel_messages(dispatch, order[step], step)
        if queued:
            return queued
    return []


def notify(
    *,
    customer: Customer,
    template: MessageTemplate,
    key: str,
    context: dict[str, Any],
    mode: str = DispatchMode.ALL,
    channels: Sequence[str] = (),
    priority: str = Priority.NORMAL,
    ticket: RepairTicket | None = None,
    rule: AutomationRule | None = None,
    event_name: str = "",
) -> Dispatch:
    """Write the outbox rows for one notification (once per ``key``) and enqueue them after commit."""
    key = normalized_key(key)
    with transaction.atomic():
        dispatch, created = Dispatch.objects.get_or_create(
            key=key,
            defaults={
                "customer": customer,
                "ticket": ticket,
                "ticket_reference": ticket.reference if ticket else "",
                "template": template,
                "template_version": template.version,
                "kind": template.kind,
                "mode": mode,
                "channels": _channel_order(mode, channels),
                "priority": priority,
                "rule": rule,
                "event_name": event_name,
                "context": context,
            },
        )
        if not created:
            return dispatch
        order = dispatch.channels
        if mode == DispatchMode.FALLBACK:
            queued = _start_from(dispatch, order, 0)
        else:
            queued = [
                m
                for step, channel in enumerate(order)
                for m in _create_channel_messages(dispatch, channel, step)
            ]
        enqueue_after_commit(queued)
    return dispatch


def advance_fallback(message_id: int) -> list[Message]:
    """A fallback message failed: once every message of its step has failed, try the next channel."""
    message = Message.objects.filter(pk=message_id).only("dispatch_id", "fallback_step").first()
    if message is None:
        return []
    with transaction.atomic():
        dispatch = (
            Dispatch.objects.select_for_update(of=("self",))
            .select_related("customer", "template")
            .get(pk=message.dispatch_id)
        )
        if dispatch.mode != DispatchMode.FALLBACK:
            return []
        steps = list(dispatch.messages.values_list("fallback_step", "status"))
        current = max(step for step, _ in steps)
        if message.fallback_step != current:
            return []  # an earlier step; the dispatch has moved on already
        if any(status not in FAILED_STATUSES for step, status in steps if step == current):
            return []  # still trying, or it got through
        queued = _start_from(dispatch, dispatch.channels, current + 1)
        enqueue_after_commit(queued)
    return queued


def advance_fallback_safely(message_id: int) -> None:
    """:func:`advance_fallback` in a savepoint: a fault there is logged and never undoes the
    failure being recorded by the caller."""
    try:
        with transaction.atomic():
            advance_fallback(message_id)
    except Exception:
        logger.exception("could not move message %s's dispatch to its next channel", message_id)


def enqueue_after_commit(messages: list[Message]) -> None:
    if not messages:
        return
    from .delivery import enqueue

    due = [m for m in messages if m.not_before <= timezone.now()]
    by_priority: dict[str, list[int]] = {}
    for message in due:
        by_priority.setdefault(message.priority, []).append(message.pk)
    for priority, ids in by_priority.items():
        transaction.on_commit(lambda ids=ids, priority=priority: enqueue(ids, priority=priority), robust=True)
