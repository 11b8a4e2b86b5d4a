"""The shop's one profile: edited by staff in the admin, shown in the footer, on the receipt, on
the tracking page and in every email; opening hours validated; closed days announced ahead."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from repairs.models import ShopClosure, ShopProfile
from repairs.shop import current_shop, parse_hours
from tests.factories import DEFAULT_PASSWORD, advance

pytestmark = pytest.mark.django_db


@pytest.fixture
def profile():
    profile = ShopProfile.load()
    profile.name = "RevivaTech Hove"
    profile.address = "3 Church Road\nHove\nBN3 2AA"
    profile.phone = "+44 1273 000 111"
    profile.email = "hello@revivatech.example"
    profile.vat_number = "GB 987 6543 21"
    profile.hours_mon = "09:00-12:30, 13:30-17:30"
    profile.hours_sat = "10:00-14:00"
    profile.save()
    return profile


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        ("", []),
        ("09:00-17:30", [("09:00", "17:30")]),
        ("09:00 – 12:30, 13:30-17:30", [("09:00", "12:30"), ("13:30", "17:30")]),
    ],
)
def test_opening_hours_are_read_as_ranges(text, ranges):
    assert parse_hours(text) == ranges


@pytest.mark.parametrize("text", ["9-5", "17:00-09:00", "09:00-25:00", "mornings"])
def test_opening_hours_that_make_no_sense_are_refused(text):
    with pytest.raises(ValidationError):
        parse_hours(text)


def test_there_is_only_ever_one_profile():
    first = ShopProfile.load()
    ShopProfile(name="Another shop").save()
    assert ShopProfile.objects.count() == 1
    assert ShopProfile.load().pk == first.pk and ShopProfile.load().name == "Another shop"


def test_details_show_each_day_today_and_closed_days_ahead(profile):
    christmas = dt.date(2027, 12, 25)
    ShopClosure.objects.create(profile=profile, first_day=christmas, last_day=christmas, reason="Christmas")
    ShopClosure.objects.filter(reason="Christmas").update(last_day=dt.date(2027, 12, 26))
    ShopClosure.objects.create(profile=profile, first_day=dt.date(2027, 8, 1), reason="Stocktake")  # past
    shop = current_shop(today=dt.date(2027, 12, 20))  # a Monday
    hours = {day.day: day.text for day in shop.hours}
    assert hours["Monday"] == "09:00–12:30, 13:30–17:30" and hours["Sunday"] == "Closed"
    assert [day.day for day in shop.hours if day.is_today] == ["Monday"]
    assert [c.text for c in shop.closures] == ["Sat 25 Dec – Sun 26 Dec: Christmas"]
    assert shop.address_one_line == "3 Church Road, Hove, BN3 2AA" and shop.phone_href == "tel:+441273000111"
    # A shop that has not given any hours yet is not "closed every day".
    ShopProfile.objects.update(hours_mon="", hours_sat="")
    assert current_shop().hours == []


def test_the_footer_receipt_and_tracking_page_show_where_and_when(client, profile, ticket, technician):
    for url in (
        "/",
        reverse("book"),
        reverse("receipt", args=[ticket.tracking_token]),
        ticket.get_absolute_url(),
    ):
        html = client.get(url).content.decode()
        assert "3 Church Road" in html and "10:00–14:00" in html and "+44 1273 000 111" in html, url
    track = client.get(ticket.get_absolute_url()).content.decode()
    assert "Bring your device to us" in track  # booked: the next step is a visit
    receipt = client.get(reverse("receipt", args=[ticket.tracking_token])).content.decode()
    assert "VAT number GB 987 6543 21" in receipt
    ready = advance(ticket, "received", "cancelled", by=technician)
    assert "Collect your device" in client.get(ready.get_absolute_url()).content.decode()


def test_staff_edit_the_profile_in_the_admin_and_the_list_goes_straight_to_it(client, staff_user, profile):
    client.login(username=staff_user.username, password=DEFAULT_PASSWORD)
    changelist = client.get(reverse("admin:repairs_shopprofile_changelist"))
    change_url = reverse("admin:repairs_shopprofile_change", args=[profile.pk])
    assert changelist.status_code == 302 and changelist["Location"] == change_url
    assert client.get(reverse("admin:repairs_shopprofile_add")).status_code == 403
    assert client.get(reverse("admin:repairs_shopprofile_delete", args=[profile.pk])).status_code == 403
    data = {
        "name": "RevivaTech Hove",
        "address": "3 Church Road\r\nHove",
        "phone": "+44 1273 000 222",
        "email": "hello@revivatech.example",
        "vat_number": "",
        "hours_mon": "08:30-18:00",
        **{f"hours_{day}": "" for day in ("tue", "wed", "thu", "fri", "sat", "sun")},
        "closures-TOTAL_FORMS": "1",
        "closures-INITIAL_FORMS": "0",
        "closures-0-first_day": "2027-01-01",
        "closures-0-last_day": "",
        "closures-0-reason": "New Year",
    }
    assert client.post(change_url, {**data, "hours_mon": "8 till late"}).status_code == 200  # refused
    assert ShopProfile.load().hours_mon == "09:00-12:30, 13:30-17:30"
    response = client.post(change_url, data)
    assert response.status_code == 302, response.content.decode()[:1500]
    saved = ShopProfile.load()
    assert saved.hours_mon == "08:30-18:00" and saved.phone == "+44 1273 000 222"
    assert saved.closures.get().reason == "New Year"


def test_technicians_cannot_change_the_profile(client, technician):
    client.login(username=technician.username, password=DEFAULT_PASSWORD)
    assert client.get(reverse("admin:repairs_shopprofile_changelist")).status_code == 403
