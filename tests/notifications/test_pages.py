"""The customer's notification page (/account/notifications/) and the unsubscribe page."""

from __future__ import annotations

import re

import pytest

from notifications.models import NotificationPreference, PushDevice, QuietHours
from notifications.services.preferences import preference_matrix, unsubscribe_token
from tests.factories import DEFAULT_PASSWORD
from tests.notifications.factories import PushDeviceFactory

pytestmark = pytest.mark.django_db
URL = "/account/notifications/"


@pytest.fixture
def customer_client(client, customer):
    client.login(username=customer.user.username, password=DEFAULT_PASSWORD)
    return client


def form_data(**overrides):
    data = {
        "service__sms": "on",
        "status__email": "on",
        "status__push": "on",
        "quote__email": "on",
        "payment__email": "on",
        "quiet_enabled": "on",
        "quiet_start": "22:00",
        "quiet_end": "07:30",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_page_shows_a_grid_with_locked_essentials_and_quiet_hours(customer_client, customer):
    response = customer_client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<a href="/account/notifications/" aria-current="page">Notifications</a>' in html
    locked = re.search(r'<input[^>]*name="service__email"[^>]*>', html).group(0)
    assert "disabled" in locked and "checked" in locked
    assert "Always on" in html
    assert 'name="marketing__email"' in html and 'id="id_quiet_start"' in html
    assert customer.time_zone in html
    assert 'href="/static/notifications/notifications.css"' in html
    assert "style=" not in html and "<script>" not in html


def test_saving_choices_and_quiet_hours(customer_client, customer):
    response = customer_client.post(URL, form_data())
    assert response.status_code == 302
    matrix = preference_matrix(customer)
    assert matrix["service"]["sms"].enabled and matrix["status"]["push"].enabled
    assert not matrix["status"]["sms"].enabled and not matrix["marketing"]["email"].enabled
    assert matrix["service"]["email"].enabled  # required: stays on although not posted
    quiet = QuietHours.objects.get(customer=customer)
    assert (quiet.enabled, quiet.start.isoformat(), quiet.end.isoformat()) == (True, "22:00:00", "07:30:00")
    follow = customer_client.get(URL)
    assert "Your notification choices are saved." in follow.content.decode()


def test_a_posted_attempt_to_switch_off_essentials_is_ignored(customer_client, customer):
    customer_client.post(URL, form_data(**{"service__email": ""}))
    assert preference_matrix(customer)["service"]["email"].enabled
    assert not NotificationPreference.objects.filter(kind="service", channel="email").exists()


def test_bad_quiet_hours_are_explained(customer_client):
    response = customer_client.post(URL, form_data(quiet_start="22:00", quiet_end="22:00"))
    assert response.status_code == 400
    assert "Quiet hours must end at a different time than they start." in response.content.decode()
    response = customer_client.post(URL, form_data(quiet_start="late"))
    assert response.status_code == 400 and "Enter a valid time." in response.content.decode()


def test_devices_are_listed_and_removable(customer_client, customer, other_customer):
    mine = PushDeviceFactory(customer=customer, label="Firefox on my laptop")
    theirs = PushDeviceFactory(customer=other_customer)
    assert "Firefox on my laptop" in customer_client.get(URL).content.decode()
    assert customer_client.post(f"/account/notifications/devices/{theirs.pk}/remove/").status_code == 404
    assert customer_client.post(f"/account/notifications/devices/{mine.pk}/remove/").status_code == 302
    assert not PushDevice.objects.get(pk=mine.pk).active and PushDevice.objects.get(pk=theirs.pk).active


def test_logins_without_a_customer_record_and_anonymous_visitors(client, staff_user):
    assert client.get(URL).status_code == 302  # to the login page
    client.login(username=staff_user.username, password=DEFAULT_PASSWORD)
    response = client.get(URL)
    assert response.status_code == 200 and "no customer record" in response.content.decode()
    assert 'href="/account/notifications/"' not in client.get("/").content.decode()  # not in staff's nav


def test_unsubscribe_link_page_then_one_click(client, customer):
    from notifications.services.preferences import update_preferences

    update_preferences(customer, {("marketing", "email"): True})
    url = f"/notifications/unsubscribe/{unsubscribe_token(customer)}/"
    page = client.get(url)
    assert page.status_code == 200 and "Unsubscribe from offers and news?" in page.content.decode()
    assert preference_matrix(customer)["marketing"]["email"].enabled  # a link scanner's GET changes nothing
    done = client.post(url)
    assert done.status_code == 200 and "You are unsubscribed" in done.content.decode()
    assert not preference_matrix(customer)["marketing"]["email"].enabled


def test_a_forged_unsubscribe_link_does_nothing(client, customer):
    token = unsubscribe_token(customer)
    response = client.post(f"/notifications/unsubscribe/{token[:-2]}xx/")
    assert response.status_code == 404 and "This link does not work" in response.content.decode()
