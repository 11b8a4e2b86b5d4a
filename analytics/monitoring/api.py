"""The monitoring API (shop staff only): alerts, acknowledging and resolving them, the opt-in to alert
notifications, and the web-vitals p75 per page. Views are thin: one service or selector each."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api import IsShopStaff
from ..services.validation import VITAL_THRESHOLDS
from . import selectors
from .models import Alert, AlertChannel
from .serializers import (
    AlertQuerySerializer,
    AlertSubscriptionSerializer,
    AnalyticsAlertSerializer,
    WebVitalsQuerySerializer,
    WebVitalsSerializer,
)
from .services import alerts, detection, notify, vitals


def _query(serializer_class, request: Request) -> dict:
    query = serializer_class(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    return query.validated_data


class AlertListView(APIView):
    """``GET /api/v1/analytics/alerts/?status=open``: anomaly alerts, newest episode first (staff)."""

    permission_classes = [IsShopStaff]
    #: Also tells drf-spectacular that the answer is a page (count, next, previous, results).
    pagination_class = PageNumberPagination

    @extend_schema(parameters=[AlertQuerySerializer], responses={200: AnalyticsAlertSerializer(many=True)})
    def get(self, request: Request) -> Response:
        params = _query(AlertQuerySerializer, request)
        found = selectors.alerts(params.get("status"))
        if params.get("metric"):
            found = found.filter(metric=params["metric"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(found, request, view=self)
        return paginator.get_paginated_response([alerts.alert_dict(alert) for alert in page])


class AlertAcknowledgeView(APIView):
    """``POST /api/v1/analytics/alerts/{id}/acknowledge/``: mark as seen; it stays open (staff)."""

    permission_classes = [IsShopStaff]

    @extend_schema(
        request=None,
        responses={200: AnalyticsAlertSerializer, 404: OpenApiResponse(description="No such alert")},
    )
    def post(self, request: Request, pk: int) -> Response:
        alert = detection.acknowledge(get_object_or_404(Alert, pk=pk), request.user)
        return Response(alerts.alert_dict(alert))


class AlertResolveView(APIView):
    """``POST /api/v1/analytics/alerts/{id}/resolve/``: close by hand. If the metric is still
    anomalous the episode continues without a new alert (staff)."""

    permission_classes = [IsShopStaff]

    @extend_schema(
        request=None,
        responses={200: AnalyticsAlertSerializer, 404: OpenApiResponse(description="No such alert")},
    )
    def post(self, request: Request, pk: int) -> Response:
        alert = detection.resolve_by_staff(get_object_or_404(Alert, pk=pk), request.user)
        return Response(alerts.alert_dict(alert))


class AlertSubscriptionView(APIView):
    """``GET/PUT /api/v1/analytics/alerts/subscription/``: whether the current staff member gets an
    email when an alert opens (opt-in; off by default)."""

    permission_classes = [IsShopStaff]

    @extend_schema(responses={200: AlertSubscriptionSerializer})
    def get(self, request: Request) -> Response:
        return Response(AlertSubscriptionSerializer(notify.subscribed_channels(request.user)).data)

    @extend_schema(request=AlertSubscriptionSerializer, responses={200: AlertSubscriptionSerializer})
    def put(self, request: Request) -> Response:
        body = AlertSubscriptionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        channels = notify.set_subscription(request.user, AlertChannel.EMAIL, body.validated_data["email"])
        return Response(AlertSubscriptionSerializer(channels).data)


class WebVitalsView(APIView):
    """``GET /api/v1/analytics/web-vitals/?start=&end=&device_type=``: p75 LCP, INP and CLS per page
    with their ratings, from the hourly histograms (staff)."""

    permission_classes = [IsShopStaff]

    @extend_schema(parameters=[WebVitalsQuerySerializer], responses={200: WebVitalsSerializer})
    def get(self, request: Request) -> Response:
        params = _query(WebVitalsQuerySerializer, request)
        pages = selectors.web_vitals_p75(params["start"], params["end"], params["segment"])
        return Response(
            {
                "start": params["start"].isoformat(),
                "end": params["end"].isoformat(),
                "segment": params["segment"].as_filter(),
                "thresholds": {name: list(VITAL_THRESHOLDS[name]) for name in vitals.PANEL_VITALS},
                "relative_error_bound": round(vitals.RELATIVE_ERROR_BOUND, 4),
                "pages": pages,
            }
        )
