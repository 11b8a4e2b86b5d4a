"""Deeply nested JSON (issue #15, item 8): about 4 KB of ``[[[[...]]]]`` made Python's decoder raise
RecursionError, a 500 on the API and the CSP sink and a socket dropped without a close frame. Each
now answers 400 (or closes the socket with 1007) and keeps working for the next request."""

from __future__ import annotations

import json

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from revivatech.jsonsafe import MAX_DEPTH, TooDeep, loads
from revivatech.routing import websocket_urlpatterns
from tests.factories import make_ticket

DEEP = "[" * 2000 + "]" * 2000
DEEP_OBJECT = '{"a":' * 1500 + "1" + "}" * 1500


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_loads_refuses_deep_documents_with_a_value_error(body):
    with pytest.raises(TooDeep) as raised:
        loads(body)
    assert isinstance(raised.value, ValueError)
    assert f"nested more than {MAX_DEPTH} levels" in str(raised.value)


def test_loads_accepts_ordinary_documents():
    nested = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert loads(nested)
    assert loads(b'{"events": [{"type": "pageview", "path": "/[x]"}], "s": "[[[[{{{{"}') == {
        "events": [{"type": "pageview", "path": "/[x]"}],
        "s": "[[[[{{{{",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("body", [DEEP, '{"events": ' + DEEP + "}"])
def test_events_api_answers_400(client, body):
    response = client.post(
        "/api/v1/events/", data=body, content_type="text/plain;charset=UTF-8", HTTP_USER_AGENT="Mozilla/5.0"
    )
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("body", [DEEP, '{"username": ' + DEEP + ', "password": "x"}'])
def test_token_api_answers_400(client, body):
    response = client.post("/api/v1/auth/token/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("body", [DEEP, '{"csp-report": ' + DEEP + "}"])
def test_csp_report_answers_400(client, body):
    response = client.post("/csp-report/", data=body, content_type="application/csp-report")
    assert response.status_code == 400


@pytest.mark.django_db
def test_repairs_api_answers_400(client, ticket, staff_user):
    client.force_login(staff_user)
    response = client.post(
        f"/api/v1/repairs/{ticket.reference}/notes/", data=DEEP, content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_socket_sent_deep_json_is_closed_with_1007():
    from channels.db import database_sync_to_async

    ticket = await database_sync_to_async(make_ticket)()
    communicator = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), f"/ws/repairs/{ticket.reference}/?token={ticket.tracking_token}"
    )
    connected, _ = await communicator.connect()
    assert connected
    while json.loads(await communicator.receive_from(timeout=2))["type"] != "snapshot":
        pass
    await communicator.send_to(text_data=DEEP)
    error = json.loads(await communicator.receive_from(timeout=2))
    assert error["type"] == "error" and "nested" in error["message"]
    assert await communicator.receive_output(timeout=2) == {"type": "websocket.close", "code": 1007}
    await communicator.wait()
