"""(c) A Stripe webhook signed as Stripe signs it (with the endpoint secret the set is configured
with) marks the invoice paid, and the customer's tracking page says so."""

from __future__ import annotations

import json

from bs4 import BeautifulSoup

from tests.fakes import stripe as stripe_fake

from .site import CSRF_SECRET, book, customer_client, new_contact


def test_a_signed_stripe_webhook_marks_the_invoice_paid_on_the_tracking_page(stack, fakes):
    email, _ = new_contact()
    reference, tracking_token = book(stack, email)
    invoice = stack.manage("issue_invoice", reference=reference)

    with customer_client(stack) as client:  # the pay page's script asks for a PaymentIntent
        answer = client.post(
            f"/track/{tracking_token}/pay/stripe/intent/", data={"csrfmiddlewaretoken": CSRF_SECRET}
        )
        assert answer.status_code == 200, answer.text
        intent_id = answer.json()["client_secret"].split("_secret")[0]
        assert answer.json()["amount"] == invoice["total"]

        paid = fakes.stripe.customer_pays(intent_id)  # Stripe.js confirms the card
        body = json.dumps(fakes.stripe.event("payment_intent.succeeded", paid)).encode()

        forged = client.post(
            "/webhooks/stripe/",
            content=body,
            headers={
                "Stripe-Signature": stripe_fake.sign(body, secret="whsec_not_the_endpoints"),
                "Content-Type": "application/json",
            },
        )
        assert forged.status_code == 400
        assert stack.manage("invoice_state", number=invoice["number"])["status"] == "issued"

        signature = stripe_fake.sign(body, secret=fakes.stripe_webhook_secret)
        delivered = client.post(
            "/webhooks/stripe/",
            content=body,
            headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        )
        assert delivered.status_code == 200, delivered.text
        assert stack.manage("invoice_state", number=invoice["number"])["status"] == "paid"

        page = BeautifulSoup(client.get(f"/track/{tracking_token}/").text, "html.parser")
    paid_list = page.select_one(".pay-panel__paid")
    assert paid_list is not None, page.select_one("#ticket")
    assert invoice["number"] in paid_list.get_text()
    assert "paid" in paid_list.get_text()
