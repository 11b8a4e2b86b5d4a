"""ws/dashboard/: staff get a snapshot, then live updates after events are stored and domain events
happen, activity items and alerts; everyone else is closed with 4403 before any data."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from analytics.dashboard.realtime import DASHBOARD_GROUP, push_to_dashboard
from analytics.services import buffer
from revivatech.routing import websocket_urlpatterns
from tests.analytics.factories import Visitor, store
from tests.factories import CustomerWithLoginFactory, StaffFactory, TechnicianFactory, make_ticket

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

router = URLRouter(websocket_urlpatterns)


async def open_socket(user, query: str = "range=today"):
    communicator = WebsocketCommunicator(router, f"/ws/dashboard/?{query}")
    communicator.scope["user"] = user or AnonymousUser()
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive(communicator, timeout: float = 5.0) -> dict:
    return json.loads(await communicator.receive_from(timeout=timeout))


async def receive_type(communicator, kind: str, timeout: float = 8.0) -> dict:
    """The next frame of ``kind`` (skipping others)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"no {kind} frame within {timeout} s")
        message = await receive(communicator, timeout=left)
        if message["type"] == kind:
            return message


@pytest.mark.parametrize("who", ["anonymous", "customer", "technician"])
async def test_non_staff_are_closed_with_4403_before_any_data(who):
    user = None
    if who == "customer":
        user = (await database_sync_to_async(CustomerWithLoginFactory)()).user
    elif who == "technician":
        user = await database_sync_to_async(TechnicianFactory)()
    communicator = await open_socket(user)
    output = await communicator.receive_output(timeout=2)
    assert output == {"type": "websocket.close", "code": 4403}
    assert await communicator.receive_nothing(timeout=0.2)


def _store_now_visit() -> None:
    now = timezone.now()
    visitor = Visitor(device_type="mobile", browser="Chrome", country="GB")
    store(
        visitor,
        ("pageview", now, "/"),
        ("pageview", now, "/book/"),
        ("rage_click", now, "/book/", {"selector": "#submit"}),
    )
    buffer.flush_events()


async def test_snapshot_then_live_update_after_events_are_stored():
    staff = await database_sync_to_async(StaffFactory)()
    communicator = await open_socket(staff)
    snapshot = await receive(communicator)
    assert snapshot["type"] == "snapshot"
    assert snapshot["query"] == {"range": "today"}
    assert snapshot["data"]["traffic"]["pageviews"] == 0
    assert snapshot["data"]["live"]["visitors_now"] == 0

    await database_sync_to_async(_store_now_visit)()

    activity = await receive_type(communicator, "activity")
    assert [(i["kind"], i["detail"]) for i in activity["items"]] == [("rage_click", "#submit")]
    update = await receive_type(communicator, "update")
    assert update["data"]["traffic"]["pageviews"] == 2
    assert update["data"]["traffic"]["sessions"] == 1
    assert update["data"]["conversions"]["rage_clicks"] == 1
    assert update["data"]["live"]["visitors_now"] == 1
    assert update["data"]["live"]["pageviews_last_5_min"] == 2
    await communicator.disconnect()


async def test_activity_items_follow_the_segment():
    staff = await database_sync_to_async(StaffFactory)()
    communicator = await open_socket(staff, "range=today&device_type=desktop")
    assert (await receive(communicator))["type"] == "snapshot"
    await database_sync_to_async(_store_now_visit)()  # a mobile visit
    update = await receive_type(communicator, "update")
    assert update["data"]["traffic"]["pageviews"] == 0
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_a_booking_updates_tickets_and_the_activity_feed():
    staff = await database_sync_to_async(StaffFactory)()
    communicator = await open_socket(staff)
    snapshot = await receive(communicator)
    assert snapshot["data"]["tickets"]["open_total"] == 0

    def book():
        ticket = make_ticket()
        buffer.flush_events()
        return ticket

    ticket = await database_sync_to_async(book)()
    activity = await receive_type(communicator, "activity")
    assert activity["items"][0]["kind"] == "booking_completed"
    assert activity["items"][0]["detail"] == ticket.reference
    update = await receive_type(communicator, "update")
    assert update["data"]["tickets"]["open_total"] == 1
    assert update["data"]["conversions"]["bookings"] == 1
    await communicator.disconnect()


async def test_alerts_from_monitoring_are_forwarded():
    staff = await database_sync_to_async(StaffFactory)()
    communicator = await open_socket(staff)
    await receive(communicator)
    alert = {"id": 7, "metric": "traffic", "direction": "down", "message": "Traffic is 60% below normal"}
    await database_sync_to_async(push_to_dashboard)({"type": "dashboard.alert", "alert": alert})
    assert await receive_type(communicator, "alert") == {"type": "alert", "alert": alert}
    assert DASHBOARD_GROUP == "analytics-dashboard"
    await communicator.disconnect()


async def test_filters_can_change_and_bad_ones_are_explained():
    staff = await database_sync_to_async(StaffFactory)()
    communicator = await open_socket(staff, "range=never")
    error = await receive(communicator)
    assert error["type"] == "error"
    assert "range" in error["message"]
    assert (await receive(communicator))["query"] == {"range": "7d"}
    await communicator.send_to(text_data=json.dumps({"type": "filters", "filters": {"range": "30d"}}))
    snapshot = await receive_type(communicator, "snapshot")
    assert snapshot["data"]["filters"]["range"] == "30d"
    await communicator.send_to(text_data=json.dumps({"type": "filters", "filters": {"country": "Wales"}}))
    assert "country" in (await receive_type(communicator, "error"))["message"]
    await communicator.send_to(text_data=json.dumps({"type": "ping"}))
    assert (await receive_type(communicator, "pong"))["type"] == "pong"
    await communicator.disconnect()
