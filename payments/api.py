"""The REST API for invoices, ``/api/v1/invoices/`` (read-only).

Staff see every invoice; a customer the issued invoices of their own repairs; anyone else none.
An invoice the user may not see is a 404, never a 403.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.exceptions import ValidationError
from rest_framework.viewsets import GenericViewSet

from . import selectors
from .models import Invoice
from .serializers import InvoiceQuerySerializer, InvoiceSerializer


@extend_schema_view(
    list=extend_schema(
        summary="Invoices you may see",
        parameters=[
            OpenApiParameter("repair", str, description="Only this repair's invoices (reference)."),
            OpenApiParameter("status", str, description="draft, issued, paid, refunded or void."),
        ],
    ),
    retrieve=extend_schema(summary="One invoice, with its lines and payments"),
)
class InvoiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    serializer_class = InvoiceSerializer
    lookup_field = "public_id"
    lookup_value_regex = "[0-9a-f]{1,16}"

    def get_queryset(self) -> QuerySet[Invoice]:
        invoices = selectors.invoices_visible_to(self.request.user).order_by("-created_at", "-pk")
        if self.action != "list":
            return invoices
        query = InvoiceQuerySerializer(data=self.request.query_params)
        if not query.is_valid():
            raise ValidationError(query.errors)
        if query.validated_data.get("repair"):
            invoices = invoices.filter(ticket__reference=query.validated_data["repair"].upper())
        if query.validated_data.get("status"):
            invoices = invoices.filter(status=query.validated_data["status"])
        return invoices
