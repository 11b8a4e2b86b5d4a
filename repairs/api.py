"""The REST API for repair tickets, ``/api/v1/repairs/``.

Thin views: read through :mod:`repairs.selectors`, check the role, validate the body with a
strict serializer, call one service from :mod:`repairs.services`, serialize the result.
A ticket the user may not see is a 404 (never a 403), so references do not leak.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.decorators import action, api_view, authentication_classes, permission_classes
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.viewsets import GenericViewSet

from revivatech.jsonsafe import JSONBodyParser

from . import selectors, services
from .lifecycle import Status
from .models import RepairTicket
from .realtime import stats
from .roles import is_shop_staff
from .serializers import (
    ErrorSerializer,
    EventReplaySerializer,
    EventsQuerySerializer,
    MilestoneSerializer,
    NewMilestoneSerializer,
    NewNoteSerializer,
    NoteSerializer,
    QuoteDecisionSerializer,
    RealtimeStatsSerializer,
    RepairDetailSerializer,
    RepairListQuerySerializer,
    RepairSummarySerializer,
    SendQuoteSerializer,
    TransitionSerializer,
)

#: Most events returned by one ``/events/`` call; ``has_more`` tells the client to ask again.
EVENT_REPLAY_LIMIT = 500

#: Loose on purpose (letters, digits, dashes): anything else cannot be a reference.
REFERENCE_SHAPE = re.compile(r"[A-Z0-9-]{1,12}")

Result = TypeVar("Result")

#: The body each write action accepts.
BODY_SERIALIZERS: dict[str, type[Serializer]] = {
    "transition": TransitionSerializer,
    "quote": SendQuoteSerializer,
    "quote_decision": QuoteDecisionSerializer,
    "notes": NewNoteSerializer,
    "milestones": NewMilestoneSerializer,
}


# --- schema helpers --------------------------------------------------------------------------------


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


READ_ERRORS: dict[int, OpenApiResponse] = {
    401: _error("Not signed in: send `Authorization: Token <key>` or a session cookie."),
    404: _error("No repair with this reference among the repairs you can see."),
}
WRITE_ERRORS: dict[int, OpenApiResponse] = {
    400: _error("Invalid body (unknown field, wrong type, malformed JSON) or a change the repair refuses."),
    **READ_ERRORS,
    403: _error("Your role may not do this to this repair."),
    415: _error("The body is not sent as application/json."),
}


REFERENCE = OpenApiParameter(
    "reference",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The repair's reference, e.g. RT-7K3Q9X (case-insensitive).",
)


def _service_call(
    service: Callable[..., Result], *args: Any, field_names: dict[str, str] | None = None, **kwargs: Any
) -> Result:
    """Call a service; rename the fields in its ValidationError to the API's field names."""
    try:
        return service(*args, **kwargs)
    except DjangoValidationError as exc:
        if field_names and hasattr(exc, "error_dict"):
            raise DjangoValidationError(
                {field_names.get(field, field): errors for field, errors in exc.error_dict.items()}
            ) from exc
        raise


# --- views -----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List repairs",
        description=(
            "Repairs visible to you, newest first: customers see their own, technicians those "
            "assigned to them, shop staff all of them. Paginated (`?page=`)."
        ),
        parameters=[
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=Status.values,
                description="Only repairs in this status.",
            )
        ],
        responses={
            200: RepairSummarySerializer(many=True),
            400: _error("Unknown status."),
            401: READ_ERRORS[401],
            404: _error("No such page."),
        },
    ),
    retrieve=extend_schema(
        parameters=[REFERENCE],
        summary="One repair",
        description="Contact details, the assigned technician and allowed next statuses only for the shop.",
        responses={200: RepairDetailSerializer, **READ_ERRORS},
    ),
)
@extend_schema(tags=["repairs"])
class RepairViewSet(GenericViewSet):
    """Repair tickets, looked up by reference (``RT-7K3Q9X``)."""

    # Token first: an anonymous request gets 401 with ``WWW-Authenticate: Token``.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONBodyParser]
    serializer_class = RepairDetailSerializer
    lookup_field = "reference"
    lookup_value_regex = r"[^/]+"

    def get_queryset(self) -> QuerySet[RepairTicket]:
        return selectors.tickets_visible_to(self.request.user).order_by("-created_at", "-pk")

    def get_object(self) -> RepairTicket:
        reference = str(self.kwargs[self.lookup_field]).strip().upper()
        if not REFERENCE_SHAPE.fullmatch(reference):
            # Not even shaped like a reference (and never sent to the database: NUL bytes...).
            raise NotFound("No repair with that reference: references look like RT-7K3Q9X.")
        ticket = self.get_queryset().filter(reference=reference).first()
        if ticket is None:
            raise NotFound(f"No repair {reference} among the repairs you can see.")
        return ticket

    def get_serializer_class(self) -> type[Serializer]:
        """The request body's serializer for writes (also what OPTIONS describes)."""
        # OPTIONS runs as action "metadata" with a cloned request: name the action it describes.
        action_name = self.action_map.get(self.request.method.lower(), self.action)
        return BODY_SERIALIZERS.get(action_name, RepairDetailSerializer)

    def _validated(self, serializer_class: type[Serializer], data: Any) -> dict[str, Any]:
        serializer = serializer_class(data=data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _validated_body(self) -> dict[str, Any]:
        return self._validated(self.get_serializer_class(), self.request.data)

    def _require_manager(self, ticket: RepairTicket, doing: str) -> None:
        if not selectors.user_can_manage_ticket(self.request.user, ticket):
            raise PermissionDenied(f"Only shop staff or the technician assigned to this repair can {doing}.")

    def _detail(self, ticket: RepairTicket) -> Response:
        return Response(RepairDetailSerializer(ticket, context=self.get_serializer_context()).data)

    def list(self, request: Request) -> Response:
        query = self._validated(RepairListQuerySerializer, request.query_params)
        tickets = self.get_queryset()
        if query.get("status"):
            tickets = tickets.filter(status=query["status"])
        page = self.paginate_queryset(tickets)
        data = RepairSummarySerializer(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    def retrieve(self, request: Request, reference: str) -> Response:
        return self._detail(self.get_object())

    @extend_schema(
        parameters=[REFERENCE],
        summary="Change a repair's status",
        description="Staff or the assigned technician. Only transitions the lifecycle allows.",
        request=TransitionSerializer,
        responses={200: RepairDetailSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        self._require_manager(ticket, "change its status")
        data = self._validated_body()
        ticket = _service_call(
            services.transition_ticket, ticket, data["status"], by=request.user, note=data.get("note", "")
        )
        return self._detail(ticket)

    @extend_schema(
        parameters=[REFERENCE],
        summary="Send or replace the quote",
        description="Staff or the assigned technician, before the customer has approved a quote.",
        request=SendQuoteSerializer,
        responses={200: RepairDetailSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def quote(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        self._require_manager(ticket, "send a quote")
        data = self._validated_body()
        ticket = _service_call(
            services.send_quote,
            ticket,
            amount=data["amount"],
            currency=data.get("currency"),
            by=request.user,
            field_names={"quote_amount": "amount", "quote_currency": "currency"},
        )
        return self._detail(ticket)

    @extend_schema(
        parameters=[REFERENCE],
        summary="Approve or decline the quote",
        description="The repair's customer, or shop staff recording their answer. Declining cancels it.",
        request=QuoteDecisionSerializer,
        responses={200: RepairDetailSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="quote-decision")
    def quote_decision(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        user = request.user
        if not (selectors.user_is_ticket_customer(user, ticket) or is_shop_staff(user)):
            raise PermissionDenied(
                "Only the customer of this repair, or shop staff, can decide on its quote."
            )
        data = self._validated_body()
        ticket = _service_call(
            services.decide_quote, ticket, approved=data["approved"], by=user, note=data.get("note", "")
        )
        return self._detail(ticket)

    @extend_schema(
        parameters=[REFERENCE],
        methods=["GET"],
        summary="Notes on a repair",
        description="Customers see only the notes meant for them; the shop sees internal notes too.",
        responses={200: NoteSerializer(many=True), **READ_ERRORS},
    )
    @extend_schema(
        parameters=[REFERENCE],
        methods=["POST"],
        summary="Add a note",
        description="Staff or the assigned technician. Internal unless `visible_to_customer` is true.",
        request=NewNoteSerializer,
        responses={201: NoteSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def notes(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        context = self.get_serializer_context()
        if request.method == "GET":
            notes = selectors.notes_visible_to(request.user, ticket).select_related("author")
            return Response(NoteSerializer(notes, many=True, context=context).data)
        self._require_manager(ticket, "add notes")
        data = self._validated_body()
        note = _service_call(services.add_note, ticket, by=request.user, **data)
        return Response(NoteSerializer(note, context=context).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[REFERENCE],
        methods=["GET"],
        summary="Milestones of a repair",
        description="Every milestone reached, oldest first; everyone who can see the repair sees them.",
        responses={200: MilestoneSerializer(many=True), **READ_ERRORS},
    )
    @extend_schema(
        parameters=[REFERENCE],
        methods=["POST"],
        summary="Record a milestone",
        description="Staff or the assigned technician. Sets the repair's progress to `percent`.",
        request=NewMilestoneSerializer,
        responses={201: MilestoneSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def milestones(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        if request.method == "GET":
            return Response(MilestoneSerializer(ticket.milestones.all(), many=True).data)
        self._require_manager(ticket, "record milestones")
        data = self._validated_body()
        milestone = _service_call(services.add_milestone, ticket, by=request.user, **data)
        return Response(MilestoneSerializer(milestone).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Replay a repair's event log",
        description=(
            "Events with `seq` greater than `since`, oldest first, at most "
            f"{EVENT_REPLAY_LIMIT} per call. Customers get only the events shown on their timeline."
        ),
        parameters=[
            REFERENCE,
            OpenApiParameter(
                "since", OpenApiTypes.INT, description="The last seq you already have (default 0)."
            ),
        ],
        responses={200: EventReplaySerializer, 400: _error("`since` is not a whole number."), **READ_ERRORS},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def events(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        since = self._validated(EventsQuerySerializer, request.query_params)["since"]
        customer_view = not selectors.user_can_manage_ticket(request.user, ticket)
        events = list(
            selectors.ticket_events_since(ticket, since, customer_view=customer_view)[
                : EVENT_REPLAY_LIMIT + 1
            ]
        )
        replay = {
            "since": since,
            "last_event_seq": ticket.last_event_seq,
            "has_more": len(events) > EVENT_REPLAY_LIMIT,
            "events": events[:EVENT_REPLAY_LIMIT],
        }
        # The socket's allow-list: a customer sees the same payload here as over the socket.
        return Response(EventReplaySerializer(replay, context={"customer_view": customer_view}).data)


class IsShopStaff(IsAuthenticated):
    message = "Only shop staff may see this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return super().has_permission(request, view) and is_shop_staff(request.user)


@extend_schema(
    tags=["realtime"],
    summary="Live connection statistics",
    description="Open WebSocket connections per role and per room, and frames sent. Staff only.",
    responses={200: RealtimeStatsSerializer, 401: READ_ERRORS[401], 403: _error("Not shop staff.")},
)
@api_view(["GET"])
@authentication_classes([TokenAuthentication, SessionAuthentication])
@permission_classes([IsShopStaff])
def realtime_stats(request: Request) -> Response:
    return Response(RealtimeStatsSerializer(stats.snapshot()).data)
