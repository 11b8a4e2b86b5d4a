"""Undoing a declined quote: staff reopen the repair to the quote state, logged in its history."""

from __future__ import annotations

import pytest
from django.urls import reverse

from repairs import services
from repairs.selectors import status_history
from tests.factories import DEFAULT_PASSWORD, advance, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def declined(ticket, technician):
    quoted = advance(ticket, "received", "diagnosing", "awaiting_approval", by=technician)
    return services.decide_quote(quoted, approved=False)


def test_a_declined_quote_is_reopened_to_awaiting_approval_with_an_event(declined, staff_user):
    reopened = services.reopen_declined_quote(declined, by=staff_user)
    assert reopened.status == "awaiting_approval" and reopened.quote_decision == "pending"
    assert reopened.quote_decided_at is None and reopened.quote_amount == 8900
    event = reopened.events.get(seq=reopened.last_event_seq)
    assert event.kind == "ticket.status_changed" and event.customer_visible and event.actor == staff_user
    assert event.payload["from"] == "cancelled" and event.payload["to"] == "awaiting_approval"
    assert event.payload["reopened"] is True
    change = status_history(reopened)[-1]
    assert (change.from_status, change.to_status, change.changed_by) == (
        "cancelled",
        "awaiting_approval",
        staff_user,
    )
    # The customer can decide again.
    assert services.decide_quote(reopened, approved=True).status == "approved"


@pytest.mark.parametrize("how", ["cancelled by the shop", "approved", "open"])
def test_only_a_repair_cancelled_by_a_declined_quote_can_be_reopened(ticket, technician, how):
    if how == "cancelled by the shop":
        ticket = advance(ticket, "received", "cancelled", by=technician)
    elif how == "approved":
        ticket = advance(ticket, "received", "diagnosing", "awaiting_approval", "approved", by=technician)
    before = (ticket.status, ticket.last_event_seq)
    with pytest.raises(services.TransitionError):
        services.reopen_declined_quote(ticket)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.last_event_seq) == before


def test_staff_reopen_from_the_ticket_list_and_others_are_named(client, staff_user, declined):
    other = make_ticket()
    client.login(username=staff_user.username, password=DEFAULT_PASSWORD)
    response = client.post(
        reverse("admin:repairs_repairticket_changelist"),
        {"action": "reopen_declined_quotes", "_selected_action": [declined.pk, other.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert f"Reopened the quote of {declined.reference}" in html
    assert f"Not reopened (not cancelled by a declined quote): {other.reference}" in html
    declined.refresh_from_db()
    assert declined.status == "awaiting_approval"


def test_technicians_do_not_get_the_reopen_action(client, technician, declined):
    client.login(username=technician.username, password=DEFAULT_PASSWORD)
    client.post(
        reverse("admin:repairs_repairticket_changelist"),
        {"action": "reopen_declined_quotes", "_selected_action": [declined.pk]},
    )
    declined.refresh_from_db()
    assert declined.status == "cancelled"
