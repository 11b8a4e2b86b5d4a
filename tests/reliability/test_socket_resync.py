"""A tracking socket that stays open while Redis (the channel layer) is unreachable still gets the
events published meanwhile, without waiting for the ticket's next event (repairs/resync.py).

Real Redis through a TCP proxy this test starts: the proxy stops listening and cuts the channel
layer's connections; a status change is committed (its broadcast fails); the proxy comes back and
the socket receives the missed event from the database. Needs Redis (REDIS_URL; CI sets it).
"""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from benchmarks.faults.harness import TcpProxy, free_port
from repairs import services
from revivatech.routing import websocket_urlpatterns
from tests.conftest import in_ci
from tests.factories import StaffFactory, make_ticket

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def layer_through_proxy(settings):
    if not settings.REDIS_URL:
        if in_ci():
            pytest.fail("CI must set REDIS_URL")
        pytest.skip("needs Redis (REDIS_URL)")
    import redis

    kwargs = redis.connection.parse_url(settings.REDIS_URL)
    proxy = TcpProxy(free_port(), kwargs.get("host", "127.0.0.1"), int(kwargs.get("port", 6379))).start()
    url = f"redis://127.0.0.1:{proxy.port}/{kwargs.get('db', 0)}"
    settings.REDIS_URL = url
    settings.REALTIME_RESYNC_CHECK_SECONDS = 0.2
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [url], "prefix": "reliability-test"},
        }
    }
    channel_layers.backends.clear()
    yield proxy
    channel_layers.backends.clear()
    proxy.stop()


async def next_event(communicator: WebsocketCommunicator, timeout: float) -> dict:
    while True:
        message = json.loads(await communicator.receive_from(timeout=timeout))
        if message["type"] == "event":
            return message


async def test_an_open_socket_gets_what_was_published_while_redis_was_down(layer_through_proxy):
    proxy = layer_through_proxy
    staff = await database_sync_to_async(StaffFactory)()
    ticket = await database_sync_to_async(make_ticket)()
    communicator = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), f"/ws/repairs/{ticket.reference}/?token={ticket.tracking_token}"
    )
    communicator.scope["user"] = AnonymousUser()
    connected, _ = await communicator.connect()
    assert connected
    snapshot = json.loads(await communicator.receive_from(timeout=5))
    assert snapshot["type"] == "snapshot"

    await database_sync_to_async(services.transition_ticket)(ticket, "received", by=staff)
    live = await next_event(communicator, timeout=5)  # the layer works: delivered live
    assert live["payload"]["to"] == "received"

    await asyncio.to_thread(proxy.refuse)  # Redis unreachable: the layer's connections are cut
    await asyncio.sleep(0.5)  # the watcher notices
    ticket = await database_sync_to_async(type(ticket).objects.get)(pk=ticket.pk)
    await database_sync_to_async(services.transition_ticket)(ticket, "diagnosing", by=staff)
    assert await communicator.receive_nothing(timeout=0.5)  # the broadcast could not go out
    await asyncio.to_thread(proxy.allow)

    missed = await next_event(communicator, timeout=10)
    assert missed["seq"] == live["seq"] + 1
    assert missed["payload"]["to"] == "diagnosing"
    await communicator.disconnect()
