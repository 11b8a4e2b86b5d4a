"""Serializers of the notifications API (/api/v1/notifications/). Request bodies are strict:
unknown fields and values of the wrong JSON type are errors, as everywhere in the API."""

from __future__ import annotations

from datetime import time
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from revivatech.api_serializers import (
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictInputSerializer,
    json_type_name,
)

from .models import Channel, Message, MessageKind, PushDevice, PushPlatform, PushTokenKind


@extend_schema_field({"type": "string", "pattern": r"^\d{2}:\d{2}$", "example": "21:30"})
class StrictTimeField(serializers.Field):
    """A time of day as ``"HH:MM"`` (24-hour)."""

    default_error_messages = {
        "wrong_type": 'Must be a string like "21:30", not {type}.',
        "invalid": 'Must be a time of day like "21:30" (24-hour HH:MM).',
    }

    def to_internal_value(self, data: Any) -> time:
        if not isinstance(data, str):
            self.fail("wrong_type", type=json_type_name(data))
        try:
            hours, minutes = data.split(":")
            if len(hours) != 2 or len(minutes) != 2:
                raise ValueError
            return time(int(hours), int(minutes))
        except ValueError:
            self.fail("invalid")

    def to_representation(self, value: time) -> str:
        return value.strftime("%H:%M")


class QuietHoursSerializer(StrictInputSerializer):
    enabled = StrictBooleanField()
    start = StrictTimeField(help_text="When quiet hours start, in your time zone (HH:MM).")
    end = StrictTimeField(help_text="When they end (HH:MM); may be the next morning.")


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "boolean"},
        "example": {"email": True, "sms": False},
    }
)
class ChannelChoicesField(serializers.Field):
    """``{"email": true, "sms": false}``: every key a channel, every value a JSON boolean."""

    def to_internal_value(self, data: Any) -> dict[str, bool]:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                f"Must be an object of channel: true/false, not {json_type_name(data)}."
            )
        result = {}
        for channel, enabled in data.items():
            if channel not in Channel.values:
                raise serializers.ValidationError(
                    f'"{channel}" is not a channel. Choose from: {", ".join(Channel.values)}.'
                )
            if not isinstance(enabled, bool):
                raise serializers.ValidationError(
                    f"{channel}: must be true or false, not {json_type_name(enabled)}."
                )
            result[channel] = enabled
        return result

    def to_representation(self, value: dict[str, bool]) -> dict[str, bool]:
        return value


class PreferencesUpdateSerializer(StrictInputSerializer):
    """Change some choices: ``{"preferences": {"status": {"sms": true}}, "quiet_hours": {...}}``."""

    preferences = serializers.DictField(
        child=ChannelChoicesField(),
        required=False,
        help_text=f"Kind → channel → on/off. Kinds: {', '.join(MessageKind.values)}.",
    )
    quiet_hours = QuietHoursSerializer(required=False)

    def validate_preferences(self, value: dict[str, dict[str, bool]]) -> dict[str, dict[str, bool]]:
        unknown = [kind for kind in value if kind not in MessageKind.values]
        if unknown:
            raise serializers.ValidationError(
                f'"{unknown[0]}" is not a kind of message. Choose from: {", ".join(MessageKind.values)}.'
            )
        return value


class PreferencesSerializer(serializers.Serializer):
    """The customer's choices as they stand (stored or default)."""

    time_zone = serializers.CharField(help_text="Quiet hours are in this zone (the customer's).")
    preferences = serializers.DictField(child=serializers.DictField(child=serializers.BooleanField()))
    locked = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()),
        help_text="Kind/channel pairs that cannot be switched off.",
    )
    quiet_hours = serializers.DictField()


class PushTokenSerializer(StrictInputSerializer):
    token = StrictCharField(max_length=512, help_text="The FCM registration token (or installation ID).")
    platform = StrictChoiceField(choices=PushPlatform.choices, default=PushPlatform.WEB)
    token_kind = StrictChoiceField(choices=PushTokenKind.choices, default=PushTokenKind.REGISTRATION_TOKEN)
    label = StrictCharField(max_length=100, required=False, allow_blank=True, default="")


class PushDeviceSerializer(serializers.ModelSerializer):
    class Meta:
        model = PushDevice
        fields = ["id", "platform", "token_kind", "label", "active", "created_at", "last_seen_at"]


class ChannelStatsSerializer(serializers.Serializer):
    channel = serializers.CharField()
    total = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    opened = serializers.IntegerField()
    clicked = serializers.IntegerField()
    bounced = serializers.IntegerField()
    failed = serializers.IntegerField()
    dead = serializers.IntegerField()
    skipped = serializers.IntegerField()
    pending = serializers.IntegerField()
    delivery_rate = serializers.FloatField(allow_null=True, help_text="% of sent messages delivered.")
    open_rate = serializers.FloatField(allow_null=True, help_text="% of sent messages opened.")
    click_rate = serializers.FloatField(allow_null=True, help_text="% of sent messages clicked.")
    failure_rate = serializers.FloatField(allow_null=True, help_text="% of finished messages that failed.")


class StatsQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1, max_value=3660, default=30, error_messages={"invalid": "Must be a whole number of days."}
    )


class TimelineMessageSerializer(serializers.ModelSerializer):
    # plain strings in the schema (their enums would collide with the repairs' "status"/"priority")
    channel = serializers.CharField(help_text="email, sms or push")
    kind = serializers.CharField(help_text="service, status, quote, payment or marketing")
    priority = serializers.CharField(help_text="urgent or normal")
    status = serializers.CharField(
        help_text="queued, sending, sent, delivered, opened, clicked, bounced, failed, dead or skipped"
    )
    events = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "channel",
            "kind",
            "priority",
            "template_key",
            "template_version",
            "recipient",
            "subject",
            "status",
            "attempts",
            "provider",
            "provider_message_id",
            "last_error",
            "created_at",
            "sent_at",
            "delivered_at",
            "opened_at",
            "clicked_at",
            "failed_at",
            "events",
        ]

    @extend_schema_field(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "source": {"type": "string"},
                    "kind": {"type": "string"},
                    "status": {"type": "string"},
                    "occurred_at": {"type": "string", "format": "date-time"},
                },
            },
        }
    )
    def get_events(self, message: Message) -> list[dict[str, Any]]:
        return [
            {"source": e.source, "kind": e.kind, "status": e.status, "occurred_at": e.occurred_at.isoformat()}
            for e in message.events.all()
        ]
