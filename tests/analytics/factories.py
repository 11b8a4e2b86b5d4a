"""Factories and builders for analytics tests: model rows, tracker events and batches."""

from __future__ import annotations

import copy
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import factory
from django.utils import timezone

from analytics.models import ConsentRecord, Session, TrackedDevice, VisitorLink
from analytics.services import buffer

MIDDLEWARE = "analytics.middleware.AnalyticsRequestMiddleware"

CHROME_DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
SAFARI_IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
CHROME_ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HEADLESS_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/130.0.0.0 Safari/537.36"
)
CURL = "curl/8.5.0"


def now_ms() -> int:
    return int(time.time() * 1000)


def at(day: str, clock: str = "12:00:00") -> datetime:
    """A UTC moment: ``at("2026-03-02", "09:30:00")``."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def event(type_: str, path: str = "/", t: int | None = None, **fields: Any) -> dict[str, Any]:
    """One tracker event as the browser sends it."""
    return {"type": type_, "t": now_ms() if t is None else t, "path": path, **fields}


def batch(*events: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"sent_at": now_ms(), "events": list(events), **extra}


def post_events(
    client, body: Any, *, ua: str | None = None, ip: str | None = None, raw: bytes | None = None, **headers
):
    """POST a batch to /api/v1/events/ as a browser would (text/plain, as sendBeacon sends it);
    the user agent and address default to the client's own, else a desktop Chrome."""
    data = raw if raw is not None else json.dumps(body)
    return client.post(
        "/api/v1/events/",
        data=data,
        content_type="text/plain;charset=UTF-8",
        HTTP_USER_AGENT=client.defaults.get("HTTP_USER_AGENT", CHROME_DESKTOP) if ua is None else ua,
        REMOTE_ADDR=ip or client.defaults.get("REMOTE_ADDR", "203.0.113.7"),
        **headers,
    )


# --- stored batches with chosen identities and times (the ingestion's internal shape) --------------------


class Visitor:
    """A browser, as the storage sees it: an anonymous key, or a consented device."""

    def __init__(
        self,
        *,
        device: bool = False,
        customer_id: int | None = None,
        device_type: str = "desktop",
        browser: str = "Chrome",
        os: str = "Windows",
        country: str = "GB",
    ):
        self.visitor_key = uuid.uuid4()
        self.device_id = uuid.uuid4() if device else None
        self.customer_id = customer_id
        self.device_type, self.browser, self.os, self.country = device_type, browser, os, country

    def as_customer(self, customer_id: int) -> Visitor:
        """The same browser in a request the server knows is the customer's (e.g. the booking)."""
        twin = copy.copy(self)
        twin.customer_id = customer_id
        return twin

    @classmethod
    def server(cls, customer_id: int) -> Visitor:
        """No browser at all: a server-side event about a customer (e.g. a payment webhook)."""
        visitor = cls(customer_id=customer_id, device_type="", browser="", os="", country="")
        visitor.visitor_key = None
        return visitor

    def ctx(self, previous_key: uuid.UUID | None = None) -> dict[str, Any]:
        return {
            "vk": self.visitor_key.hex if self.visitor_key else None,
            "pvk": previous_key.hex if previous_key else None,
            "did": self.device_id.hex if self.device_id else None,
            "cid": self.customer_id,
            "dt": self.device_type,
            "br": self.browser,
            "os": self.os,
            "cc": self.country,
            "dev": None,
        }


def store(visitor: Visitor, *events: tuple, previous_key: uuid.UUID | None = None) -> None:
    """Hand events ``(type, moment, path, props)`` of one visitor to the buffer, as ingestion does.
    Call the ``flushed`` fixture afterwards (Redis mode)."""
    from analytics.models import EVENT_TYPE_BY_NAME

    rows = [[EVENT_TYPE_BY_NAME[e[0]], ms(e[1]), e[2], e[3] if len(e) > 3 else {}] for e in events]
    buffer.enqueue({"ctx": visitor.ctx(previous_key), "ev": rows})


# --- model rows ------------------------------------------------------------------------------------------


class TrackedDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrackedDevice

    id = factory.LazyFunction(uuid.uuid4)
    first_seen_at = factory.LazyFunction(timezone.now)
    last_seen_at = factory.LazyFunction(timezone.now)
    browser = "Chrome"
    os = "Windows"
    device_type = "desktop"


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    identity = factory.LazyFunction(uuid.uuid4)
    visitor_key = factory.SelfAttribute("identity")
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=5))
    last_seen_at = factory.LazyFunction(timezone.now)
    entry_path = "/"
    exit_path = "/"
    pageviews = 1
    events = 1
    pages = factory.LazyFunction(lambda: ["/"])


class VisitorLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VisitorLink

    visitor_key = factory.LazyFunction(uuid.uuid4)
    source = "login"
    linked_at = factory.LazyFunction(timezone.now)


class ConsentRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentRecord

    granted = True
    version = "1"
    device_id = factory.LazyFunction(uuid.uuid4)
    created_at = factory.LazyFunction(timezone.now)
