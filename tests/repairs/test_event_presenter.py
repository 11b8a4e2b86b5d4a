"""One presenter for ticket events (issue #15, item 9): a customer gets the same payload for an
event through the event-log API and through the socket, and never a field outside the allow-list."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client

from repairs import services
from repairs.presenters import event_payload
from revivatech.routing import websocket_urlpatterns
from tests.factories import CustomerWithLoginFactory, StaffFactory, TechnicianFactory, make_ticket

pytestmark = pytest.mark.django_db(transaction=True)

INTERNAL = {"charge_id": "ch_secret_123", "staff_comment": "customer was rude", "margin": 4200}


def _history():
    tech = TechnicianFactory()
    owner = CustomerWithLoginFactory()
    ticket = make_ticket(customer=owner, technician=tech)
    services.transition_ticket(ticket, "received", by=tech, note="We have it")
    services.record_ticket_event(
        ticket,
        kind="ticket.payment_received",
        payload={"invoice_id": "INV-1", "amount": 8900, "currency": "GBP", "provider": "stripe", **INTERNAL},
    )
    services.add_milestone(ticket, title="Diagnosed", percent=25, by=tech)
    services.add_note(ticket, text="internal only", by=tech)  # not on the customer's timeline
    return ticket, owner


async def _socket_events(path: str, user) -> list[dict]:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    events = []
    while True:
        message = json.loads(await communicator.receive_from(timeout=2))
        if message["type"] == "snapshot":
            break
        events.append(message)
    await communicator.disconnect()
    return events


def _api_events(user, reference: str) -> list[dict]:
    client = Client()
    client.force_login(user)
    response = client.get(f"/api/v1/repairs/{reference}/events/?since=0")
    assert response.status_code == 200, response.content
    return response.json()["events"]


@pytest.mark.asyncio
async def test_a_customer_gets_identical_allow_listed_payloads_from_the_api_and_the_socket():
    ticket, owner = await database_sync_to_async(_history)()
    api = await database_sync_to_async(_api_events)(owner.user, ticket.reference)
    socket = await _socket_events(f"/ws/repairs/{ticket.reference}/?since=0", owner.user)
    assert [e["seq"] for e in api] == [e["seq"] for e in socket] == [1, 2, 3, 4]
    assert [e["payload"] for e in api] == [e["payload"] for e in socket]
    payment = next(e for e in api if e["kind"] == "ticket.payment_received")
    snapshot = payment["payload"].pop("ticket")
    assert payment["payload"] == {
        "invoice_id": "INV-1",
        "amount": 8900,
        "currency": "GBP",
        "provider": "stripe",
    }
    # The status snapshot: the allow-listed keys, the sentence under the status chip and the
    # customer-worded ready-by estimate (repairs.readyby.selectors.present), nothing else.
    assert set(snapshot) == {"status", "status_label", "progress_percent", "status_sentence", "ready_by"}
    assert snapshot["status"] == "received" and snapshot["progress_percent"] == 10
    for event in api + socket:
        assert not set(INTERNAL) & set(event["payload"])


@pytest.mark.asyncio
async def test_the_shop_sees_the_whole_payload_in_both():
    ticket, _owner = await database_sync_to_async(_history)()
    staff = await database_sync_to_async(StaffFactory)()
    api = await database_sync_to_async(_api_events)(staff, ticket.reference)
    socket = await _socket_events(f"/ws/repairs/{ticket.reference}/?since=0", staff)
    assert [e["payload"] for e in api] == [e["payload"] for e in socket]
    payment = next(e for e in api if e["kind"] == "ticket.payment_received")
    assert INTERNAL.items() <= payment["payload"].items()


def test_the_presenter_drops_unknown_kinds_entirely_for_customers():
    assert event_payload("ticket.updated", {"priority": "urgent", "ticket": {}}, customer_view=True) == {
        "ticket": {}
    }
    assert event_payload("ticket.new_kind", {"secret": 1}, customer_view=True) == {"ticket": {}}
    assert event_payload("ticket.new_kind", {"secret": 1}, customer_view=False) == {"secret": 1}
