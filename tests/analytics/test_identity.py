"""Consent-tiered identity: daily salts, midnight continuity, consent, linking to customers."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.test import Client

from analytics.models import ConsentRecord, DailySalt, Event, EventType, Session, TrackedDevice, VisitorLink
from analytics.services import identity
from analytics.services.ingestion import ingest_request
from repairs.models import Customer
from tests.analytics.factories import (
    CHROME_DESKTOP,
    FIREFOX_LINUX,
    SAFARI_IPHONE,
    at,
    batch,
    event,
    ms,
    post_events,
)
from tests.factories import BOOKING_FORM, DEFAULT_PASSWORD, CustomerWithLoginFactory, StaffFactory

pytestmark = pytest.mark.django_db

IP = "203.0.113.9"
BOOKING = BOOKING_FORM


def browser(ua: str = CHROME_DESKTOP, ip: str = IP) -> Client:
    """A browser: every request carries its user agent and address."""
    return Client(HTTP_USER_AGENT=ua, REMOTE_ADDR=ip)


# --- daily salts -------------------------------------------------------------------------------------


def test_the_visitor_key_is_stable_within_a_day_and_changes_the_next(db):
    morning, evening, tomorrow = (
        at("2026-03-02", "08:00:00"),
        at("2026-03-02", "23:59:00"),
        at("2026-03-03", "09:00:00"),
    )
    key, _ = identity.visitor_keys(IP, CHROME_DESKTOP, morning)
    assert identity.visitor_keys(IP, CHROME_DESKTOP, evening)[0] == key
    assert identity.visitor_keys(IP, FIREFOX_LINUX, evening)[0] != key
    assert identity.visitor_keys("203.0.113.10", CHROME_DESKTOP, evening)[0] != key
    assert identity.visitor_keys(IP, CHROME_DESKTOP, tomorrow)[0] != key


def test_salts_are_random_kept_48_hours_then_deleted(db):
    for day in ("2026-03-01", "2026-03-02", "2026-03-03"):
        identity.rotate_salts(at(day, "00:00:00"))
    salts = dict(DailySalt.objects.values_list("day", "salt"))
    assert sorted(str(day) for day in salts) == ["2026-03-02", "2026-03-03"]
    assert all(len(bytes(salt)) == 32 for salt in salts.values())
    assert len({bytes(salt) for salt in salts.values()}) == 2
    # A salt, once deleted, is never made again: yesterday's visitors stay unrecognisable.
    identity.forget_cached_salts()
    assert identity.salt_for(at("2026-03-01").date(), create=False) is None


def test_the_first_request_of_a_day_rotates_lazily(db):
    identity.visitor_keys(IP, CHROME_DESKTOP, at("2026-03-01"))
    identity.visitor_keys(IP, CHROME_DESKTOP, at("2026-03-02"))
    identity.visitor_keys(IP, CHROME_DESKTOP, at("2026-03-04"))  # no beat ran in between
    assert [str(d) for d in DailySalt.objects.order_by("day").values_list("day", flat=True)] == ["2026-03-04"]


def test_yesterdays_key_is_computed_only_just_after_midnight(db):
    identity.rotate_salts(at("2026-03-01"))
    yesterday_key, _ = identity.visitor_keys(IP, CHROME_DESKTOP, at("2026-03-01", "23:50:00"))
    today, previous = identity.visitor_keys(IP, CHROME_DESKTOP, at("2026-03-02", "00:10:00"))
    assert previous == yesterday_key and today != yesterday_key
    assert identity.visitor_keys(IP, CHROME_DESKTOP, at("2026-03-02", "00:31:00"))[1] is None


def _ingest_at(rf, moment, path="/", ua=CHROME_DESKTOP, ip=IP):
    body = json.dumps({"sent_at": ms(moment), "events": [event("pageview", path, t=ms(moment))]}).encode()
    request = rf.post(
        "/api/v1/events/", data=body, content_type="text/plain", HTTP_USER_AGENT=ua, REMOTE_ADDR=ip
    )
    result = ingest_request(request, body, now=moment)
    assert result.status == 202, result.as_json()


def test_a_visit_continues_across_midnight(rf, flushed):
    _ingest_at(rf, at("2026-03-01", "23:50:00"), "/")
    _ingest_at(rf, at("2026-03-02", "00:10:00"), "/book/")
    _ingest_at(rf, at("2026-03-02", "00:12:00"), "/book/", ua=FIREFOX_LINUX)  # someone else
    flushed()
    visit = Session.objects.get(entry_path="/", browser="Chrome")
    assert visit.pages == ["/", "/book/"] and visit.pageviews == 2
    assert visit.duration_seconds == 20 * 60
    # The two events carry different daily keys; the visit now goes on under today's.
    keys = list(
        Event.objects.filter(session=visit).order_by("occurred_at").values_list("visitor_key", flat=True)
    )
    assert keys[0] != keys[1] and visit.visitor_key == keys[1]
    assert Session.objects.count() == 2
    # Later the same day, today's key finds the visit directly.
    _ingest_at(rf, at("2026-03-02", "00:35:00"), "/track/abc/")
    flushed()
    visit.refresh_from_db()
    assert visit.pageviews == 3


def test_no_continuity_once_the_inactivity_timeout_has_passed(rf, flushed):
    _ingest_at(rf, at("2026-03-01", "23:40:00"), "/")
    _ingest_at(rf, at("2026-03-02", "00:20:00"), "/book/")  # 40 minutes later
    flushed()
    assert Session.objects.count() == 2


# --- consent ------------------------------------------------------------------------------------------


def _consent(client: Client, granted: bool, device: dict | None = None):
    client.get("/api/v1/analytics/consent/")  # as the banner does: it sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    body = {"granted": granted} if device is None else {"granted": granted, "device": device}
    return client.post(
        "/api/v1/analytics/consent/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )


def test_without_consent_no_device_id_is_kept_even_if_the_browser_sends_one(flushed):
    client = browser()
    client.cookies["rt_did"] = uuid.uuid4().hex  # e.g. left over from an earlier consent
    post_events(client, batch(event("pageview", "/"), device={"screen": "1920x1080", "tz": "Europe/London"}))
    client.cookies["rt_consent"] = "1.0"  # refused
    post_events(client, batch(event("pageview", "/book/")))
    flushed()
    assert Event.objects.count() == 2
    assert not Event.objects.filter(device_id__isnull=False).exists()
    assert not Session.objects.filter(device_id__isnull=False).exists()
    assert not TrackedDevice.objects.exists()


def test_granting_consent_records_it_and_gives_the_browser_a_device_id(flushed):
    client = browser()
    response = _consent(
        client,
        True,
        {"screen": "390x844", "tz": "Europe/Paris", "lang": "fr-FR", "hw": {"cores": 6, "touch": 5}},
    )
    assert response.status_code == 200
    assert response.json()["granted"] is True and response.json()["version"] == "1"
    assert client.cookies["rt_consent"].value == "1.1"
    device_cookie = client.cookies["rt_did"]
    assert device_cookie["httponly"] and device_cookie["samesite"] == "Lax"
    device_id = uuid.UUID(device_cookie.value)
    record = ConsentRecord.objects.get()
    assert (record.granted, record.version, record.device_id) == (True, "1", device_id)
    assert record.visitor_key is not None and record.created_at is not None
    device = TrackedDevice.objects.get()
    assert device.id == device_id
    assert (device.screen, device.time_zone, device.language) == ("390x844", "Europe/Paris", "fr-FR")
    assert device.hardware == {"cores": 6, "touch": 5} and device.browser == "Chrome"

    post_events(client, batch(event("pageview", "/")))
    flushed()
    session = Session.objects.get()
    assert session.device_id == device_id == session.identity
    assert Event.objects.get().device_id == device_id


def test_batches_carry_device_signals_only_with_consent(flushed):
    client = browser()
    _consent(client, True)
    post_events(client, batch(event("pageview", "/"), device={"screen": "2560x1440", "lang": "en-GB"}))
    flushed()
    assert TrackedDevice.objects.get().screen == "2560x1440"


def test_changing_the_choice_stops_device_tracking_and_keeps_the_history(flushed):
    client = browser()
    _consent(client, True)
    response = _consent(client, False)
    assert response.json()["granted"] is False
    assert client.cookies["rt_consent"].value == "1.0"
    assert client.cookies["rt_did"].value == ""  # deleted
    assert list(ConsentRecord.objects.order_by("created_at", "id").values_list("granted", flat=True)) == [
        True,
        False,
    ]
    post_events(client, batch(event("pageview", "/")))
    flushed()
    assert Event.objects.get().device_id is None


def test_a_new_consent_version_asks_again(settings, flushed):
    client = browser()
    _consent(client, True)
    settings.ANALYTICS_CONSENT_VERSION = "2"
    assert client.get("/api/v1/analytics/consent/").json()["granted"] is None
    assert 'data-ask="1"' in client.get("/").content.decode()
    post_events(client, batch(event("pageview", "/")))
    flushed()
    assert Event.objects.get().device_id is None


def test_consent_needs_the_csrf_token_and_a_clear_answer():
    forged = Client(enforce_csrf_checks=True)
    response = forged.post(
        "/api/v1/analytics/consent/", data='{"granted": true}', content_type="application/json"
    )
    assert response.status_code == 403
    assert not ConsentRecord.objects.exists()
    client = browser()
    client.get("/api/v1/analytics/consent/")
    token = client.cookies["csrftoken"].value
    for body, message in [
        ("yes", "must be JSON"),
        ('{"granted": "yes"}', 'Send {"granted": true}'),
        ('{"granted": true, "device": {"screen": "big"}}', "screen must look like"),
    ]:
        response = client.post(
            "/api/v1/analytics/consent/", data=body, content_type="application/json", HTTP_X_CSRFTOKEN=token
        )
        assert response.status_code == 400 and message in response.json()["detail"]
    assert not ConsentRecord.objects.exists()


# --- linking visitors to customers -------------------------------------------------------------------------


def _login(client: Client, user) -> None:
    client.get("/account/login/")
    response = client.post("/account/login/", {"username": user.username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302


def test_logging_in_links_the_visitor_and_its_visit_to_the_customer(flushed):
    customer = CustomerWithLoginFactory()
    client = browser()
    post_events(client, batch(event("pageview", "/"), event("pageview", "/book/")))
    flushed()
    assert Session.objects.get().customer is None
    _login(client, customer.user)
    link = VisitorLink.objects.get()
    assert (link.customer, link.source) == (customer, "login")
    assert Session.objects.get().customer == customer
    post_events(client, batch(event("pageview", "/account/repairs/")))
    flushed()
    assert Event.objects.filter(customer=customer).count() == 1  # known from the link when stored


def test_logging_in_on_two_devices_links_both_cross_device(flushed):
    customer = CustomerWithLoginFactory()
    laptop, phone = browser(CHROME_DESKTOP, "203.0.113.20"), browser(SAFARI_IPHONE, "198.51.100.30")
    for device in (laptop, phone):
        _consent(device, True)
        post_events(device, batch(event("pageview", "/")))
    flushed()
    for device in (laptop, phone):
        _login(device, customer.user)
    assert TrackedDevice.objects.filter(customer=customer).count() == 2
    sessions = Session.objects.filter(customer=customer)
    assert sorted(sessions.values_list("device_type", flat=True)) == ["desktop", "mobile"]
    # A new visit from either device is the customer's from its first event.
    post_events(phone, {"sent_at": None, "events": [event("pageview", "/track/x/")]})
    flushed()
    assert Event.objects.filter(path="/track/{token}/").get().customer == customer


def test_booking_links_the_anonymous_visitor_to_the_new_customer(transactional_db, flushed):
    """The booking commits for real, so the event is published inside the booking request."""
    client = browser()
    client.get("/book/")
    post_events(client, batch(event("pageview", "/book/"), event("booking_started", "/book/")))
    response = client.post("/book/", BOOKING)
    assert response.status_code == 302
    flushed()
    customer = Customer.objects.get(email="ada@example.com")
    assert VisitorLink.objects.get().customer == customer
    assert VisitorLink.objects.get().source == "booking"
    completed = Event.objects.get(type=EventType.BOOKING_COMPLETED)
    assert completed.customer == customer and completed.props["server"] is True
    visit = Session.objects.get()
    assert completed.session == visit and visit.customer == customer and visit.converted


def test_staff_booking_for_a_walk_in_does_not_link_the_staff_browser(transactional_db, flushed):
    staff = StaffFactory()
    client = browser()
    _login(client, staff)
    client.post("/book/", BOOKING)
    flushed()
    assert not VisitorLink.objects.exists()
    completed = Event.objects.get(type=EventType.BOOKING_COMPLETED)
    assert completed.session is None and completed.visitor_key is None
    assert completed.customer == Customer.objects.get(email="ada@example.com")


def test_identity_helpers_ignore_garbage_cookies(rf):
    request = rf.get("/", HTTP_USER_AGENT=CHROME_DESKTOP, REMOTE_ADDR=IP)
    request.COOKIES = {"rt_consent": "1.1", "rt_did": "not-a-uuid"}
    found = identity.identity_from_request(request)
    assert found.consent is True and found.device_id is None and found.visitor_key is not None
    request.COOKIES = {"rt_consent": "banana"}
    assert identity.identity_from_request(request).consent is False
    assert identity.consent_from_cookie("0.1") is None  # another version
    assert timedelta(hours=48) == identity.SALT_KEEP
