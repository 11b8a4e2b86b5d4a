"""The signed link to a customer's choices in every email (guests have no login), and one-click
unsubscribe on every optional kind of email."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from notifications.services.context import message_context, preferences_url
from notifications.services.preferences import preference_matrix, preferences_token, unsubscribe_token
from tests.notifications.factories import MessageTemplateFactory, drain, notify
from tests.notifications.test_pages import form_data

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    return url.removeprefix("http://testserver")


def test_a_guest_changes_their_choices_from_the_signed_link_without_logging_in(client, customer):
    url = _path(preferences_url(customer))
    assert url.startswith("/notifications/preferences/")
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and 'name="marketing__email"' in html
    assert page["Referrer-Policy"] == "same-origin"  # the link is the credential: never sent elsewhere
    assert f'action="{url}"' in html

    saved = client.post(url, form_data(marketing__email="on"))
    assert saved.status_code == 302 and saved["Location"] == url
    assert preference_matrix(customer)["marketing"]["email"].enabled
    assert "Your notification choices are saved." in client.get(url).content.decode()


def test_one_customers_link_never_opens_anothers_choices(client, customer, other_customer):
    url = _path(preferences_url(customer))
    client.post(url, form_data(marketing__email="on"))
    assert not preference_matrix(other_customer)["marketing"]["email"].enabled
    # The other customer's id under this customer's signature: a link cannot be re-pointed. (The
    # token is taken from the link itself: a new one signed a second later carries another timestamp.)
    token = url.rstrip("/").rsplit("/", 1)[-1]
    other_payload = preferences_token(other_customer).split(":")[0]
    forged = url.replace(token, ":".join([other_payload, *token.split(":")[1:]]))
    assert forged != url
    assert client.get(forged).status_code == 404
    assert client.post(url[:-3] + "xx/", form_data()).status_code == 404


def test_the_link_expires_after_the_configured_days(client, customer, settings):
    settings.NOTIFICATIONS_PREFERENCES_LINK_MAX_AGE_DAYS = 30
    start = dt.datetime(2027, 3, 1, 12, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        url = _path(preferences_url(customer))
    with time_machine.travel(start + dt.timedelta(days=29), tick=False):
        assert client.get(url).status_code == 200
    with time_machine.travel(start + dt.timedelta(days=31), tick=False):
        response = client.get(url)
        assert response.status_code == 404 and "too old" in response.content.decode()


def test_every_email_carries_the_customers_own_link(customer):
    context = message_context(customer)
    assert context["preferences_url"] == preferences_url(customer)
    assert "/notifications/preferences/" in context["preferences_url"]


@pytest.mark.parametrize(
    ("kind", "has_unsubscribe"),
    [("status", True), ("quote", True), ("payment", True), ("marketing", True), ("service", False)],
)
def test_optional_emails_unsubscribe_in_one_click_and_essential_ones_do_not(
    smtp_server, customer, client, kind, has_unsubscribe
):
    from notifications.services.preferences import update_preferences

    update_preferences(customer, {(kind, "email"): True} if kind != "service" else {})
    template = MessageTemplateFactory(kind=kind, sms_body="", push_body="")
    notify(customer, template=template, channels=["email"], mode="chosen")
    drain()
    (received,) = smtp_server.messages
    header = received.message["List-Unsubscribe"]
    if not has_unsubscribe:
        assert header is None and "Unsubscribe" not in received.part("text/plain")
        return
    url = f"http://testserver/notifications/unsubscribe/{unsubscribe_token(customer, kind)}/"
    assert header.strip() == f"<{url}>"
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f'href="{url}"' in received.part("text/html")
    response = client.post(_path(url), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert preference_matrix(customer)[kind]["email"].enabled is False
    assert preference_matrix(customer)["service"]["email"].enabled  # essentials stay on


def test_unsubscribe_page_names_the_kind_and_links_to_all_choices(client, customer):
    url = f"/notifications/unsubscribe/{unsubscribe_token(customer, 'status')}/"
    html = client.get(url).content.decode()
    assert "Unsubscribe from repair status updates?" in html
    assert "/notifications/preferences/" in html
