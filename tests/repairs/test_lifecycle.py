"""The state machine: every allowed transition works through the service, refused ones save nothing."""

from collections import deque

import pytest

from repairs import services
from repairs.lifecycle import TRANSITIONS, Status, allowed_transitions
from repairs.models import TicketEvent
from repairs.selectors import status_history
from repairs.services import TransitionError
from tests.factories import advance, make_ticket


def _path_to(target: str) -> list[str]:
    """Shortest list of statuses from booked to ``target``."""
    queue = deque([(Status.BOOKED.value, [])])
    seen = {Status.BOOKED.value}
    while queue:
        state, path = queue.popleft()
        if state == target:
            return path
        for nxt in sorted(TRANSITIONS[state]):
            if nxt not in seen:
                seen.add(nxt)
                queue.append((nxt, [*path, nxt]))
    raise AssertionError(f"{target} is unreachable")


ALLOWED = sorted((src, dst) for src, targets in TRANSITIONS.items() for dst in targets)
REFUSED = [
    ("booked", "collected"),
    ("booked", "in_repair"),
    ("booked", "unrepairable"),
    ("received", "ready_for_pickup"),
    ("diagnosing", "approved"),
    ("awaiting_parts", "quality_check"),
    ("ready_for_pickup", "in_repair"),
    ("collected", "received"),
    ("cancelled", "received"),
    ("cancelled", "collected"),
    ("unrepairable", "in_repair"),
]


def test_every_status_is_reachable_and_closed_states_are_terminal():
    for status in Status.values:
        assert _path_to(status) is not None
    assert allowed_transitions("collected") == []
    assert allowed_transitions("cancelled") == []


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target"), ALLOWED)
def test_allowed_transition_is_saved_with_history_and_event(source, target, technician):
    ticket = advance(make_ticket(technician=technician), *_path_to(source), by=technician)
    assert ticket.status == source
    if target == "awaiting_approval" and ticket.quote_amount is None:
        ticket = services.send_quote(ticket, amount=5000, by=technician)
    seq_before = ticket.last_event_seq

    ticket = services.transition_ticket(ticket, target, by=technician, note="moving on")

    ticket.refresh_from_db()
    assert ticket.status == target
    change = status_history(ticket)[-1]
    assert (change.from_status, change.to_status, change.changed_by) == (source, target, technician)
    event = TicketEvent.objects.get(ticket=ticket, seq=seq_before + 1)
    assert event.kind == "ticket.status_changed"
    assert event.payload["from"] == source and event.payload["to"] == target
    assert event.payload["ticket"]["status"] == target
    assert ticket.last_event_seq == seq_before + 1


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target"), REFUSED)
def test_refused_transition_changes_nothing(source, target, technician):
    ticket = advance(make_ticket(technician=technician), *_path_to(source), by=technician)
    events = TicketEvent.objects.count()

    with pytest.raises(TransitionError) as excinfo:
        services.transition_ticket(ticket, target, by=technician)

    message = excinfo.value.message_dict["status"][0]
    assert "Cannot move a ticket from" in message and Status(target).label in message
    ticket.refresh_from_db()
    assert ticket.status == source
    assert TicketEvent.objects.count() == events


@pytest.mark.django_db
def test_unknown_status_is_refused(ticket):
    with pytest.raises(TransitionError, match="Unknown status"):
        services.transition_ticket(ticket, "teleported")


@pytest.mark.django_db
def test_awaiting_approval_needs_a_quote(ticket):
    ticket = advance(ticket, "received", "diagnosing")
    with pytest.raises(TransitionError, match="Send a quote"):
        services.transition_ticket(ticket, "awaiting_approval")
    ticket.refresh_from_db()
    assert ticket.status == "diagnosing"


@pytest.mark.django_db
def test_progress_follows_status_but_never_goes_back(ticket):
    ticket = advance(ticket, "received", "diagnosing", "awaiting_approval", "approved", "in_repair")
    assert ticket.progress_percent == 55
    services.add_milestone(ticket, title="Board repaired", percent=75)
    ticket = services.transition_ticket(ticket, "awaiting_parts")
    assert ticket.progress_percent == 75
