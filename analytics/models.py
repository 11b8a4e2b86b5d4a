"""Analytics storage: raw events (time-partitioned on PostgreSQL), sessions, hourly rollups, and the
identity records (daily salts, consented devices, visitor links, consent records).

Raw IP addresses are never stored. Without consent a visitor is only a daily-rotating hash
(``visitor_key``); with consent a first-party device id (``device_id``) is kept as well.
"""

from __future__ import annotations

import uuid

from django.db import models

from repairs.models import Customer

# The parts keep their models in their own modules; Django registers the models of the ``analytics``
# app from this module, so each is named here (no star import). None of them imports this module.
from .dashboard.models import (  # noqa: F401  (daily rollups and slices, analytics/dashboard)
    DailyEventRollup,
    DailyEventSlice,
    DailySessionRollup,
    DailySessionSlice,
)
from .event_types import EVENT_NAME_BY_TYPE, EVENT_TYPE_BY_NAME, EventType  # noqa: F401
from .monitoring.models import (  # noqa: F401  (alerts, opt-ins, web-vital histograms)
    Alert,
    AlertSubscription,
    WebVitalDailyHistogram,
    WebVitalHistogram,
)
from .scoring.models import CustomerScore, ScoringModel  # noqa: F401  (analytics/scoring)


class DeviceType(models.TextChoices):
    DESKTOP = "desktop", "Desktop"
    MOBILE = "mobile", "Mobile"
    TABLET = "tablet", "Tablet"
    OTHER = "other", "Other"


class Event(models.Model):
    """One tracked event. Append-only.

    On PostgreSQL the table is partitioned by month on ``occurred_at`` (created by the migration and
    ``services.partitions``; primary key ``(id, occurred_at)``) with a BRIN index on time and b-tree
    indexes on ``(type, occurred_at)`` and the identity columns. Dashboards read the rollups, never
    this table; funnels read it by type and time range only.
    """

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField()
    type = models.PositiveSmallIntegerField(choices=EventType.choices)
    session = models.ForeignKey(
        "Session", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    visitor_key = models.UUIDField(null=True, blank=True)
    device_id = models.UUIDField(null=True, blank=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    path = models.CharField(max_length=200, blank=True)
    device_type = models.CharField(max_length=8, blank=True)
    browser = models.CharField(max_length=40, blank=True)
    os = models.CharField(max_length=40, blank=True)
    country = models.CharField(max_length=2, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    props = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "analytics_event"

    def __str__(self) -> str:
        return f"{self.type_name} {self.path} @ {self.occurred_at:%Y-%m-%d %H:%M:%S}"

    @property
    def type_name(self) -> str:
        return EVENT_NAME_BY_TYPE.get(self.type, str(self.type))


class Session(models.Model):
    """A visit: events of one identity with no gap over the inactivity timeout (30 min) and no
    longer than the maximum (24 h). Updated incrementally as events are flushed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    #: The sessionisation key: ``device_id`` with consent, otherwise ``visitor_key``.
    identity = models.UUIDField()
    visitor_key = models.UUIDField(null=True, blank=True)
    device_id = models.UUIDField(null=True, blank=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    entry_path = models.CharField(max_length=200, blank=True)
    exit_path = models.CharField(max_length=200, blank=True)
    pageviews = models.PositiveIntegerField(default=0)
    events = models.PositiveIntegerField(default=0)
    engaged_ms = models.BigIntegerField(default=0)
    converted = models.BooleanField(default=False, help_text="A booking, quote approval or payment happened.")
    is_bounce = models.BooleanField(default=True)
    #: Ordered pages of the visit (consecutive repeats collapsed, capped), for journeys.
    pages = models.JSONField(default=list, blank=True)
    referrer_host = models.CharField(max_length=100, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    device_type = models.CharField(max_length=8, blank=True)
    browser = models.CharField(max_length=40, blank=True)
    os = models.CharField(max_length=40, blank=True)
    country = models.CharField(max_length=2, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["started_at"], name="analytics_session_started"),
            models.Index(fields=["identity", "last_seen_at"], name="analytics_session_identity"),
            models.Index(fields=["visitor_key"], name="analytics_session_visitor"),
            models.Index(fields=["device_id"], name="analytics_session_device"),
        ]

    def __str__(self) -> str:
        return f"Session {self.started_at:%Y-%m-%d %H:%M} {self.entry_path} ({self.pageviews} pages)"

    @property
    def duration_seconds(self) -> int:
        return int((self.last_seen_at - self.started_at).total_seconds())


class EventRollup(models.Model):
    """Event counts per hour × type × page × device type × browser × country × UTM source,
    incremented in the same transaction that stores the events (``INSERT … ON CONFLICT``)."""

    hour = models.DateTimeField()
    type = models.PositiveSmallIntegerField(choices=EventType.choices)
    path = models.CharField(max_length=200, blank=True)
    device_type = models.CharField(max_length=8, blank=True)
    browser = models.CharField(max_length=40, blank=True)
    country = models.CharField(max_length=2, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "type", "path", "device_type", "browser", "country", "utm_source"],
                name="analytics_eventrollup_dims",
            )
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.get_type_display()} {self.path}: {self.count}"


class SessionRollup(models.Model):
    """Sessions per start hour × entry page × device type × browser × country × UTM source. Kept
    exact as sessions grow: each flush adds the change (e.g. a bounce that became a visit: −1)."""

    hour = models.DateTimeField()
    entry_path = models.CharField(max_length=200, blank=True)
    device_type = models.CharField(max_length=8, blank=True)
    browser = models.CharField(max_length=40, blank=True)
    country = models.CharField(max_length=2, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    sessions = models.BigIntegerField(default=0)
    bounces = models.BigIntegerField(default=0)
    conversions = models.BigIntegerField(default=0)
    pageviews = models.BigIntegerField(default=0)
    duration_seconds = models.BigIntegerField(default=0)
    engaged_ms = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "entry_path", "device_type", "browser", "country", "utm_source"],
                name="analytics_sessionrollup_dims",
            )
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.entry_path}: {self.sessions} sessions"


class DailySalt(models.Model):
    """The random salt of one UTC day for anonymous visitor hashes. Created on first use, kept
    48 hours (yesterday's salt lets visits that cross midnight continue), then deleted."""

    day = models.DateField(primary_key=True)
    salt = models.BinaryField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Salt of {self.day}"


class TrackedDevice(models.Model):
    """A browser whose visitor consented to a persistent first-party device id (cookie)."""

    id = models.UUIDField(primary_key=True, editable=False)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="analytics_devices"
    )
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    linked_at = models.DateTimeField(null=True, blank=True)
    device_type = models.CharField(max_length=8, blank=True)
    browser = models.CharField(max_length=40, blank=True)
    os = models.CharField(max_length=40, blank=True)
    #: Richer signals allowed with consent: screen, time zone, language, hardware hints.
    screen = models.CharField(max_length=20, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    language = models.CharField(max_length=35, blank=True)
    hardware = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"Device {str(self.id)[:8]} ({self.browser or 'unknown browser'})"


class LinkSource(models.TextChoices):
    LOGIN = "login", "Login"
    BOOKING = "booking", "Booking"
    PAGE = "page", "Signed-in page view"


class VisitorLink(models.Model):
    """An anonymous daily visitor hash known to belong to a customer (they logged in or booked)."""

    visitor_key = models.UUIDField()
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="analytics_visitor_links")
    source = models.CharField(max_length=10, choices=LinkSource.choices)
    linked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["visitor_key", "customer"], name="analytics_visitorlink_unique")
        ]
        indexes = [models.Index(fields=["customer"], name="analytics_visitorlink_cust")]

    def __str__(self) -> str:
        return f"{str(self.visitor_key)[:8]} → customer {self.customer_id}"


class ConsentRecord(models.Model):
    """Every consent choice, with its time and the version of the text it answered."""

    granted = models.BooleanField()
    version = models.CharField(max_length=20)
    device_id = models.UUIDField(null=True, blank=True)
    visitor_key = models.UUIDField(null=True, blank=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="analytics_consents"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["device_id"], name="analytics_consent_device"),
            models.Index(fields=["visitor_key"], name="analytics_consent_visitor"),
        ]

    def __str__(self) -> str:
        return (
            f"{'granted' if self.granted else 'refused'} v{self.version} at {self.created_at:%Y-%m-%d %H:%M}"
        )


class IngestCursor(models.Model):
    """How far the Redis stream has been stored, updated in the transaction that stores the events,
    so a crash between storing and trimming the stream never stores a batch twice."""

    name = models.CharField(max_length=40, primary_key=True)
    position = models.CharField(max_length=40, default="0-0")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.position}"


class DailyDimensionValue(models.Model):
    """The values of an unbounded dimension admitted on one UTC day (unknown paths, UTM values):
    at most the daily cap of each; later values are stored as "(other)" (analytics/services/caps.py)."""

    day = models.DateField()
    dimension = models.CharField(max_length=20)
    value = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "dimension", "value"], name="analytics_dimvalue_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension}={self.value}"


class DeadLetterBatch(models.Model):
    """A buffered batch the flusher could not store (unstorable text, an unreadable stream entry):
    set aside with the reason so the batches after it are stored. Staff see them in the admin and
    replay one once the cause is fixed (``analytics.services.deadletters.replay``)."""

    class Source(models.TextChoices):
        STREAM = "stream", "Redis stream"
        DIRECT = "direct", "Direct storage"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    entry_id = models.CharField(max_length=40, blank=True, help_text="The Redis stream entry id.")
    #: The batch as JSON text, ASCII-escaped (so NUL and lone surrogates survive as ``\u0000``).
    payload = models.TextField()
    reason = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    replayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "dead-lettered event batch"

    def __str__(self) -> str:
        return f"{self.source} {self.entry_id or self.pk} at {self.created_at:%Y-%m-%d %H:%M}"


class CustomerPersonalData(Customer):
    """The customer seen from the GDPR tools (export and erase) in the analytics admin."""

    class Meta:
        proxy = True
        verbose_name = "customer personal data"
        verbose_name_plural = "customer personal data (GDPR export and erasure)"
