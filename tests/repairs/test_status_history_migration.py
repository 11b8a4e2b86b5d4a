"""Migration 0008: old StatusChange rows end up in the event log, the one status history."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.apps import apps
from django.db import migrations

from repairs import services
from repairs.models import EventKind, StatusChange, TicketEvent
from repairs.selectors import status_history
from tests.factories import advance

pytestmark = pytest.mark.django_db

migration = importlib.import_module("repairs.migrations.0008_status_history_from_events")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def legacy_rows(ticket) -> None:
    """What the previous release also wrote: a StatusChange row per status event, at its time (the
    services write them too, at the real time: replaced here by rows with the events' times)."""
    StatusChange.objects.filter(ticket=ticket).delete()
    for move in status_history(ticket):
        row = StatusChange.objects.create(
            ticket=ticket,
            from_status=move.from_status,
            to_status=move.to_status,
            changed_by=move.changed_by,
            note=move.note,
        )
        StatusChange.objects.filter(pk=row.pk).update(created_at=move.created_at)


def moves(ticket) -> list[tuple]:
    return [(m.from_status, m.to_status, m.changed_by, m.note, m.created_at) for m in status_history(ticket)]


def test_an_erased_customers_moves_come_back_from_the_old_rows(ticket, technician):
    with time_machine.travel(T0, tick=False) as clock:
        advance(ticket, "received", "diagnosing", by=technician)
        clock.shift(timedelta(hours=2))
        advance(ticket, "awaiting_approval", by=technician)
        services.decide_quote(ticket, approved=False)
    legacy_rows(ticket)
    # The previous release's erasure: notes blanked in StatusChange, every event cut to its snapshot.
    StatusChange.objects.filter(ticket=ticket).update(note="")
    for event in TicketEvent.objects.filter(ticket=ticket):
        event.payload = {"ticket": event.payload["ticket"]}
        event.save(update_fields=["payload"])
    assert status_history(ticket) == []

    migration.backfill(apps, None)

    assert moves(ticket) == [
        ("booked", "received", technician, "", T0),
        ("received", "diagnosing", technician, "", T0),
        ("diagnosing", "awaiting_approval", technician, "", T0 + timedelta(hours=2)),
        ("awaiting_approval", "cancelled", None, "", T0 + timedelta(hours=2)),
    ]
    declined = ticket.events.get(kind=EventKind.QUOTE_DECIDED).payload
    assert declined == {"ticket": declined["ticket"], "from": "awaiting_approval", "to": "cancelled"}


def test_a_status_change_without_an_event_is_added_to_the_log_unseen_by_the_customer(ticket, technician):
    with time_machine.travel(T0, tick=False):
        advance(ticket, "received", by=technician)
    legacy_rows(ticket)
    lost = StatusChange.objects.create(
        ticket=ticket, from_status="received", to_status="diagnosing", changed_by=technician, note="Bench 2"
    )
    StatusChange.objects.filter(pk=lost.pk).update(created_at=T0 + timedelta(minutes=5))

    migration.backfill(apps, None)

    ticket.refresh_from_db()
    assert ticket.last_event_seq == 3
    added = ticket.events.get(seq=3)
    assert (added.kind, added.customer_visible, added.actor) == (EventKind.STATUS_CHANGED, False, technician)
    assert moves(ticket) == [
        ("booked", "received", technician, "", T0),
        ("received", "diagnosing", technician, "Bench 2", T0 + timedelta(minutes=5)),
    ]


def test_running_it_again_changes_nothing_and_backward_is_a_no_op(ticket, technician):
    advance(ticket, "received", "diagnosing", by=technician)
    legacy_rows(ticket)
    before = list(TicketEvent.objects.order_by("pk").values())
    migration.backfill(apps, None)
    migration.backfill(apps, None)
    assert list(TicketEvent.objects.order_by("pk").values()) == before
    (operation,) = migration.Migration.operations
    assert operation.reversible and operation.reverse_code is migrations.RunPython.noop
