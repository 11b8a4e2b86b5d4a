"""The workshop admin's forms for a repair ticket: each validates one action's input and knows the
one service call that action makes. Nothing here saves a model; the admin view calls ``perform``.

A service's refusal (``ValidationError`` / ``TransitionError``) is shown on the form that asked,
next to the field it names (``error_aliases`` maps the service's field names to the form's).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.contrib.admin import widgets as admin_widgets
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone

from revivatech import money

from . import services
from .lifecycle import Status, allowed_transitions
from .models import Milestone, Note, Photo, Priority, QualityCheck, RepairTicket
from .readyby import services as readyby_services
from .roles import TECHNICIANS_GROUP

#: Statuses in which ``services.send_quote`` accepts a quote; the quote fields are disabled in
#: the others (the service stays the authority and refuses anyway).
QUOTE_CLOSED_HELP = "A quote can be sent while the device is received, being diagnosed or awaiting approval."
#: The largest quote the admin accepts, in major units (keeps minor units inside a 32-bit int).
MAX_QUOTE_MAJOR = Decimal("1000000")
#: What "Update details" submits when nothing was changed.
NOTHING_CHANGED = "Nothing was changed."


def _technicians():
    return get_user_model().objects.filter(groups__name=TECHNICIANS_GROUP).order_by("username")


def show_refusal(form: forms.BaseForm, error: ValidationError, aliases: dict[str, str]) -> None:
    """Put a service's messages on the form fields they name (others on the whole form)."""
    if hasattr(error, "error_dict"):
        items = [
            (None if field == NON_FIELD_ERRORS else field, field_messages)
            for field, field_messages in error.message_dict.items()
        ]
    else:
        items = [(None, error.messages)]
    for field, field_messages in items:
        name = aliases.get(field, field) if field else None
        form.add_error(name if name in form.fields else None, field_messages)


class TicketActionForm(forms.Form):
    """One action on one ticket. ``perform`` makes its single service call and returns the message
    shown after it (or raises the service's ``ValidationError``)."""

    #: Shown as the section heading and on the submit button (not ``title``: a form field's name).
    heading: ClassVar[str] = ""
    button_label: ClassVar[str] = ""
    #: The permission the action needs on top of changing the ticket (None: changing is enough).
    permission: ClassVar[str | None] = None
    error_aliases: ClassVar[dict[str, str]] = {}
    #: Shown with its fields disabled and no button (e.g. the quote once it is decided).
    read_only = False

    def __init__(self, *args: Any, ticket: RepairTicket, **kwargs: Any) -> None:
        self.ticket = ticket
        super().__init__(*args, **kwargs)

    @classmethod
    def required_permission(cls) -> str | None:
        return cls.permission

    @classmethod
    def available(cls, ticket: RepairTicket) -> bool:
        """Whether the action is offered on this ticket at all."""
        return True

    def perform(self, user) -> str:
        raise NotImplementedError


# --- the ticket itself --------------------------------------------------------------------------------


class TicketAddForm(forms.ModelForm):
    """Staff open a ticket for a device on file; saved by ``services.create_ticket``."""

    class Meta:
        model = RepairTicket
        fields = ("customer", "device", "problem_description", "priority", "due_date", "assigned_technician")

    def perform(self, user) -> RepairTicket:
        data = self.cleaned_data
        return services.create_ticket(
            customer=data["customer"],
            device=data["device"],
            problem=data["problem_description"],
            priority=data["priority"],
            due_date=data.get("due_date"),
            assigned_technician=data.get("assigned_technician"),
            by=user,
        )


class DetailsForm(TicketActionForm):
    """The ticket's working details, through ``services.update_ticket``. Only staff (re)assign."""

    heading = "Details"
    button_label = "Update details"

    problem_description = forms.CharField(
        label="Reported problem", widget=forms.Textarea(attrs={"rows": 4, "cols": 60})
    )
    priority = forms.ChoiceField(choices=Priority.choices)
    due_date = forms.DateField(required=False, widget=admin_widgets.AdminDateWidget)
    assigned_technician = forms.ModelChoiceField(queryset=_technicians(), required=False)

    def __init__(self, *args: Any, can_assign: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ticket = self.ticket
        self.initial.update(
            problem_description=ticket.problem_description,
            priority=ticket.priority,
            due_date=ticket.due_date,
            assigned_technician=ticket.assigned_technician_id,
        )
        self.fields["assigned_technician"].queryset = _technicians()
        if not can_assign:
            del self.fields["assigned_technician"]

    def perform(self, user) -> str:
        changes = {name: self.cleaned_data[name] for name in self.changed_data}
        if not changes:
            return NOTHING_CHANGED
        services.update_ticket(self.ticket, by=user, **changes)
        return "The details were updated."


class QuoteForm(TicketActionForm):
    """A new or changed quote, through ``services.send_quote`` (the customer is asked again)."""

    heading = "Quote"
    button_label = "Send the quote"
    error_aliases = {"quote_amount": "quote_amount_major", "quote_currency": "quote_currency_code"}

    quote_amount_major = forms.DecimalField(
        label="Quote amount",
        min_value=Decimal("0"),
        max_value=MAX_QUOTE_MAJOR,
        max_digits=10,
        decimal_places=3,
        help_text="In major units, e.g. 89.00. Changing it sends the customer a new quote.",
        error_messages={"required": "Enter the quote amount."},
    )
    quote_currency_code = forms.CharField(
        label="Currency", required=False, max_length=3, help_text="Three-letter code, e.g. GBP."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ticket = self.ticket
        self.initial.update(
            quote_amount_major=money.minor_to_decimal(ticket.quote_amount, ticket.quote_currency),
            quote_currency_code=ticket.quote_currency,
        )
        amount_field = self.fields["quote_amount_major"]
        amount_field.widget.attrs["step"] = str(Decimal(1).scaleb(-money.exponent(ticket.quote_currency)))
        if ticket.quote_amount is not None:
            amount_field.error_messages["required"] = (
                "A quote has been sent; it cannot be removed, only replaced by a new amount."
            )
        self.read_only = ticket.status not in services.QUOTABLE_STATUSES
        if self.read_only:
            amount_field.disabled = self.fields["quote_currency_code"].disabled = True
            amount_field.required = False
            amount_field.help_text = QUOTE_CLOSED_HELP

    def clean_quote_currency_code(self) -> str:
        code = (self.cleaned_data.get("quote_currency_code") or "").strip()
        if not code:
            return self.ticket.quote_currency
        try:
            return money.normalise_currency(code)
        except money.MoneyError as error:
            raise ValidationError(str(error)) from error

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        amount, currency = cleaned.get("quote_amount_major"), cleaned.get("quote_currency_code")
        if amount is not None and currency:
            try:
                cleaned["quote_amount_minor"] = money.decimal_string_to_minor(amount, currency)
            except money.MoneyError as error:
                self.add_error("quote_amount_major", str(error))
        return cleaned

    def perform(self, user) -> str:
        if self.read_only:  # disabled fields post nothing: a forged quote changes nothing
            return NOTHING_CHANGED
        amount, currency = self.cleaned_data["quote_amount_minor"], self.cleaned_data["quote_currency_code"]
        if amount == self.ticket.quote_amount and currency == self.ticket.quote_currency:
            return NOTHING_CHANGED
        services.send_quote(self.ticket, amount=amount, currency=currency, by=user)
        return f"Quote of {money.format_money(amount, currency)} sent to the customer."


class PromiseForm(TicketActionForm):
    """The time promised to the customer, through ``readyby_services.promise_ready_by``."""

    heading = "Ready by"
    button_label = "Save the promise"
    error_aliases = {"promised_ready_at": "promise_ready_by"}

    promise_ready_by = forms.SplitDateTimeField(
        label="Promised ready by",
        required=False,
        widget=admin_widgets.AdminSplitDateTime,
        help_text="Shown to the customer instead of the estimate (shop time). Clear it to withdraw it.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.ticket.promised_ready_at is not None:
            self.initial["promise_ready_by"] = timezone.localtime(self.ticket.promised_ready_at)
        # One label, two inputs: name each half (axe: "label").
        date, time = self.fields["promise_ready_by"].widget.widgets
        date.attrs["aria-label"] = "Promised ready by: date"
        time.attrs["aria-label"] = "Promised ready by: time"

    def perform(self, user) -> str:
        promised = self.cleaned_data.get("promise_ready_by")
        if promised == self.ticket.promised_ready_at:
            return NOTHING_CHANGED
        readyby_services.promise_ready_by(self.ticket, promised, by=user)
        return "The promise was withdrawn." if promised is None else "The promised time was saved."


class StatusForm(TicketActionForm):
    """The next status, with an optional message to the customer, through
    ``services.transition_ticket``."""

    heading = "Status change"
    button_label = "Move status"
    permission = "repairs.transition_repairticket"
    error_aliases = {"status": "move_to_status"}

    move_to_status = forms.CharField(
        label="Move to status",
        widget=forms.Select,
        error_messages={"required": "Choose the status to move to."},
    )
    status_message = forms.CharField(
        label="Message to the customer",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown on the customer's tracking page with the status change.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = self.ticket.status
        allowed = allowed_transitions(current)
        field = self.fields["move_to_status"]
        field.widget.choices = [("", "— choose —")] + [(target, Status(target).label) for target in allowed]
        field.help_text = f"Now “{Status(current).label}”."

    @classmethod
    def available(cls, ticket: RepairTicket) -> bool:
        return bool(allowed_transitions(ticket.status))  # a closed ticket has nowhere to go

    def clean_move_to_status(self) -> str:
        """Only the lifecycle's next statuses; anything else (a forged POST) is refused here."""
        target = self.cleaned_data["move_to_status"].strip()
        current = self.ticket.status
        allowed = allowed_transitions(current)
        if target not in allowed:
            target_label = Status(target).label if target in Status.values else target
            allowed_labels = ", ".join(Status(s).label for s in allowed) or "none (the ticket is closed)"
            raise ValidationError(
                f"A ticket cannot move from “{Status(current).label}” to “{target_label}”. "
                f"Allowed next: {allowed_labels}."
            )
        return target

    def perform(self, user) -> str:
        target = self.cleaned_data["move_to_status"]
        message = self.cleaned_data.get("status_message", "").strip()
        services.transition_ticket(self.ticket, target, by=user, note=message)
        return f"Moved to “{Status(target).label}”."


# --- history: each form adds one row through its service --------------------------------------------


class HistoryForm(TicketActionForm):
    """Adds one history row; its fields come from the model (labels, lengths, choices)."""

    model: ClassVar[type]
    model_fields: ClassVar[tuple[str, ...]] = ()
    widgets: ClassVar[dict[str, forms.Widget]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields = forms.fields_for_model(self.model, fields=self.model_fields, widgets=self.widgets)
        self.fields = {**fields, **self.fields}

    @classmethod
    def required_permission(cls) -> str:
        return f"{cls.model._meta.app_label}.add_{cls.model._meta.model_name}"


class MilestoneForm(HistoryForm):
    heading = "Add a milestone"
    button_label = "Add the milestone"
    model = Milestone
    model_fields = ("title", "percent")

    def perform(self, user) -> str:
        data = self.cleaned_data
        services.add_milestone(self.ticket, title=data["title"], percent=data["percent"], by=user)
        return f"Milestone “{data['title']}” added."


class PhotoForm(HistoryForm):
    heading = "Add a photo"
    button_label = "Upload the photo"
    model = Photo
    model_fields = ("category", "caption", "visible_to_customer")
    error_aliases = {"image": "upload"}

    # Not the model's ``image`` field: the services check and store the upload (photos are private).
    upload = forms.ImageField(label="Image")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields = {"upload": self.fields.pop("upload"), **self.fields}

    def perform(self, user) -> str:
        data = self.cleaned_data
        services.add_photo(
            self.ticket,
            image=data["upload"],
            category=data["category"],
            caption=data.get("caption", ""),
            visible_to_customer=data.get("visible_to_customer", False),
            by=user,
        )
        return "Photo added."


class QualityCheckForm(HistoryForm):
    heading = "Add a quality check"
    button_label = "Record the check"
    model = QualityCheck
    model_fields = ("item", "passed", "notes")
    widgets = {"notes": forms.Textarea(attrs={"rows": 2, "cols": 40})}

    def perform(self, user) -> str:
        data = self.cleaned_data
        services.record_quality_check(
            self.ticket,
            item=data["item"],
            passed=bool(data.get("passed")),
            notes=data.get("notes", ""),
            by=user,
        )
        return f"Quality check “{data['item']}” recorded."


class NoteForm(HistoryForm):
    heading = "Add a note"
    button_label = "Add the note"
    model = Note
    model_fields = ("text", "priority", "visible_to_customer")
    widgets = {"text": forms.Textarea(attrs={"rows": 3, "cols": 60})}

    def perform(self, user) -> str:
        data = self.cleaned_data
        services.add_note(
            self.ticket,
            text=data["text"],
            priority=data["priority"],
            visible_to_customer=data.get("visible_to_customer", False),
            by=user,
        )
        return "Note added."


#: The change page's actions, by the name their form posts as ``action`` (and its field prefix).
TICKET_ACTIONS: dict[str, type[TicketActionForm]] = {
    "status": StatusForm,
    "details": DetailsForm,
    "quote": QuoteForm,
    "promise": PromiseForm,
    "milestone": MilestoneForm,
    "photo": PhotoForm,
    "check": QualityCheckForm,
    "note": NoteForm,
}


class AssignTechnicianForm(forms.Form):
    technician = forms.ModelChoiceField(
        queryset=_technicians(),
        empty_label="Choose a technician",
        error_messages={"required": "Choose the technician to assign the tickets to."},
    )
