"""``manage.py seed_dashboard_demo``: a week of demo visits for the live dashboard (/dashboard/).

Stores synthetic visits through the real storage (sessions, events, hourly and daily rollups), so
every panel has something to show: traffic by hour and day, devices, browsers, countries, sources,
top pages (only pages the site has), the booking funnel, web vitals, rage clicks in the activity
feed, and a few visitors "now". Runs once (skipped when demo visits exist), ``--force`` adds
another week.
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from analytics.models import Event, EventType
from analytics.services.storage import store_batches
from analytics.services.validation import vital_rating

DEVICES = [("desktop", "Windows", 5), ("mobile", "Android", 3), ("mobile", "iOS", 3), ("tablet", "iPadOS", 1)]
BROWSERS = {"Windows": ["Chrome", "Edge", "Firefox"], "Android": ["Chrome", "Samsung Internet"],
            "iOS": ["Safari"], "iPadOS": ["Safari"]}  # fmt: skip
COUNTRIES = ["GB"] * 8 + ["IE", "FR", "DE", "US", "NL", "ES"]
SOURCES = [""] * 6 + ["google", "google", "facebook", "newsletter", "bing"]
#: The site's own customer pages, as the ingestion stores them (routes, never tracking tokens).
PAGES = ["/", "/", "/", "/book/", "/track/{token}/", "/track/{token}/receipt/", "/account/repairs/"]
#: Web vitals per page view: a typical value (ms; CLS unitless) and a spread factor.
VITALS = {"LCP": (1900, 0.5), "FCP": (1100, 0.4), "TTFB": (350, 0.6), "INP": (140, 0.6), "CLS": (0.05, 0.9)}


class Command(BaseCommand):
    help = "Store a week of demo visits so the live dashboard has figures to show."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="add visits even if demo visits exist")
        parser.add_argument("--visits", type=int, default=400)

    def handle(self, *args, **options):
        if not options["force"] and Event.objects.filter(props__demo=True).exists():
            self.stdout.write("Dashboard demo visits already stored (use --force to add more).")
            return
        rng = random.Random()
        now = timezone.now()
        batches = []
        for index in range(options["visits"]):
            # Most visits spread over the last 7 days; a few in the last minutes ("visitors now").
            ago = (
                timedelta(minutes=rng.uniform(0, 4)) if index < 5 else timedelta(hours=rng.uniform(0.1, 167))
            )
            batches.append(self._visit(rng, now - ago))
        result = store_batches(batches)
        self.stdout.write(
            self.style.SUCCESS(f"Stored {result.events} demo events in {result.sessions_created} visits.")
        )

    def _visit(self, rng: random.Random, start) -> dict:
        device_type, os_name, _ = rng.choices(DEVICES, [d[2] for d in DEVICES])[0]
        props = {"demo": True}
        first = {**props, "utm": {"utm_source": rng.choice(SOURCES)}}
        moment = start
        events = []

        def add(event_type: int, path: str, extra: dict | None = None) -> None:
            events.append([event_type, int(moment.timestamp() * 1000), path, {**props, **(extra or {})}])

        pages = [rng.choice(PAGES)] + [rng.choice(PAGES) for _ in range(rng.choice([0, 0, 1, 2, 3]))]
        for number, path in enumerate(pages):
            add(EventType.PAGEVIEW, path, first if number == 0 else None)
            for name, (typical, spread) in VITALS.items():
                if name == "INP" and rng.random() < 0.4:
                    continue  # no interaction on this page
                value = round(typical * rng.lognormvariate(0, spread), 4 if name == "CLS" else 0)
                rating = vital_rating(name, value)
                add(EventType.WEB_VITAL, path, {"name": name, "value": value, "rating": rating})
            if rng.random() < 0.04:
                add(EventType.RAGE_CLICK, path, {"selector": "#book-button"})
            dwell = rng.randint(3, 90)
            moment += timedelta(seconds=dwell)
            add(EventType.PAGE_LEAVE, path, {"engaged_ms": dwell * 1000})
        if "/book/" in pages and rng.random() < 0.6:
            add(EventType.BOOKING_STARTED, "/book/")
            if rng.random() < 0.5:
                moment += timedelta(seconds=rng.randint(40, 200))
                add(EventType.BOOKING_COMPLETED, "/book/")
                if rng.random() < 0.6:
                    add(EventType.QUOTE_APPROVED, "/track/{token}/")
                    add(
                        EventType.PAYMENT_SUCCEEDED,
                        "/track/{token}/",
                        {"amount": rng.choice([4900, 8900, 12900]), "currency": "GBP"},
                    )
        return {
            "ctx": {
                "vk": uuid.uuid4().hex,
                "pvk": None,
                "did": None,
                "cid": None,
                "dt": device_type,
                "br": rng.choice(BROWSERS[os_name]),
                "os": os_name,
                "cc": rng.choice(COUNTRIES),
                "dev": None,
            },
            "ev": events,
        }
