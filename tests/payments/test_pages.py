"""Customer pages: the pay panel on the tracking page, the pay page, provider returns, invoices."""

import pytest
from django.urls import reverse

from payments import services
from payments.lifecycle import InvoiceStatus, PaymentStatus
from payments.models import Invoice, Payment
from tests.factories import DEFAULT_PASSWORD
from tests.payments.factories import deposit_invoice, issued_invoice


def track(ticket):
    return reverse("track", args=[ticket.tracking_token])


def pay_url(ticket):
    return reverse("payments:pay", args=[ticket.tracking_token])


@pytest.fixture
def invoice(ready):
    return issued_invoice(ready)


# --- the tracking page's panel ---------------------------------------------------------------------


def test_pay_now_appears_once_the_device_is_ready(client, stripe_fake, invoice):
    page = client.get(track(invoice.ticket)).content.decode()
    assert 'id="payment"' in page and "Amount due: <strong>£89.00</strong>" in page
    assert f'id="pay-now" href="{pay_url(invoice.ticket)}"' in page
    assert invoice.number in page


def test_without_keys_the_button_explains_that_online_payment_is_not_set_up(client, invoice):
    page = client.get(track(invoice.ticket)).content.decode()
    assert '<button class="button button--large" id="pay-now" type="button" disabled' in page
    assert "Online payment is not set up yet. You can pay at the shop when you collect your device" in page


def test_no_pay_now_for_an_unfinished_repair_unless_it_is_a_deposit(client, stripe_fake, ticket):
    issued_invoice(ticket, lines=[services.LineInput("labour", "Diagnosis", 2500)])
    assert 'id="pay-now"' not in client.get(track(ticket)).content.decode()
    deposit_invoice(ticket, 2000)
    page = client.get(track(ticket)).content.decode()
    assert "Deposit requested: <strong>£20.00</strong>" in page and 'id="pay-now"' in page


def test_no_panel_without_an_invoice_and_a_paid_line_afterwards(client, stripe_fake, ready):
    assert 'id="payment"' not in client.get(track(ready)).content.decode()
    invoice = issued_invoice(ready)
    services.record_counter_payment(invoice)
    page = client.get(track(ready)).content.decode()
    assert 'id="pay-now"' not in page and f"{invoice.number}</a>: £89.00 paid on" in page


# --- the pay page ----------------------------------------------------------------------------------


def test_the_pay_page_loads_stripe_js_and_offers_paypal(client, stripe_fake, paypal_fake, invoice, settings):
    response = client.get(pay_url(invoice.ticket))
    page = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"].startswith("max-age=0")
    assert f'<script src="{settings.STRIPE_JS_URL}" defer></script>' in page
    assert 'id="stripe-form"' in page and 'id="paypal-submit"' in page
    assert "<script>" not in page and "style=" not in page, "CSP: no inline script or style"
    assert "Online payment is not set up" not in page


def test_the_pay_page_without_keys_loads_no_third_party_script(client, invoice):
    page = client.get(pay_url(invoice.ticket)).content.decode()
    assert "js.stripe.com" not in page and 'id="stripe-form"' not in page
    assert "Online payment is not set up yet. You can pay £89.00 at the shop" in page


def test_the_pay_page_says_when_there_is_nothing_to_pay(client, ticket, stripe_fake):
    page = client.get(pay_url(ticket)).content.decode()
    assert 'id="pay-nothing"' in page and "js.stripe.com" not in page


def test_a_wrong_token_is_the_404_page(client, invoice):
    assert client.get(reverse("payments:pay", args=["not-a-token"])).status_code == 404
    assert client.post(reverse("payments:paypal-start", args=["not-a-token"])).status_code == 404


def test_the_card_form_gets_its_intent_as_json(client, stripe_fake, invoice):
    response = client.post(reverse("payments:stripe-intent", args=[invoice.ticket.tracking_token]))
    data = response.json()
    payment = Payment.objects.get()
    assert response.status_code == 200
    assert data["client_secret"] == payment.client_secret and data["publishable_key"].startswith("pk_test_")
    assert (data["amount"], data["currency"]) == (8900, "GBP")
    assert data["return_url"] == "http://testserver" + reverse(
        "payments:stripe-return", args=[invoice.ticket.tracking_token]
    )


def test_the_intent_endpoint_explains_refusals(client, invoice):
    response = client.post(reverse("payments:stripe-intent", args=[invoice.ticket.tracking_token]))
    assert response.status_code == 400
    assert response.json() == {"detail": "Card payment is not set up; please pay at the shop."}
    missing = client.post(reverse("payments:stripe-intent", args=["nope"]))
    assert missing.status_code == 404 and "nothing to pay" in missing.json()["detail"]


def test_the_intent_endpoint_needs_csrf(stripe_fake, invoice):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert (
        strict.post(reverse("payments:stripe-intent", args=[invoice.ticket.tracking_token])).status_code
        == 403
    )


def test_coming_back_from_stripe_shows_the_outcome(client, stripe_fake, invoice):
    token = invoice.ticket.tracking_token
    payment = services.start_stripe_payment(invoice)
    stripe_fake.customer_pays(payment.provider_payment_id)
    url = reverse("payments:stripe-return", args=[token])
    response = client.get(
        url, {"payment_intent": payment.provider_payment_id, "redirect_status": "succeeded"}
    )
    assert response.status_code == 302 and response["Location"] == track(invoice.ticket)
    page = client.get(track(invoice.ticket)).content.decode()
    assert "Thank you: we have received your payment of £89.00." in page
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.PAID


def test_a_declined_card_sends_the_customer_back_to_pay(client, stripe_fake, invoice):
    payment = services.start_stripe_payment(invoice)
    stripe_fake.customer_pays(payment.provider_payment_id, outcome="card_declined")
    url = reverse("payments:stripe-return", args=[invoice.ticket.tracking_token])
    response = client.get(url, {"payment_intent": payment.provider_payment_id}, follow=True)
    assert response.redirect_chain[-1][0] == pay_url(invoice.ticket)
    assert "Your card was declined. Nothing was charged; you can try again." in response.content.decode()


def test_a_return_naming_someone_elses_intent_changes_nothing(client, stripe_fake, invoice, other_ticket):
    payment = services.start_stripe_payment(invoice)
    stripe_fake.customer_pays(payment.provider_payment_id)
    url = reverse("payments:stripe-return", args=[other_ticket.tracking_token])
    response = client.get(url, {"payment_intent": payment.provider_payment_id})
    assert response["Location"] == pay_url(other_ticket)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED


def test_paypal_round_trip(client, paypal_fake, invoice):
    token = invoice.ticket.tracking_token
    response = client.post(reverse("payments:paypal-start", args=[token]))
    payment = Payment.objects.get()
    assert response.status_code == 302 and response["Location"] == payment.approve_url
    order = paypal_fake.orders[payment.provider_payment_id]
    assert order["_return_url"] == "http://testserver" + reverse("payments:paypal-return", args=[token])
    paypal_fake.approve(payment.provider_payment_id)
    back = client.get(
        reverse("payments:paypal-return", args=[token]),
        {"token": payment.provider_payment_id, "PayerID": "X"},
    )
    assert back["Location"] == track(invoice.ticket)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_leaving_paypal_without_paying(client, paypal_fake, invoice):
    response = client.get(
        reverse("payments:paypal-cancel", args=[invoice.ticket.tracking_token]), follow=True
    )
    assert "You left PayPal without paying; nothing was charged." in response.content.decode()


def test_a_paypal_outage_is_explained_on_the_pay_page(client, paypal_fake, invoice, settings):
    paypal_fake.fail_next("POST", "/v2/checkout/orders", status=503, times=settings.PAYPAL_MAX_RETRIES + 1)
    response = client.post(
        reverse("payments:paypal-start", args=[invoice.ticket.tracking_token]), follow=True
    )
    assert "PayPal is not answering properly; try again in a minute." in response.content.decode()


# --- invoices ----------------------------------------------------------------------------------------


def test_the_tracking_link_shows_its_invoices_only(client, invoice, other_ticket):
    url = reverse("payments:tracked-invoice", args=[invoice.ticket.tracking_token, invoice.public_id])
    page = client.get(url).content.decode()
    assert invoice.number in page and "of which VAT at 20%" in page and "£14.83" in page
    other = reverse("payments:tracked-invoice", args=[other_ticket.tracking_token, invoice.public_id])
    assert client.get(other).status_code == 404


def test_drafts_are_not_shown_to_customers(client, ready):
    draft = services.create_invoice(ready)
    url = reverse("payments:tracked-invoice", args=[ready.tracking_token, draft.public_id])
    assert client.get(url).status_code == 404


def test_the_logged_in_owner_sees_the_invoice_and_nobody_else_does(
    client, invoice, customer, other_customer, technician
):
    url = reverse("payments:account-invoice", args=[invoice.public_id])
    assert client.get(url).status_code == 302  # to the login page
    client.login(username=other_customer.user.username, password=DEFAULT_PASSWORD)
    assert client.get(url).status_code == 404
    client.login(username=technician.username, password=DEFAULT_PASSWORD)
    assert client.get(url).status_code == 404
    client.login(username=customer.user.username, password=DEFAULT_PASSWORD)
    page = client.get(url).content.decode()
    assert invoice.number in page and f'href="{pay_url(invoice.ticket)}"' in page
    listing = client.get(reverse("payments:account-invoices")).content.decode()
    assert invoice.number in listing
