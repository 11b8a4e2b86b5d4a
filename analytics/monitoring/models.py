"""Monitoring: anomaly alerts on the hourly rollups, staff opt-ins for alert notifications, and the
web-vitals histograms the p75 panel reads.

These models belong to the ``analytics`` app (named in ``analytics/models.py``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class AlertMetric(models.TextChoices):
    TRAFFIC = "traffic", "Traffic (page views per hour)"
    CONVERSION_RATE = "conversion_rate", "Conversion rate (converting sessions / sessions)"
    ERROR_RATE = "error_rate", "Error and rage-click rate ((JS errors + rage clicks) / page views)"
    FAILED_PAYMENTS = "failed_payments", "Failed payments (failed / attempted payments)"


class AlertDirection(models.TextChoices):
    UP = "up", "Up"
    DOWN = "down", "Down"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class Alert(models.Model):
    """One anomaly episode of one metric: opened at its first anomalous hour, updated while the
    metric stays anomalous, resolved once it has been back to normal for an hour (or by staff).

    At most one open alert per metric (a partial unique constraint), so an episode is never
    alerted twice."""

    metric = models.CharField(max_length=20, choices=AlertMetric.choices)
    direction = models.CharField(max_length=4, choices=AlertDirection.choices)
    observed = models.FloatField(help_text="The latest anomalous value (a count, or a rate 0–1).")
    expected = models.FloatField(help_text="The seasonal baseline for the same hour of the week.")
    z_score = models.FloatField()
    change_pct = models.FloatField(
        null=True, blank=True, help_text="(observed − expected) / expected × 100; empty when expected is 0."
    )
    #: The hour (UTC) the metric was evaluated for when it was last anomalous.
    hour = models.DateTimeField()
    started_at = models.DateTimeField(help_text="Start of the first anomalous hour of the episode.")
    last_seen_at = models.DateTimeField(help_text="When the metric was last found anomalous.")
    #: First normal verdict after the last anomalous one; the alert resolves an hour later.
    normal_since = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    message = models.CharField(max_length=300)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Set when staff resolved it by hand (empty: resolved by the detector).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["metric"], condition=Q(status="open"), name="analytics_alert_one_open_per_metric"
            )
        ]
        indexes = [models.Index(fields=["status", "-started_at"], name="analytics_alert_status")]

    def __str__(self) -> str:
        return f"{self.metric} {self.direction} since {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class AlertChannel(models.TextChoices):
    EMAIL = "email", "Email"


class AlertSubscription(models.Model):
    """A staff member who opted in to alert notifications on a channel (absent: not notified)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=AlertChannel.choices, default=AlertChannel.EMAIL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "channel"], name="analytics_alertsubscription_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} ← alerts by {self.channel}"


class WebVitalHistogram(models.Model):
    """Web-vital samples per hour × page × vital × value bucket × segment dimensions, incremented
    in the transaction that stores the events (``INSERT … ON CONFLICT``). Buckets are fixed
    (``monitoring.services.vitals.BUCKET_EDGES``); p75 is read from the cumulative counts."""

    hour = models.DateTimeField()
    path = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=4)
    bucket = models.PositiveSmallIntegerField()
    device_type = models.CharField(max_length=8, blank=True)
    browser = models.CharField(max_length=40, blank=True)
    country = models.CharField(max_length=2, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "path", "name", "bucket", "device_type", "browser", "country", "utm_source"],
                name="analytics_webvitalhist_dims",
            )
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.name} {self.path} bucket {self.bucket}: {self.count}"


class WebVitalDailyHistogram(models.Model):
    """The same counts per UTC day (written together with the hourly rows): ranges read whole days
    here and only the partial days at their edges from the hourly table."""

    day = models.DateField()
    path = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=4)
    bucket = models.PositiveSmallIntegerField()
    device_type = models.CharField(max_length=8, blank=True)
    browser = models.CharField(max_length=40, blank=True)
    country = models.CharField(max_length=2, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "path", "name", "bucket", "device_type", "browser", "country", "utm_source"],
                name="analytics_webvitaldaily_dims",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.name} {self.path} bucket {self.bucket}: {self.count}"


__all__ = [
    "Alert",
    "AlertChannel",
    "AlertDirection",
    "AlertMetric",
    "AlertStatus",
    "AlertSubscription",
    "WebVitalDailyHistogram",
    "WebVitalHistogram",
]
