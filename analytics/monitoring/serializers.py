"""Query parameters and response shapes of the monitoring API (also the OpenAPI schema)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from ..models import DeviceType
from ..selectors import Segment
from .models import AlertChannel, AlertDirection, AlertMetric, AlertStatus


class StrictQuery(serializers.Serializer):
    """Unknown query parameters are refused (a typo must not silently widen a report)."""

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields) - {"page"})
        if unknown:
            raise serializers.ValidationError({name: "Unknown parameter." for name in unknown})
        return super().validate(attrs)


class AlertQuerySerializer(StrictQuery):
    status = serializers.ChoiceField(
        choices=AlertStatus.choices, required=False, help_text="open or resolved"
    )
    metric = serializers.ChoiceField(choices=AlertMetric.choices, required=False)


class AnalyticsAlertSerializer(serializers.Serializer):
    """The JSON shape of ``services.alerts.alert_dict``."""

    id = serializers.IntegerField()
    metric = serializers.ChoiceField(choices=AlertMetric.choices)
    metric_label = serializers.CharField()
    direction = serializers.ChoiceField(choices=AlertDirection.choices)
    observed = serializers.FloatField(help_text="Counts per hour (a partial hour projected), or a rate 0–1")
    expected = serializers.FloatField(help_text="Median of the same hour of the week in previous weeks")
    z_score = serializers.FloatField()
    change_pct = serializers.FloatField(allow_null=True, help_text="Null when the usual value is 0")
    started_at = serializers.DateTimeField(help_text="Start of the first anomalous hour of the episode")
    last_seen_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField(help_text="open or resolved")
    message = serializers.CharField()


class WebVitalsQuerySerializer(StrictQuery):
    """``start`` / ``end`` (ISO 8601 date or date-time, UTC when no offset is given; default: the last
    7 days up to now) and a segment."""

    start = serializers.DateTimeField(required=False, default_timezone=UTC)
    end = serializers.DateTimeField(required=False, default_timezone=UTC)
    device_type = serializers.ChoiceField(choices=DeviceType.choices, required=False)
    browser = serializers.CharField(required=False, max_length=40)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, help_text="ISO 3166 alpha-2 code")
    utm_source = serializers.CharField(required=False, max_length=100)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        end: datetime = attrs.get("end") or timezone.now()
        start: datetime = attrs.get("start") or end - timedelta(days=7)
        if start >= end:
            raise serializers.ValidationError({"start": "Must be before 'end'."})
        if end - start > timedelta(days=settings.ANALYTICS_MAX_REPORT_DAYS):
            raise serializers.ValidationError(
                {"start": f"The range may cover at most {settings.ANALYTICS_MAX_REPORT_DAYS} days."}
            )
        attrs["start"], attrs["end"] = start, end
        attrs["segment"] = Segment(
            device_type=attrs.get("device_type", ""),
            browser=attrs.get("browser", ""),
            country=attrs.get("country", "").upper(),
            utm_source=attrs.get("utm_source", ""),
        )
        return attrs


class WebVitalPageSerializer(serializers.Serializer):
    path = serializers.CharField()
    samples = serializers.IntegerField()
    lcp_p75_ms = serializers.FloatField(allow_null=True)
    inp_p75_ms = serializers.FloatField(allow_null=True)
    cls_p75 = serializers.FloatField(allow_null=True)
    lcp_rating = serializers.CharField(allow_null=True, help_text="good, needs-improvement or poor")
    inp_rating = serializers.CharField(allow_null=True)
    cls_rating = serializers.CharField(allow_null=True)
    lcp_samples = serializers.IntegerField()
    inp_samples = serializers.IntegerField()
    cls_samples = serializers.IntegerField()


class WebVitalsSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    segment = serializers.DictField(child=serializers.CharField())
    thresholds = serializers.DictField(
        child=serializers.ListField(child=serializers.FloatField()),
        help_text="Good / poor limits per vital (ms; CLS unitless)",
    )
    relative_error_bound = serializers.FloatField(help_text="Largest relative error of a p75 (bucketing)")
    pages = WebVitalPageSerializer(many=True)


class AlertSubscriptionSerializer(serializers.Serializer):
    """The current staff member's opt-in to alert notifications (email is the only channel)."""

    email = serializers.BooleanField(help_text="Receive an email when an alert opens")

    def to_representation(self, instance: list[str]) -> dict[str, bool]:
        return {"email": AlertChannel.EMAIL in instance}
