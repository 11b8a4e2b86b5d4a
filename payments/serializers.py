"""DRF serializers of the payments API (read-only): invoices with their lines and payments."""

from __future__ import annotations

from rest_framework import serializers

from .lifecycle import InvoiceStatus, PaymentStatus
from .models import Invoice, InvoiceLine, Payment


class InvoiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = ("kind", "description", "quantity", "unit_amount", "amount")


class PaymentSummarySerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")
    # Plain strings in the schema: "status" enums of several apps would collide by name.
    status = serializers.CharField(help_text=f"One of: {', '.join(PaymentStatus.values)}.")

    class Meta:
        model = Payment
        fields = (
            "id",
            "provider",
            "status",
            "amount",
            "amount_received",
            "amount_refunded",
            "currency",
            "created_at",
            "succeeded_at",
        )


class InvoiceSerializer(serializers.ModelSerializer):
    """Amounts are integers in minor units of ``currency``."""

    id = serializers.CharField(source="public_id")
    repair = serializers.CharField(source="ticket.reference")
    status = serializers.CharField(help_text=f"One of: {', '.join(InvoiceStatus.values)}.")
    lines = InvoiceLineSerializer(many=True)
    payments = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = (
            "id",
            "number",
            "repair",
            "kind",
            "status",
            "currency",
            "subtotal",
            "tax_rate_basis_points",
            "tax_amount",
            "total",
            "prices_include_tax",
            "issued_at",
            "paid_at",
            "lines",
            "payments",
        )

    def get_payments(self, invoice: Invoice) -> list[dict]:
        payments = invoice.payments.order_by("created_at", "pk")
        return PaymentSummarySerializer(payments, many=True).data


class InvoiceQuerySerializer(serializers.Serializer):
    repair = serializers.CharField(required=False, max_length=12)
    status = serializers.ChoiceField(required=False, choices=InvoiceStatus.choices)
