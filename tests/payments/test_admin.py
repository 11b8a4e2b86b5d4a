"""The workshop admin's payment screens: staff only, every write through the services."""

import pytest
from django.urls import reverse

from payments import services
from payments.lifecycle import InvoiceStatus, PaymentStatus
from payments.models import Invoice, ReconciliationRun
from repairs.models import EventKind
from tests.payments.factories import issued_invoice

pytestmark = pytest.mark.django_db


def _lines(*rows, extra=4):
    """The POST of the invoice form's line formset, as a browser sends it (the empty rows keep
    their initial kind and quantity)."""
    data = {"lines-TOTAL_FORMS": str(len(rows) + extra), "lines-INITIAL_FORMS": "0"}
    for index, (kind, description, quantity, price) in enumerate([*rows, *[("part", "", 1, "")] * extra]):
        data.update(
            {
                f"lines-{index}-kind": kind,
                f"lines-{index}-description": description,
                f"lines-{index}-quantity": str(quantity),
                f"lines-{index}-unit_price": price,
            }
        )
    return data


def _invoice_form(ticket, **fields):
    return {
        "ticket": ticket.reference,
        "kind": "final",
        "currency": "GBP",
        "tax_rate": "20",
        "prices_include_tax": "on",
        "notes": "",
        **fields,
    }


def test_technicians_do_not_see_payments(client, technician, ready):
    client.force_login(technician)
    assert client.get(reverse("admin:payments_invoice_changelist")).status_code == 403
    assert client.get(reverse("admin:payments_invoice_add")).status_code == 404
    assert "Payments" not in client.get(reverse("admin:index")).content.decode()


def test_staff_draft_an_invoice_from_the_quote_and_issue_it(client, staff_user, ready):
    client.force_login(staff_user)
    assert client.get(reverse("admin:payments_invoice_add") + f"?ticket={ready.reference}").status_code == 200
    response = client.post(
        reverse("admin:payments_invoice_add"),
        {**_invoice_form(ready, from_quote="on"), **_lines(), "_save": "1"},
    )
    invoice = Invoice.objects.get()
    assert response["Location"] == reverse("admin:payments_invoice_change", args=[invoice.pk])
    assert (invoice.status, invoice.total, invoice.created_by) == (InvoiceStatus.DRAFT, 8900, staff_user)
    page = client.get(response["Location"]).content.decode()
    assert "Edit draft" in page and "Repair as quoted" in page

    issue = reverse("admin:payments_invoice_action", args=[invoice.pk, "issue"])
    assert client.get(issue).status_code == 200
    client.post(issue)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED
    event = ready.events.order_by("-seq").first()
    assert (event.kind, event.actor) == (EventKind.INVOICE_ISSUED, staff_user)


def test_staff_type_lines_in_major_units(client, staff_user, ready):
    client.force_login(staff_user)
    data = {
        **_invoice_form(ready, prices_include_tax=""),
        **_lines(("part", "Battery", 1, "35.50"), ("labour", "Fitting", 2, "20")),
        "_issue": "1",
    }
    client.post(reverse("admin:payments_invoice_add"), data)
    invoice = Invoice.objects.get()
    assert [line.unit_amount for line in invoice.lines.all()] == [3550, 2000]
    assert (invoice.subtotal, invoice.tax_amount, invoice.total) == (7550, 1510, 9060)
    assert invoice.status == InvoiceStatus.ISSUED


def test_bad_input_is_shown_on_the_form_not_a_500(client, staff_user, ready):
    client.force_login(staff_user)
    too_precise = {**_invoice_form(ready), **_lines(("part", "Screw", 1, "0.125"))}
    response = client.post(reverse("admin:payments_invoice_add"), too_precise)
    assert (
        response.status_code == 200 and "Amounts in GBP have 2 decimal places." in response.content.decode()
    )
    nothing = client.post(reverse("admin:payments_invoice_add"), {**_invoice_form(ready), **_lines()})
    assert "Add at least one line" in nothing.content.decode()
    unknown = client.post(
        reverse("admin:payments_invoice_add"), {**_invoice_form(ready), "ticket": "RT-NOPE"}
    )
    assert "No repair has the reference" in unknown.content.decode()
    assert Invoice.objects.count() == 0


def test_editing_a_draft(client, staff_user, ready):
    client.force_login(staff_user)
    draft = services.create_invoice(ready)
    url = reverse("admin:payments_invoice_edit", args=[draft.pk])
    assert "Repair as quoted" in client.get(url).content.decode()
    data = {**_invoice_form(ready), **_lines(("labour", "Repair as quoted", 1, "79.00")), "_save": "1"}
    data["lines-TOTAL_FORMS"] = "5"
    client.post(url, data)
    draft.refresh_from_db()
    assert draft.total == 7900


def test_counter_payment_and_refund_from_the_admin(client, staff_user, ready):
    client.force_login(staff_user)
    invoice = issued_invoice(ready)
    client.post(
        reverse("admin:payments_invoice_action", args=[invoice.pk, "counter"]), {"reason": "card terminal"}
    )
    payment = invoice.payments.get()
    assert payment.status == PaymentStatus.SUCCEEDED

    refund_url = reverse("admin:payments_payment_refund", args=[payment.pk])
    assert 'value="89.00"' in client.get(refund_url).content.decode()
    too_much = client.post(refund_url, {"amount": "90.00", "reason": ""})
    assert "At most 8900 minor units are left" in too_much.content.decode()
    client.post(refund_url, {"amount": "10.00", "reason": "Scratch on the case"})
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 1000)
    page = client.get(reverse("admin:payments_payment_change", args=[payment.pk])).content.decode()
    assert "Scratch on the case" in page and "partially_refunded" in page


def test_staff_run_a_reconciliation_and_read_the_report(client, staff_user, stripe_fake):
    client.force_login(staff_user)
    stripe_fake.add_payment_intent(amount=4200)
    assert (
        "Reconcile now" in client.get(reverse("admin:payments_reconciliationrun_changelist")).content.decode()
    )
    run_url = reverse("admin:payments_reconciliationrun_run")
    assert client.get(run_url).status_code == 200
    from django.utils import timezone

    response = client.post(run_url, {"since": timezone.localdate().isoformat(), "providers": ["stripe"]})
    run = ReconciliationRun.objects.get()
    assert response["Location"] == reverse("admin:payments_reconciliationrun_change", args=[run.pk])
    assert "Missing locally" in client.get(response["Location"]).content.decode()
    issues = reverse("admin:payments_reconciliationissue_changelist")
    client.post(issues, {"action": "mark_resolved", "_selected_action": [run.issues.get().pk]})
    assert run.issues.get().resolved
