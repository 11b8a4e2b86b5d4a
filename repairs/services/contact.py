"""Confirming a customer's contact details (see ``repairs.contact`` for when they count as confirmed)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..models import Customer


@transaction.atomic
def confirm_contact(customer: Customer) -> Customer:
    """Mark the customer's details as confirmed (once; later calls change nothing)."""
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.contact_confirmed_at is None:
        locked.contact_confirmed_at = timezone.now()
        locked.save(update_fields=["contact_confirmed_at"])
    customer.contact_confirmed_at = locked.contact_confirmed_at
    return locked
