"""Confirmation links for a customer's contact details.

Details typed into the public booking form are unproven: anyone may type anyone's address or
number. They count as confirmed once staff took them at the counter, the customer has a login of
their own, the device was brought in (status "received"), or the customer followed the signed
link sent to the address on file (this module; ``services.confirm_contact`` records it).
Notifications read :attr:`Customer.contact_confirmed_at` to hold texts and ration emails until then.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.core import signing

from .models import Customer

CONFIRM_SALT = "repairs.contact-confirmation"
#: How long the link in the booking email stays valid.
CONFIRM_MAX_AGE = timedelta(days=14)


def _fingerprint(customer: Customer) -> str:
    """The details a link vouches for: changed details need a new link."""
    digits = "".join(char for char in customer.phone or "" if char.isdigit())
    raw = f"{customer.pk}|{customer.email.strip().lower()}|{digits}"
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def contact_confirmation_token(customer: Customer) -> str:
    return signing.dumps({"c": customer.pk, "f": _fingerprint(customer)}, salt=CONFIRM_SALT, compress=True)


def customer_for_confirmation(token: str) -> Customer | None:
    """The customer a confirmation link was sent to, while the link is valid and the details it
    was sent for are still the ones on file."""
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    customer = Customer.objects.filter(pk=data.get("c")).first()
    if customer is None or data.get("f") != _fingerprint(customer):
        return None
    return customer
