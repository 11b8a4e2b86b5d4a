"""Confirming a customer's contact details (see ``repairs.contact`` for when they count as confirmed)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..models import Customer


@transaction.atomic
def confirm_contact(customer: Customer) -> Customer:
    """Mark the customer's details as confirmed (once; later calls change nothing).

    Called inside a ticket's transition: an already confirmed customer is not locked at all, and
    the lock taken is FOR NO KEY UPDATE, which does not wait on (or block) rows that merely refer to
    the customer, so concurrent changes to one customer's tickets never deadlock over it."""
    if customer.contact_confirmed_at is not None:
        return customer
    locked = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
    if locked.contact_confirmed_at is None:
        locked.contact_confirmed_at = timezone.now()
        locked.save(update_fields=["contact_confirmed_at"])
    customer.contact_confirmed_at = locked.contact_confirmed_at
    return locked
