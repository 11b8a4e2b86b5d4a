"""WebSocket rooms, through channels' WebsocketCommunicator on the configured channel layer
(in-memory locally, Redis in CI)."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from repairs import selectors as selectors_module
from repairs import services
from repairs.presenters import STATUS_SENTENCES
from repairs.realtime import stats
from revivatech.routing import websocket_urlpatterns
from tests.factories import (
    CustomerWithLoginFactory,
    StaffFactory,
    TechnicianFactory,
    advance,
    image_file,
    make_ticket,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

router = URLRouter(websocket_urlpatterns)
db = database_sync_to_async


@pytest.fixture(autouse=True)
def _fresh_stats():
    stats.reset()
    yield
    stats.reset()


@pytest.fixture
def people(transactional_db):
    tech, other_tech = TechnicianFactory(), TechnicianFactory()
    owner, stranger = CustomerWithLoginFactory(), CustomerWithLoginFactory()
    return {
        "tech": tech,
        "other_tech": other_tech,
        "owner": owner,
        "stranger": stranger,
        "staff": StaffFactory(),
        "ticket": make_ticket(customer=owner, technician=tech),
    }


async def open_socket(path: str, user=None):
    communicator = WebsocketCommunicator(router, path)
    communicator.scope["user"] = user or AnonymousUser()
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive(communicator, timeout=2.0) -> dict:
    return json.loads(await communicator.receive_from(timeout=timeout))


async def receive_events(communicator, count: int) -> list[dict]:
    """The next ``count`` event frames (skipping periodic stats frames)."""
    events = []
    while len(events) < count:
        message = await receive(communicator)
        if message["type"] == "event":
            events.append(message)
    return events


async def receive_until_snapshot(communicator) -> tuple[list[dict], dict]:
    events = []
    while True:
        message = await receive(communicator)
        if message["type"] == "snapshot":
            return events, message
        events.append(message)


async def assert_refused(communicator):
    output = await communicator.receive_output(timeout=2)
    assert output == {"type": "websocket.close", "code": 4403}


def ticket_path(ticket, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/ws/repairs/{ticket.reference}/" + (f"?{query}" if query else "")


@pytest.mark.parametrize("who", ["owner", "tech", "staff", "token"])
async def test_allowed_roles_join_and_get_a_snapshot(people, who):
    ticket = people["ticket"]
    if who == "token":
        socket = await open_socket(ticket_path(ticket, token=ticket.tracking_token))
    else:
        user = people[who].user if who == "owner" else people[who]
        socket = await open_socket(ticket_path(ticket), user)
    events, snapshot = await receive_until_snapshot(socket)
    assert events == []
    assert snapshot["ticket"] == {
        "reference": ticket.reference,
        "status": "booked",
        "status_label": "Booked",
        "status_sentence": STATUS_SENTENCES["booked"],  # the line the page shows under the status
        "progress_percent": 0,
        "last_seq": 1,
    }
    assert snapshot["view"] == ("internal" if who in ("tech", "staff") else "customer")
    await socket.disconnect()


@pytest.mark.parametrize("who", ["anonymous", "stranger", "other_tech", "wrong_token", "unknown_ticket"])
async def test_everyone_else_is_closed_with_4403_before_any_data(people, who):
    ticket = people["ticket"]
    if who == "anonymous":
        socket = await open_socket(ticket_path(ticket))
    elif who == "stranger":
        socket = await open_socket(ticket_path(ticket), people["stranger"].user)
    elif who == "other_tech":
        socket = await open_socket(ticket_path(ticket), people["other_tech"])
    elif who == "wrong_token":
        socket = await open_socket(ticket_path(ticket, token=ticket.tracking_token[:-2] + "xx"))
    else:
        socket = await open_socket(f"/ws/repairs/RT-NOPE00/?token={ticket.tracking_token}")
    await assert_refused(socket)


async def test_each_event_kind_reaches_the_right_rooms(people):
    ticket, tech = people["ticket"], people["tech"]
    customer = await open_socket(ticket_path(ticket, token=ticket.tracking_token))
    technician_room = await open_socket(ticket_path(ticket), tech)
    technician_stream = await open_socket("/ws/technician/", tech)
    other_stream = await open_socket("/ws/technician/", people["other_tech"])
    staff_stream = await open_socket("/ws/staff/", people["staff"])
    for socket in (customer, technician_room):
        await receive_until_snapshot(socket)
    for socket in (technician_stream, other_stream):
        assert (await receive(socket))["type"] == "snapshot"
    assert (await receive(staff_stream))["type"] == "snapshot"
    assert (await receive(staff_stream))["type"] == "stats"

    def act():
        t = services.transition_ticket(ticket, "received", by=tech)
        services.add_milestone(t, title="Opened up", percent=15, by=tech)
        services.add_photo(t, image=image_file(), category="diagnosis", caption="Swollen battery", by=tech)
        services.record_quality_check(t, item="Boots", passed=True, by=tech)
        services.add_note(t, text="Tell them Friday", priority="high", visible_to_customer=True, by=tech)
        services.add_note(t, text="INTERNAL: check warranty fraud", by=tech)

    await db(act)()
    expected_kinds = [
        "ticket.status_changed",
        "ticket.milestone_reached",
        "ticket.photo_added",
        "ticket.quality_checked",
        "ticket.note_added",
    ]
    customer_got = [await receive(customer) for _ in expected_kinds]
    assert [m["kind"] for m in customer_got] == expected_kinds
    assert [m["seq"] for m in customer_got] == [2, 3, 4, 5, 6]
    assert customer_got[0]["payload"]["ticket"]["status"] == "received"
    assert customer_got[1]["payload"]["percent"] == 15
    photo = customer_got[2]
    assert photo["payload"]["category"] == "diagnosis"
    assert photo["thumbnail_url"].startswith(f"/track/{ticket.tracking_token}/photos/")
    assert customer_got[3]["payload"]["passed"] is True
    assert customer_got[4]["payload"]["priority"] == "high"
    assert "visible_to_customer" not in customer_got[4]["payload"]
    assert await customer.receive_nothing(timeout=0.3)  # the internal note never arrives

    for socket in (technician_room, technician_stream, staff_stream):
        got = await receive_events(socket, 6)
        assert [m["seq"] for m in got] == [2, 3, 4, 5, 6, 7]
        assert got[-1]["payload"]["text"] == "INTERNAL: check warranty fraud"
        assert got[-1]["payload"]["visible_to_customer"] is False
    assert await other_stream.receive_nothing(timeout=0.3)
    for socket in (customer, technician_room, technician_stream, other_stream, staff_stream):
        await socket.disconnect()


async def test_internal_fields_never_reach_a_customer_socket(people):
    ticket, tech = people["ticket"], people["tech"]
    customer = await open_socket(ticket_path(ticket), people["owner"].user)
    await receive_until_snapshot(customer)

    def act():
        services.update_ticket(ticket, priority="urgent", by=tech)  # internal event
        services.add_photo(ticket, image=image_file(), category="repair", visible_to_customer=False, by=tech)
        services.transition_ticket(ticket, "received", by=tech, note="We have it")

    await db(act)()
    message = await receive(customer)
    assert (message["kind"], message["seq"]) == ("ticket.status_changed", 4)
    assert set(message["payload"]) == {"from", "to", "note", "ticket"}
    assert await customer.receive_nothing(timeout=0.3)
    await customer.disconnect()


async def test_resume_with_since_returns_exactly_the_missed_events(people):
    ticket, tech = people["ticket"], people["tech"]
    socket = await open_socket(ticket_path(ticket, token=ticket.tracking_token))
    _, snapshot = await receive_until_snapshot(socket)
    last_seen = snapshot["ticket"]["last_seq"]
    await socket.disconnect()

    def act_while_away():
        t = advance(ticket, "received", "diagnosing", by=tech)
        services.add_note(t, text="internal only", by=tech)
        services.add_milestone(t, title="Diagnosed", percent=25, by=tech)

    await db(act_while_away)()
    socket = await open_socket(ticket_path(ticket, token=ticket.tracking_token, since=last_seen))
    missed, snapshot = await receive_until_snapshot(socket)
    assert [(m["seq"], m["kind"]) for m in missed] == [
        (2, "ticket.status_changed"),
        (3, "ticket.status_changed"),
        (5, "ticket.milestone_reached"),
    ]
    assert snapshot["ticket"]["last_seq"] == 5 and snapshot["ticket"]["status"] == "diagnosing"

    # Asking again over the open socket replays from the database as well.
    await socket.send_json_to({"type": "resume", "since": 3})
    replay, _ = await receive_until_snapshot(socket)
    assert [m["seq"] for m in replay] == [5]
    await socket.disconnect()


async def test_malformed_client_messages_get_an_error_frame_not_a_crash(people):
    ticket = people["ticket"]
    socket = await open_socket(ticket_path(ticket, token=ticket.tracking_token))
    await receive_until_snapshot(socket)
    for frame in [
        "not json",
        "[1,2]",
        '{"no": "type"}',
        '{"type": "dance"}',
        '{"type": "resume", "since": -4}',
    ]:
        await socket.send_to(text_data=frame)
        message = await receive(socket)
        assert message["type"] == "error" and message["message"]
    await socket.send_to(bytes_data=b"\x00\x01")
    assert (await receive(socket))["type"] == "error"
    await socket.send_json_to({"type": "ping"})
    assert await receive(socket) == {"type": "pong"}
    await socket.disconnect()


async def test_bad_since_parameter_is_reported_and_the_socket_still_works(people):
    ticket = people["ticket"]
    socket = await open_socket(ticket_path(ticket, token=ticket.tracking_token, since="banana"))
    assert (await receive(socket))["type"] == "error"
    _, snapshot = await receive_until_snapshot(socket)
    assert snapshot["ticket"]["last_seq"] == 1
    await socket.disconnect()


async def test_technician_and_staff_streams_refuse_other_roles(people):
    for path, user in [
        ("/ws/technician/", people["owner"].user),
        ("/ws/technician/", None),
        ("/ws/staff/", people["tech"]),
        ("/ws/staff/", people["owner"].user),
    ]:
        await assert_refused(await open_socket(path, user))


async def test_reassignment_moves_updates_to_the_new_technician(people):
    ticket, tech, other_tech = people["ticket"], people["tech"], people["other_tech"]
    old_stream = await open_socket("/ws/technician/", tech)
    new_stream = await open_socket("/ws/technician/", other_tech)
    await receive(old_stream)
    await receive(new_stream)
    await db(services.update_ticket)(ticket, assigned_technician=other_tech, by=people["staff"])
    for stream in (old_stream, new_stream):  # both hear about the hand-over
        message = await receive(stream)
        assert message["kind"] == "ticket.updated" and message["reference"] == ticket.reference
    await db(services.transition_ticket)(ticket, "received", by=other_tech)
    assert (await receive(new_stream))["kind"] == "ticket.status_changed"
    assert await old_stream.receive_nothing(timeout=0.3)
    await old_stream.disconnect()
    await new_stream.disconnect()


async def test_connection_statistics_count_sockets_per_role_and_room(people):
    ticket = people["ticket"]
    a = await open_socket(ticket_path(ticket, token=ticket.tracking_token))
    b = await open_socket(ticket_path(ticket), people["tech"])
    staff = await open_socket("/ws/staff/", people["staff"])
    await receive_until_snapshot(a)
    await receive_until_snapshot(b)
    await receive(staff)
    first_stats = await receive(staff)
    assert first_stats["type"] == "stats"
    assert first_stats["by_role"] == {"customer": 1, "technician": 1, "staff": 1}
    assert first_stats["by_room"][ticket.reference] == 2
    await a.disconnect()
    await staff.send_json_to({"type": "stats"})
    later = await receive(staff)
    assert "customer" not in later["by_role"]
    assert later["by_room"][ticket.reference] == 1 and later["connections"] == 2
    assert later["messages_sent"] >= 3
    await b.disconnect()
    await staff.disconnect()
    await asyncio.sleep(0)


async def test_an_event_committed_during_the_catch_up_is_sent_once(people, monkeypatch):
    """The catch-up reads the ticket, then its events: an event committed in between is in the
    replay and also arrives live; the socket sends it once (seen in the rolling-restart test)."""
    ticket, tech = people["ticket"], people["tech"]
    real = selectors_module.ticket_events_since
    committed = []

    def events_since_after_a_commit(t, since, **kwargs):
        if not committed:
            committed.append(services.add_milestone(t, title="Diagnosed", percent=25, by=tech))
        return real(t, since, **kwargs)

    monkeypatch.setattr(selectors_module, "ticket_events_since", events_since_after_a_commit)
    socket = await open_socket(ticket_path(ticket, token=ticket.tracking_token, since=0))
    replayed, snapshot = await receive_until_snapshot(socket)
    new_seq = replayed[-1]["seq"]
    assert replayed[-1]["kind"] == "ticket.milestone_reached"
    assert snapshot["ticket"]["last_seq"] < new_seq  # the ticket was read before the commit
    assert await socket.receive_nothing(timeout=0.5)  # its live copy is not sent again
    await socket.disconnect()
