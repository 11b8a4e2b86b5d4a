"""/api/v1/notifications/: preferences and push tokens for customers, statistics and timelines
for staff. Strict bodies: wrong types and unknown fields are 400s that say what is wrong."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from notifications.models import Message, PushDevice
from notifications.services.preferences import preference_matrix
from tests.notifications.factories import PushDeviceFactory, drain, notify

pytestmark = pytest.mark.django_db
PREFS = "/api/v1/notifications/preferences/"
TOKENS = "/api/v1/notifications/push-tokens/"


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def api(customer):
    return api_for(customer.user)


def test_preferences_read_with_defaults_and_locks(api, customer):
    body = api.get(PREFS).json()
    assert body["preferences"]["service"] == {"email": True, "sms": False, "push": True}
    assert body["preferences"]["marketing"] == {"email": False, "sms": False, "push": False}
    assert body["locked"] == [{"kind": "service", "channel": "email"}]
    assert body["quiet_hours"] == {"enabled": True, "start": "21:00", "end": "08:00"}
    assert body["time_zone"] == customer.time_zone


def test_preferences_change_only_what_is_sent(api, customer):
    response = api.patch(
        PREFS,
        {
            "preferences": {"status": {"sms": True}, "marketing": {"email": True}},
            "quiet_hours": {"enabled": False, "start": "22:30", "end": "07:00"},
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["preferences"]["status"] == {"email": True, "sms": True, "push": True}
    assert response.json()["quiet_hours"] == {"enabled": False, "start": "22:30", "end": "07:00"}
    assert preference_matrix(customer)["marketing"]["email"].enabled


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"preferences": {"service": {"email": False}}}, "cannot be switched off"),
        ({"preferences": {"status": {"sms": "yes"}}}, "sms: must be true or false, not a string."),
        ({"preferences": {"status": {"fax": True}}}, '"fax" is not a channel'),
        ({"preferences": {"weather": {"email": True}}}, '"weather" is not a kind of message'),
        ({"quiet_hours": {"enabled": True, "start": "9pm", "end": "08:00"}}, "24-hour HH:MM"),
        ({"quiet_hours": {"enabled": True, "start": "21:00", "end": "21:00"}}, "different time"),
        ({"colour": "blue"}, 'Unknown field "colour"'),
    ],
)
def test_bad_preference_bodies_are_400_with_the_reason(api, customer, body, message):
    response = api.patch(PREFS, body, format="json")
    assert response.status_code == 400
    assert message in str(response.json()), response.json()
    assert preference_matrix(customer)["service"]["email"].enabled


def test_malformed_json_is_a_400(api):
    response = api.generic("PATCH", PREFS, "{not json", content_type="application/json")
    assert response.status_code == 400 and "not valid JSON" in response.json()["detail"]


def test_push_tokens_register_refresh_list_and_delete(api, customer):
    created = api.post(
        TOKENS, {"token": "fcm-token-abc", "platform": "android", "label": "Pixel"}, format="json"
    )
    assert created.status_code == 201
    again = api.post(TOKENS, {"token": "fcm-token-abc", "platform": "android"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    listed = api.get(TOKENS).json()
    assert [d["label"] for d in listed] == ["Pixel"] and "token" not in listed[0]

    assert api.delete(f"{TOKENS}{created.json()['id']}/").status_code == 204
    assert api.get(TOKENS).json() == []
    assert PushDevice.objects.get().active is False


def test_a_token_moves_to_whoever_registers_it_last(api, customer, other_customer):
    PushDeviceFactory(customer=other_customer, token="shared-browser-token", active=False)
    response = api.post(TOKENS, {"token": "shared-browser-token"}, format="json")
    assert response.status_code == 200
    device = PushDevice.objects.get(token="shared-browser-token")
    assert device.customer == customer and device.active


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"token": ""}, "token"),
        ({"token": 42}, "Must be a string"),
        ({"token": "has spaces in it"}, "This is not an FCM token"),
        ({"token": "x", "platform": "fridge"}, "Choose one of"),
        ({"token": "x", "token_kind": "apns"}, "Choose one of"),
        ({}, "This field is required."),
    ],
)
def test_bad_push_tokens_are_refused(api, body, message):
    response = api.post(TOKENS, body, format="json")
    assert response.status_code == 400 and message in str(response.json())


def test_other_customers_devices_cannot_be_deleted(api, other_customer):
    theirs = PushDeviceFactory(customer=other_customer)
    assert api.delete(f"{TOKENS}{theirs.pk}/").status_code == 404


def test_only_customers_have_preferences_and_tokens(staff_user, client):
    assert client.get(PREFS).status_code == 401
    staff = api_for(staff_user)
    response = staff.get(PREFS)
    assert response.status_code == 403 and "Only customers" in response.json()["detail"]
    assert staff.post(TOKENS, {"token": "x"}, format="json").status_code == 403


def test_staff_statistics_and_ticket_timeline(staff_user, ticket, technician, smtp_server):
    notify(ticket.customer, ticket=ticket, channels=["email", "sms"], mode="chosen")
    drain()
    Message.objects.filter(channel="email").update(opened_at=Message.objects.get(channel="email").sent_at)
    staff = api_for(staff_user)

    stats = {row["channel"]: row for row in staff.get("/api/v1/notifications/stats/?days=7").json()}
    assert (
        stats["email"]["sent"] == 1 and stats["email"]["opened"] == 1 and stats["email"]["open_rate"] == 100.0
    )
    assert stats["sms"]["skipped"] == 1 and stats["sms"]["delivery_rate"] is None
    assert staff.get("/api/v1/notifications/stats/?days=zero").status_code == 400

    timeline = staff.get(f"/api/v1/notifications/tickets/{ticket.reference}/messages/").json()
    assert [m["channel"] for m in timeline] == ["email", "sms"]
    assert timeline[1]["status"] == "skipped" and timeline[1]["last_error"]

    tech = api_for(technician)
    assert tech.get("/api/v1/notifications/stats/").status_code == 403
    assert tech.get(f"/api/v1/notifications/tickets/{ticket.reference}/messages/").status_code == 403
