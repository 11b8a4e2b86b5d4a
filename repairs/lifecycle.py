"""The repair lifecycle: statuses, the transitions allowed between them, default progress."""

from __future__ import annotations

from django.db import models


class Status(models.TextChoices):
    BOOKED = "booked", "Booked"
    RECEIVED = "received", "Received"
    DIAGNOSING = "diagnosing", "Diagnosing"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting your approval"
    APPROVED = "approved", "Approved"
    AWAITING_PARTS = "awaiting_parts", "Awaiting parts"
    IN_REPAIR = "in_repair", "In repair"
    QUALITY_CHECK = "quality_check", "Quality check"
    READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
    COLLECTED = "collected", "Collected"
    CANCELLED = "cancelled", "Cancelled"
    UNREPAIRABLE = "unrepairable", "Unrepairable"


S = Status

#: States in which the shop is still working on the device.
OPEN_STATES: frozenset[str] = frozenset(
    {
        S.BOOKED,
        S.RECEIVED,
        S.DIAGNOSING,
        S.AWAITING_APPROVAL,
        S.APPROVED,
        S.AWAITING_PARTS,
        S.IN_REPAIR,
        S.QUALITY_CHECK,
    }
)

_FORWARD: dict[str, set[str]] = {
    S.BOOKED: {S.RECEIVED},
    S.RECEIVED: {S.DIAGNOSING},
    S.DIAGNOSING: {S.AWAITING_APPROVAL},
    S.AWAITING_APPROVAL: {S.APPROVED},
    S.APPROVED: {S.AWAITING_PARTS, S.IN_REPAIR},
    S.AWAITING_PARTS: {S.IN_REPAIR},
    S.IN_REPAIR: {S.AWAITING_PARTS, S.QUALITY_CHECK},
    # A failed quality check sends the device back to the bench.
    S.QUALITY_CHECK: {S.IN_REPAIR, S.READY_FOR_PICKUP},
    S.READY_FOR_PICKUP: {S.COLLECTED},
    # Devices that will not be repaired still go back to their owner.
    S.UNREPAIRABLE: {S.COLLECTED},
    S.CANCELLED: set(),
    S.COLLECTED: set(),
}

#: Every allowed transition: the forward path, plus cancel / unrepairable from the open states
#: (unrepairable only once the device is in the shop).
TRANSITIONS: dict[str, frozenset[str]] = {
    state: frozenset(
        targets
        | ({S.CANCELLED} if state in OPEN_STATES else set())
        | ({S.UNREPAIRABLE} if state in OPEN_STATES and state != S.BOOKED else set())
    )
    for state, targets in _FORWARD.items()
}

#: Progress shown for a status when no milestone says more.
STATUS_PROGRESS: dict[str, int] = {
    S.BOOKED: 0,
    S.RECEIVED: 10,
    S.DIAGNOSING: 20,
    S.AWAITING_APPROVAL: 30,
    S.APPROVED: 40,
    S.AWAITING_PARTS: 45,
    S.IN_REPAIR: 55,
    S.QUALITY_CHECK: 85,
    S.READY_FOR_PICKUP: 100,
    S.COLLECTED: 100,
}


def allowed_transitions(current: str) -> list[str]:
    """Targets reachable from ``current``, in lifecycle order."""
    targets = TRANSITIONS.get(current, frozenset())
    return [value for value in Status.values if value in targets]


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def is_open(status: str) -> bool:
    return status in OPEN_STATES
