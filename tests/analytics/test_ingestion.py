"""POST /api/v1/events/: validation, partial batches, limits, bots, privacy signals, enrichment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from analytics.models import Event, EventRollup, EventType, Session
from tests.analytics.factories import (
    CHROME_ANDROID_PHONE,
    CHROME_DESKTOP,
    CURL,
    FIREFOX_LINUX,
    GOOGLEBOT,
    HEADLESS_CHROME,
    SAFARI_IPAD,
    SAFARI_IPHONE,
    batch,
    event,
    now_ms,
    post_events,
)
from tests.factories import DEFAULT_PASSWORD, CustomerWithLoginFactory, make_ticket

pytestmark = pytest.mark.django_db


def stored_types() -> list[str]:
    return [e.type_name for e in Event.objects.order_by("occurred_at", "id")]


# --- good, malformed and partly bad batches -----------------------------------------------------------


def test_a_good_batch_is_stored_with_its_session_and_rollups(client, flushed):
    response = post_events(
        client,
        batch(
            event(
                "pageview",
                "/book/",
                utm={"utm_source": "newsletter", "utm_medium": "email"},
                ref="https://www.google.com/search?q=repair",
            ),
            event("scroll", "/book/", depth=50),
            event("click", "/book/", sel="main>button.button", x=10, y=300, text="Book my repair"),
        ),
    )
    assert response.status_code == 202, response.json()
    assert response.json() == {"detail": "Stored 3 events.", "errors": {}, "accepted": 3, "rejected": 0}
    flushed()
    assert stored_types() == ["pageview", "scroll", "click"]
    pageview = Event.objects.get(type=EventType.PAGEVIEW)
    assert (pageview.browser, pageview.os, pageview.device_type) == ("Chrome", "Windows", "desktop")
    assert pageview.props["ref"] == "www.google.com"  # the host only, never the query
    session = Session.objects.get()
    assert (
        session.entry_path == "/book/"
        and session.utm_source == "newsletter"
        and session.utm_medium == "email"
    )
    assert session.referrer_host == "www.google.com" and session.events == 3 and session.pageviews == 1
    assert Event.objects.filter(session=session).count() == 3
    assert EventRollup.objects.get(type=EventType.PAGEVIEW).count == 1
    assert EventRollup.objects.get(type=EventType.SCROLL).utm_source == "newsletter"


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (b"{not json", 400, "The body is not valid JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        (b'{"events": []}', 400, "'events' must be a non-empty list"),
        (b'{"events": [], "extra": 1}', 400, "Unknown fields: extra"),
        (b'{"events": [{"type": "pageview"}], "sent_at": "yesterday"}', 400, "'sent_at' must be"),
        (b"\xff\xfe\x00", 400, "The body is not valid JSON"),
    ],
)
def test_malformed_bodies_are_refused_with_a_message(client, raw, status, message):
    response = post_events(client, None, raw=raw)
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert not Event.objects.exists()


def test_a_partly_bad_batch_keeps_its_valid_events_and_lists_the_others(client, flushed):
    response = post_events(
        client,
        batch(
            event("pageview", "/"),
            event("scroll", "/", depth=33),
            event("teleport", "/"),
            event("click", "/", x=-5, y=1),
            "not an event",
            event("page_leave", "/", engaged_ms=4200),
        ),
    )
    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 4)
    assert body["detail"] == "Stored 2 events; refused 4 (see errors)."
    assert body["errors"]["events[1].depth"] == ["Must be one of: 25, 50, 75, 100."]
    assert body["errors"]["events[2].type"][0].startswith(
        "Unknown type 'teleport'. Known types: pageview, click"
    )
    assert body["errors"]["events[3].x"] == ["Must be between 0 and 1000000."]
    assert body["errors"]["events[3].sel"] == ["This field is required."]
    assert body["errors"]["events[4]"] == ["Each event must be a JSON object."]
    flushed()
    assert stored_types() == ["pageview", "page_leave"]


def test_a_batch_without_any_valid_event_is_a_400_with_every_error(client):
    response = post_events(client, batch(event("scroll", "/", depth=10), event("pageview", "no-slash")))
    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith("Invalid input. No event in the batch is valid; events[0].depth:")
    assert set(body["errors"]) == {"events[0].depth", "events[1].path"}
    assert body["rejected"] == 2


@pytest.mark.parametrize(
    ("bad_event", "field", "message"),
    [
        ({"type": "pageview", "path": "/"}, "t", "This field is required."),
        (event("pageview", "/", t=now_ms() + 3_600_000), "t", "Is in the future."),
        (event("pageview", "/", t=now_ms() - 25 * 3_600_000), "t", "Is more than 24 hours old."),
        (event("pageview", "/", color="red"), "color", "Unknown field for a pageview event."),
        (
            event("pageview", "/", utm={"utm_source": "x", "gclid": "1"}),
            "utm",
            "Unknown parameters: gclid; only utm_*",
        ),
        (event("web_vital", "/", name="FID", value=12), "name", "Must be one of: LCP, INP, CLS, FCP, TTFB."),
        (event("web_vital", "/", name="LCP", value="fast"), "value", "Must be a number."),
        (event("custom", "/", name="bad name!"), "name", "Must be 1-64 letters, digits or _.:-"),
        (
            event("custom", "/", name="ok", props={"k": {"nested": 1}}),
            "props",
            "Property 'k' must be a string",
        ),
        (event("field_focus", "/", form="/book/"), "field", "This field is required."),
        (event("rage_click", "/", sel="p", x=1, y=1, count=2), "count", "Must be between 3 and 1000."),
        (event("js_error", "/", message=""), "message", "Must not be empty."),
        (event("click", "/", sel="a", x=1, y=True), "y", "Must be a whole number."),
    ],
)
def test_each_event_type_is_checked_field_by_field(client, bad_event, field, message):
    response = post_events(client, batch(event("pageview", "/"), bad_event))
    assert response.status_code == 202
    errors = response.json()["errors"]
    assert any(message in text for text in errors[f"events[1].{field}"]), errors


def test_every_event_type_the_tracker_sends_is_accepted(client, flushed):
    events = [
        event("pageview", "/", nav="history"),
        event("click", "/", sel="a#x", x=1, y=2),
        event("scroll", "/", depth=100),
        event("form_start", "/book/", form="/book/"),
        event("field_focus", "/book/", form="/book/", field="email"),
        event("form_submit", "/book/", form="/book/"),
        event("form_abandon", "/book/", form="/book/", field="phone"),
        event("booking_started", "/book/"),
        event("booking_completed", "/book/"),
        event("quote_approved", "/"),
        event("quote_declined", "/"),
        event("payment_started", "/"),
        event("payment_succeeded", "/"),
        event("payment_failed", "/"),
        event("rage_click", "/", sel="h1", x=5, y=5, count=4),
        event("dead_click", "/", sel="h1", x=5, y=5),
        event("exit_intent", "/"),
        event("page_leave", "/", engaged_ms=1500),
        event("web_vital", "/", name="CLS", value=0.3),
        event(
            "js_error", "/", message="x is undefined", source="https://cdn.example/app.js?v=2", line=3, col=9
        ),
        event("custom", "/", name="faq.opened", props={"topic": "batteries", "helpful": True}),
    ]
    response = post_events(client, batch(*events))
    assert response.json()["accepted"] == 21
    flushed()
    assert len(set(stored_types())) == 21
    vital = Event.objects.get(type=EventType.WEB_VITAL)
    assert vital.props == {"name": "CLS", "value": 0.3, "rating": "poor"}
    error = Event.objects.get(type=EventType.JS_ERROR)
    assert error.props["source"] == "/app.js"


@pytest.mark.parametrize(
    ("name", "value", "rating"),
    [
        ("LCP", 2500, "good"),
        ("LCP", 2501, "needs-improvement"),
        ("LCP", 4001, "poor"),
        ("INP", 200, "good"),
        ("INP", 499, "needs-improvement"),
        ("CLS", 0.1, "good"),
        ("CLS", 0.25, "needs-improvement"),
        ("FCP", 1800, "good"),
        ("FCP", 3001, "poor"),
        ("TTFB", 800, "good"),
        ("TTFB", 1801, "poor"),
    ],
)
def test_web_vitals_are_rated_with_the_standard_thresholds(client, flushed, name, value, rating):
    post_events(client, batch(event("web_vital", "/", name=name, value=value)))
    flushed()
    assert Event.objects.get().props["rating"] == rating


def test_the_client_clock_is_corrected_by_its_skew(client, flushed):
    skew = 2 * 3_600_000  # the visitor's clock is two hours behind
    sent = now_ms() - skew
    post_events(client, {"sent_at": sent, "events": [event("pageview", "/", t=sent - 1000)]})
    flushed()
    stored = Event.objects.get().occurred_at.timestamp() * 1000
    assert abs(stored - (now_ms() - 1000)) < 5000


# --- limits --------------------------------------------------------------------------------------------


def test_too_many_events_in_one_batch_is_a_413(client, settings):
    settings.ANALYTICS_MAX_BATCH_EVENTS = 5
    response = post_events(client, batch(*[event("pageview", "/")] * 6))
    assert response.status_code == 413
    assert response.json()["detail"] == "Too many events in one batch: 6; send at most 5 per request."


def test_a_body_over_the_size_limit_is_a_413(client, settings):
    settings.ANALYTICS_MAX_BODY_BYTES = 200
    response = post_events(client, batch(*[event("pageview", "/")] * 5))
    assert response.status_code == 413
    assert "larger than 200 bytes, the limit" in response.json()["detail"]


def test_rate_limit_per_ip_is_a_429_with_retry_after(client, settings):
    settings.ANALYTICS_RATE_LIMIT_IP_PER_MINUTE = 3
    settings.ANALYTICS_RATE_LIMIT_VISITOR_PER_MINUTE = 0
    agents = [CHROME_DESKTOP, FIREFOX_LINUX, SAFARI_IPHONE, SAFARI_IPAD]  # four visitors behind one address
    statuses = [post_events(client, batch(event("pageview", "/")), ua=ua).status_code for ua in agents]
    assert statuses == [202, 202, 202, 429]
    response = post_events(client, batch(event("pageview", "/")), ip="198.51.100.1")
    assert response.status_code == 202  # another address is not limited
    limited = post_events(client, batch(event("pageview", "/")))
    assert limited.json()["detail"].startswith("Too many requests from this address: at most 3 per minute.")
    assert 0 < int(limited["Retry-After"]) <= 60


def test_rate_limit_per_visitor(client, settings):
    settings.ANALYTICS_RATE_LIMIT_IP_PER_MINUTE = 0
    settings.ANALYTICS_RATE_LIMIT_VISITOR_PER_MINUTE = 2
    statuses = [post_events(client, batch(event("pageview", "/"))).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
    assert post_events(client, batch(event("pageview", "/")), ua=FIREFOX_LINUX).status_code == 202


# --- who is not counted ----------------------------------------------------------------------------------


@pytest.mark.parametrize("agent", [GOOGLEBOT, CURL, HEADLESS_CHROME, "", "python-requests/2.32"])
def test_bots_and_scripts_are_ignored(client, flushed, agent):
    response = post_events(client, batch(event("pageview", "/")), ua=agent)
    assert response.status_code == 202
    assert response.json()["accepted"] == 0 and "automated clients" in response.json()["detail"]
    flushed()
    assert not Event.objects.exists()


@pytest.mark.parametrize("header", [{"HTTP_DNT": "1"}, {"HTTP_SEC_GPC": "1"}])
def test_do_not_track_and_global_privacy_control_are_respected(client, flushed, header):
    response = post_events(client, batch(event("pageview", "/")), **header)
    assert response.status_code == 202 and response.json()["accepted"] == 0
    assert "asks not to be tracked" in response.json()["detail"]
    flushed()
    assert not Event.objects.exists()


# --- enrichment -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "device_type", "browser", "os"),
    [
        (CHROME_DESKTOP, "desktop", "Chrome", "Windows"),
        (SAFARI_IPHONE, "mobile", "Mobile Safari", "iOS"),
        (SAFARI_IPAD, "tablet", "Mobile Safari", "iOS"),
        (CHROME_ANDROID_PHONE, "mobile", "Chrome Mobile", "Android"),
        (FIREFOX_LINUX, "desktop", "Firefox", "Linux"),
    ],
)
def test_the_user_agent_is_parsed(client, flushed, agent, device_type, browser, os):
    post_events(client, batch(event("pageview", "/")), ua=agent)
    flushed()
    stored = Event.objects.get()
    assert (stored.device_type, stored.browser, stored.os) == (device_type, browser, os)


def test_tracking_tokens_in_paths_are_never_stored(client, flushed):
    ticket = make_ticket()
    post_events(client, batch(event("pageview", f"/track/{ticket.tracking_token}/")))
    flushed()
    assert Event.objects.get().path == "/track/{token}/"
    assert ticket.tracking_token not in json.dumps(list(Session.objects.values()), default=str)


def _geoip_database(path: Path) -> Path:
    writer = MMDBWriter(
        ip_version=6, ipv4_compatible=True, database_type="GeoLite2-Country", languages=["en"]
    )
    writer.insert_network(
        IPSet(["81.2.69.0/24"]), {"country": {"iso_code": "GB", "names": {"en": "United Kingdom"}}}
    )
    writer.insert_network(
        IPSet(["2a01:e0a::/32"]), {"country": {"iso_code": "FR", "names": {"en": "France"}}}
    )
    writer.to_db_file(str(path))
    return path


def test_country_comes_from_the_geoip_database_when_configured(client, flushed, settings, tmp_path):
    settings.ANALYTICS_GEOIP_DATABASE = str(_geoip_database(tmp_path / "countries.mmdb"))
    post_events(client, batch(event("pageview", "/a/")), ip="81.2.69.160")
    post_events(client, batch(event("pageview", "/b/")), ip="2a01:e0a:1::7")
    post_events(client, batch(event("pageview", "/c/")), ip="192.0.2.1")  # not in the database
    flushed()
    assert dict(Event.objects.values_list("path", "country")) == {"/a/": "GB", "/b/": "FR", "/c/": ""}


def test_the_proxy_country_header_is_used_only_when_a_setting_names_it(client, flushed, settings):
    post_events(client, batch(event("pageview", "/untrusted/")), HTTP_CF_IPCOUNTRY="DE")
    settings.ANALYTICS_COUNTRY_HEADER = "CF-IPCountry"
    post_events(client, batch(event("pageview", "/trusted/")), HTTP_CF_IPCOUNTRY="de", ip="198.51.100.2")
    post_events(client, batch(event("pageview", "/tor/")), HTTP_CF_IPCOUNTRY="T1", ip="198.51.100.3")
    flushed()
    assert dict(Event.objects.values_list("path", "country")) == {
        "/untrusted/": "",
        "/trusted/": "DE",
        "/tor/": "",
    }


def test_geoip_wins_over_the_header_and_the_header_fills_its_gaps(client, flushed, settings, tmp_path):
    settings.ANALYTICS_GEOIP_DATABASE = str(_geoip_database(tmp_path / "countries.mmdb"))
    settings.ANALYTICS_COUNTRY_HEADER = "HTTP_CF_IPCOUNTRY"
    post_events(client, batch(event("pageview", "/known/")), ip="81.2.69.1", HTTP_CF_IPCOUNTRY="US")
    post_events(client, batch(event("pageview", "/unknown/")), ip="192.0.2.9", HTTP_CF_IPCOUNTRY="US")
    flushed()
    assert dict(Event.objects.values_list("path", "country")) == {"/known/": "GB", "/unknown/": "US"}


def test_forwarded_for_is_believed_only_from_trusted_proxies(client, flushed, settings, tmp_path):
    settings.ANALYTICS_GEOIP_DATABASE = str(_geoip_database(tmp_path / "countries.mmdb"))
    forwarded = {"HTTP_X_FORWARDED_FOR": "81.2.69.5, 10.0.0.2"}
    post_events(client, batch(event("pageview", "/direct/")), ip="10.0.0.1", **forwarded)
    settings.ANALYTICS_TRUSTED_PROXIES = ["10.0.0.0/8"]
    post_events(client, batch(event("pageview", "/proxied/")), ip="10.0.0.1", **forwarded)
    # A client cannot smuggle an address past the proxy: only hops the proxies added count.
    post_events(client, batch(event("pageview", "/spoofed/")), ip="192.0.2.50", **forwarded)
    flushed()
    assert dict(Event.objects.values_list("path", "country")) == {
        "/direct/": "",
        "/proxied/": "GB",
        "/spoofed/": "",
    }


def test_the_raw_ip_address_is_never_stored(client, flushed, settings):
    settings.ANALYTICS_TRUSTED_PROXIES = ["10.0.0.0/8"]
    post_events(
        client,
        batch(event("pageview", "/"), event("click", "/", sel="a", x=1, y=1)),
        ip="10.1.2.3",
        HTTP_X_FORWARDED_FOR="81.2.69.77",
    )
    flushed()
    from django.apps import apps

    dump = json.dumps(
        [list(model.objects.values()) for model in apps.get_app_config("analytics").get_models()], default=str
    )
    assert "81.2.69.77" not in dump and "10.1.2.3" not in dump
    assert Event.objects.count() == 2


def test_logged_in_customers_post_without_a_csrf_token(flushed):
    customer = CustomerWithLoginFactory()
    browser = Client(enforce_csrf_checks=True)
    assert browser.login(username=customer.user.username, password=DEFAULT_PASSWORD)
    response = post_events(browser, batch(event("pageview", "/")))
    assert response.status_code == 202
    flushed()
    assert Event.objects.count() == 1


def test_only_post_is_allowed(client):
    response = client.get("/api/v1/events/")
    assert response.status_code == 405
    assert response.json()["detail"] == 'Method "GET" not allowed.'


def test_a_cache_outage_skips_rate_limits_instead_of_refusing_everyone(client, flushed, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "revivatech.cache.SharedRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    settings.ANALYTICS_RATE_LIMIT_IP_PER_MINUTE = 1
    statuses = [post_events(client, batch(event("pageview", "/"))).status_code for _ in range(2)]
    assert statuses == [202, 202]
    assert "rate limits skipped" in caplog.text


def test_non_standard_utm_parameters_are_dropped(client, flushed):
    post_events(client, batch(event("pageview", "/", utm={"utm_source": "flyer", "utm_id": "7"})))
    flushed()
    assert Event.objects.get().props == {"utm": {"utm_source": "flyer"}}
    assert Session.objects.get().utm_source == "flyer"
