"""The analytics API: event ingestion (public, from the tracker) and staff reports.

Views are thin: they read the request, call one service or selector, and shape the answer.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from repairs.roles import is_shop_staff

from . import selectors
from .serializers import (
    FunnelQuerySerializer,
    IngestResponseSerializer,
    JourneyQuerySerializer,
    OverviewQuerySerializer,
    SessionQuerySerializer,
    SessionSerializer,
)
from .services import reports
from .services.ingestion import ingest_request


class IsShopStaff(permissions.BasePermission):
    message = "Only shop staff may read analytics."

    def has_permission(self, request, view) -> bool:
        return is_shop_staff(request.user)


class _RawBody(serializers.Serializer):
    """Documentation only: the body is validated event by event by the ingestion service."""

    sent_at = serializers.IntegerField(
        required=False, help_text="Client time (ms) when sent; corrects clock skew"
    )
    events = serializers.ListField(child=serializers.DictField(), max_length=100)
    device = serializers.DictField(required=False, help_text="screen, tz, lang, hw: kept only with consent")


class EventIngestView(APIView):
    """``POST /api/v1/events/``: a batch of tracker events.

    No authentication and no CSRF (beacons carry no token; the data is the visitor's own); the
    consent and device cookies are read by the service. 202 with counts and per-event errors when at
    least one event was kept; 400 when none was; 413 for oversized batches; 429 over the rate limits.
    """

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    parser_classes: list = []  # the service decodes the body itself (size first, then JSON)
    # Its own per-IP and per-visitor limits (ANALYTICS_RATE_LIMIT_*), not the API-write throttles.
    throttle_classes: list = []

    @extend_schema(
        request=_RawBody,
        responses={
            202: IngestResponseSerializer,
            400: OpenApiResponse(description="No event of the batch is valid, or the body is not a batch"),
            413: OpenApiResponse(description="Body or batch too large"),
            429: OpenApiResponse(description="Rate limit exceeded (Retry-After header)"),
        },
        examples=[
            OpenApiExample(
                "Two events",
                value={
                    "sent_at": 1767225600000,
                    "events": [
                        {"type": "pageview", "t": 1767225599000, "path": "/book/"},
                        {"type": "scroll", "t": 1767225599500, "path": "/book/", "depth": 50},
                    ],
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared.isdigit() and int(declared) > settings.ANALYTICS_MAX_BODY_BYTES:  # refuse before reading
            limit = settings.ANALYTICS_MAX_BODY_BYTES
            return Response(
                {"detail": f"The batch is larger than {limit} bytes, the limit.", "errors": {}}, status=413
            )
        body = request._request.body
        result = ingest_request(request._request, body)
        response = Response(result.as_json(), status=result.status)
        if result.retry_after is not None:
            response["Retry-After"] = str(result.retry_after)
        return response


def _query(serializer_class, request: Request) -> dict[str, Any]:
    query = serializer_class(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    return query.validated_data


def _range(params: dict[str, Any]) -> dict[str, Any]:
    return {"from": params["date_from"].isoformat(), "to": params["date_to"].isoformat()}


def _segment(params: dict[str, Any]) -> dict[str, str]:
    return params["segment"].as_filter()


class FunnelView(APIView):
    """``GET /api/v1/analytics/funnels/``: conversion and drop-off per step (staff)."""

    permission_classes = [IsShopStaff]

    @extend_schema(parameters=[FunnelQuerySerializer], responses={200: OpenApiResponse(description="Funnel")})
    def get(self, request: Request) -> Response:
        params = _query(FunnelQuerySerializer, request)
        start, end = selectors.day_range(params["date_from"], params["date_to"])
        if params.get("steps"):
            try:
                steps = reports.parse_steps(params["steps"])
            except reports.ReportError as exc:
                raise serializers.ValidationError({"steps": [str(exc)]}) from exc
            form, name = params.get("form", ""), "custom"
            form_step = next((i for i, s in enumerate(steps) if form and s.detail == form), None)
        else:
            name = params["funnel"]
            steps, default_form = reports.FUNNELS[name]
            form = params.get("form", default_form)
            form_step = 2
        report = reports.funnel(steps, start, end, params["segment"], form=form, form_step=form_step)
        return Response({"funnel": name, **_range(params), "segment": _segment(params), **report})


class JourneyView(APIView):
    """``GET /api/v1/analytics/journeys/``: top page paths, or top paths between two pages (staff)."""

    permission_classes = [IsShopStaff]

    @extend_schema(
        parameters=[JourneyQuerySerializer], responses={200: OpenApiResponse(description="Journeys")}
    )
    def get(self, request: Request) -> Response:
        params = _query(JourneyQuerySerializer, request)
        start, end = selectors.day_range(params["date_from"], params["date_to"])
        report = reports.journeys(
            start,
            end,
            params["segment"],
            from_page=params.get("from_page", ""),
            to_page=params.get("to_page", ""),
            limit=params["limit"],
            max_steps=params["max_steps"],
        )
        return Response({**_range(params), "segment": _segment(params), **report})


class OverviewView(APIView):
    """``GET /api/v1/analytics/overview/``: sessions, bounce and conversion rates, top pages, from
    the hourly rollups (no events are read) (staff)."""

    permission_classes = [IsShopStaff]

    @extend_schema(
        parameters=[OverviewQuerySerializer], responses={200: OpenApiResponse(description="Overview")}
    )
    def get(self, request: Request) -> Response:
        params = _query(OverviewQuerySerializer, request)
        start, end = selectors.day_range(params["date_from"], params["date_to"])
        summary = selectors.traffic_summary(start, end, params["segment"])
        return Response({**_range(params), "segment": _segment(params), **summary})


class SessionListView(APIView):
    """``GET /api/v1/analytics/sessions/``: sessions in the range, newest first (staff)."""

    permission_classes = [IsShopStaff]
    #: Also tells drf-spectacular that the answer is a page (count, next, previous, results).
    pagination_class = PageNumberPagination

    @extend_schema(parameters=[SessionQuerySerializer], responses={200: SessionSerializer(many=True)})
    def get(self, request: Request) -> Response:
        params = _query(SessionQuerySerializer, request)
        start, end = selectors.day_range(params["date_from"], params["date_to"])
        sessions = selectors.sessions_between(start, end, params["segment"]).order_by("-started_at", "id")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(sessions, request, view=self)
        return paginator.get_paginated_response(SessionSerializer(page, many=True).data)
