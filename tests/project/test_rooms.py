"""revivatech/rooms.py: a group heard once per process, fanned out to its members.

Runs on the configured channel layer (in memory by default; Redis pub/sub with ``REDIS_URL``)."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer

from revivatech import rooms

pytestmark = pytest.mark.asyncio


class Recorder:
    def __init__(self, name: str, *, block: asyncio.Event | None = None, fail: bool = False) -> None:
        self.name, self.block, self.fail = name, block, fail
        self.got: list[int] = []
        self.arrived = asyncio.Event()

    async def room_message(self, message):
        if self.block is not None:
            await self.block.wait()
        if self.fail:
            raise RuntimeError("this member always fails")
        self.got.append(message["n"])
        self.arrived.set()


async def _until(predicate, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


@pytest.fixture
def group(request):
    return f"rooms-test-{request.node.name[:60]}"


async def test_every_member_gets_every_message_in_order_from_one_channel(group):
    layer = get_channel_layer()
    members = [Recorder(f"m{i}") for i in range(50)]
    for member in members:
        await rooms.join(layer, group, member)
    assert rooms.members(layer, group) == 50
    for n in range(5):
        await layer.group_send(group, {"type": "ticket.event", "n": n})
    await _until(lambda: all(len(m.got) == 5 for m in members))
    assert all(m.got == [0, 1, 2, 3, 4] for m in members)
    # One channel of this process in the group, not one per member.
    room = rooms._loop_rooms()[(layer, group)]
    assert room.channel is not None
    for member in members:
        rooms.leave(layer, group, member)
    assert rooms.members(layer, group) == 0


async def test_a_stuck_or_failing_member_holds_up_no_one(group, caplog):
    layer = get_channel_layer()
    stuck = Recorder("stuck", block=asyncio.Event())
    failing = Recorder("failing", fail=True)
    healthy = Recorder("healthy")
    for member in (stuck, failing, healthy):
        await rooms.join(layer, group, member)
    await layer.group_send(group, {"type": "ticket.event", "n": 1})
    await layer.group_send(group, {"type": "ticket.event", "n": 2})
    await _until(lambda: healthy.got == [1, 2])
    assert stuck.got == [] and failing.got == []
    assert "a member failed" in caplog.text
    stuck.block.set()  # once unstuck it gets both, in order
    await _until(lambda: stuck.got == [1, 2])
    for member in (stuck, failing, healthy):
        rooms.leave(layer, group, member)


async def test_a_member_that_left_gets_nothing_more(group):
    layer = get_channel_layer()
    staying, leaving = Recorder("staying"), Recorder("leaving")
    await rooms.join(layer, group, staying)
    await rooms.join(layer, group, leaving)
    await layer.group_send(group, {"type": "ticket.event", "n": 1})
    await _until(lambda: staying.got == [1] and leaving.got == [1])
    rooms.leave(layer, group, leaving)
    await layer.group_send(group, {"type": "ticket.event", "n": 2})
    await _until(lambda: staying.got == [1, 2])
    await asyncio.sleep(0.05)
    assert leaving.got == [1]
    rooms.leave(layer, group, staying)


async def test_an_empty_room_leaves_the_group_after_a_while_and_a_new_one_opens(group, monkeypatch):
    monkeypatch.setattr(rooms, "IDLE_SECONDS", 0.05)
    layer = get_channel_layer()
    first = Recorder("first")
    await rooms.join(layer, group, first)
    old_room = rooms._loop_rooms()[(layer, group)]
    rooms.leave(layer, group, first)
    # Back within the idle time (a page reload): the same room, still subscribed.
    again = Recorder("again")
    await rooms.join(layer, group, again)
    assert rooms._loop_rooms()[(layer, group)] is old_room
    rooms.leave(layer, group, again)
    await _until(lambda: (layer, group) not in rooms._loop_rooms())
    await _until(lambda: old_room.reader.done())
    later = Recorder("later")
    await rooms.join(layer, group, later)
    assert rooms._loop_rooms()[(layer, group)] is not old_room
    await layer.group_send(group, {"type": "ticket.event", "n": 7})
    await _until(lambda: later.got == [7])
    await asyncio.sleep(0.05)
    assert first.got == [] and again.got == []
    rooms.leave(layer, group, later)


async def test_a_socket_without_a_login_session_is_anonymous_without_a_database_trip(monkeypatch):
    """revivatech.sockets.SessionAuthMiddleware: no session cookie, no hop to the database thread."""
    from channels import auth
    from channels.sessions import SessionMiddlewareStack

    from revivatech.sockets import SessionAuthMiddleware

    def no_trip(scope):
        raise AssertionError("get_user was called for a socket without a session")

    monkeypatch.setattr(auth, "get_user", no_trip)
    seen = {}

    async def inner(scope, receive, send):
        seen["user"] = scope["user"]

    app = SessionMiddlewareStack(SessionAuthMiddleware(inner))
    await app({"type": "websocket", "path": "/ws/x/", "headers": []}, None, None)
    assert seen["user"].is_anonymous


@pytest.mark.redis
async def test_rooms_hear_the_core_redis_layer_beside_waiting_sockets(group, settings):
    """CHANNEL_LAYER=core: the room's channel must share the process's one receive loop with the
    sockets' own channels (a channel of another prefix starved behind a socket's blocking read)."""
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    from channels_redis.core import RedisChannelLayer

    layer = RedisChannelLayer(hosts=[settings.REDIS_URL])
    socket_channel = await layer.new_channel()
    socket_waits = asyncio.create_task(layer.receive(socket_channel))  # as every open socket does
    member = Recorder("member")
    try:
        await rooms.join(layer, group, member)
        await asyncio.sleep(0.2)  # the socket's blocking read is under way
        await layer.group_send(group, {"type": "ticket.event", "n": 1})
        await _until(lambda: member.got == [1], timeout=1.0)  # not after the socket's read times out
    finally:
        rooms.leave(layer, group, member)
        socket_waits.cancel()
        await asyncio.gather(socket_waits, return_exceptions=True)
        await rooms._loop_rooms()[(layer, group)].close()
        await layer.flush()


async def test_a_room_renews_its_membership_before_the_layer_forgets_it(group, monkeypatch):
    """The layers drop a group member after group_expiry (a day); a room may live longer."""
    monkeypatch.setattr(rooms, "RENEW_SECONDS", 0.05)
    layer = get_channel_layer()
    member = Recorder("member")
    await rooms.join(layer, group, member)
    room = rooms._loop_rooms()[(layer, group)]
    await layer.group_discard(group, room.channel)  # as the layer's expiry would
    await asyncio.sleep(0.2)  # a renewal or more
    await layer.group_send(group, {"type": "ticket.event", "n": 1})
    await _until(lambda: member.got == [1])
    rooms.leave(layer, group, member)
    await room.close()
