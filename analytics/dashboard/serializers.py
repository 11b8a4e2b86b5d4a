"""Query parameters and response shapes of the dashboard API (documented in the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from ..models import DeviceType
from ..selectors import Segment
from .filters import DEFAULT_PRESET, PRESETS, DashboardFilters, preset_days

SEGMENT_PARAMS = ("device_type", "browser", "country", "utm_source")


class DashboardQuerySerializer(serializers.Serializer):
    """``range`` = today | 7d | 30d | custom (with ``from`` and ``to``, inclusive UTC dates), and the
    segment. Unknown parameters are refused, so a typo never silently widens the figures."""

    range = serializers.ChoiceField(
        choices=[*PRESETS, "custom"], required=False, help_text="Preset range, or custom with from/to"
    )
    device_type = serializers.ChoiceField(choices=DeviceType.choices, required=False)
    browser = serializers.CharField(required=False, max_length=40)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, help_text="ISO 3166 alpha-2 code")
    utm_source = serializers.CharField(required=False, max_length=100, help_text="Referrer / UTM source")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(
            required=False, source="date_from", help_text="First day (UTC)"
        )
        fields["to"] = serializers.DateField(
            required=False, source="date_to", help_text="Last day (UTC), inclusive"
        )
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(getattr(self, "initial_data", {})) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown parameter."] for name in unknown})
        has_dates = "date_from" in attrs or "date_to" in attrs
        preset = attrs.get("range") or ("custom" if has_dates else DEFAULT_PRESET)
        today = timezone.now().date()
        if preset == "custom":
            if "date_from" not in attrs or "date_to" not in attrs:
                raise serializers.ValidationError({"from": ["A custom range needs both 'from' and 'to'."]})
            first, last = attrs["date_from"], attrs["date_to"]
            if first > last:
                raise serializers.ValidationError({"from": ["Must be on or before 'to'."]})
            if (last - first).days + 1 > settings.ANALYTICS_MAX_REPORT_DAYS:
                raise serializers.ValidationError(
                    {"from": [f"The range may cover at most {settings.ANALYTICS_MAX_REPORT_DAYS} days."]}
                )
        else:
            if has_dates:
                raise serializers.ValidationError(
                    {"range": [f"'from' and 'to' go with range=custom, not range={preset}."]}
                )
            first, last = preset_days(preset, today)
        segment = Segment(
            device_type=attrs.get("device_type", ""),
            browser=attrs.get("browser", ""),
            country=attrs.get("country", "").upper(),
            utm_source=attrs.get("utm_source", ""),
        )
        return {"filters": DashboardFilters(range=preset, first_day=first, last_day=last, segment=segment)}


def parse_filters(params: dict[str, str]) -> DashboardFilters:
    """Filters from query parameters; raises ``serializers.ValidationError`` (a 400) when invalid."""
    query = DashboardQuerySerializer(data={key: value for key, value in params.items() if value != ""})
    query.is_valid(raise_exception=True)
    return query.validated_data["filters"]


# --- response shapes (documentation and a check in the tests) --------------------------------------


class SegmentSerializer(serializers.Serializer):
    device_type = serializers.CharField(required=False)
    browser = serializers.CharField(required=False)
    country = serializers.CharField(required=False)
    utm_source = serializers.CharField(required=False)


class FiltersSerializer(serializers.Serializer):
    range = serializers.CharField()
    to = serializers.DateField()
    granularity = serializers.ChoiceField(choices=["hour", "day"])
    segment = SegmentSerializer()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField()
        return fields


class LiveSerializer(serializers.Serializer):
    visitors_now = serializers.IntegerField(help_text="Distinct visitors seen in the last 5 minutes")
    pageviews_last_5_min = serializers.IntegerField()
    source = serializers.ChoiceField(
        choices=["redis", "database"], help_text="Where the live counters come from"
    )
    window_seconds = serializers.IntegerField()


class ConversionsSerializer(serializers.Serializer):
    bookings = serializers.IntegerField()
    quote_approvals = serializers.IntegerField()
    payments = serializers.IntegerField()
    failed_payments = serializers.IntegerField()
    rage_clicks = serializers.IntegerField()
    converted_sessions = serializers.IntegerField()
    conversion_rate = serializers.FloatField(allow_null=True)


class TrafficSerializer(serializers.Serializer):
    visitors = serializers.IntegerField(
        help_text="People who started a visit: customers once, else devices, else daily visitor keys"
    )
    pageviews = serializers.IntegerField()
    sessions = serializers.IntegerField()
    bounces = serializers.IntegerField(help_text="Visits of one page, under 10 s engaged, not converting")
    bounce_rate = serializers.FloatField(allow_null=True)
    avg_session_seconds = serializers.FloatField(allow_null=True)


class SeriesPointSerializer(serializers.Serializer):
    t = serializers.DateTimeField(help_text="Start of the hour or day (UTC)")
    sessions = serializers.IntegerField()
    pageviews = serializers.IntegerField()
    conversions = serializers.IntegerField()


class BreakdownRowSerializer(serializers.Serializer):
    value = serializers.CharField(allow_blank=True, help_text="The dimension's value ('' = unknown)")
    sessions = serializers.IntegerField()
    pageviews = serializers.IntegerField()
    bounce_rate = serializers.FloatField(allow_null=True)
    conversions = serializers.IntegerField()


class BreakdownsSerializer(serializers.Serializer):
    device_type = BreakdownRowSerializer(many=True)
    browser = BreakdownRowSerializer(many=True)
    country = BreakdownRowSerializer(many=True)
    utm_source = BreakdownRowSerializer(many=True)


class TopPageSerializer(serializers.Serializer):
    path = serializers.CharField(allow_blank=True)
    pageviews = serializers.IntegerField()


class FunnelStepSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    rate_from_start = serializers.FloatField(allow_null=True)
    rate_from_previous = serializers.FloatField(allow_null=True)


class FunnelOutsideSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    people = serializers.IntegerField(help_text="Converted in the range without the earlier steps")
    without_tracked_visit = serializers.IntegerField(help_text="Of them, no tracked visit (counter, webhook)")


class TicketStatusSerializer(serializers.Serializer):
    status = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()


class WorkloadSerializer(serializers.Serializer):
    technician_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    open_tickets = serializers.IntegerField()


class TicketsSerializer(serializers.Serializer):
    open_total = serializers.IntegerField()
    by_status = TicketStatusSerializer(many=True)
    workload = WorkloadSerializer(many=True)


class RevenueSerializer(serializers.Serializer):
    currency = serializers.CharField()
    gross = serializers.IntegerField(help_text="Minor units")
    refunded = serializers.IntegerField(help_text="Minor units")
    net = serializers.IntegerField(help_text="Minor units")
    payments = serializers.IntegerField()
    display = serializers.CharField(help_text="Net amount formatted for people")


class ActivitySerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="booking_completed, quote_approved, payment_succeeded, …")
    label = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    path = serializers.CharField(allow_blank=True)
    detail = serializers.CharField(allow_blank=True)
    device_type = serializers.CharField(allow_blank=True)
    country = serializers.CharField(allow_blank=True)


class AlertSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    metric = serializers.CharField()
    metric_label = serializers.CharField(required=False)
    direction = serializers.CharField()
    observed = serializers.FloatField()
    expected = serializers.FloatField()
    z_score = serializers.FloatField(allow_null=True)
    change_pct = serializers.FloatField(allow_null=True)
    started_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(required=False, allow_null=True)
    status = serializers.CharField()
    message = serializers.CharField()


class VitalsSerializer(serializers.Serializer):
    path = serializers.CharField()
    samples = serializers.IntegerField()
    lcp_p75_ms = serializers.FloatField(allow_null=True)
    inp_p75_ms = serializers.FloatField(allow_null=True)
    cls_p75 = serializers.FloatField(allow_null=True)
    lcp_rating = serializers.CharField(allow_null=True)
    inp_rating = serializers.CharField(allow_null=True)
    cls_rating = serializers.CharField(allow_null=True)


class DashboardSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    filters = FiltersSerializer()
    live = LiveSerializer()
    traffic = TrafficSerializer()
    conversions = ConversionsSerializer()
    series = SeriesPointSerializer(many=True)
    breakdowns = BreakdownsSerializer()
    top_pages = TopPageSerializer(many=True)
    funnel = FunnelStepSerializer(many=True, help_text="People per step, in order (as the funnels API)")
    funnel_outside = FunnelOutsideSerializer(many=True)
    tickets = TicketsSerializer(help_text="Not segmented: tickets have no visit dimensions")
    revenue = RevenueSerializer(many=True, help_text="Not segmented; per currency, payments by success time")
    activity = ActivitySerializer(many=True)
    alerts = AlertSerializer(many=True)
    alerts_available = serializers.BooleanField()
    vitals = VitalsSerializer(many=True)
    vitals_available = serializers.BooleanField()
    timings_ms = serializers.DictField(child=serializers.FloatField(), help_text="Time spent per section")
