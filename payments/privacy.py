"""What the payments app holds about a customer, for GDPR export and erasure.

Invoices and payments are accounting records and stay, with their amounts, currencies, dates
and statuses. Erasure removes what identifies the person: the billing name and email copied onto
invoices, and the provider event payloads (which carry payer names, emails and card details)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from repairs.models import Customer

from .models import Invoice, Payment, ProviderEvent, Refund

ERASED_NAME = "Erased customer"


def export_customer_data(customer: Customer) -> dict[str, Any]:
    invoices = (
        Invoice.objects.filter(ticket__customer=customer).exclude(status="draft").order_by("created_at")
    )
    return {
        "invoices": [
            {
                "number": invoice.number,
                "repair": invoice.ticket.reference,
                "kind": invoice.kind,
                "status": invoice.status,
                "currency": invoice.currency,
                "subtotal": invoice.subtotal,
                "tax": invoice.tax_amount,
                "total": invoice.total,
                "billing_name": invoice.billing_name,
                "billing_email": invoice.billing_email,
                "issued_at": invoice.issued_at.isoformat() if invoice.issued_at else None,
                "paid_at": invoice.paid_at.isoformat() if invoice.paid_at else None,
                "lines": list(
                    invoice.lines.values("kind", "description", "quantity", "unit_amount", "amount")
                ),
                "payments": [
                    {
                        "provider": payment.provider,
                        "status": payment.status,
                        "amount": payment.amount,
                        "amount_refunded": payment.amount_refunded,
                        "currency": payment.currency,
                        "created_at": payment.created_at.isoformat(),
                        "refunds": list(
                            payment.refunds.filter(status="succeeded").values(
                                "amount", "reason", "completed_at"
                            )
                        ),
                    }
                    for payment in invoice.payments.order_by("created_at")
                ],
            }
            for invoice in invoices.select_related("ticket")
        ]
    }


@transaction.atomic
def erase_customer_data(customer: Customer) -> dict[str, int]:
    invoices = Invoice.objects.filter(ticket__customer=customer)
    payments = Payment.objects.filter(invoice__in=invoices)
    invoice_count = invoices.update(billing_name=ERASED_NAME, billing_email="")
    events = 0
    for event in ProviderEvent.objects.filter(payment__in=payments).only("id", "event_type"):
        event.payload = {"erased": True, "type": event.event_type}
        event.save(update_fields=["payload"])
        events += 1
    payments.update(client_secret="", approve_url="", failure_message="")
    refunds = Refund.objects.filter(payment__in=payments).exclude(reason="").update(reason="")
    return {"invoices": invoice_count, "provider_events": events, "refund_reasons": refunds}
