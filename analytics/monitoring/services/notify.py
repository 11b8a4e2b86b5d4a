"""Alert notifications for staff who opted in, through the notifications outbox.

The notifications app's :func:`notifications.services.dispatch.notify` addresses a *customer* (their
preferences, quiet hours, unsubscribe links); staff are users, not customers, and their only
preference here is the opt-in (:class:`~analytics.monitoring.models.AlertSubscription`). So this
module writes the same outbox rows ``notify`` writes — one ``Dispatch`` per alert and staff member
(idempotency key ``analytics-alert:<alert>:<user>``) and one ``Message`` per channel, rendered from
an editable ``MessageTemplate`` (key ``analytics-alert``, created on first use) — and hands them to
the outbox's ``enqueue_after_commit``. Delivery, retries, failover, dead letters and the admin's
timeline are the notifications worker's, exactly as for customers' messages.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from notifications import providers
from notifications.models import (
    Channel,
    Dispatch,
    DispatchMode,
    Message,
    MessageKind,
    MessageStatus,
    MessageTemplate,
    Priority,
)
from notifications.services import templates as rendering
from notifications.services.dispatch import enqueue_after_commit, normalized_key
from repairs.roles import is_shop_staff

from ..models import Alert, AlertChannel, AlertSubscription
from .alerts import METRICS, alert_dict

TEMPLATE_KEY = "analytics-alert"
TEMPLATE_DEFAULTS = {
    "name": "Analytics alert (staff)",
    "kind": MessageKind.SERVICE,
    "description": "Sent to staff who opted in to analytics alerts when an anomaly starts.",
    "subject": "Alert: {{ alert.message }}",
    "body_text": (
        "{{ alert.message }}.\n\n"
        "Observed: {{ observed }} — usual: {{ expected }} (z = {{ alert.z_score }}).\n"
        "Live dashboard: {{ dashboard_url }}\n\n"
        "You get this because you opted in to analytics alerts; opt out on the dashboard."
    ),
}


# --- opt-in -------------------------------------------------------------------------------------------


def subscribed_channels(user) -> list[str]:
    return sorted(AlertSubscription.objects.filter(user=user).values_list("channel", flat=True))


def set_subscription(user, channel: str, enabled: bool) -> list[str]:
    """Opt a staff member in or out of alert notifications on ``channel``; returns their channels."""
    if channel not in AlertChannel.values:
        raise ValueError(f"unknown channel {channel!r}")
    if enabled:
        AlertSubscription.objects.get_or_create(user=user, channel=channel)
    else:
        AlertSubscription.objects.filter(user=user, channel=channel).delete()
    return subscribed_channels(user)


def subscribers(channel: str = AlertChannel.EMAIL) -> list:
    """Active staff members opted in on ``channel`` (someone who left the Staff group is skipped)."""
    users = get_user_model().objects.filter(
        is_active=True, pk__in=AlertSubscription.objects.filter(channel=channel).values("user_id")
    )
    return [user for user in users.order_by("pk") if is_shop_staff(user)]


# --- outbox rows --------------------------------------------------------------------------------------


def alert_template() -> MessageTemplate:
    template, _ = MessageTemplate.objects.get_or_create(key=TEMPLATE_KEY, defaults=TEMPLATE_DEFAULTS)
    return template


def _context(alert: Alert) -> dict[str, Any]:
    spec = METRICS[alert.metric]
    show = (lambda v: f"{v:,.0f}") if spec.kind == "count" else (lambda v: f"{v * 100:.1f}%")
    return {
        "alert": alert_dict(alert),
        "observed": show(alert.observed),
        "expected": show(alert.expected),
        "dashboard_url": settings.SITE_URL + "/dashboard/",
        "shop_name": settings.SHOP_NAME,
    }


def _message_for(dispatch: Dispatch, template: MessageTemplate, channel: str, address: str) -> Message | None:
    """The outbox row of one channel: queued (returned), or skipped with the reason."""
    now = timezone.now()
    fields: dict[str, Any] = {
        "dispatch": dispatch,
        "channel": channel,
        "kind": dispatch.kind,
        "priority": dispatch.priority,
        "recipient": address,
        "template_key": template.key,
        "template_version": template.version,
        "context": dispatch.context,
        "max_attempts": settings.NOTIFICATIONS_MAX_ATTEMPTS,
        "created_at": now,
        "updated_at": now,
        "not_before": now,
    }
    reason = providers.unavailable_reason(channel) or (
        "" if address else "the staff member has no email address"
    )
    if reason:
        Message.objects.get_or_create(
            idempotency_key=normalized_key(f"{dispatch.key}|{channel}|skipped"),
            defaults=fields | {"status": MessageStatus.SKIPPED, "last_error": reason},
        )
        return None
    token = uuid.uuid4()
    try:
        rendered = rendering.render_email(
            template, dispatch.context, kind=dispatch.kind, message_token=str(token)
        )
    except rendering.TemplateRenderError as exc:
        fields |= {"status": MessageStatus.FAILED, "failed_at": now, "last_error": f"template error: {exc}"}
    else:
        fields |= {
            "subject": rendered.subject,
            "body_text": rendered.body_text,
            "body_html": rendered.body_html,
        }
    message, created = Message.objects.get_or_create(
        idempotency_key=normalized_key(f"{dispatch.key}|{channel}"), defaults=fields | {"token": token}
    )
    return message if created and message.status == MessageStatus.QUEUED else None


def notify_subscribers(alert: Alert) -> list[Dispatch]:
    """Outbox rows telling every opted-in staff member about a new alert (once per alert and person);
    the rows are enqueued for delivery after the surrounding transaction commits."""
    template = alert_template()
    context = _context(alert)
    dispatches: list[Dispatch] = []
    queued: list[Message] = []
    with transaction.atomic():
        for user in subscribers(AlertChannel.EMAIL):
            dispatch, created = Dispatch.objects.get_or_create(
                key=normalized_key(f"{TEMPLATE_KEY}:{alert.pk}:{user.pk}"),
                defaults={
                    "template": template,
                    "template_version": template.version,
                    "kind": template.kind,
                    "mode": DispatchMode.CHOSEN,
                    "channels": [Channel.EMAIL],
                    "priority": Priority.URGENT,
                    "event_name": "analytics.alert",
                    "context": context | {"staff_user_id": user.pk},
                },
            )
            dispatches.append(dispatch)
            if created:
                message = _message_for(dispatch, template, Channel.EMAIL, user.email)
                if message is not None:
                    queued.append(message)
        enqueue_after_commit(queued)
    return dispatches
