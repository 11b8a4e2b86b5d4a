"""GDPR export and erasure of a customer, across every app.

:func:`export_customer` and :func:`erase_customer` walk ``revivatech.privacy.providers()``: each
app registered how to export and erase what it holds (repairs: profile, tickets; notifications;
payments; analytics: see :func:`export_analytics_data`). Erasure runs all of them in one
transaction, in ``erase_order`` (analytics first, since it finds its data through the customer's
links, and repairs, which anonymises the customer, last).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from revivatech import privacy

from .. import selectors
from ..models import EVENT_NAME_BY_TYPE, ConsentRecord, Session, TrackedDevice, VisitorLink

ARCHIVE_FORMAT = "revivatech-personal-data/1"


# --- the analytics app's own section --------------------------------------------------------------------


def _consents(customer_id: int, traces: selectors.CustomerTraces) -> QuerySet[ConsentRecord]:
    return ConsentRecord.objects.filter(
        Q(customer_id=customer_id)
        | Q(device_id__in=traces.device_ids)
        | Q(visitor_key__in=traces.visitor_keys)
    )


def export_analytics_data(customer) -> dict[str, Any]:
    """Devices, visitor links, consent records, sessions and events linked to the customer."""
    traces = selectors.customer_traces(customer.pk)
    return {
        "devices": list(
            TrackedDevice.objects.filter(id__in=traces.device_ids).values(
                "id",
                "first_seen_at",
                "last_seen_at",
                "linked_at",
                "device_type",
                "browser",
                "os",
                "screen",
                "time_zone",
                "language",
                "hardware",
            )
        ),
        "visitor_links": list(
            VisitorLink.objects.filter(customer_id=customer.pk).values("visitor_key", "source", "linked_at")
        ),
        "consents": list(
            _consents(customer.pk, traces)
            .order_by("created_at")
            .values("granted", "version", "device_id", "visitor_key", "created_at")
        ),
        "sessions": list(
            Session.objects.filter(id__in=traces.session_ids)
            .order_by("started_at")
            .values(
                "id",
                "started_at",
                "last_seen_at",
                "entry_path",
                "exit_path",
                "pageviews",
                "engaged_ms",
                "pages",
                "referrer_host",
                "utm_source",
                "utm_medium",
                "utm_campaign",
                "device_type",
                "browser",
                "os",
                "country",
            )
        ),
        "events": [
            {**row, "type": EVENT_NAME_BY_TYPE.get(row["type"], row["type"])}
            for row in traces.events(customer.pk)
            .order_by("occurred_at", "id")
            .values("occurred_at", "type", "path", "props", "session_id", "device_type", "browser", "country")
        ],
    }


def erase_analytics_data(customer) -> dict[str, int]:
    """Delete everything analytics links to the customer. Rollups (anonymous counts) stay."""
    traces = selectors.customer_traces(customer.pk)
    events, _ = traces.events(customer.pk).delete()
    sessions, _ = Session.objects.filter(id__in=traces.session_ids).delete()
    consents, _ = _consents(customer.pk, traces).delete()
    links, _ = VisitorLink.objects.filter(customer_id=customer.pk).delete()
    devices, _ = TrackedDevice.objects.filter(id__in=traces.device_ids).delete()
    return {
        "events": events,
        "sessions": sessions,
        "consents": consents,
        "visitor_links": links,
        "devices": devices,
    }


# --- every app ---------------------------------------------------------------------------------------------


def export_customer(customer, now: datetime | None = None) -> dict[str, Any]:
    """One JSON-serialisable archive with every app's section."""
    return {
        "format": ARCHIVE_FORMAT,
        "customer_id": customer.pk,
        "generated_at": (now or timezone.now()).isoformat(),
        "sections": {provider.section: provider.export(customer) for provider in privacy.providers()},
    }


def archive_json(archive: dict[str, Any]) -> str:
    return json.dumps(archive, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)


@transaction.atomic
def erase_customer(customer) -> dict[str, dict[str, int]]:
    """Erase or anonymise the customer in every app, all or nothing. Returns counts per section."""
    return {provider.section: provider.erase(customer) for provider in privacy.providers()}
