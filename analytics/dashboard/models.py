"""The dashboard's daily aggregates: the hourly rollups summed per UTC day, and slices per
one-dimension segment. Written by :mod:`.rollups` in the transaction that stores the events (the
storage's ``on_stored`` hook), read by :mod:`.selectors`.

These models belong to the ``analytics`` app (named in ``analytics/models.py``).
"""

from __future__ import annotations

from django.db import models

from ..event_types import EventType


class DailyEventRollup(models.Model):
    """Event counts per UTC day × type × device type × browser × country × UTM source, and page for
    page views only (other types keep ``path`` empty, which keeps the table small). Incremented in
    the same transaction as :class:`EventRollup`; the live dashboard reads it for whole days."""

    day = models.DateField()
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
                fields=["day", "type", "path", "device_type", "browser", "country", "utm_source"],
                name="analytics_dailyeventrollup_dims",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.get_type_display()} {self.path}: {self.count}"


class DailySessionRollup(models.Model):
    """Sessions per UTC start day × device type × browser × country × UTM source (no entry page),
    kept exact like :class:`SessionRollup` and in the same transaction."""

    day = models.DateField()
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
                fields=["day", "device_type", "browser", "country", "utm_source"],
                name="analytics_dailysessionrollup_dims",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.sessions} sessions"


class DailyEventSlice(models.Model):
    """Event counts per UTC day × type (× page for page views) for the whole site and for each
    one-dimension segment (``segment`` = ``""`` or ``"device_type=mobile"``, ``"country=GB"`` …): each
    event adds to five rows. The dashboard answers unsegmented and one-dimension views from a few
    hundred rows (index range on segment and day); views of two or more dimensions read
    :class:`DailyEventRollup`."""

    segment = models.CharField(max_length=120, blank=True)
    day = models.DateField()
    type = models.PositiveSmallIntegerField(choices=EventType.choices)
    path = models.CharField(max_length=200, blank=True)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "day", "type", "path"], name="analytics_dailyeventslice_dims"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} [{self.segment or 'all'}] {self.get_type_display()} {self.path}: {self.count}"


class DailySessionSlice(models.Model):
    """Session figures per UTC start day, for the whole site and each one-dimension segment (as
    :class:`DailyEventSlice`), in total (``dimension`` = ``""``) and broken down by each segment
    dimension (``dimension`` = ``"browser"``, ``value`` = ``"Firefox"``)."""

    segment = models.CharField(max_length=120, blank=True)
    dimension = models.CharField(max_length=20, blank=True)
    day = models.DateField()
    value = models.CharField(max_length=100, blank=True)
    sessions = models.BigIntegerField(default=0)
    bounces = models.BigIntegerField(default=0)
    conversions = models.BigIntegerField(default=0)
    pageviews = models.BigIntegerField(default=0)
    duration_seconds = models.BigIntegerField(default=0)
    engaged_ms = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "dimension", "day", "value"], name="analytics_dailysessionslice_dims"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} [{self.segment or 'all'}] {self.dimension}={self.value}: {self.sessions} sessions"
