"""Fault 4: a storm of signed Stripe webhooks, duplicated and out of order, against the live site.

Invoices are issued and their PaymentIntents created through the services (the real ``stripe`` SDK
against the loopback fake, tests/fakes/stripe.py); the customers pay (4 in 5 succeed, 1 in 5 is
declined). Each payment's events (``payment_intent.processing`` then ``.succeeded`` or
``.payment_failed``) are each delivered 2-3 times, signed exactly as Stripe signs them, the whole
lot shuffled (so a success often arrives before its "processing") and sent 24 at a time.

Counted: lost = an invoice not in its right final state (paid / still issued with a failed
payment); duplicated = a payment recorded twice (more than one "payment received" ticket event
or succeeded payment per invoice); and the answers (no 5xx allowed).
"""

from __future__ import annotations

import asyncio
import json
import random
import time

from .data import staff_token, tickets_in_repair
from .harness import Result, Site

INVOICES = 30
CONCURRENCY = 24


def _prepare(fake, count: int) -> list[dict]:
    """Issued invoices with a PaymentIntent each; the customer has paid (or been declined)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from payments import services as payments
    from repairs import services
    from tests.fakes import stripe as stripe_fake

    settings.STRIPE_SECRET_KEY = stripe_fake.SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = stripe_fake.PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = stripe_fake.WEBHOOK_SECRET
    settings.STRIPE_API_BASE = fake.url
    staff = get_user_model().objects.get(username="faults-staff")
    rng = random.Random(9)
    plans = []
    for tracked in tickets_in_repair(count, label=f"[faults] webhook storm {time.time_ns()}"):
        from repairs.models import RepairTicket

        ticket = RepairTicket.objects.get(reference=tracked.reference)
        for status in ("quality_check", "ready_for_pickup"):
            ticket = services.transition_ticket(ticket, status, by=staff)
        invoice = payments.issue_invoice(payments.create_invoice(ticket, kind="final"))
        payment = payments.start_stripe_payment(invoice)
        outcome = "succeeded" if rng.random() < 0.8 else "card_declined"
        paid = fake.customer_pays(payment.provider_payment_id, outcome=outcome)
        processing = {**paid, "status": "processing", "latest_charge": None}
        final_type = "payment_intent.succeeded" if outcome == "succeeded" else "payment_intent.payment_failed"
        plans.append(
            {
                "invoice": invoice.pk,
                "outcome": outcome,
                "events": [fake.event("payment_intent.processing", processing), fake.event(final_type, paid)],
            }
        )
    return plans


async def _storm(site: Site, deliveries: list[dict]) -> list[tuple[int, float]]:
    import httpx

    from tests.fakes.stripe import sign

    semaphore = asyncio.Semaphore(CONCURRENCY)
    answers: list[tuple[int, float]] = []
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=site.url, timeout=30, limits=limits) as http:

        async def deliver(event: dict) -> None:
            body = json.dumps(event).encode()
            async with semaphore:
                started = time.perf_counter()
                try:
                    response = await http.post(
                        "/webhooks/stripe/",
                        content=body,
                        headers={"Content-Type": "application/json", "Stripe-Signature": sign(body)},
                    )
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                answers.append((status, time.perf_counter() - started))

        await asyncio.gather(*(deliver(event) for event in deliveries))
    return answers


def run(env: dict[str, str]) -> Result:
    from payments.lifecycle import InvoiceStatus, PaymentStatus
    from payments.models import Invoice, Payment
    from repairs.models import EventKind, TicketEvent
    from tests.fakes import stripe as stripe_fake
    from tests.fakes.stripe import FakeStripe

    staff_token()
    rng = random.Random(4)
    with FakeStripe() as fake:
        plans = _prepare(fake, INVOICES)
        deliveries = []
        for plan in plans:
            for event in plan["events"]:
                deliveries += [event] * rng.choice((2, 3))
        rng.shuffle(deliveries)
        position = {}
        for index, event in enumerate(deliveries):
            position.setdefault(event["id"], index)
        reordered = sum(
            1 for plan in plans if position[plan["events"][1]["id"]] < position[plan["events"][0]["id"]]
        )
        site_env = {
            **env,
            "STRIPE_SECRET_KEY": stripe_fake.SECRET_KEY,
            "STRIPE_PUBLISHABLE_KEY": stripe_fake.PUBLISHABLE_KEY,
            "STRIPE_WEBHOOK_SECRET": stripe_fake.WEBHOOK_SECRET,
            "STRIPE_API_BASE": fake.url,
        }
        with Site(site_env) as site:
            started = time.monotonic()
            answers = asyncio.run(_storm(site, deliveries))
            elapsed = time.monotonic() - started

    by_status: dict[int, int] = {}
    for status, _ in answers:
        by_status[status] = by_status.get(status, 0) + 1
    wrong = 0
    duplicated = 0
    for plan in plans:
        invoice = Invoice.objects.get(pk=plan["invoice"])
        payments = Payment.objects.filter(invoice=invoice)
        succeeded = payments.filter(status=PaymentStatus.SUCCEEDED).count()
        received = TicketEvent.objects.filter(
            ticket_id=invoice.ticket_id, kind=EventKind.PAYMENT_RECEIVED, payload__invoice_id=invoice.number
        ).count()
        if plan["outcome"] == "succeeded":
            wrong += invoice.status != InvoiceStatus.PAID or succeeded != 1 or received != 1
        else:
            wrong += (
                invoice.status != InvoiceStatus.ISSUED
                or not payments.filter(status=PaymentStatus.FAILED).exists()
            )
        duplicated += max(0, received - 1) + max(0, succeeded - 1)
    unique = len({event["id"] for event in deliveries})
    server_errors = sum(n for status, n in by_status.items() if status >= 500 or status == 0)
    latencies = sorted(seconds for _, seconds in answers)
    notes = [
        f"{len(deliveries)} deliveries of {unique} events ({len(deliveries) - unique} duplicates) for "
        f"{len(plans)} invoices; success before 'processing' for {reordered}; {CONCURRENCY} concurrent; "
        f"answers {dict(sorted(by_status.items()))}; {len(deliveries) / elapsed:.0f} deliveries/s, "
        f"p99 {latencies[int(0.99 * (len(latencies) - 1))] * 1000:.0f} ms",
        f"wrong final state: {wrong} invoices; payments recorded twice: {duplicated}",
    ]
    return Result(
        fault="4. Webhook storm (dups + reorder)",
        attempted=len(deliveries),
        lost=wrong,
        duplicated=duplicated,
        recovery_s=None,
        readyz="n/a (no outage)",
        notes=notes,
        ok=wrong == 0 and duplicated == 0 and server_errors == 0,
    )
