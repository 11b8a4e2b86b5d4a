"""Forms of the workshop admin's payment screens: drafting an invoice, refunding, reconciling.

Staff type amounts in major units ("89.50"); the forms turn them into minor units with the
currency's exponent (:mod:`revivatech.money`), never by multiplying by 100.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils import timezone

from repairs.models import RepairTicket
from revivatech.money import EXPONENTS, MoneyError, decimal_string_to_minor, minor_to_decimal_string

from .lifecycle import InvoiceKind, LineKind, Provider
from .services import LineInput


def _minor(value: Decimal, currency: str) -> int:
    try:
        return decimal_string_to_minor(value, currency)
    except MoneyError as error:
        raise forms.ValidationError(str(error)) from error


class InvoiceForm(forms.Form):
    ticket = forms.CharField(label="Repair reference", max_length=12, help_text="For example RT-7K3Q9X.")
    kind = forms.ChoiceField(choices=InvoiceKind.choices, initial=InvoiceKind.FINAL)
    currency = forms.ChoiceField(choices=[(code, code) for code in sorted(EXPONENTS)])
    from_quote = forms.BooleanField(
        required=False,
        label="Fill from the approved quote",
        help_text="One labour line with the approved quote, less any deposit already paid. "
        "Leave the lines below empty.",
    )
    tax_rate = forms.DecimalField(
        label="VAT rate (%)", min_value=0, max_value=100, decimal_places=2, max_digits=5
    )
    prices_include_tax = forms.BooleanField(required=False, label="Prices include VAT")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, fixed_ticket: RepairTicket | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fixed_ticket = fixed_ticket
        if not self.is_bound:
            self.initial.setdefault("currency", settings.SHOP_CURRENCY)
            self.initial.setdefault("tax_rate", Decimal(settings.PAYMENTS_TAX_RATE_BASIS_POINTS) / 100)
            self.initial.setdefault("prices_include_tax", settings.PAYMENTS_PRICES_INCLUDE_TAX)
        if fixed_ticket is not None:
            for name in ("ticket", "kind", "currency", "from_quote"):
                self.fields[name].disabled = True
            self.fields["from_quote"].widget = forms.HiddenInput()

    def clean_ticket(self) -> RepairTicket:
        if self.fixed_ticket is not None:
            return self.fixed_ticket
        reference = self.cleaned_data["ticket"].strip().upper()
        ticket = RepairTicket.objects.filter(reference=reference).first()
        if ticket is None:
            raise forms.ValidationError(f"No repair has the reference {reference!r}.")
        return ticket

    @property
    def tax_rate_basis_points(self) -> int:
        return int(self.cleaned_data["tax_rate"] * 100)


class InvoiceLineForm(forms.Form):
    kind = forms.ChoiceField(choices=LineKind.choices, initial=LineKind.PART)
    description = forms.CharField(max_length=200)
    quantity = forms.IntegerField(min_value=1, max_value=1000, initial=1)
    unit_price = forms.DecimalField(
        max_digits=12, decimal_places=3, help_text="In major units (89.50). A deposit credit is negative."
    )


InvoiceLineFormSet = forms.formset_factory(
    InvoiceLineForm, extra=4, max_num=50, validate_max=True, can_delete=True
)


def lines_from_formset(formset, currency: str) -> list[LineInput]:
    """The filled-in rows as service inputs (empty rows are skipped)."""
    lines = []
    for number, row in enumerate(formset.forms, start=1):
        data = row.cleaned_data
        if not data or data.get("DELETE"):
            continue
        try:
            unit = decimal_string_to_minor(data["unit_price"], currency)
        except MoneyError as error:
            row.add_error("unit_price", str(error))
            raise forms.ValidationError(f"Line {number}: {error}") from error
        lines.append(LineInput(data["kind"], data["description"], unit, data["quantity"]))
    return lines


def initial_lines(invoice) -> list[dict]:
    return [
        {
            "kind": line.kind,
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": Decimal(minor_to_decimal_string(line.unit_amount, invoice.currency)),
        }
        for line in invoice.lines.all()
    ]


class RefundForm(forms.Form):
    amount = forms.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal("0.001"))
    reason = forms.CharField(
        max_length=300, required=False, help_text="Shown to the customer on their timeline."
    )

    def __init__(self, *args, payment, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.payment = payment
        self.fields["amount"].label = f"Amount ({payment.currency})"
        if not self.is_bound:
            self.initial["amount"] = Decimal(
                minor_to_decimal_string(payment.refundable_amount, payment.currency)
            )

    def clean_amount(self) -> int:
        return _minor(self.cleaned_data["amount"], self.payment.currency)


class ReconcileForm(forms.Form):
    since = forms.DateField(help_text="First day to check (in the shop's time zone).")
    until = forms.DateField(required=False, help_text="Last day to check; empty means up to now.")
    providers = forms.MultipleChoiceField(
        choices=[(Provider.STRIPE, Provider.STRIPE.label), (Provider.PAYPAL, Provider.PAYPAL.label)],
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, configured: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["providers"].choices = [
            choice for choice in self.fields["providers"].choices if choice[0] in configured
        ]
        if not self.is_bound:
            self.initial.update(
                since=timezone.localdate() - timedelta(days=settings.PAYMENTS_RECONCILE_DAYS),
                providers=configured,
            )

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            raise forms.ValidationError("'Until' must not be before 'since'.")
        return data

    def window(self) -> tuple[datetime, datetime | None]:
        zone = timezone.get_current_timezone()
        since = datetime.combine(self.cleaned_data["since"], time.min, tzinfo=zone)
        until = self.cleaned_data.get("until")
        return since, (datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone) if until else None)
