"""The workshop admin for technicians and shop staff.

Technicians see and work on the tickets assigned to them; staff see everything. Every write to
a ticket and its history goes through :mod:`repairs.services`:

* the ticket form's ``save_model`` calls ``update_ticket``, ``send_quote`` and
  ``transition_ticket`` (in that order), or ``create_ticket`` on the add page;
* the history inlines (milestones, photos, quality checks, notes) only add rows, each through
  its service, in ``save_formset``; existing rows are read-only.

A service that refuses (``ValidationError`` / ``TransitionError``) raises :class:`ServiceRefusal`
out of Django's ``changeform_view`` transaction, so everything done in that save is rolled back.
The view then runs once more with the refusal attached to the request: the form (or the inline
form) that caused it shows the service's message next to the right field, with the user's input
kept and nothing saved.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from revivatech import money
from revivatech.admin_mixins import ReadOnlyAdminMixin
from revivatech.money import format_money

from . import photos, services
from .lifecycle import Status, allowed_transitions
from .models import (
    STATUS_EVENT_KINDS,
    Customer,
    Device,
    Milestone,
    Note,
    Photo,
    QualityCheck,
    RepairTicket,
    ShopClosure,
    ShopProfile,
    TicketEvent,
)
from .readyby import selectors as readyby_selectors
from .readyby import services as readyby_services
from .roles import TECHNICIANS_GROUP, is_shop_staff
from .selectors import (
    customers_visible_to,
    devices_visible_to,
    status_history,
    status_label,
    tickets_visible_to,
    user_can_manage_ticket,
)

#: Statuses in which ``services.send_quote`` accepts a quote; the quote fields are disabled in
#: the others (the service stays the authority and refuses anyway).
QUOTE_CLOSED_HELP = "A quote can be sent while the device is received, being diagnosed or awaiting approval."
#: Ticket details that ``services.update_ticket`` changes.
DETAIL_FIELDS = ("problem_description", "priority", "due_date", "assigned_technician")
#: The largest quote the admin accepts, in major units (keeps minor units inside a 32-bit int).
MAX_QUOTE_MAJOR = Decimal("1000000")

_REFUSAL_ATTR = "_repairs_admin_service_refusal"
_STORED_FILES_ATTR = "_repairs_admin_stored_files"
_MAIN_FORM = None


# --- service refusals --------------------------------------------------------------------------


class ServiceRefusal(Exception):
    """A service refused a write made by an admin form; carries where to show the message.

    ``formset_prefix`` is ``None`` for the main ticket form, otherwise the inline formset's
    prefix, with ``form_index`` the position of the refused form in that formset.
    """

    def __init__(
        self, error: ValidationError, formset_prefix: str | None = _MAIN_FORM, form_index: int = 0
    ) -> None:
        super().__init__(error)
        self.error = error
        self.formset_prefix = formset_prefix
        self.form_index = form_index


def _error_items(error: ValidationError) -> list[tuple[str | None, list[str]]]:
    """(field or None, messages) pairs of a ValidationError, whatever its shape."""
    if hasattr(error, "error_dict"):
        return [
            (None if field == NON_FIELD_ERRORS else field, field_messages)
            for field, field_messages in error.message_dict.items()
        ]
    return [(None, error.messages)]


def _show_refusal(form: forms.BaseForm, error: ValidationError, aliases: dict[str, str]) -> None:
    """Put a service's messages on the form fields they name (others on the whole form)."""
    for field, field_messages in _error_items(error):
        name = aliases.get(field, field) if field else None
        form.add_error(name if name in form.fields else None, field_messages)


def _refusal_of(request: HttpRequest) -> ServiceRefusal | None:
    return getattr(request, _REFUSAL_ATTR, None)


def _discard_stored_files(request: HttpRequest) -> None:
    """Delete files saved by a write that was then rolled back (the database forgets them)."""
    for storage, name in getattr(request, _STORED_FILES_ATTR, []):
        storage.delete(name)
    setattr(request, _STORED_FILES_ATTR, [])


def _rewind_uploads(request: HttpRequest) -> None:
    for _name, uploads in request.FILES.lists():
        for upload in uploads:
            upload.seek(0)


# --- money -----------------------------------------------------------------------------------------


# --- visibility --------------------------------------------------------------------------------------


# --- ticket forms ------------------------------------------------------------------------------------


class TicketAddForm(forms.ModelForm):
    """Staff open a ticket for a device on file; saved by ``services.create_ticket``."""

    service_refusal: ClassVar[ServiceRefusal | None] = None

    class Meta:
        model = RepairTicket
        fields = ("customer", "device", "problem_description", "priority", "due_date", "assigned_technician")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.service_refusal is not None and self.service_refusal.formset_prefix is _MAIN_FORM:
            _show_refusal(self, self.service_refusal.error, {})
        return cleaned


class TicketChangeForm(forms.ModelForm):
    """A ticket's details, its quote and the next status; saved by the services, never directly."""

    quote_amount_major = forms.DecimalField(
        label="Quote amount",
        required=False,
        min_value=Decimal("0"),
        max_value=MAX_QUOTE_MAJOR,
        max_digits=10,
        decimal_places=3,
        help_text="In major units, e.g. 89.00. Changing it sends the customer a new quote.",
    )
    quote_currency_code = forms.CharField(
        label="Currency", required=False, max_length=3, help_text="Three-letter code, e.g. GBP."
    )
    move_to_status = forms.CharField(label="Move to status", required=False, widget=forms.Select)
    status_message = forms.CharField(
        label="Message to the customer",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown on the customer's tracking page with the status change.",
    )

    promise_ready_by = forms.SplitDateTimeField(
        label="Promised ready by",
        required=False,
        widget=admin.widgets.AdminSplitDateTime,
        help_text="Shown to the customer instead of the estimate (shop time). Clear it to withdraw it.",
    )

    service_refusal: ClassVar[ServiceRefusal | None] = None
    can_transition: ClassVar[bool] = True
    #: Service error fields -> the form fields that show them.
    error_aliases: ClassVar[dict[str, str]] = {
        "promised_ready_at": "promise_ready_by",
        "status": "move_to_status",
        "quote_amount": "quote_amount_major",
        "quote_currency": "quote_currency_code",
    }

    class Meta:
        model = RepairTicket
        fields = DETAIL_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ticket = self.instance
        self.initial.setdefault(
            "quote_amount_major", money.minor_to_decimal(ticket.quote_amount, ticket.quote_currency)
        )
        self.initial.setdefault("quote_currency_code", ticket.quote_currency)
        if ticket.promised_ready_at is not None:
            self.initial.setdefault("promise_ready_by", timezone.localtime(ticket.promised_ready_at))
        if "promise_ready_by" in self.fields:  # one label, two inputs: name each half (axe: "label")
            date, time = self.fields["promise_ready_by"].widget.widgets
            date.attrs["aria-label"] = "Promised ready by: date"
            time.attrs["aria-label"] = "Promised ready by: time"
        step = Decimal(1).scaleb(-money.exponent(ticket.quote_currency))
        self.fields["quote_amount_major"].widget.attrs["step"] = str(step)
        if ticket.status not in services.QUOTABLE_STATUSES:
            amount_field, currency_field = (
                self.fields["quote_amount_major"],
                self.fields["quote_currency_code"],
            )
            amount_field.disabled = currency_field.disabled = True
            amount_field.help_text = QUOTE_CLOSED_HELP
        if not self.can_transition:
            del self.fields["move_to_status"]
            del self.fields["status_message"]
            return
        self._setup_status_choices(ticket.status)

    def _setup_status_choices(self, current: str) -> None:
        field = self.fields["move_to_status"]
        field.widget.choices = [("", f"— keep “{Status(current).label}” —")] + [
            (target, Status(target).label) for target in allowed_transitions(current)
        ]
        if not allowed_transitions(current):
            field.help_text = "This ticket is closed; its status can no longer change."

    def clean_move_to_status(self) -> str:
        """Only the lifecycle's next statuses; anything else (a forged POST) is refused here."""
        target = (self.cleaned_data.get("move_to_status") or "").strip()
        current = self.instance.status
        allowed = allowed_transitions(current)
        if target and target not in allowed:
            target_label = Status(target).label if target in Status.values else target
            allowed_labels = ", ".join(Status(s).label for s in allowed) or "none (the ticket is closed)"
            raise ValidationError(
                f"A ticket cannot move from “{Status(current).label}” to “{target_label}”. "
                f"Allowed next: {allowed_labels}."
            )
        return target

    def clean_quote_currency_code(self) -> str:
        code = (self.cleaned_data.get("quote_currency_code") or "").strip()
        if not code:
            return ""
        try:
            return money.normalise_currency(code)
        except money.MoneyError as error:
            raise ValidationError(str(error)) from error

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self._check_quote(cleaned)
        if (
            "move_to_status" in self.fields
            and (cleaned.get("status_message") or "").strip()
            and not cleaned.get("move_to_status")
        ):
            self.add_error(
                "status_message",
                "The message is sent with a status change: choose a status to move to, or clear it.",
            )
        if self.service_refusal is not None and self.service_refusal.formset_prefix is _MAIN_FORM:
            _show_refusal(self, self.service_refusal.error, self.error_aliases)
        return cleaned

    def _check_quote(self, cleaned: dict[str, Any]) -> None:
        if self.fields["quote_amount_major"].disabled or "quote_amount_major" not in cleaned:
            return
        ticket = self.instance
        amount = cleaned.get("quote_amount_major")
        currency = cleaned.get("quote_currency_code") or ticket.quote_currency
        if amount is None:
            if ticket.quote_amount is not None:
                self.add_error(
                    "quote_amount_major",
                    "A quote has been sent; it cannot be removed, only replaced by a new amount.",
                )
            elif currency != ticket.quote_currency:
                self.add_error("quote_amount_major", "Enter the quote amount for this currency.")
            return
        try:
            cleaned["quote_amount_minor"] = money.decimal_string_to_minor(amount, currency)
        except money.MoneyError as error:
            self.add_error("quote_amount_major", str(error))

    # What the save has to do, read by RepairTicketAdmin.save_model.

    def detail_changes(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name]
            for name in DETAIL_FIELDS
            if name in self.fields and name in self.changed_data
        }

    def new_quote(self) -> tuple[int, str] | None:
        """(amount in minor units, currency) when the quote was set or changed, else None."""
        amount = self.cleaned_data.get("quote_amount_minor")
        if amount is None:
            return None
        currency = self.cleaned_data.get("quote_currency_code") or self.instance.quote_currency
        if amount == self.instance.quote_amount and currency == self.instance.quote_currency:
            return None
        return amount, currency

    def new_promise(self) -> tuple[bool, Any]:
        """(changed, the promised time or None) for the "Promised ready by" field."""
        if "promise_ready_by" not in self.changed_data:
            return False, None
        return True, self.cleaned_data.get("promise_ready_by")

    def new_status(self) -> tuple[str, str] | None:
        """(target status, message to the customer) when a status was chosen, else None."""
        target = self.cleaned_data.get("move_to_status")
        if not target:
            return None
        return target, (self.cleaned_data.get("status_message") or "").strip()


class AssignTechnicianForm(forms.Form):
    technician = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(groups__name=TECHNICIANS_GROUP).order_by("username"),
        empty_label="Choose a technician",
        error_messages={"required": "Choose the technician to assign the tickets to."},
    )


# --- history inlines ------------------------------------------------------------------------------


class ServiceInlineFormSet(BaseInlineFormSet):
    """Shows a service's refusal of one of its new rows on that row."""

    service_refusal: ClassVar[ServiceRefusal | None] = None
    error_aliases: ClassVar[dict[str, str]] = {}

    def clean(self) -> None:
        super().clean()
        refusal = self.service_refusal
        if refusal is None or refusal.formset_prefix != self.prefix:
            return
        if refusal.form_index >= len(self.forms):
            raise ValidationError(refusal.error.messages)
        _show_refusal(self.forms[refusal.form_index], refusal.error, self.error_aliases)


class AppendOnlyInline(admin.TabularInline):
    """Existing history rows are read-only; new rows are added only through ``create``."""

    extra = 1
    can_delete = False
    formset = ServiceInlineFormSet
    error_aliases: ClassVar[dict[str, str]] = {}

    def create(self, ticket: RepairTicket, data: dict[str, Any], user) -> models.Model:
        """Add one row through its service."""
        raise NotImplementedError

    def get_formset(self, request: HttpRequest, obj: RepairTicket | None = None, **kwargs: Any):
        formset = super().get_formset(request, obj, **kwargs)
        # A tabular row has column headers but no <label> per input: name each input for screen
        # readers ("New milestone: Title").
        for field in formset.form.base_fields.values():
            field.widget.attrs.setdefault("aria-label", f"New {self.verbose_name}: {field.label}")
        return type(
            formset.__name__,
            (formset,),
            {
                "service_refusal": _refusal_of(request),
                "error_aliases": self.error_aliases,
                "service_inline": self,
            },
        )

    def has_add_permission(self, request: HttpRequest, obj: RepairTicket | None = None) -> bool:
        return (
            obj is not None
            and super().has_add_permission(request, obj)
            and user_can_manage_ticket(request.user, obj)
        )

    def has_change_permission(self, request: HttpRequest, obj: RepairTicket | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RepairTicket | None = None) -> bool:
        return False


class MilestoneInline(AppendOnlyInline):
    model = Milestone
    fields = ("title", "percent", "reached_at", "created_by")
    readonly_fields = ("reached_at", "created_by")

    def create(self, ticket: RepairTicket, data: dict[str, Any], user) -> Milestone:
        return services.add_milestone(ticket, title=data["title"], percent=data["percent"], by=user)


class PhotoInline(AppendOnlyInline):
    model = Photo
    fields = ("thumbnail", "upload", "category", "caption", "visible_to_customer", "taken_by", "created_at")
    readonly_fields = ("thumbnail", "taken_by", "created_at")
    error_aliases: ClassVar[dict[str, str]] = {"image": "upload"}

    class Media:
        css: ClassVar[dict[str, list[str]]] = {"all": ["css/admin-repairs.css"]}

    class PhotoForm(forms.ModelForm):
        # Not the model's ``image`` field: its read-only display would link to MEDIA_URL, which
        # is never served (photos are private). Existing rows show ``upload`` below instead.
        upload = forms.ImageField(label="Image")

        class Meta:
            model = Photo
            fields = ("category", "caption", "visible_to_customer")

    form = PhotoForm

    @admin.display(description="Preview")
    def thumbnail(self, photo: Photo) -> str:
        if photo.pk is None:
            return "—"
        small = photos.planned_widths(photo.width)[0]
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img class="rt-thumb" src="{}" alt="{}"></a>'
            ' <a href="{}">original</a>',
            reverse("photo", args=[photo.pk]),
            reverse("photo-variant", args=[photo.pk, small, "webp"]),
            photo.caption or str(photo),
            reverse("photo-original", args=[photo.pk]),
        )

    @admin.display(description="Image")
    def upload(self, photo: Photo) -> str:
        if photo.pk is None:
            return "—"
        size = f"{photo.width}×{photo.height}" if photo.width and photo.height else "image"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">Open ({})</a>',
            reverse("photo", args=[photo.pk]),
            size,
        )

    def create(self, ticket: RepairTicket, data: dict[str, Any], user) -> Photo:
        return services.add_photo(
            ticket,
            image=data["upload"],
            category=data["category"],
            caption=data.get("caption", ""),
            visible_to_customer=data.get("visible_to_customer", False),
            by=user,
        )


class QualityCheckInline(AppendOnlyInline):
    model = QualityCheck
    fields = ("item", "passed", "notes", "checked_by", "created_at")
    readonly_fields = ("checked_by", "created_at")
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 40})}}

    def create(self, ticket: RepairTicket, data: dict[str, Any], user) -> QualityCheck:
        return services.record_quality_check(
            ticket, item=data["item"], passed=bool(data.get("passed")), notes=data.get("notes", ""), by=user
        )


class NoteInline(AppendOnlyInline):
    model = Note
    fields = ("text", "priority", "visible_to_customer", "author", "created_at")
    readonly_fields = ("author", "created_at")
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 60})}}

    def create(self, ticket: RepairTicket, data: dict[str, Any], user) -> Note:
        return services.add_note(
            ticket,
            text=data["text"],
            priority=data["priority"],
            visible_to_customer=data.get("visible_to_customer", False),
            by=user,
        )


# --- tickets ----------------------------------------------------------------------------------------


class ReadyByRiskFilter(admin.SimpleListFilter):
    """Staff's "due soon / at risk of being late" view of the open repairs (repairs/readyby)."""

    title = "ready by"
    parameter_name = "ready_by"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [
            ("late", "Late (past the promise or the estimate's range)"),
            ("at_risk", "At risk of being late"),
            ("due_soon", "Due within a working day"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[RepairTicket]) -> QuerySet[RepairTicket]:
        pick = {
            "late": readyby_selectors.late_tickets,
            "at_risk": readyby_selectors.at_risk_tickets,
            "due_soon": readyby_selectors.due_soon_tickets,
        }.get(self.value() or "")
        return queryset.filter(pk__in=pick().values("pk")) if pick else queryset


@admin.register(RepairTicket)
class RepairTicketAdmin(admin.ModelAdmin):
    list_display = (
        "reference",
        "customer_name",
        "device",
        "status",
        "progress",
        "priority",
        "assigned_technician",
        "due_date",
        "updated_at",
    )
    list_filter = ("status", ReadyByRiskFilter, "priority", "assigned_technician")
    search_fields = ("reference", "customer__name", "customer__email", "device__serial_number")
    search_help_text = "Reference, customer name or email, device serial number or IMEI."
    autocomplete_fields = ("customer", "device")
    inlines = (MilestoneInline, PhotoInline, QualityCheckInline, NoteInline)
    list_per_page = 50
    save_as = False
    actions = ("assign_to_technician", "reopen_declined_quotes")

    add_fieldsets = (
        (None, {"fields": ("customer", "device", "problem_description")}),
        ("Planning", {"fields": ("priority", "due_date", "assigned_technician")}),
    )
    change_readonly_fields = (
        "reference",
        "customer_links",
        "customer",
        "device",
        "status",
        "progress",
        "quote_summary",
        "quote_decided_at",
        "ready_by_summary",
        "created_at",
        "updated_at",
        "status_history",
        "event_log",
    )

    # --- who sees and may do what

    def get_queryset(self, request: HttpRequest) -> QuerySet[RepairTicket]:
        return tickets_visible_to(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_shop_staff(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: RepairTicket | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or user_can_manage_ticket(request.user, obj))

    def has_delete_permission(self, request: HttpRequest, obj: RepairTicket | None = None) -> bool:
        return False  # a ticket and its history are kept; cancel it instead

    def has_assign_permission(self, request: HttpRequest) -> bool:
        """Only staff (re)assign tickets; used by the "Assign to technician…" action."""
        return is_shop_staff(request.user)

    def get_list_filter(self, request: HttpRequest) -> tuple[str, ...]:
        if is_shop_staff(request.user):
            return self.list_filter
        return tuple(name for name in self.list_filter if name != "assigned_technician")

    # --- the form

    def get_fieldsets(self, request: HttpRequest, obj: RepairTicket | None = None):
        if obj is None:
            return self.add_fieldsets
        editable = self.has_change_permission(request, obj)
        quote_fields = ("quote_summary", "quote_decided_at")
        if editable:
            quote_fields = ("quote_amount_major", "quote_currency_code", *quote_fields)
        fieldsets = [
            (None, {"fields": ("reference", "customer_links", "customer", "device", "status", "progress")}),
            ("Details", {"fields": DETAIL_FIELDS}),
            ("Quote", {"fields": quote_fields}),
            (
                "Ready by",
                {"fields": ("ready_by_summary", "promise_ready_by") if editable else ("ready_by_summary",)},
            ),
        ]
        if editable and request.user.has_perm("repairs.transition_repairticket"):
            fieldsets.append(("Status change", {"fields": ("move_to_status", "status_message")}))
        fieldsets += [
            ("History", {"fields": ("status_history", "created_at", "updated_at")}),
            ("Event log", {"fields": ("event_log",), "classes": ("collapse",)}),
        ]
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: RepairTicket | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        if is_shop_staff(request.user):
            return self.change_readonly_fields
        return (*self.change_readonly_fields, "assigned_technician")

    def get_form(self, request: HttpRequest, obj: RepairTicket | None = None, change: bool = False, **kwargs):
        base = TicketChangeForm if obj is not None else TicketAddForm
        attrs: dict[str, Any] = {"service_refusal": _refusal_of(request)}
        if obj is not None:
            attrs["can_transition"] = request.user.has_perm("repairs.transition_repairticket")
        kwargs["form"] = type(base.__name__, (base,), attrs)
        return super().get_form(request, obj, change=change, **kwargs)

    def get_inline_instances(self, request: HttpRequest, obj: RepairTicket | None = None):
        if obj is None:
            return []  # history starts once the ticket exists
        return super().get_inline_instances(request, obj)

    # --- saving through the services

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        setattr(request, _STORED_FILES_ATTR, [])
        try:
            # Django runs this in a transaction: a ServiceRefusal escaping it rolls back the save.
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefusal as refusal:
            _discard_stored_files(request)
            _rewind_uploads(request)
            setattr(request, _REFUSAL_ATTR, refusal)
            # Again, with the refusal shown on the form that caused it; nothing is saved.
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(
        self, request: HttpRequest, obj: RepairTicket, form: forms.ModelForm, change: bool
    ) -> None:
        try:
            ticket = (
                self._apply_changes(obj, form, request.user) if change else self._create(form, request.user)
            )
        except ValidationError as error:
            raise ServiceRefusal(error) from error
        obj.pk = ticket.pk
        obj.refresh_from_db()
        obj._state.adding = False

    @staticmethod
    def _create(form: TicketAddForm, user) -> RepairTicket:
        data = form.cleaned_data
        return services.create_ticket(
            customer=data["customer"],
            device=data["device"],
            problem=data["problem_description"],
            priority=data["priority"],
            due_date=data.get("due_date"),
            assigned_technician=data.get("assigned_technician"),
            by=user,
        )

    @staticmethod
    def _apply_changes(ticket: RepairTicket, form: TicketChangeForm, user) -> RepairTicket:
        """Details, then the quote, then the status: a quote sent in the same save counts."""
        changes = form.detail_changes()
        if changes:
            ticket = services.update_ticket(ticket, by=user, **changes)
        quote = form.new_quote()
        if quote is not None:
            amount, currency = quote
            ticket = services.send_quote(ticket, amount=amount, currency=currency, by=user)
        status = form.new_status()
        if status is not None:
            target, message = status
            ticket = services.transition_ticket(ticket, target, by=user, note=message)
        promise_changed, promised = form.new_promise()
        if promise_changed:
            ticket = readyby_services.promise_ready_by(ticket, promised, by=user)
        return ticket

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset, change: bool) -> None:
        """Add the new rows of a history inline through its service; never save the formset."""
        inline: AppendOnlyInline | None = getattr(formset, "service_inline", None)
        created: list[models.Model] = []
        if inline is not None:
            first_new = formset.initial_form_count()
            for index, row in enumerate(formset.forms[first_new:], start=first_new):
                if not row.has_changed():
                    continue
                try:
                    item = inline.create(form.instance, row.cleaned_data, request.user)
                except ValidationError as error:
                    raise ServiceRefusal(error, formset.prefix, index) from error
                for field in item._meta.get_fields():
                    if isinstance(field, models.FileField) and getattr(item, field.name):
                        stored = getattr(item, field.name)
                        getattr(request, _STORED_FILES_ATTR).append((stored.storage, stored.name))
                created.append(item)
        # Read by construct_change_message for the admin's history entry.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = created, [], []

    # --- bulk assignment

    @admin.action(description="Assign to technician…", permissions=["assign"])
    def assign_to_technician(
        self, request: HttpRequest, queryset: QuerySet[RepairTicket]
    ) -> HttpResponse | None:
        """Ask which technician, then assign every selected ticket through ``update_ticket``."""
        form = AssignTechnicianForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            technician = form.cleaned_data["technician"]
            try:
                with transaction.atomic():  # all the selected tickets, or none
                    for ticket in queryset:
                        services.update_ticket(ticket, assigned_technician=technician, by=request.user)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
                return None
            count = len(queryset)
            self.message_user(
                request,
                f"Assigned {count} ticket{'s' if count != 1 else ''} to {technician}.",
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Assign to technician",
            "opts": self.opts,
            "form": form,
            "tickets": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/repairs/repairticket/assign_technician.html", context)

    @admin.action(description="Reopen declined quotes (the customer decides again)", permissions=["reopen"])
    def reopen_declined_quotes(self, request: HttpRequest, queryset: QuerySet[RepairTicket]) -> None:
        """Undo customers' declines: each selected repair cancelled by a declined quote goes back to
        awaiting approval, logged in its history; the others are left as they are and named."""
        reopened, skipped = [], []
        for ticket in queryset:
            try:
                services.reopen_declined_quote(ticket, by=request.user)
            except ValidationError:
                skipped.append(ticket.reference)
            else:
                reopened.append(ticket.reference)
        if reopened:
            self.message_user(
                request,
                f"Reopened the quote of {', '.join(reopened)}: awaiting approval again.",
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                f"Not reopened (not cancelled by a declined quote): {', '.join(skipped)}.",
                messages.WARNING,
            )

    def has_reopen_permission(self, request: HttpRequest) -> bool:
        # Shop staff only: technicians work on repairs, the shop decides on undoing a decline.
        return is_shop_staff(request.user)

    # --- read-only displays

    @admin.display(description="Estimate")
    def ready_by_summary(self, ticket: RepairTicket) -> str:
        estimate = readyby_selectors.current_estimate(ticket)
        shown = readyby_selectors.customer_ready_by(ticket)
        if estimate is None or shown is None:
            return "No estimate (the repair is ready or closed)."
        local = timezone.localtime
        return (
            f"{shown['headline']}. {shown['detail']} "
            f"[{estimate.get_method_display()}: {estimate.hours_p10:.1f} / {estimate.hours_p50:.1f} / "
            f"{estimate.hours_p90:.1f} working hours left; likely {local(estimate.likely):%a %d %b %H:%M}]"
        )

    @admin.display(description="Customer", ordering="customer__name")
    def customer_name(self, ticket: RepairTicket) -> str:
        return ticket.customer.name

    @admin.display(description="Progress", ordering="progress_percent")
    def progress(self, ticket: RepairTicket) -> str:
        return f"{ticket.progress_percent}%"

    @admin.display(description="Customer pages")
    def customer_links(self, ticket: RepairTicket) -> str:
        links = format_html(
            '<a href="{}" target="_blank" rel="noopener">Tracking page</a> · '
            '<a href="{}" target="_blank" rel="noopener">Printable receipt</a>',
            reverse("track", args=[ticket.tracking_token]),
            reverse("receipt", args=[ticket.tracking_token]),
        )
        try:  # the notifications app's delivery timeline, when it is installed
            messages_url = reverse("admin:notifications_message_ticket_timeline", args=[ticket.reference])
        except NoReverseMatch:
            return links
        return format_html('{} · <a href="{}">Messages sent</a>', links, messages_url)

    @admin.display(description="Current quote")
    def quote_summary(self, ticket: RepairTicket) -> str:
        if ticket.quote_amount is None:
            return "No quote sent yet."
        money = format_money(ticket.quote_amount, ticket.quote_currency)
        return f"{money} — {ticket.get_quote_decision_display()}"

    @admin.display(description="Status history")
    def status_history(self, ticket: RepairTicket) -> str:
        changes = status_history(ticket)
        if not changes:
            return "No status changes yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{} → {}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    _local(change.created_at),
                    change.from_label,
                    change.to_label,
                    change.changed_by or "—",
                    change.note or "",
                )
                for change in changes
            ),
        )
        return format_html(
            "<table><thead><tr><th>When</th><th>Change</th><th>By</th><th>Message</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="Events")
    def event_log(self, ticket: RepairTicket) -> str:
        events = ticket.events.select_related("actor").order_by("seq")
        if not events:
            return "No events yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    event.seq,
                    event.get_kind_display(),
                    _local(event.created_at),
                    "yes" if event.customer_visible else "no",
                    event.actor or "—",
                )
                for event in events
            ),
        )
        return format_html(
            "<table><thead><tr><th>#</th><th>Kind</th><th>When</th><th>Customer sees it</th>"
            "<th>By</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%d %b %Y %H:%M")


# --- customers and devices -------------------------------------------------------------------------


class TechnicianScopedAdmin(admin.ModelAdmin):
    """Staff have the model permissions; technicians only view what their tickets involve."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_shop_staff(request.user) and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_shop_staff(request.user) and super().has_delete_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_shop_staff(request.user) and super().has_change_permission(request, obj)


class DeviceInline(admin.TabularInline):
    model = Device
    extra = 0
    fields = ("kind", "brand", "model", "serial_number", "accessories")
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Device]:
        return devices_visible_to(request.user)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_shop_staff(request.user) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_shop_staff(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_shop_staff(request.user) and super().has_delete_permission(request, obj)


class CustomerTicketInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The customer's tickets (those the user may see), read-only, linking to each ticket."""

    model = RepairTicket
    fields = ("reference", "device", "status", "assigned_technician", "updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "repair tickets"

    def get_queryset(self, request: HttpRequest) -> QuerySet[RepairTicket]:
        return tickets_visible_to(request.user)


@admin.register(Customer)
class CustomerAdmin(TechnicianScopedAdmin):
    list_display = ("name", "email", "phone", "preferred_contact", "user", "created_at")
    list_filter = ("preferred_contact",)
    search_fields = ("name", "email", "phone")
    raw_id_fields = ("user",)
    readonly_fields = ("created_at", "contact_confirmed_at")
    inlines = (DeviceInline, CustomerTicketInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        return customers_visible_to(request.user)

    def save_model(self, request: HttpRequest, obj: Customer, form, change: bool) -> None:
        # Details staff enter or correct are details the shop checked: confirmed (texts may go).
        if not change or {"email", "phone"} & set(form.changed_data):
            obj.contact_confirmed_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(Device)
class DeviceAdmin(TechnicianScopedAdmin):
    list_display = ("__str__", "brand", "model", "kind", "serial_number", "customer")
    list_filter = ("kind",)
    search_fields = ("serial_number", "brand", "model", "customer__name", "customer__email")
    autocomplete_fields = ("customer",)
    readonly_fields = ("created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Device]:
        return devices_visible_to(request.user)


# --- read-only history -------------------------------------------------------------------------------


class ReadOnlyHistoryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """History is append-only: viewable, never added, changed or deleted here."""


# Status changes have no page of their own: they are ticket events (filter by kind "Status changed"
# or "Quote decided"), shown with their move here and as the ticket's "Status history".


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyHistoryAdmin):
    list_display = ("ticket", "seq", "kind", "status_move", "customer_visible", "actor", "created_at")
    list_filter = ("kind", "customer_visible")
    search_fields = ("ticket__reference",)
    list_select_related = ("ticket", "actor")

    def get_queryset(self, request: HttpRequest) -> QuerySet[TicketEvent]:
        return TicketEvent.objects.filter(ticket__in=tickets_visible_to(request.user).values("pk"))

    @admin.display(description="Status")
    def status_move(self, event: TicketEvent) -> str:
        payload = event.payload if isinstance(event.payload, dict) else {}
        if event.kind not in STATUS_EVENT_KINDS or "to" not in payload:
            return ""
        return f"{status_label(str(payload.get('from', '')))} → {status_label(str(payload['to']))}"


# --- the shop's profile (one row) ------------------------------------------------------------------


class ShopClosureInline(admin.TabularInline):
    model = ShopClosure
    extra = 1
    fields = ("first_day", "last_day", "reason")


@admin.register(ShopProfile)
class ShopProfileAdmin(admin.ModelAdmin):
    """Staff edit the one profile; the list page goes straight to it, and it is never added or
    deleted by hand (the migration creates it)."""

    inlines = [ShopClosureInline]
    fieldsets = (
        (None, {"fields": ("name", "address", "phone", "email", "vat_number")}),
        (
            "Opening hours",
            {
                "fields": (
                    "hours_mon",
                    "hours_tue",
                    "hours_wed",
                    "hours_thu",
                    "hours_fri",
                    "hours_sat",
                    "hours_sun",
                ),
                "description": "Shown in the site footer, on receipts, on tracking pages and in every email.",
            },
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)  # Django's 403
        profile = ShopProfile.load()
        return HttpResponseRedirect(reverse("admin:repairs_shopprofile_change", args=[profile.pk]))
