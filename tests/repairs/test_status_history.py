"""A ticket's status history as each reader shows it: the admin's table and ready-by's status log, also
after the customer's erasure. Times are frozen, so every value is pinned exactly."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib import admin

from repairs import services
from repairs.models import RepairTicket, StatusChange
from repairs.privacy import erase_customer_data
from repairs.readyby.calendar import shop_calendar
from repairs.readyby.features import live_snapshot, load_histories
from repairs.selectors import status_events
from tests.factories import advance, make_ticket

pytestmark = pytest.mark.django_db

# Monday 7 December 2026, 09:00 in London (UTC in winter).
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
ROW = re.compile(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>")


@pytest.fixture
def moved(ticket, technician, staff_user):
    """Every way a status moves: a transition with a note, a declined quote (by the customer, no
    login), the shop reopening it, and an approval."""
    with time_machine.travel(T0, tick=False) as clock:
        services.transition_ticket(ticket, "received", by=technician, note="  At the bench ")
        clock.shift(HOUR)
        services.transition_ticket(ticket, "diagnosing", by=technician)
        clock.shift(HOUR)
        services.send_quote(ticket, amount=8900, by=technician)
        services.transition_ticket(ticket, "awaiting_approval", by=technician)
        clock.shift(HOUR)
        services.decide_quote(ticket, approved=False)
        clock.shift(HOUR)
        services.reopen_declined_quote(ticket, by=staff_user)
        clock.shift(HOUR)
        services.decide_quote(ticket, approved=True, note="Go ahead")
    ticket.refresh_from_db()
    return ticket


def admin_rows(ticket) -> list[tuple[str, ...]]:
    return ROW.findall(admin.site._registry[RepairTicket].status_history(ticket))


def test_the_admin_table_lists_every_move_in_one_query(
    moved, technician, staff_user, django_assert_num_queries
):
    with django_assert_num_queries(1):
        rows = admin_rows(moved)
    assert rows == [
        ("07 Dec 2026 09:00", "Booked → Received", str(technician), "At the bench"),
        ("07 Dec 2026 10:00", "Received → Diagnosing", str(technician), ""),
        ("07 Dec 2026 11:00", "Diagnosing → Awaiting your approval", str(technician), ""),
        ("07 Dec 2026 12:00", "Awaiting your approval → Cancelled", "—", "Quote declined by the customer."),
        (
            "07 Dec 2026 13:00",
            "Cancelled → Awaiting your approval",
            str(staff_user),
            "Quote reopened by the shop: the customer can decide again.",
        ),
        ("07 Dec 2026 14:00", "Awaiting your approval → Approved", "—", "Go ahead"),
    ]


def test_the_admin_table_of_a_ticket_that_never_moved(ticket):
    assert admin.site._registry[RepairTicket].status_history(ticket) == "No status changes yet."


def test_the_admin_table_is_one_query_however_long_the_history(technician, django_assert_num_queries):
    long = advance(
        make_ticket(technician=technician), "received", "diagnosing", "awaiting_approval", "approved"
    )
    long = advance(long, "in_repair", "quality_check", "ready_for_pickup", "collected", by=technician)
    with django_assert_num_queries(1):
        assert len(admin_rows(long)) == 8


EXPECTED_LOG = [
    ("received", T0),
    ("diagnosing", T0 + HOUR),
    ("awaiting_approval", T0 + 2 * HOUR),
    ("cancelled", T0 + 3 * HOUR),
    ("awaiting_approval", T0 + 4 * HOUR),
    ("approved", T0 + 5 * HOUR),
]


def test_ready_by_reads_the_status_log_in_order(moved):
    (history,) = load_histories(ticket_ids=[moved.pk])
    assert history.changes == EXPECTED_LOG
    assert history.checked_in == T0
    (early,) = load_histories(until=T0 + 2 * HOUR, ticket_ids=[moved.pk])
    assert early.changes == EXPECTED_LOG[:3]


def test_ready_bys_live_snapshot_of_the_ticket(moved):
    row = live_snapshot(moved, shop_calendar(), now=T0 + 6 * HOUR)
    # Six working hours since check-in (09:00 → 15:00), two of them the customer's (awaiting
    # approval 11:00 → 12:00 and again 13:00 → 14:00): four of the shop's own.
    assert row["status"] == "approved"
    assert row["elapsed_hours"] == pytest.approx(4.0)
    assert row["approval_done"] == 1.0


def test_load_histories_does_not_grow_with_tickets(technician, django_assert_max_num_queries):
    for _ in range(6):
        advance(make_ticket(technician=technician), "received", "diagnosing", by=technician)
    with django_assert_max_num_queries(2):
        assert len(load_histories()) == 6


def test_after_erasure_the_moves_stay_and_their_messages_go(moved, technician, staff_user):
    erase_customer_data(moved.customer)
    assert admin_rows(moved) == [
        ("07 Dec 2026 09:00", "Booked → Received", str(technician), ""),
        ("07 Dec 2026 10:00", "Received → Diagnosing", str(technician), ""),
        ("07 Dec 2026 11:00", "Diagnosing → Awaiting your approval", str(technician), ""),
        ("07 Dec 2026 12:00", "Awaiting your approval → Cancelled", "—", ""),
        ("07 Dec 2026 13:00", "Cancelled → Awaiting your approval", str(staff_user), ""),
        ("07 Dec 2026 14:00", "Awaiting your approval → Approved", "—", ""),
    ]
    # Ready-by still learns from the erased customer's repair (statuses and times are not personal).
    (history,) = load_histories(ticket_ids=[moved.pk])
    assert history.changes == EXPECTED_LOG


def test_the_history_is_read_from_the_event_log_and_kept_for_the_previous_release(moved):
    assert [e.payload["to"] for e in status_events().filter(ticket=moved)] == [s for s, _ in EXPECTED_LOG]
    # StatusChange is deprecated: nothing in this release reads it, but the previous release does
    # during a rolling deploy, so the services still write each move there until the table is dropped.
    kept = StatusChange.objects.filter(ticket=moved).order_by("created_at", "pk")
    assert [c.to_status for c in kept] == [s for s, _ in EXPECTED_LOG]
