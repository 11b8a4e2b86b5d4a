"""Notifications: the outbox (every message is a row before anything is sent), templates,
automation rules, customer preferences, quiet hours, push devices and delivery events.

Times are aware UTC. A message only ever moves forward through its statuses (see
``STATUS_RANK``); the delivery worker and the webhooks share that rule.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from repairs.lifecycle import Status as TicketStatus
from revivatech.events import EventKind


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message (SMS)"
    PUSH = "push", "Push notification"


class MessageKind(models.TextChoices):
    """What a message is about; customers choose per kind and channel."""

    SERVICE = "service", "Essential service messages"
    STATUS = "status", "Repair status updates"
    QUOTE = "quote", "Quotes"
    PAYMENT = "payment", "Payments and invoices"
    MARKETING = "marketing", "Offers and news"


#: Kinds and channels the shop must always be able to use (cannot be switched off).
REQUIRED_PREFERENCES: frozenset[tuple[str, str]] = frozenset({(MessageKind.SERVICE, Channel.EMAIL)})


class Priority(models.TextChoices):
    URGENT = "urgent", "Urgent"
    NORMAL = "normal", "Normal"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    OPENED = "opened", "Opened"
    CLICKED = "clicked", "Clicked"
    BOUNCED = "bounced", "Bounced"
    FAILED = "failed", "Failed"
    DEAD = "dead", "Dead letter"
    SKIPPED = "skipped", "Skipped"
    #: A newer status update for the same ticket and channel replaced it before it was sent (e.g.
    #: both waited for quiet hours to end): kept for audit, never sent.
    SUPERSEDED = "superseded", "Superseded"


S = MessageStatus
#: Forward-only order of statuses reported after a send; a lower rank never overwrites a higher one
#: (a late "sent" never replaces "delivered"). Bounced/failed replace sent but not delivered.
STATUS_RANK: dict[str, int] = {
    S.QUEUED: 0,
    S.SENDING: 1,
    S.SENT: 2,
    S.DELIVERED: 3,
    S.BOUNCED: 3,
    S.FAILED: 3,
    S.OPENED: 4,
    S.CLICKED: 5,
}
#: Statuses after which the worker never touches a message again.
FINAL_STATUSES = frozenset(
    {S.SENT, S.DELIVERED, S.OPENED, S.CLICKED, S.BOUNCED, S.FAILED, S.DEAD, S.SKIPPED, S.SUPERSEDED}
)
#: Final statuses meaning the message did not reach the customer (fallback moves on).
FAILED_STATUSES = frozenset({S.BOUNCED, S.FAILED, S.DEAD, S.SKIPPED})
#: A newer status update in one of these replaces an older one still waiting (it is, or will be, sent).
SUPERSEDING_STATUSES = frozenset({S.QUEUED, S.SENDING, S.SENT, S.DELIVERED, S.OPENED, S.CLICKED})
#: Statuses staff may put back in the queue from the admin.
REQUEUEABLE_STATUSES = frozenset({S.DEAD, S.FAILED, S.BOUNCED})


class DispatchMode(models.TextChoices):
    ALL = "all", "Every channel the customer allows"
    CHOSEN = "chosen", "The chosen channels (if allowed)"
    FALLBACK = "fallback", "One channel at a time, in order, until one gets through"


class PushTokenKind(models.TextChoices):
    REGISTRATION_TOKEN = "registration_token", "FCM registration token"
    INSTALLATION_ID = "installation_id", "Firebase installation ID (FID)"


class PushPlatform(models.TextChoices):
    WEB = "web", "Web browser"
    ANDROID = "android", "Android"
    IOS = "ios", "iOS"


#: Domain events automation rules can react to (published by repairs and payments).
EVENT_CHOICES = [
    (EventKind.BOOKED, "Repair booked"),
    (EventKind.STATUS_CHANGED, "Status changed"),
    (EventKind.MILESTONE_REACHED, "Milestone reached"),
    (EventKind.PHOTO_ADDED, "Photo added"),
    (EventKind.QUALITY_CHECKED, "Quality check recorded"),
    (EventKind.NOTE_ADDED, "Note for the customer added"),
    (EventKind.QUOTE_SENT, "Quote ready"),
    (EventKind.QUOTE_DECIDED, "Quote decided"),
    (EventKind.INVOICE_ISSUED, "Invoice issued"),
    (EventKind.PAYMENT_RECEIVED, "Payment received"),
    (EventKind.PAYMENT_FAILED, "Payment failed"),
    (EventKind.PAYMENT_REFUNDED, "Payment refunded"),
]


# --- templates ---------------------------------------------------------------------------------


class MessageTemplate(models.Model):
    """One message in every channel's wording, in Django's template language.

    The fields hold the current version; every saved change is also kept as a
    :class:`TemplateVersion`, and each message records the version it was rendered from.
    """

    key = models.SlugField(max_length=60, unique=True, help_text="Used by automation rules and code.")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=12, choices=MessageKind.choices)
    description = models.TextField(blank=True, help_text="When this message is sent (for staff).")
    subject = models.CharField("email subject", max_length=200)
    body_text = models.TextField("email, plain text")
    body_html = models.TextField(
        "email, HTML", blank=True, help_text="The content; the shop layout wraps it."
    )
    sms_body = models.TextField("SMS text", blank=True, help_text="Leave empty to never send this by SMS.")
    push_title = models.CharField("push title", max_length=120, blank=True)
    push_body = models.CharField(
        "push text", max_length=400, blank=True, help_text="Leave empty to never send this as a push."
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"


CONTENT_FIELDS = ("subject", "body_text", "body_html", "sms_body", "push_title", "push_body")


class TemplateVersion(models.Model):
    """An immutable copy of a template as it was at one version."""

    template = models.ForeignKey(MessageTemplate, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    subject = models.CharField(max_length=200)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    sms_body = models.TextField(blank=True)
    push_title = models.CharField(max_length=120, blank=True)
    push_body = models.CharField(max_length=400, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["template", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["template", "version"], name="unique_template_version"),
        ]

    def __str__(self) -> str:
        return f"{self.template.key} v{self.version}"


class AutomationRule(models.Model):
    """ "When this domain event happens, send this template on these channels."

    For ``ticket.status_changed`` a rule may name the new status; rules naming the status win
    over rules without one, so "ready for pickup" is not also sent as a generic status update.
    """

    name = models.CharField(max_length=120)
    event = models.CharField(max_length=40, choices=EVENT_CHOICES)
    to_status = models.CharField(
        "only when the new status is",
        max_length=20,
        choices=TicketStatus.choices,
        blank=True,
        help_text="For status changes only; empty means any status without a rule of its own.",
    )
    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT, related_name="rules")
    mode = models.CharField(max_length=10, choices=DispatchMode.choices, default=DispatchMode.ALL)
    channels = models.JSONField(
        default=list,
        blank=True,
        help_text='Channels in order, e.g. ["push", "sms", "email"]. Empty with "every channel" means all.',
    )
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["event", "to_status", "name"]

    def __str__(self) -> str:
        return self.name


# --- customers' choices -------------------------------------------------------------------------


class NotificationPreference(models.Model):
    """A customer's choice for one kind of message on one channel (absent: the default)."""

    customer = models.ForeignKey(
        "repairs.Customer", on_delete=models.CASCADE, related_name="notification_preferences"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    kind = models.CharField(max_length=12, choices=MessageKind.choices)
    enabled = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel", "kind"], name="unique_preference"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind}/{self.channel}: {'on' if self.enabled else 'off'}"


class QuietHours(models.Model):
    """A customer's quiet hours, in their own time zone (Customer.time_zone)."""

    customer = models.OneToOneField("repairs.Customer", on_delete=models.CASCADE, related_name="quiet_hours")
    enabled = models.BooleanField(default=True)
    start = models.TimeField()
    end = models.TimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "quiet hours"

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}" if self.enabled else "off"


class PushDevice(models.Model):
    """A browser or app registered for push; deactivated when FCM says it is unregistered."""

    customer = models.ForeignKey("repairs.Customer", on_delete=models.CASCADE, related_name="push_devices")
    token = models.CharField(max_length=512, unique=True)
    token_kind = models.CharField(
        max_length=20, choices=PushTokenKind.choices, default=PushTokenKind.REGISTRATION_TOKEN
    )
    platform = models.CharField(max_length=10, choices=PushPlatform.choices, default=PushPlatform.WEB)
    label = models.CharField(max_length=100, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivation_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [models.Index(fields=["customer", "active"], name="notif_push_customer_active")]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} …{self.token[-8:]}"


# --- the outbox ---------------------------------------------------------------------------------


class Dispatch(models.Model):
    """One request to tell a customer something (from a rule, a campaign or code); it becomes one
    message per channel (and per push device), created together or one by one in fallback order."""

    key = models.CharField(max_length=255, unique=True, help_text="Idempotency key of the request.")
    customer = models.ForeignKey(
        "repairs.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticket = models.ForeignKey(
        "repairs.RepairTicket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticket_reference = models.CharField(max_length=12, blank=True, db_index=True)
    template = models.ForeignKey(MessageTemplate, null=True, blank=True, on_delete=models.SET_NULL)
    template_version = models.PositiveIntegerField(default=1)
    kind = models.CharField(max_length=12, choices=MessageKind.choices)
    mode = models.CharField(max_length=10, choices=DispatchMode.choices)
    channels = models.JSONField(default=list)
    priority = models.CharField(max_length=10, choices=Priority.choices)
    rule = models.ForeignKey(AutomationRule, null=True, blank=True, on_delete=models.SET_NULL)
    event_name = models.CharField(max_length=40, blank=True)
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "dispatches"

    def __str__(self) -> str:
        return self.key


class Message(models.Model):
    """One message to one recipient on one channel: the outbox row.

    The worker claims rows (``status=sending``, a ``claim_token`` and a lease), marks each one
    in flight (``send_started_at``) right before calling the provider and records the provider's
    message id right after. A row whose lease expired goes back to the queue if it never reached
    the provider, and to the dead letters (``outcome_unknown``) if it did, so nothing is sent twice.
    """

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="messages")
    customer = models.ForeignKey(
        "repairs.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticket = models.ForeignKey(
        "repairs.RepairTicket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticket_reference = models.CharField(max_length=12, blank=True, db_index=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    kind = models.CharField(max_length=12, choices=MessageKind.choices)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    fallback_step = models.PositiveSmallIntegerField(default=0)
    recipient = models.CharField(max_length=512, blank=True)
    push_device = models.ForeignKey(PushDevice, null=True, blank=True, on_delete=models.SET_NULL)
    template_key = models.CharField(max_length=60, blank=True)
    template_version = models.PositiveIntegerField(default=1)
    subject = models.CharField(max_length=255, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=6)
    not_before = models.DateTimeField(default=timezone.now, help_text="Not sent before this time.")
    enqueued_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker task was last published."
    )
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    send_started_at = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(max_length=20, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)
    outcome_unknown = models.BooleanField(
        default=False, help_text="The worker stopped during the send: the provider may have it."
    )
    idempotency_key = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "priority", "not_before"], name="notif_msg_due"),
            models.Index(fields=["status", "lease_expires_at"], name="notif_msg_lease"),
            models.Index(fields=["provider", "provider_message_id"], name="notif_msg_provider_id"),
            models.Index(fields=["channel", "created_at"], name="notif_msg_channel_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.recipient or '—'} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class DeliveryEvent(models.Model):
    """Something that happened to a message: a failed attempt, a deferral, a provider report
    (delivered, bounced…), an open or a click. Provider events are stored once per event id."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    source = models.CharField(max_length=20, help_text="sendgrid, twilio, ses, tracking, worker or staff")
    event_id = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=MessageStatus.choices, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "event_id"], condition=~Q(event_id=""), name="unique_provider_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.kind}"
