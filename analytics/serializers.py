"""Query parameters of the staff reports, and response shapes for the OpenAPI schema."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from .models import DeviceType, Session
from .selectors import Segment
from .services.reports import FUNNELS


class ReportQuerySerializer(serializers.Serializer):
    """``from`` / ``to`` (inclusive dates, UTC; default: the last 30 days) and a segment."""

    device_type = serializers.ChoiceField(choices=DeviceType.choices, required=False)
    browser = serializers.CharField(required=False, max_length=40)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, help_text="ISO 3166 alpha-2 code")
    utm_source = serializers.CharField(required=False, max_length=100)

    def get_fields(self):
        fields = super().get_fields()
        # ``from`` is a Python keyword, so these two are declared here.
        fields["from"] = serializers.DateField(
            required=False, source="date_from", help_text="First day (UTC)"
        )
        fields["to"] = serializers.DateField(
            required=False, source="date_to", help_text="Last day (UTC), inclusive"
        )
        return fields

    def validate(self, attrs):
        today = timezone.now().date()
        last = attrs.get("date_to") or today
        first = attrs.get("date_from") or last - timedelta(days=29)
        if first > last:
            raise serializers.ValidationError({"from": "Must be on or before 'to'."})
        if (last - first).days + 1 > settings.ANALYTICS_MAX_REPORT_DAYS:
            raise serializers.ValidationError(
                {"from": f"The range may cover at most {settings.ANALYTICS_MAX_REPORT_DAYS} days."}
            )
        attrs["date_from"], attrs["date_to"] = first, last
        attrs["segment"] = Segment(
            device_type=attrs.get("device_type", ""),
            browser=attrs.get("browser", ""),
            country=attrs.get("country", "").upper(),
            utm_source=attrs.get("utm_source", ""),
        )
        return attrs


class StrictQueryMixin:
    """Unknown query parameters are refused (a typo must not silently widen a report)."""

    def validate(self, attrs):
        known = set(self.fields) | {"page"}
        unknown = sorted(set(self.initial_data) - known)
        if unknown:
            raise serializers.ValidationError({name: "Unknown parameter." for name in unknown})
        return super().validate(attrs)


class FunnelQuerySerializer(StrictQueryMixin, ReportQuerySerializer):
    funnel = serializers.ChoiceField(choices=sorted(FUNNELS), required=False, default="booking")
    steps = serializers.CharField(
        required=False,
        max_length=1000,
        help_text="Custom steps instead of a named funnel: comma-separated `type` or `type:detail` "
        "(detail = page for pageview, form for form events, name for custom), e.g. "
        "`pageview,pageview:/book/,booking_started,booking_completed`.",
    )
    form = serializers.CharField(
        required=False, max_length=100, help_text="Form for the per-field breakdown."
    )


class JourneyQuerySerializer(StrictQueryMixin, ReportQuerySerializer):
    from_page = serializers.CharField(required=False, max_length=200)
    to_page = serializers.CharField(required=False, max_length=200)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=10)
    max_steps = serializers.IntegerField(required=False, min_value=2, max_value=20, default=6)


class OverviewQuerySerializer(StrictQueryMixin, ReportQuerySerializer):
    pass


class SessionQuerySerializer(StrictQueryMixin, ReportQuerySerializer):
    pass


class SessionSerializer(serializers.ModelSerializer):
    duration_seconds = serializers.IntegerField(read_only=True)

    class Meta:
        model = Session
        fields = [
            "id",
            "started_at",
            "last_seen_at",
            "duration_seconds",
            "entry_path",
            "exit_path",
            "pageviews",
            "events",
            "engaged_ms",
            "is_bounce",
            "converted",
            "pages",
            "referrer_host",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "device_type",
            "browser",
            "os",
            "country",
            "customer",
        ]


class IngestResponseSerializer(serializers.Serializer):
    detail = serializers.CharField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ConsentRequestSerializer(serializers.Serializer):
    granted = serializers.BooleanField()
