"""GDPR: export_customer / erase_customer commands and admin actions, across every app."""

from __future__ import annotations

import io
import json

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.utils import timezone

from analytics.models import (
    ConsentRecord,
    Event,
    EventRollup,
    Session,
    SessionRollup,
    TrackedDevice,
    VisitorLink,
)
from repairs import services
from tests.analytics.factories import (
    ConsentRecordFactory,
    TrackedDeviceFactory,
    Visitor,
    VisitorLinkFactory,
    at,
    store,
)
from tests.factories import (
    DEFAULT_PASSWORD,
    CustomerWithLoginFactory,
    StaffFactory,
    TechnicianFactory,
    make_ticket,
)

pytestmark = pytest.mark.django_db

D = "2026-03-02"


@pytest.fixture
def held(flushed, django_capture_on_commit_callbacks):
    """A customer with a login, a repair (with a note the workshop wrote to them), and analytics
    traces on two devices; and another customer whose data must survive the erasure."""
    customer = CustomerWithLoginFactory(
        name="Grace Hopper", email="grace@example.com", phone="+44 7700 900555"
    )
    technician = TechnicianFactory()
    with django_capture_on_commit_callbacks(execute=True):  # every app reacts, as in production
        ticket = make_ticket(customer=customer, technician=technician)
        services.add_note(ticket, text="Call Grace on 07700 900555", visible_to_customer=True, by=technician)
    device = TrackedDeviceFactory(
        customer=customer, screen="1512x982", time_zone="Europe/London", language="en-GB"
    )
    link = VisitorLinkFactory(customer=customer)
    ConsentRecordFactory(device_id=device.id, customer=customer)
    laptop = Visitor(device=True)
    laptop.device_id = device.id
    anonymous = Visitor()
    anonymous.visitor_key = link.visitor_key
    store(laptop, ("pageview", at(D, "10:00:00"), "/"), ("pageview", at(D, "10:01:00"), "/book/"))
    store(anonymous, ("pageview", at(D, "12:00:00"), "/account/repairs/"))
    store(Visitor.server(customer.pk), ("quote_approved", at(D, "13:00:00"), ""))

    other = CustomerWithLoginFactory(name="Alan Turing", email="alan@example.com")
    make_ticket(customer=other)
    stranger = Visitor(device=True)
    TrackedDeviceFactory(id=stranger.device_id, customer=other)
    store(stranger, ("pageview", at(D, "11:00:00"), "/"))
    flushed()
    return {"customer": customer, "ticket": ticket, "device": device, "link": link, "other": other}


def test_export_command_writes_every_apps_section(held, capsys, tmp_path):
    customer = held["customer"]
    call_command("export_customer", str(customer.pk))
    archive = json.loads(capsys.readouterr().out)
    assert archive["format"] == "revivatech-personal-data/1" and archive["customer_id"] == customer.pk
    assert {"repairs", "analytics"} <= set(archive["sections"])
    assert archive["sections"]["repairs"]["profile"]["email"] == "grace@example.com"
    mine = archive["sections"]["analytics"]
    assert [d["id"] for d in mine["devices"]] == [str(held["device"].id)]
    assert mine["devices"][0]["screen"] == "1512x982"
    assert [v["visitor_key"] for v in mine["visitor_links"]] == [str(held["link"].visitor_key)]
    assert [c["granted"] for c in mine["consents"]] == [True]
    assert sorted(s["entry_path"] for s in mine["sessions"]) == ["/", "/account/repairs/"]
    # The booking made by make_ticket was recorded from its domain event.
    assert [e["type"] for e in mine["events"]] == [
        "pageview",
        "pageview",
        "pageview",
        "quote_approved",
        "booking_completed",
    ]
    assert "Alan" not in json.dumps(archive)

    target = tmp_path / "grace.json"
    call_command("export_customer", str(customer.pk), output=str(target))
    assert json.loads(target.read_text())["customer_id"] == customer.pk


def test_export_of_an_unknown_customer_says_so():
    with pytest.raises(CommandError, match="No customer with id 999999."):
        call_command("export_customer", "999999")


def _stored(*app_labels: str) -> str:
    """Every row of every table of the given apps (all apps if none), as text."""
    rows = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        if app_labels and model._meta.app_label not in app_labels:
            continue
        rows.append(list(model.objects.values()))
    return json.dumps(rows, default=str)


def _identifying(held) -> list[str]:
    customer, device, link = held["customer"], held["device"], held["link"]
    return [
        customer.name,
        customer.email,
        customer.phone,
        customer.user.username,
        customer.user.email,
        held["ticket"].device.serial_number,
        "Call Grace",
        str(device.id),
        str(link.visitor_key),
    ]


def test_erase_command_erases_analytics_and_repairs_data(held, capsys):
    identifying = _identifying(held)
    before = _stored()
    assert [value for value in identifying if value not in before] == []
    rollups = (sum(EventRollup.objects.values_list("count", flat=True)), SessionRollup.objects.count())

    call_command("erase_customer", str(held["customer"].pk), "--yes")
    summary = json.loads(capsys.readouterr().out)
    assert summary["erased"]["analytics"] == {
        "events": 5,
        "sessions": 2,
        "consents": 1,
        "visitor_links": 1,
        "devices": 1,
    }
    assert summary["erased"]["repairs"]["tickets"] == 1

    left = [value for value in identifying if value in _stored("analytics", "repairs", "auth")]
    assert left == [], f"still stored after erasure: {left}"
    # Anonymous counts stay; the other customer's data is untouched.
    assert (
        sum(EventRollup.objects.values_list("count", flat=True)),
        SessionRollup.objects.count(),
    ) == rollups
    other = held["other"]
    assert "alan@example.com" in _stored()
    assert TrackedDevice.objects.filter(customer=other).count() == 1
    assert Session.objects.count() == 1
    assert list(Event.objects.values_list("customer", flat=True)) == [other.pk]  # via the linked device


def test_erase_leaves_nothing_identifying_in_any_table_of_any_app(held):
    """The whole database, every app (notifications and payments register their own sections)."""
    identifying = _identifying(held)
    call_command("erase_customer", str(held["customer"].pk), "--yes", stdout=io.StringIO())
    everything = _stored()
    leaks = {
        value: sorted(
            f"{model._meta.label}"
            for model in apps.get_models()
            if not model._meta.proxy
            and model._meta.managed
            and value in json.dumps(list(model.objects.values()), default=str)
        )
        for value in identifying
        if value in everything
    }
    assert leaks == {}, f"identifying values left after erasure (value: tables): {leaks}"


def test_erase_asks_before_it_acts(held, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    with pytest.raises(CommandError, match="Nothing erased."):
        call_command("erase_customer", str(held["customer"].pk))
    assert VisitorLink.objects.exists() and ConsentRecord.objects.exists()


# --- admin -------------------------------------------------------------------------------------------


def _admin(client, user):
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)


URL = "/admin/analytics/customerpersonaldata/"


def test_staff_export_an_archive_from_the_admin(client, held):
    _admin(client, StaffFactory())
    listing = client.get(URL)
    assert listing.status_code == 200 and "grace@example.com" in listing.content.decode()
    response = client.post(URL, {"action": "export_personal_data", "_selected_action": [held["customer"].pk]})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert (
        f'filename="customer-{held["customer"].pk}-{timezone.now():%Y%m%d}.json"'
        in response["Content-Disposition"]
    )
    archive = json.loads(response.content)
    assert archive["sections"]["analytics"]["devices"][0]["id"] == str(held["device"].id)


def test_staff_erase_from_the_admin_after_confirming(client, held):
    _admin(client, StaffFactory())
    pk = held["customer"].pk
    confirm = client.post(URL, {"action": "erase_personal_data", "_selected_action": [pk]})
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "This cannot be undone." in page and "grace@example.com" in page
    assert TrackedDevice.objects.filter(id=held["device"].id).exists()  # nothing erased yet
    done = client.post(
        URL, {"action": "erase_personal_data", "_selected_action": [pk], "confirm": "yes"}, follow=True
    )
    assert "Erased the personal data of 1 customer(s) in every app." in done.content.decode()
    assert not TrackedDevice.objects.filter(id=held["device"].id).exists()
    assert "grace@example.com" not in _stored("analytics", "repairs", "auth")


def test_technicians_cannot_reach_the_gdpr_tools(client, held):
    _admin(client, TechnicianFactory())
    assert client.get(URL).status_code == 403
    response = client.post(URL, {"action": "export_personal_data", "_selected_action": [held["customer"].pk]})
    assert response.status_code == 403


def test_analytics_erases_before_repairs_anonymises():
    from revivatech import privacy

    order = [p.section for p in privacy.providers()]
    assert order.index("analytics") < order.index("repairs")
