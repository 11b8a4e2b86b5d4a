"""The shop's side: a technician promises a time in the admin (through the service), staff filter the
repairs that are late / at risk / due soon, and the staff page compares predictions with reality."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from repairs.lifecycle import Status
from repairs.models import EventKind, ReadyByEstimate
from tests.factories import advance, backdate_status, make_ticket
from tests.repairs.test_admin import action_form, change_url, login, post_action

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@time_machine.travel(MONDAY, tick=False)
def test_technician_promises_a_time_in_the_admin_and_the_customer_sees_it(client, technician, ticket):
    ticket = advance(ticket, Status.RECEIVED)
    login(client, technician)
    url = change_url(ticket)
    page = client.get(url).content.decode()
    assert "Promised ready by" in page and "working hours left" in page

    response = post_action(
        client, ticket, "promise", promise_ready_by_0="2026-12-09", promise_ready_by_1="17:00"
    )
    assert response.status_code == 302, response.context and action_form(response, "promise").errors
    ticket.refresh_from_db()
    assert ticket.promised_ready_at == datetime(2026, 12, 9, 17, 0, tzinfo=UTC)  # London is on GMT
    assert ticket.events.order_by("-seq").first().kind == EventKind.READY_BY_UPDATED
    track = client.get(reverse("track", args=[ticket.tracking_token])).content.decode()
    assert "Promised ready by Wednesday 5 pm" in track

    # A promise in the past is refused on the form and nothing changes.
    response = post_action(
        client, ticket, "promise", promise_ready_by_0="2026-12-01", promise_ready_by_1="09:00"
    )
    assert response.status_code == 200
    assert "A promise must be in the future." in response.content.decode()
    assert action_form(response, "promise").errors["promise_ready_by"] == ["A promise must be in the future."]
    assert 'value="2026-12-01"' in response.content.decode()  # the input is kept
    ticket.refresh_from_db()
    assert ticket.promised_ready_at == datetime(2026, 12, 9, 17, 0, tzinfo=UTC)

    # Cleared: the promise is withdrawn (the estimate shows again).
    response = post_action(client, ticket, "promise", promise_ready_by_0="", promise_ready_by_1="")
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.promised_ready_at is None


@time_machine.travel(MONDAY, tick=False)
def test_admin_ready_by_filter_lists_late_repairs(client, staff_user):
    late = advance(make_ticket(), Status.RECEIVED)
    fine = advance(make_ticket(), Status.RECEIVED)
    ReadyByEstimate.objects.filter(ticket=late, current=True).update(
        likely=MONDAY - timedelta(hours=5), latest=MONDAY - timedelta(hours=1)
    )
    login(client, staff_user)
    response = client.get(reverse("admin:repairs_repairticket_changelist") + "?ready_by=late")
    assert response.status_code == 200
    shown = {t.pk for t in response.context["cl"].result_list}
    assert late.pk in shown and fine.pk not in shown


@time_machine.travel(MONDAY, tick=False)
def test_staff_page_shows_predicted_against_actual(client, staff_user, customer):
    ticket = advance(make_ticket(), Status.RECEIVED)
    estimate = ReadyByEstimate.objects.get(ticket=ticket, status=Status.RECEIVED)
    ticket = advance(
        ticket,
        "diagnosing",
        "awaiting_approval",
        "approved",
        "in_repair",
        "quality_check",
        "ready_for_pickup",
    )
    # It took exactly the predicted working hours.
    backdate_status(ticket, "ready_for_pickup", estimate.likely)
    # Approved the moment it was asked (the clock is frozen): no approval wait to subtract.
    backdate_status(ticket, "approved", MONDAY)
    with time_machine.travel(estimate.likely + timedelta(hours=1), tick=False):
        login(client, staff_user)
        response = client.get(reverse("analytics-ready-by"))
        assert response.status_code == 200
        weeks = response.context["weeks"]
        assert weeks and weeks[-1]["repairs"] == 1 and weeks[-1]["mae_hours"] == 0.0
        assert weeks[-1]["coverage"] == 1.0
        client.logout()
        assert client.get(reverse("analytics-ready-by")).status_code == 302
        login(client, customer.user)
        assert client.get(reverse("analytics-ready-by")).status_code == 403
