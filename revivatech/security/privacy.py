"""Personal data kept by the login lockout (django-axes): failed attempts name a username (often
the customer's email) and carry the client IP. Export lists them; erasure deletes them."""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.db.models import Q


def _identifiers(customer: Any) -> set[str]:
    found = {customer.email}
    if customer.user_id is not None:
        found |= {customer.user.get_username(), customer.user.email}
    return {value for value in found if value}


def _matching(model: type, customer: Any):
    condition = Q()
    for identifier in _identifiers(customer):
        condition |= Q(username__iexact=identifier)
    return model.objects.filter(condition) if condition else model.objects.none()


def export_login_attempts(customer: Any) -> list[dict[str, Any]]:
    return [
        {
            "username": attempt.username,
            "failures": attempt.failures_since_start,
            "at": attempt.attempt_time.isoformat(),
        }
        for attempt in _matching(AccessAttempt, customer)
    ]


def erase_login_attempts(customer: Any) -> dict[str, int]:
    counts = {}
    for key, model in (
        ("attempts", AccessAttempt),
        ("failure_logs", AccessFailureLog),
        ("access_logs", AccessLog),
    ):
        counts[key], _ = _matching(model, customer).delete()
    return counts
