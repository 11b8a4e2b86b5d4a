"""Forms of the customer-facing pages. They only validate input; services do the writing."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from .models import ContactChannel, Customer, DeviceKind
from .services import CustomerDetails, DeviceDetails

PHONE_ALLOWED = re.compile(r"^\+?[0-9 ()./-]+$")
PHONE_MIN_DIGITS = 7
PHONE_MAX_DIGITS = 15  # the E.164 maximum
PROBLEM_MIN_LENGTH = 10
PROBLEM_MAX_LENGTH = 5000

#: Contact preferences that need a phone number, and what they are called in a sentence.
PHONE_CHANNELS = {ContactChannel.SMS: "text messages", ContactChannel.PHONE: "phone calls"}

CONTACT_FIELDS = ("name", "email", "phone", "preferred_contact")


def validate_phone(value: str) -> None:
    """Accept the usual ways of writing a number (+44 7700 900123, (020) 7946-0958)."""
    digits = re.sub(r"\D", "", value)
    if not PHONE_ALLOWED.match(value) or not PHONE_MIN_DIGITS <= len(digits) <= PHONE_MAX_DIGITS:
        raise ValidationError(
            "Enter a phone number of 7 to 15 digits, e.g. +44 7700 900123 "
            "(spaces, brackets and dashes are fine).",
            code="invalid_phone",
        )


class BookingForm(forms.Form):
    """Book a repair. Field names match the model fields, so service errors map back 1:1."""

    name = forms.CharField(
        label="Your name", max_length=120, widget=forms.TextInput({"autocomplete": "name"})
    )
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput({"autocomplete": "email"}),
        help_text="We use it to keep you posted about your repair.",
    )
    phone = forms.CharField(
        label="Phone number",
        max_length=32,
        required=False,
        validators=[validate_phone],
        widget=forms.TextInput({"autocomplete": "tel", "inputmode": "tel", "type": "tel"}),
        help_text="Needed if you would like texts or calls.",
    )
    preferred_contact = forms.ChoiceField(
        label="How should we contact you?",
        choices=ContactChannel.choices,
        initial=ContactChannel.EMAIL,
        widget=forms.RadioSelect,
    )
    kind = forms.ChoiceField(label="Type of device", choices=[("", "Choose…"), *DeviceKind.choices])
    brand = forms.CharField(
        label="Brand", max_length=60, widget=forms.TextInput({"placeholder": "e.g. Apple"})
    )
    model = forms.CharField(
        label="Model", max_length=80, widget=forms.TextInput({"placeholder": "e.g. iPhone 13"})
    )
    serial_number = forms.CharField(
        label="Serial number or IMEI",
        max_length=64,
        required=False,
        widget=forms.TextInput({"autocomplete": "off", "spellcheck": "false"}),
        help_text="Usually on a label underneath, or in the device settings.",
    )
    condition_on_intake = forms.CharField(
        label="Condition of the device",
        max_length=2000,
        widget=forms.Textarea({"rows": 2}),
        help_text="Scratches, dents, cracks… or “no visible damage”.",
    )
    accessories = forms.CharField(
        label="Accessories you will leave with us",
        max_length=255,
        required=False,
        help_text="For example: charger, case, stylus.",
    )
    problem_description = forms.CharField(
        label="What is wrong?",
        min_length=PROBLEM_MIN_LENGTH,
        max_length=PROBLEM_MAX_LENGTH,
        widget=forms.Textarea({"rows": 5}),
        help_text="What happens, since when, and anything you have already tried. "
        "Never include your passcode: we will not ask for it.",
        error_messages={
            "min_length": "Please describe the problem in at least %(limit_value)d characters "
            "(you wrote %(show_value)d)."
        },
    )

    def __init__(self, *args: Any, customer: Customer | None = None, **kwargs: Any) -> None:
        """With ``customer`` (a logged-in customer on file) the contact details are theirs, read-only."""
        super().__init__(*args, **kwargs)
        self.customer = customer
        if customer is not None:
            for field_name in CONTACT_FIELDS:
                self.fields[field_name].initial = getattr(customer, field_name)
                self.fields[field_name].disabled = True
                self.fields[field_name].required = False
            self.fields["phone"].help_text = ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        channel = PHONE_CHANNELS.get(cleaned.get("preferred_contact"))
        needs_phone = self.customer is None and channel is not None
        if needs_phone and not cleaned.get("phone") and "phone" not in self.errors:
            self.add_error("phone", f"Add a phone number for {channel}, or choose email instead.")
        return cleaned

    def customer_details(self) -> CustomerDetails:
        data = self.cleaned_data
        return CustomerDetails(
            name=data["name"],
            email=data["email"],
            phone=data.get("phone", ""),
            preferred_contact=data["preferred_contact"],
        )

    def device_details(self) -> DeviceDetails:
        data = self.cleaned_data
        return DeviceDetails(
            kind=data["kind"],
            brand=data["brand"],
            model=data["model"],
            serial_number=data.get("serial_number", ""),
            condition_on_intake=data["condition_on_intake"],
            accessories=data.get("accessories", ""),
        )


class QuoteDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("decline", "Decline")])
    #: Set by the confirmation page's button: without it nothing is decided (step one of two).
    confirmed = forms.BooleanField(required=False)

    @property
    def approved(self) -> bool:
        return self.cleaned_data["decision"] == "approve"
