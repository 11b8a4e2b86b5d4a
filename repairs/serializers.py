"""Serializers of the REST API (/api/v1/).

Request bodies use :class:`StrictInputSerializer` and the ``Strict*`` fields (from the kernel,
revivatech/api_serializers.py): unknown fields and values of the wrong JSON type are errors instead
of being ignored or coerced. Responses that depend on who is asking (contact details, tracking
link, allowed next statuses) read the request from the serializer context and decide through
:mod:`repairs.selectors`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# Strict request bodies and the error shape are shared by every app's API: they live in the
# kernel and are re-exported here for repairs' callers.
from revivatech.api_serializers import (  # noqa: F401
    ErrorSerializer,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictInputSerializer,
    StrictIntegerField,
    json_type_name,
)
from revivatech.links import absolute_url

from . import selectors
from .lifecycle import Status
from .models import Milestone, Note, NotePriority, RepairTicket, TicketEvent
from .presenters import event_payload

#: The largest amount the database stores in a quote (PositiveIntegerField on PostgreSQL).
MAX_QUOTE_AMOUNT = 2_147_483_647
MAX_TRANSITION_NOTE_LENGTH = 2000
#: The largest event seq the database stores (PositiveIntegerField).
MAX_EVENT_SEQ = 2_147_483_647


# --- request bodies ------------------------------------------------------------------------------


class TransitionSerializer(StrictInputSerializer):
    status = StrictChoiceField(choices=Status.choices, help_text="The status to move the repair to.")
    note = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=MAX_TRANSITION_NOTE_LENGTH,
        help_text="Shown on the customer's timeline with the status change.",
    )


class SendQuoteSerializer(StrictInputSerializer):
    amount = StrictIntegerField(
        min_value=0, max_value=MAX_QUOTE_AMOUNT, help_text="In minor units of the currency (pence, cents)."
    )
    currency = StrictCharField(
        required=False, help_text="Three-letter ISO 4217 code; the shop's currency when omitted."
    )


class QuoteDecisionSerializer(StrictInputSerializer):
    approved = StrictBooleanField(
        help_text="true approves the quote; false declines it (cancels the repair)."
    )
    note = StrictCharField(required=False, allow_blank=True, max_length=MAX_TRANSITION_NOTE_LENGTH)


class NewNoteSerializer(StrictInputSerializer):
    text = StrictCharField(max_length=5000)
    priority = StrictChoiceField(choices=NotePriority.choices, default=NotePriority.NORMAL)
    visible_to_customer = StrictBooleanField(
        default=False, help_text="Internal (false) unless the customer should read it."
    )


class NewMilestoneSerializer(StrictInputSerializer):
    title = StrictCharField(max_length=120)
    percent = StrictIntegerField(
        min_value=0, max_value=100, help_text="The repair's progress once this milestone is reached."
    )


# --- query strings (always strings, so the ordinary fields) ---------------------------------------


STATUSES = ", ".join(Status.values)


class RepairListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=Status.choices,
        required=False,
        allow_blank=True,
        help_text="Empty means every status.",
        error_messages={"invalid_choice": f'"{{input}}" is not a repair status. Choose one of: {STATUSES}.'},
    )


class EventsQuerySerializer(serializers.Serializer):
    since = serializers.IntegerField(
        min_value=0,
        max_value=MAX_EVENT_SEQ,
        default=0,
        error_messages={"invalid": "Must be a whole number: the last event seq you already have."},
    )


# --- responses -----------------------------------------------------------------------------------


class StatusOptionSerializer(serializers.Serializer):
    status = serializers.CharField()
    label = serializers.CharField()


class DeviceSummarySerializer(serializers.Serializer):
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    brand = serializers.CharField()
    model = serializers.CharField()
    summary = serializers.CharField(source="__str__")


class CustomerSummarySerializer(serializers.Serializer):
    name = serializers.CharField()
    email = serializers.EmailField(allow_null=True, help_text="Only for shop staff and the technician.")
    phone = serializers.CharField(allow_null=True, help_text="Only for shop staff and the technician.")


class QuoteSummarySerializer(serializers.Serializer):
    amount = serializers.IntegerField(
        source="quote_amount", allow_null=True, help_text="Minor units; null until a quote is sent."
    )
    currency = serializers.CharField(source="quote_currency")
    decision = serializers.CharField(source="quote_decision")
    decision_label = serializers.CharField(source="get_quote_decision_display")
    decided_at = serializers.DateTimeField(source="quote_decided_at", allow_null=True)


class _RequestAware:
    """Role questions about the ticket being serialized, answered for the requesting user."""

    context: dict[str, Any]

    @property
    def _user(self) -> Any:
        request = self.context.get("request")
        return getattr(request, "user", None)

    def _can_manage(self, ticket: RepairTicket) -> bool:
        user = self._user
        return bool(user and user.is_authenticated and selectors.user_can_manage_ticket(user, ticket))


class RepairSummarySerializer(_RequestAware, serializers.ModelSerializer):
    """A repair as listed: what it is, where it stands."""

    url = serializers.HyperlinkedIdentityField(view_name="api-repair-detail", lookup_field="reference")
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    priority_label = serializers.CharField(source="get_priority_display", read_only=True)
    device = DeviceSummarySerializer(read_only=True)

    class Meta:
        model = RepairTicket
        fields = [
            "reference",
            "url",
            "status",
            "status_label",
            "progress_percent",
            "priority",
            "priority_label",
            "due_date",
            "device",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class RepairDetailSerializer(RepairSummarySerializer):
    """A repair in full; contact details and next statuses only for the shop."""

    is_open = serializers.BooleanField(read_only=True)
    allowed_next_statuses = serializers.SerializerMethodField(
        help_text="Statuses this user may move the repair to; null for users who cannot change it."
    )
    customer = serializers.SerializerMethodField()
    assigned_technician = serializers.SerializerMethodField(
        help_text="Username of the assigned technician; null when unassigned or for the customer."
    )
    quote = QuoteSummarySerializer(source="*", read_only=True)
    tracking_url = serializers.SerializerMethodField(
        help_text="The customer's tracking page; only for the customer and the shop."
    )

    class Meta(RepairSummarySerializer.Meta):
        fields = [
            *RepairSummarySerializer.Meta.fields,
            "is_open",
            "problem_description",
            "allowed_next_statuses",
            "customer",
            "assigned_technician",
            "quote",
            "last_event_seq",
            "tracking_url",
        ]
        read_only_fields = fields

    @extend_schema_field(StatusOptionSerializer(many=True, allow_null=True))
    def get_allowed_next_statuses(self, ticket: RepairTicket) -> list[dict[str, str]] | None:
        if not self._can_manage(ticket):
            return None
        return [{"status": value, "label": Status(value).label} for value in ticket.next_statuses]

    @extend_schema_field(CustomerSummarySerializer)
    def get_customer(self, ticket: RepairTicket) -> dict[str, str | None]:
        show_contact = self._can_manage(ticket)
        return {
            "name": ticket.customer.name,
            "email": ticket.customer.email if show_contact else None,
            "phone": ticket.customer.phone if show_contact else None,
        }

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_assigned_technician(self, ticket: RepairTicket) -> str | None:
        technician = ticket.assigned_technician
        if technician is None or not self._can_manage(ticket):
            return None
        return technician.get_username()

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_tracking_url(self, ticket: RepairTicket) -> str | None:
        user = self._user
        if self._can_manage(ticket) or selectors.user_is_ticket_customer(user, ticket):
            return absolute_url(ticket.get_absolute_url(), self.context.get("request"))
        return None


class NoteSerializer(_RequestAware, serializers.ModelSerializer):
    """A note on a repair; ``author`` only for the shop."""

    priority_label = serializers.CharField(source="get_priority_display", read_only=True)
    author = serializers.SerializerMethodField(help_text="Username of the author; null for customers.")

    class Meta:
        model = Note
        fields = ["id", "text", "priority", "priority_label", "visible_to_customer", "author", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_author(self, note: Note) -> str | None:
        if note.author is None or not self._can_manage(note.ticket):
            return None
        return note.author.get_username()


class MilestoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Milestone
        fields = ["id", "title", "percent", "reached_at"]
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.OBJECT)
class EventPayloadField(serializers.JSONField):
    """The event's data: always a JSON object, with a ``ticket`` status snapshot."""


class TicketEventSerializer(serializers.ModelSerializer):
    """An event as the viewer may see it: ``context["customer_view"]`` presents the payload through
    the same allow-list as the sockets (:func:`repairs.presenters.event_payload`)."""

    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    payload = EventPayloadField(read_only=True)

    def to_representation(self, instance: TicketEvent) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["payload"] = event_payload(
            instance.kind, instance.payload, customer_view=self.context.get("customer_view", True)
        )
        return data

    class Meta:
        model = TicketEvent
        fields = ["seq", "kind", "kind_label", "payload", "created_at"]
        read_only_fields = fields


class EventReplaySerializer(serializers.Serializer):
    since = serializers.IntegerField(help_text="The seq the replay starts after.")
    last_event_seq = serializers.IntegerField(help_text="The ticket's latest event seq.")
    has_more = serializers.BooleanField(
        help_text="More events follow: ask again with since = the last returned seq."
    )
    events = TicketEventSerializer(many=True)


class RealtimeStatsSerializer(serializers.Serializer):
    """Live WebSocket connection counts (see repairs.realtime.ConnectionStats)."""

    connections = serializers.IntegerField(help_text="Open sockets in all web processes.")
    by_role = serializers.DictField(child=serializers.IntegerField(), help_text="Open sockets per role.")
    by_room = serializers.DictField(
        child=serializers.IntegerField(), help_text="Open sockets per ticket reference or stream."
    )
    messages_sent = serializers.IntegerField(help_text="Frames sent to clients since statistics were reset.")
