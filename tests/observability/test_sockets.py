"""Socket logs: each connection has its own id; a live event delivered to a socket is logged
with the request id of the HTTP request that caused it (never shown to the client)."""

from __future__ import annotations

import json
import logging
import re

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from repairs.realtime import stats
from revivatech.observability.sockets import SocketObservabilityMiddleware
from revivatech.routing import websocket_urlpatterns
from tests.factories import CustomerWithLoginFactory, StaffFactory, TechnicianFactory, make_ticket

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

# As in revivatech/asgi.py, inside the auth middleware (the tests put the user in the scope).
app = SocketObservabilityMiddleware(URLRouter(websocket_urlpatterns))


@pytest.fixture(autouse=True)
def _fresh_stats():
    stats.reset()
    yield
    stats.reset()


@pytest.fixture
def people(transactional_db):
    tech, owner = TechnicianFactory(), CustomerWithLoginFactory()
    return {
        "tech": tech,
        "owner": owner,
        "staff": StaffFactory(),
        "ticket": make_ticket(customer=owner, technician=tech),
    }


async def open_socket(path: str, user=None, request_id: str | None = None):
    headers = [(b"x-request-id", request_id.encode())] if request_id else []
    communicator = WebsocketCommunicator(app, path, headers=headers)
    communicator.scope["user"] = user or AnonymousUser()
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive_type(communicator, kind: str) -> dict:
    while True:
        message = json.loads(await communicator.receive_from(timeout=3))
        if message["type"] == kind:
            return message


async def test_connect_and_disconnect_are_logged_with_the_connection_id(people, json_logs):
    ticket, tech = people["ticket"], people["tech"]
    socket = await open_socket(f"/ws/repairs/{ticket.reference}/", tech, request_id="page-load-0123456789")
    await receive_type(socket, "snapshot")
    await socket.disconnect()

    connected = json_logs.where(event="socket_connected")
    assert len(connected) == 1
    line = connected[0]
    assert re.match(r"^[0-9a-f]{32}$", line["connection_id"])
    assert line["request_id"] == "page-load-0123456789"  # the handshake's X-Request-ID
    assert (line["user_id"], line["socket_route"], line["logger"]) == (
        tech.pk,
        "ws/repairs",
        "revivatech.sockets",
    )
    assert line["path"] == f"/ws/repairs/{ticket.reference}/"
    gone = json_logs.where(event="socket_disconnected", connection_id=line["connection_id"])
    assert len(gone) == 1 and gone[0]["closed_by"] == "client" and gone[0]["duration_ms"] >= 0


async def test_a_refused_socket_is_logged_as_refused_with_no_token_in_the_line(people, json_logs):
    ticket = people["ticket"]
    socket = await open_socket(f"/ws/repairs/{ticket.reference}/?token=wrong-token-value-123")
    assert await socket.receive_output(timeout=2) == {"type": "websocket.close", "code": 4403}

    refused = json_logs.where(event="socket_refused")
    assert len(refused) == 1 and refused[0]["code"] == 4403 and refused[0]["user_id"] is None
    assert not json_logs.where(event="socket_connected")
    assert "wrong-token-value" not in json_logs.stream.getvalue()


@pytest.fixture
def socket_debug_lines():
    """LOG_LEVEL_SOCKETS=DEBUG, as an operator following one socket would set it."""
    sockets_logger = logging.getLogger("revivatech.sockets")
    previous = sockets_logger.level
    sockets_logger.setLevel(logging.DEBUG)
    yield
    sockets_logger.setLevel(previous)


async def test_a_live_event_is_logged_with_the_request_id_of_the_request_that_caused_it(
    people, json_logs, socket_debug_lines
):
    ticket, tech, staff = people["ticket"], people["tech"], people["staff"]
    customer = await open_socket(f"/ws/repairs/{ticket.reference}/?token={ticket.tracking_token}")
    stream = await open_socket("/ws/staff/", staff)
    await receive_type(customer, "snapshot")
    await receive_type(stream, "snapshot")

    def transition() -> str:
        client = Client()
        client.force_login(tech)
        response = client.post(
            f"/api/v1/repairs/{ticket.reference}/transition/",
            {"status": "received"},
            content_type="application/json",
            HTTP_X_REQUEST_ID="req-transition-0123456789",
        )
        assert response.status_code == 200, response.content
        return response["X-Request-ID"]

    request_id = await sync_to_async(transition)()
    assert request_id == "req-transition-0123456789"
    customer_frame = await receive_type(customer, "event")
    staff_frame = await receive_type(stream, "event")
    await customer.disconnect()
    await stream.disconnect()

    # Nothing of it reaches a client.
    for frame in (customer_frame, staff_frame):
        assert "meta" not in frame and "request_id" not in json.dumps(frame)
    # Once per process at INFO, whatever the number of sockets...
    received = json_logs.where(event="socket_event_received", request_id=request_id)
    assert [(line["kind"], line["seq"], line["level"]) for line in received] == [
        ("ticket.status_changed", 2, "info")
    ]
    # ...and once per socket at DEBUG (LOG_LEVEL_SOCKETS=DEBUG; the fixture logs DEBUG for sockets).
    delivered = json_logs.where(event="socket_event_delivered", request_id=request_id)
    assert len(delivered) == 2  # the customer's room and the staff stream
    connection_ids = {line["connection_id"] for line in json_logs.where(event="socket_connected")}
    assert {line["connection_id"] for line in delivered} == connection_ids
    assert {(line["kind"], line["seq"], line["reference"]) for line in delivered} == {
        ("ticket.status_changed", 2, ticket.reference)
    }
    # The HTTP request's own line carries the same id.
    assert json_logs.where(event="request_finished", request_id=request_id)[0]["status"] == 200
