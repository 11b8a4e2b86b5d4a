"""Staff-only scoring API (``/api/v1/analytics/customers/…`` and ``/api/v1/analytics/scoring/models/``)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api import IsShopStaff
from . import selectors
from .serializers import (
    CustomerScoreSerializer,
    ScoreListQuerySerializer,
    ScoringModelSerializer,
    ScoringModelsResponseSerializer,
)

_REFUSED = OpenApiResponse(description="Not signed in, or not shop staff")


class ScorePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = None


class CustomerScoreView(APIView):
    """``GET /api/v1/analytics/customers/<id>/score/``: one customer's scores, explanations and actions."""

    permission_classes = [IsShopStaff]

    @extend_schema(
        responses={
            200: CustomerScoreSerializer,
            403: _REFUSED,
            404: OpenApiResponse(description="No such customer, or not scored yet"),
        }
    )
    def get(self, request: Request, customer_id: int) -> Response:
        score = selectors.score_of(customer_id)
        if score is None:
            raise NotFound(f"No score for customer {customer_id} (unknown customer, or not scored yet).")
        return Response(CustomerScoreSerializer(score).data)


class CustomerScoreListView(APIView):
    """``GET /api/v1/analytics/customers/scores/?segment=at_risk&ordering=-value_at_risk``, paginated."""

    permission_classes = [IsShopStaff]
    #: Also tells drf-spectacular that the answer is a page (count, next, previous, results).
    pagination_class = ScorePagination

    @extend_schema(
        parameters=[ScoreListQuerySerializer],
        responses={
            200: CustomerScoreSerializer(many=True),
            400: OpenApiResponse(description="Bad parameter"),
        },
    )
    def get(self, request: Request) -> Response:
        query = ScoreListQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        rows = selectors.scores(params.get("segment"), params["ordering"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(CustomerScoreSerializer(page, many=True).data)


class ScoringModelsView(APIView):
    """``GET /api/v1/analytics/scoring/models/``: the newest model of each kind with its holdout
    metrics and training date, and the recent training history."""

    permission_classes = [IsShopStaff]

    @extend_schema(responses={200: ScoringModelsResponseSerializer, 403: _REFUSED})
    def get(self, request: Request) -> Response:
        latest = list(selectors.current_models().values())
        return Response(
            {
                "latest": ScoringModelSerializer(latest, many=True).data,
                "history": ScoringModelSerializer(selectors.model_history(), many=True).data,
            }
        )
