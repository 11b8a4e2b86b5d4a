"""Reconciliation finds each planted mismatch, and nothing else."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from payments import services, tasks
from payments.lifecycle import PaymentStatus, Provider
from payments.models import MismatchKind, Payment, ReconciliationRun
from tests.factories import make_ticket
from tests.payments.factories import PaymentFactory, deposit_invoice

RETURN = {"return_url": "http://t/r", "cancel_url": "http://t/c"}


def _invoice(amount=5000):
    return deposit_invoice(make_ticket(), amount)


def _window():
    now = timezone.now()
    return {"since": now - timedelta(days=1), "until": now + timedelta(minutes=1)}


def _found(run):
    return {(issue.provider, issue.kind, issue.provider_payment_id) for issue in run.issues.all()}


@pytest.fixture
def stripe_world(stripe_fake, db):
    """Stripe payments in every state that agree with Stripe, and five that do not."""
    paid = services.start_stripe_payment(_invoice())
    stripe_fake.customer_pays(paid.provider_payment_id)
    services.sync_stripe_payment(paid)
    services.start_stripe_payment(_invoice())  # created, never paid: agrees
    refunded = services.start_stripe_payment(_invoice())
    stripe_fake.customer_pays(refunded.provider_payment_id)
    services.refund_payment(services.sync_stripe_payment(refunded), amount=1000)
    declined = services.start_stripe_payment(_invoice())
    stripe_fake.customer_pays(declined.provider_payment_id, outcome="card_declined")
    services.sync_stripe_payment(declined)
    stripe_fake.add_payment_intent(amount=999, status="requires_payment_method")  # unused: not money

    planted = {}
    planted["missing_locally"] = stripe_fake.add_payment_intent(amount=4200)["id"]
    ghost = PaymentFactory(invoice=_invoice(), provider=Provider.STRIPE, provider_payment_id="pi_ghost")
    planted["missing_remotely"] = ghost.provider_payment_id
    short = services.start_stripe_payment(_invoice())
    stripe_fake.customer_pays(short.provider_payment_id)
    services.sync_stripe_payment(short)
    Payment.objects.filter(pk=short.pk).update(amount_received=4000)
    planted["amount_differs"] = short.provider_payment_id
    unheard = services.start_stripe_payment(_invoice())
    stripe_fake.customer_pays(unheard.provider_payment_id)  # no webhook, no return: we never heard
    planted["status_differs"] = unheard.provider_payment_id
    dashboard = services.start_stripe_payment(_invoice())
    stripe_fake.customer_pays(dashboard.provider_payment_id)
    services.sync_stripe_payment(dashboard)
    stripe_fake.refund_in_dashboard(dashboard.provider_payment_id, 5000)  # refund we never heard of
    planted["refund_differs"] = dashboard.provider_payment_id
    return planted


def test_stripe_mismatches_and_nothing_else(stripe_world):
    run = services.reconcile_payments(providers=[Provider.STRIPE], **_window())
    assert run.errors == "" and run.finished_at is not None
    assert _found(run) == {
        ("stripe", MismatchKind.MISSING_LOCALLY, stripe_world["missing_locally"]),
        ("stripe", MismatchKind.MISSING_REMOTELY, stripe_world["missing_remotely"]),
        ("stripe", MismatchKind.AMOUNT_DIFFERS, stripe_world["amount_differs"]),
        ("stripe", MismatchKind.STATUS_DIFFERS, stripe_world["status_differs"]),
        ("stripe", MismatchKind.STATUS_DIFFERS, stripe_world["refund_differs"]),
    }
    amount = run.issues.get(kind=MismatchKind.AMOUNT_DIFFERS)
    assert (amount.local_amount, amount.remote_amount, amount.currency) == (4000, 5000, "GBP")
    status = run.issues.get(provider_payment_id=stripe_world["status_differs"])
    assert (status.local_status, status.remote_status) == (PaymentStatus.CREATED, PaymentStatus.SUCCEEDED)
    missing = run.issues.get(kind=MismatchKind.MISSING_LOCALLY)
    assert missing.payment is None and missing.remote_amount == 4200


@pytest.fixture
def paypal_world(paypal_fake, db):
    paid = services.start_paypal_payment(_invoice(), **RETURN)
    paypal_fake.approve(paid.provider_payment_id)
    services.capture_paypal_payment(paid)
    services.start_paypal_payment(_invoice(), **RETURN)  # never approved: agrees
    refunded = services.start_paypal_payment(_invoice(), **RETURN)
    paypal_fake.approve(refunded.provider_payment_id)
    services.refund_payment(services.capture_paypal_payment(refunded), amount=500)

    planted = {}
    planted["missing_locally"] = paypal_fake.add_capture(amount=3000)["id"]
    ghost = PaymentFactory(
        invoice=_invoice(),
        provider=Provider.PAYPAL,
        provider_payment_id="ORDERGHOST",
        provider_charge_id="CAPGHOST",
    )
    planted["missing_remotely"] = ghost.provider_charge_id
    left = services.start_paypal_payment(_invoice(), **RETURN)
    paypal_fake.approve(left.provider_payment_id)
    order = paypal_fake._capture(left.provider_payment_id)  # captured, but the buyer never came back
    planted["status_differs"] = order["purchase_units"][0]["payments"]["captures"][0]["id"]
    short = services.start_paypal_payment(_invoice(), **RETURN)
    paypal_fake.approve(short.provider_payment_id)
    short = services.capture_paypal_payment(short)
    Payment.objects.filter(pk=short.pk).update(amount_received=4999)
    planted["amount_differs"] = short.provider_charge_id
    return planted


def test_paypal_mismatches_and_nothing_else(paypal_world):
    run = services.reconcile_payments(providers=[Provider.PAYPAL], **_window())
    assert run.errors == ""
    assert _found(run) == {
        ("paypal", MismatchKind.MISSING_LOCALLY, paypal_world["missing_locally"]),
        ("paypal", MismatchKind.MISSING_REMOTELY, paypal_world["missing_remotely"]),
        ("paypal", MismatchKind.STATUS_DIFFERS, paypal_world["status_differs"]),
        ("paypal", MismatchKind.AMOUNT_DIFFERS, paypal_world["amount_differs"]),
    }


def test_paypal_search_windows_are_at_most_31_days(paypal_fake, db):
    now = timezone.now()
    paypal_fake.add_capture(amount=1000, when=now - timedelta(days=50))
    run = services.reconcile_payments(providers=[Provider.PAYPAL], since=now - timedelta(days=70), until=now)
    searches = paypal_fake.requests_to("GET", "/v1/reporting/transactions")
    assert len(searches) == 3 and run.errors == ""
    assert run.issues.get().kind == MismatchKind.MISSING_LOCALLY


def test_the_command_reports_and_keeps_the_run(stripe_world):
    out = StringIO()
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    call_command("reconcile_payments", "--since", since, stdout=out)
    text = out.getvalue()
    assert "5 mismatches" in text
    # One line per mismatch: "  <provider> <kind> <id>: <detail>"
    lines = {
        line.split(": ", 1)[0].split()[-1]: line for line in text.splitlines() if line.startswith("  stripe")
    }
    assert "Missing locally" in lines[stripe_world["missing_locally"]]
    assert "Missing at the provider" in lines["pi_ghost"]
    assert "Report #" in text and ReconciliationRun.objects.count() == 1


def test_the_command_refuses_bad_input(stripe_fake, db):
    with pytest.raises(CommandError, match="is not a date"):
        call_command("reconcile_payments", "--since", "last tuesday")
    with pytest.raises(CommandError, match="--until must be after --since"):
        call_command("reconcile_payments", "--since", "2026-11-02", "--until", "2026-10-01")


def test_the_command_needs_a_provider(db):
    with pytest.raises(CommandError, match="No payment provider is configured"):
        call_command("reconcile_payments", "--since", "2026-11-01")


def test_an_unreachable_provider_is_reported_not_hidden(stripe_fake, paypal_fake, db, settings):
    stripe_fake.fail_next(
        "GET", "/v1/payment_intents", status=500, times=settings.STRIPE_MAX_NETWORK_RETRIES + 1
    )
    paypal_fake.add_capture(amount=700)
    run = services.reconcile_payments(**_window())
    assert run.providers == "stripe,paypal"
    assert run.errors.startswith("stripe: Stripe could not be reached")
    assert {issue.provider for issue in run.issues.all()} == {"paypal"}


def test_the_periodic_task_reconciles_the_last_days(stripe_fake, db):
    stripe_fake.add_payment_intent(amount=1234)
    result = tasks.reconcile_payments(days=2)
    run = ReconciliationRun.objects.get(pk=result["run"])
    assert result["mismatches"] == 1 and run.providers == "stripe"
    assert timezone.now() - run.since > timedelta(days=1, hours=23)


def test_the_periodic_task_is_scheduled(settings):
    assert settings.CELERY_BEAT_SCHEDULE["payments-reconcile"]["task"] == "payments.tasks.reconcile_payments"
