"""``GET /api/v1/analytics/dashboard/`` (everything the page shows) and ``…/dashboard/live/`` (the
live counters only), staff only. Thin: parse the filters, call the service, serialise."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from revivatech.api_serializers import ErrorSerializer

from ..api import IsShopStaff
from . import live
from .serializers import DashboardQuerySerializer, DashboardSerializer, LiveSerializer, parse_filters
from .services import build_dashboard

_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid filters (the message says which and why)"),
    401: OpenApiResponse(ErrorSerializer, description="Not signed in"),
    403: OpenApiResponse(ErrorSerializer, description="Not shop staff"),
}


class DashboardView(APIView):
    """Every panel of the live dashboard for a date range and segment, from the rollups and the
    live counters (staff)."""

    permission_classes = [IsShopStaff]

    @extend_schema(parameters=[DashboardQuerySerializer], responses={200: DashboardSerializer, **_ERRORS})
    def get(self, request: Request) -> Response:
        filters = parse_filters(request.query_params.dict())
        return Response(DashboardSerializer(build_dashboard(filters)).data)


class DashboardLiveView(APIView):
    """Visitors and page views of the last five minutes for a segment (staff)."""

    permission_classes = [IsShopStaff]

    @extend_schema(parameters=[DashboardQuerySerializer], responses={200: LiveSerializer, **_ERRORS})
    def get(self, request: Request) -> Response:
        filters = parse_filters(request.query_params.dict())
        return Response(LiveSerializer(live.figures(filters.segment, timezone.now()).as_dict()).data)
