"""Socket rights last only as long as the right (issue #15, item 3): a socket is closed with 4403
within a second of a reassignment, a logout or a password change, and rights are checked again on
every ``resume`` and before each event is delivered. Runs on the configured channel layer
(in-memory locally; Redis pub/sub with REDIS_URL, as in CI)."""

from __future__ import annotations

import json
import time

import pytest
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, Group
from django.test import Client

from repairs import services
from repairs.models import RepairTicket
from repairs.roles import TECHNICIANS_GROUP
from revivatech.routing import websocket_urlpatterns
from tests.factories import CustomerWithLoginFactory, StaffFactory, TechnicianFactory, make_ticket

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

db = database_sync_to_async
app = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
FORBIDDEN = {"type": "websocket.close", "code": 4403}


@pytest.fixture
def people(transactional_db):
    tech, other_tech = TechnicianFactory(), TechnicianFactory()
    owner = CustomerWithLoginFactory()
    return {
        "tech": tech,
        "other_tech": other_tech,
        "owner": owner,
        "staff": StaffFactory(),
        "ticket": make_ticket(customer=owner, technician=tech),
    }


def _session_of(user) -> tuple[Client, str]:
    """A browser signed in as ``user``: its test client and session cookie."""
    client = Client()
    client.force_login(user)
    return client, client.cookies[settings.SESSION_COOKIE_NAME].value


async def open_socket(path: str, *, user=None, session_key: str | None = None) -> WebsocketCommunicator:
    """A socket as a browser opens it: with the session cookie (through channels' auth
    middleware), or with a user put in the scope directly (no session)."""
    headers = [(b"origin", b"http://testserver")]
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
        communicator = WebsocketCommunicator(app, path, headers=headers)
    else:
        communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path, headers=headers)
        communicator.scope["user"] = user or AnonymousUser()
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def until_snapshot(communicator) -> list[dict]:
    frames = []
    while True:
        frame = json.loads(await communicator.receive_from(timeout=2))
        if frame["type"] == "snapshot":
            return frames
        frames.append(frame)


async def closed_with_4403_within_a_second(communicator) -> list[dict]:
    """Frames received before the close (the close must come within 1 s)."""
    started = time.monotonic()
    frames = []
    while True:
        output = await communicator.receive_output(timeout=1.0)
        if output["type"] == "websocket.close":
            assert output == FORBIDDEN
            assert time.monotonic() - started < 1.0
            return frames
        frames.append(json.loads(output["text"]))


def room(ticket, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/ws/repairs/{ticket.reference}/" + (f"?{query}" if query else "")


async def test_a_reassigned_technician_is_closed_out_of_the_ticket_room(people):
    ticket, tech = people["ticket"], people["tech"]
    _client, key = await db(_session_of)(tech)
    socket = await open_socket(room(ticket), session_key=key)
    await until_snapshot(socket)
    await db(services.update_ticket)(ticket, assigned_technician=people["other_tech"], by=people["staff"])
    frames = await closed_with_4403_within_a_second(socket)
    assert all(frame.get("kind") != "ticket.note_added" for frame in frames)


async def test_the_technician_stream_and_staff_stream_close_when_the_role_is_taken_away(people):
    tech, staff = people["tech"], people["staff"]
    tech_stream = await open_socket("/ws/technician/", user=tech)
    staff_stream = await open_socket("/ws/staff/", user=staff)
    await tech_stream.receive_from(timeout=2)
    await staff_stream.receive_from(timeout=2)

    def demote():
        tech.groups.remove(Group.objects.get(name=TECHNICIANS_GROUP))
        staff.groups.clear()

    await db(demote)()
    await closed_with_4403_within_a_second(tech_stream)
    await closed_with_4403_within_a_second(staff_stream)


async def test_rights_are_checked_again_before_each_event(people):
    """Even when no revocation message arrives (e.g. an update made straight in the database),
    an event is delivered only if the right still holds."""
    ticket, tech = people["ticket"], people["tech"]
    socket = await open_socket(room(ticket), user=tech)
    await until_snapshot(socket)
    await db(RepairTicket.objects.filter(pk=ticket.pk).update)(assigned_technician=people["other_tech"])
    await db(services.add_note)(ticket, text="internal: customer owes us", by=people["other_tech"])
    frames = await closed_with_4403_within_a_second(socket)
    assert frames == []


async def test_rights_are_checked_again_on_resume(people):
    ticket, tech = people["ticket"], people["tech"]
    await db(services.add_note)(ticket, text="internal: do not tell", by=tech)
    socket = await open_socket(room(ticket), user=tech)
    await until_snapshot(socket)
    await db(RepairTicket.objects.filter(pk=ticket.pk).update)(assigned_technician=people["other_tech"])
    await socket.send_json_to({"type": "resume", "since": 0})
    frames = await closed_with_4403_within_a_second(socket)
    assert frames == []  # not the internal log


async def test_logout_closes_the_sockets_of_that_session_only(people):
    ticket, owner = people["ticket"], people["owner"]
    browser, key = await db(_session_of)(owner.user)
    _phone, phone_key = await db(_session_of)(owner.user)
    socket = await open_socket(room(ticket), session_key=key)
    phone = await open_socket(room(ticket), session_key=phone_key)
    guest = await open_socket(room(ticket, token=ticket.tracking_token), session_key=key)
    for s in (socket, phone, guest):
        await until_snapshot(s)
    response = await db(browser.post)("/account/logout/")
    assert response.status_code in (200, 302)
    await closed_with_4403_within_a_second(socket)
    # The other device's session and the tracking link (a right of its own) stay open.
    await db(services.transition_ticket)(ticket, "received", by=people["tech"])
    assert json.loads(await phone.receive_from(timeout=2))["kind"] == "ticket.status_changed"
    assert json.loads(await guest.receive_from(timeout=2))["kind"] == "ticket.status_changed"
    await phone.disconnect()
    await guest.disconnect()


async def test_a_password_change_closes_every_socket_of_the_user(people):
    ticket, owner = people["ticket"], people["owner"]
    _browser, key = await db(_session_of)(owner.user)
    socket = await open_socket(room(ticket), session_key=key)
    await until_snapshot(socket)

    def change_password():
        owner.user.set_password("a new password 123")
        owner.user.save()

    await db(change_password)()
    await closed_with_4403_within_a_second(socket)


async def test_a_deactivated_customer_is_closed_out(people):
    ticket, owner = people["ticket"], people["owner"]
    socket = await open_socket(room(ticket), user=owner.user)
    await until_snapshot(socket)
    owner.user.is_active = False
    await db(owner.user.save)()
    await closed_with_4403_within_a_second(socket)


async def test_the_sockets_of_one_tracking_link_share_one_rights_check_per_event(people, monkeypatch):
    """A link opened on many screens (a crowd on one ticket) costs one check per event, not one
    per socket; each socket still gets the event."""
    from repairs import consumers

    ticket, tech = people["ticket"], people["tech"]
    sockets = [await open_socket(room(ticket, token=ticket.tracking_token)) for _ in range(3)]
    for socket in sockets:
        await until_snapshot(socket)
    checks = []
    real_check = consumers.resolve_ticket_access
    monkeypatch.setattr(
        consumers, "resolve_ticket_access", lambda *args: checks.append(args[1]) or real_check(*args)
    )

    await db(services.transition_ticket)(ticket, "received", by=tech)
    for socket in sockets:
        frame = json.loads(await socket.receive_from(timeout=2))
        assert (frame["type"], frame["kind"]) == ("event", "ticket.status_changed")
    assert checks == [ticket.reference]


async def test_a_shared_check_still_closes_every_socket_of_a_link_that_no_longer_holds(people):
    ticket, tech = people["ticket"], people["tech"]
    sockets = [await open_socket(room(ticket, token=ticket.tracking_token)) for _ in range(2)]
    for socket in sockets:
        await until_snapshot(socket)
    await db(RepairTicket.objects.filter(pk=ticket.pk).update)(tracking_token="rotated-" + "x" * 40)
    await db(services.transition_ticket)(ticket, "received", by=tech)
    for socket in sockets:
        assert await closed_with_4403_within_a_second(socket) == []
