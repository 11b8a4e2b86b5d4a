"""Features on a small hand-made history, value by value; labels of the window after the cut-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.models import Session
from analytics.scoring.features import FEATURES, NEVER_DAYS, compute_features, compute_labels
from notifications.models import Dispatch, Message, NotificationPreference
from payments.models import Invoice
from repairs.models import Customer, Device, QualityCheck, RepairTicket
from tests.factories import CustomerFactory, make_ticket

pytestmark = pytest.mark.django_db

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def days_before(n: float) -> datetime:
    return AS_OF - timedelta(days=n)


def ticket(customer, device, created, decision="approved", amount=10_000):
    t = make_ticket(customer=customer, device=device)
    RepairTicket.objects.filter(pk=t.pk).update(
        created_at=created,
        quote_amount=amount,
        quote_decision=decision,
        quote_decided_at=created + timedelta(days=1) if decision != "pending" else None,
    )
    return t


def invoice(t, total, issued, paid=None):
    return Invoice.objects.create(
        ticket=t,
        currency="GBP",
        tax_rate_basis_points=2000,
        total=total,
        status="paid" if paid else "issued",
        issued_at=issued,
        paid_at=paid,
    )


def session(customer, started, pageviews):
    import uuid

    return Session.objects.create(
        identity=uuid.uuid4(),
        customer=customer,
        started_at=started,
        last_seen_at=started,
        pageviews=pageviews,
    )


def message(customer, sent, opened=None):
    d = Dispatch.objects.create(
        key=f"k{sent.timestamp()}-{customer.pk}",
        customer=customer,
        kind="marketing",
        mode="all",
        priority="normal",
    )
    return Message.objects.create(
        dispatch=d,
        customer=customer,
        channel="email",
        kind="marketing",
        idempotency_key=d.key,
        status="opened" if opened else "delivered",
        sent_at=sent,
        opened_at=opened,
    )


def test_features_of_a_hand_made_customer():
    customer = CustomerFactory()
    Customer.objects.filter(pk=customer.pk).update(created_at=days_before(800))
    phone = Device.objects.create(customer=customer, kind="phone", brand="Apple", model="iPhone 11")
    laptop = Device.objects.create(customer=customer, kind="laptop", brand="Acme", model="Mystery Book")
    Device.objects.filter(pk=phone.pk).update(created_at=days_before(700))
    Device.objects.filter(pk=laptop.pk).update(created_at=days_before(100))
    t1 = ticket(customer, phone, days_before(700), "approved", 12_000)
    t2 = ticket(customer, phone, days_before(200), "declined", 30_000)
    t3 = ticket(customer, laptop, days_before(60), "approved", 8_000)
    ticket(customer, laptop, days_before(-10), "approved")  # after the cut-off: ignored
    invoice(t1, 12_000, days_before(695), paid=days_before(694))
    invoice(t3, 8_000, days_before(55))  # unpaid
    QualityCheck.objects.create(ticket=t1, item="boots", passed=False)
    QualityCheck.objects.filter(ticket=t1).update(created_at=days_before(696))
    session(customer, days_before(10), 4)
    session(customer, days_before(50), 2)
    session(customer, days_before(200), 7)
    message(customer, days_before(100), opened=days_before(99))
    message(customer, days_before(40))
    message(customer, days_before(400), opened=days_before(399))  # older than 12 months
    pref = NotificationPreference.objects.create(
        customer=customer, channel="email", kind="marketing", enabled=False
    )
    NotificationPreference.objects.filter(pk=pref.pk).update(updated_at=days_before(5))
    other = CustomerFactory()  # no history at all
    Customer.objects.filter(pk=other.pk).update(created_at=days_before(30))
    assert t2

    matrix = compute_features(AS_OF)
    f = matrix.row(customer.pk)
    assert list(f) == FEATURES
    assert f["recency_days"] == pytest.approx(60)
    assert f["tenure_days"] == pytest.approx(800)
    assert (f["tickets_total"], f["tickets_12m"], f["tickets_90d"]) == (3, 2, 1)
    assert f["monetary_total"] == 12_000 and f["monetary_12m"] == 0 and f["avg_invoice"] == 12_000
    assert f["quote_approval_ratio"] == pytest.approx(2 / 3) and f["quotes_declined"] == 1
    assert f["unpaid_invoices"] == 1
    assert f["devices"] == 2
    # iPhone 11: released 2019 (mid-year), about 6.9 years at 2026-06-01; unknown laptop: since first seen
    assert f["max_device_age_years"] == pytest.approx(2026 + 152 / 365.25 - 2019.5, abs=1e-6)
    assert f["mean_device_age_years"] == pytest.approx(
        (f["max_device_age_years"] + 100 / 365.25) / 2, abs=1e-6
    )
    assert f["devices_over_3y"] == 1
    assert f["quality_checks_failed"] == 1
    assert (f["sessions_90d"], f["pageviews_90d"], f["sessions_365d"]) == (2, 6, 3)
    assert f["days_since_last_visit"] == pytest.approx(10)
    assert f["emails_12m"] == 2 and f["email_open_rate"] == pytest.approx(0.5)
    assert f["marketing_opt_out"] == 1
    assert matrix.has_history.tolist() == [True, False]

    blank = matrix.row(other.pk)
    assert blank["tickets_total"] == 0 and blank["days_since_last_visit"] == NEVER_DAYS
    assert blank["recency_days"] == pytest.approx(30)

    labels = compute_labels(matrix, 90)
    assert labels.churned.tolist() == [False, True]
    assert labels.repair_90d.tolist() == [True, False]
    assert labels.days_to_repair.tolist() == [pytest.approx(10), 90.0]
    assert labels.value.tolist() == [0.0, 0.0]


def test_feature_queries_do_not_grow_with_customers(django_assert_max_num_queries):
    for _ in range(15):
        customer = CustomerFactory()
        make_ticket(customer=customer)
    with django_assert_max_num_queries(10):
        matrix = compute_features(datetime.now(UTC) + timedelta(days=1))
    assert len(matrix.customer_ids) >= 15
