"""The REST API of notifications, under ``/api/v1/notifications/``.

Customers read and change their preferences and register push tokens; staff read delivery
statistics and a ticket's message timeline. Thin views: check the role, validate strictly, call
one service, serialize.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from revivatech.api_serializers import ErrorSerializer
from revivatech.jsonsafe import JSONBodyParser

from . import selectors
from .models import REQUIRED_PREFERENCES
from .roles import is_shop_staff
from .serializers import (
    ChannelStatsSerializer,
    PreferencesSerializer,
    PreferencesUpdateSerializer,
    PushDeviceSerializer,
    PushTokenSerializer,
    StatsQuerySerializer,
    TimelineMessageSerializer,
)
from .services import preferences, push_devices


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


CUSTOMER_ERRORS = {
    401: _error("Not signed in."),
    403: _error("Only customers have notification preferences and push devices."),
}
NOT_CUSTOMER = "Only customers have notification preferences and push devices."


class CustomerAPIView(APIView):
    parser_classes = [JSONBodyParser]

    def customer(self, request: Request):
        customer = selectors.customer_of_user(request.user)
        if customer is None:
            raise PermissionDenied(NOT_CUSTOMER)
        return customer


def _preferences_payload(customer) -> dict[str, Any]:
    matrix = preferences.preference_matrix(customer)
    quiet = preferences.quiet_window(customer)
    return {
        "time_zone": quiet.time_zone,
        "preferences": {
            kind: {ch: cell.enabled for ch, cell in cells.items()} for kind, cells in matrix.items()
        },
        "locked": [{"kind": kind, "channel": channel} for kind, channel in sorted(REQUIRED_PREFERENCES)],
        "quiet_hours": {
            "enabled": quiet.enabled,
            "start": quiet.start.strftime("%H:%M"),
            "end": quiet.end.strftime("%H:%M"),
        },
    }


class PreferencesView(CustomerAPIView):
    @extend_schema(
        summary="My notification preferences",
        description="Per kind of message and channel, on or off (defaults included), and quiet hours.",
        responses={200: PreferencesSerializer, **CUSTOMER_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(_preferences_payload(self.customer(request)))

    @extend_schema(
        summary="Change my notification preferences",
        description=(
            'Send only what changes, e.g. `{"preferences": {"status": {"sms": true}}, '
            '"quiet_hours": {"enabled": true, "start": "21:00", "end": "08:00"}}`. '
            "Essential service messages by email cannot be switched off (400)."
        ),
        request=PreferencesUpdateSerializer,
        responses={
            200: PreferencesSerializer,
            400: _error("Invalid body or a locked choice."),
            **CUSTOMER_ERRORS,
        },
    )
    def patch(self, request: Request) -> Response:
        customer = self.customer(request)
        body = PreferencesUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        choices = {
            (kind, channel): enabled
            for kind, channels in body.validated_data.get("preferences", {}).items()
            for channel, enabled in channels.items()
        }
        quiet = body.validated_data.get("quiet_hours")
        with transaction.atomic():
            preferences.update_preferences(customer, choices)
            if quiet is not None:
                preferences.set_quiet_hours(
                    customer, enabled=quiet["enabled"], start=quiet["start"], end=quiet["end"]
                )
        return Response(_preferences_payload(customer))

    put = patch


class PushTokensView(CustomerAPIView):
    @extend_schema(
        summary="My push devices",
        responses={200: PushDeviceSerializer(many=True), **CUSTOMER_ERRORS},
    )
    def get(self, request: Request) -> Response:
        devices = selectors.active_push_devices(self.customer(request))
        return Response(PushDeviceSerializer(devices, many=True).data)

    @extend_schema(
        summary="Register a push token",
        description=(
            "The browser or app registers the FCM token it got from Firebase. Registering the same "
            "token again refreshes it (200); a new one gives 201. Tokens FCM later reports as "
            "unregistered are deactivated."
        ),
        request=PushTokenSerializer,
        responses={
            200: PushDeviceSerializer,
            201: PushDeviceSerializer,
            400: _error("Invalid body or token."),
            **CUSTOMER_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        customer = self.customer(request)
        body = PushTokenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        device, created = push_devices.register_device(customer, **body.validated_data)
        return Response(
            PushDeviceSerializer(device).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class PushTokenDetailView(CustomerAPIView):
    @extend_schema(
        summary="Remove a push device",
        responses={204: None, 404: _error("No such device among yours."), **CUSTOMER_ERRORS},
    )
    def delete(self, request: Request, device_id: int) -> Response:
        if not push_devices.remove_device(self.customer(request), device_id):
            raise NotFound("No push device with this id among yours.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class StaffAPIView(APIView):
    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not is_shop_staff(request.user):
            raise PermissionDenied("Only shop staff can see delivery statistics and message timelines.")


class StatsView(StaffAPIView):
    @extend_schema(
        summary="Delivery, open and click rates per channel",
        parameters=[OpenApiParameter("days", OpenApiTypes.INT, description="Look back this many days (30).")],
        responses={
            200: ChannelStatsSerializer(many=True),
            400: _error("Bad days."),
            403: _error("Not staff."),
        },
    )
    def get(self, request: Request) -> Response:
        query = StatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        stats = selectors.delivery_stats(days=query.validated_data["days"])
        return Response([row.as_dict() for row in stats])


class TicketTimelineView(StaffAPIView):
    @extend_schema(
        summary="Every message about one repair, with its delivery events",
        responses={200: TimelineMessageSerializer(many=True), 403: _error("Not staff.")},
    )
    def get(self, request: Request, reference: str) -> Response:
        messages = selectors.messages_for_ticket(reference.upper()[:12])
        return Response(TimelineMessageSerializer(messages, many=True).data)
