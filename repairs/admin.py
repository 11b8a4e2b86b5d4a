"""The workshop admin for technicians and shop staff.

Technicians see and work on the tickets assigned to them; staff see everything. Every write to
a ticket and its history goes through :mod:`repairs.services`, from explicit views:

* the ticket's change page (``…/repairticket/<id>/change/``) shows the ticket and its history
  read-only, and one small form per action (details, quote, ready-by promise, status change,
  milestone, photo, quality check, note; see :mod:`repairs.admin_forms`). Each form posts its
  ``action`` to the same page, which validates that form alone and makes that action's one
  service call. A refusal is shown on that form, next to the field it names, with the input kept
  and nothing saved; success redirects back to the page with a message;
* the add page opens a ticket through ``services.create_ticket``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.forms.models import modelform_factory
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst

from revivatech.admin_mixins import ReadOnlyAdminMixin
from revivatech.money import format_money

from . import photos, services
from .admin_forms import TICKET_ACTIONS, AssignTechnicianForm, TicketActionForm, TicketAddForm, show_refusal
from .models import (
    STATUS_EVENT_KINDS,
    Customer,
    Device,
    Photo,
    RepairTicket,
    ShopClosure,
    ShopProfile,
    TicketEvent,
)
from .readyby import selectors as readyby_selectors
from .roles import is_shop_staff
from .selectors import (
    customers_visible_to,
    devices_visible_to,
    status_history,
    status_label,
    tickets_visible_to,
    user_can_manage_ticket,
)

#: Shared by the change page's forms (the photo's thumbnails).
TICKET_PAGE_MEDIA = forms.Media(css={"all": ["css/admin-repairs.css"]})


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
    list_per_page = 50
    actions = ("assign_to_technician", "reopen_declined_quotes")

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

    # --- adding a ticket

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None) -> HttpResponse:
        """Staff open a ticket: a plain form (with the admin's widgets), then ``create_ticket``."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form_class = modelform_factory(
            RepairTicket,
            form=TicketAddForm,
            fields=TicketAddForm.Meta.fields,
            formfield_callback=partial(self.formfield_for_dbfield, request=request),
        )
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                ticket = form.perform(request.user)
            except ValidationError as error:
                show_refusal(form, error, {})
            else:
                self.log_addition(request, ticket, [{"added": {}}])  # the admin's own History page
                self.message_user(request, f"Ticket {ticket.reference} was opened.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:repairs_repairticket_change", args=[ticket.pk]))
        return self._render(
            request,
            "admin/repairs/repairticket/add_ticket.html",
            title="Open a repair ticket",
            form=form,
            media=self.media + form.media,
            add=True,
            has_view_permission=self.has_view_permission(request),
        )

    # --- the ticket's page: read-only ticket and history, one form per action

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ) -> HttpResponse:
        """GET shows the ticket; POST runs the one action named by ``action`` (see the module doc)."""
        ticket = self.get_object(request, unquote(object_id))
        # Django's order: the permission first, then "not found" (an unassigned ticket is not found).
        if request.method == "POST":
            if not self.has_change_permission(request, ticket):
                raise PermissionDenied
        elif not self.has_view_or_change_permission(request, ticket):
            raise PermissionDenied
        if ticket is None:
            self.message_user(
                request,
                f"{capfirst(self.opts.verbose_name)} with ID “{object_id}” doesn’t exist. "
                "Perhaps it was deleted?",
                messages.WARNING,
            )
            return HttpResponseRedirect(reverse("admin:index", current_app=self.admin_site.name))

        action_forms = self._action_forms(request, ticket)
        if request.method == "POST":
            name = request.POST.get("action", "")
            if name not in action_forms:
                self.message_user(request, "That change is not available on this ticket.", messages.ERROR)
                return HttpResponseRedirect(request.path)
            form = self._action_form(request, ticket, name, bound=True)
            if form.is_valid():
                try:
                    done = form.perform(request.user)
                except ValidationError as error:  # TransitionError included
                    show_refusal(form, error, form.error_aliases)
                else:
                    self.log_change(request, ticket, f"{form.heading}: {done}")  # the admin's History page
                    self.message_user(request, f"{ticket.reference}: {done}", messages.SUCCESS)
                    return HttpResponseRedirect(request.path)
            action_forms[name] = form
        return self._ticket_page(request, ticket, action_forms)

    def _action_forms(self, request: HttpRequest, ticket: RepairTicket) -> dict[str, TicketActionForm]:
        """The unbound forms of the actions this user may take on this ticket (none to viewers)."""
        if not self.has_change_permission(request, ticket):
            return {}
        return {
            name: self._action_form(request, ticket, name, bound=False)
            for name, form_class in TICKET_ACTIONS.items()
            if form_class.available(ticket)
            and (
                form_class.required_permission() is None
                or request.user.has_perm(form_class.required_permission())
            )
        }

    @staticmethod
    def _action_form(request: HttpRequest, ticket: RepairTicket, name: str, bound: bool) -> TicketActionForm:
        form_class = TICKET_ACTIONS[name]
        kwargs: dict[str, Any] = {"ticket": ticket, "prefix": name}
        if name == "details":
            kwargs["can_assign"] = is_shop_staff(request.user)
        if bound:
            return form_class(request.POST, request.FILES, **kwargs)
        return form_class(**kwargs)

    def _ticket_page(
        self, request: HttpRequest, ticket: RepairTicket, action_forms: dict[str, TicketActionForm]
    ) -> TemplateResponse:
        media = self.media + TICKET_PAGE_MEDIA
        for form in action_forms.values():
            media += form.media
        can_change = self.has_change_permission(request, ticket)
        refused = next((name for name, form in action_forms.items() if form.is_bound), None)
        return self._render(
            request,
            "admin/repairs/repairticket/ticket.html",
            title=f"{'Change' if can_change else 'View'} repair ticket",
            subtitle=str(ticket),
            original=ticket,
            object_id=ticket.pk,
            change=True,
            has_view_permission=self.has_view_permission(request, ticket),
            has_change_permission=can_change,
            summary=self._summary(request, ticket),
            forms=action_forms,
            refused=refused,
            refused_heading=action_forms[refused].heading if refused else "",
            status_history_table=self.status_history(ticket),
            event_log_table=self.event_log(ticket),
            milestones=ticket.milestones.select_related("created_by"),
            photos=[(photo, _photo_thumbnail(photo), _photo_link(photo)) for photo in ticket.photos.all()],
            quality_checks=ticket.quality_checks.select_related("checked_by"),
            notes=ticket.notes.select_related("author"),
            media=media,
        )

    def _summary(self, request: HttpRequest, ticket: RepairTicket) -> list[tuple[str, Any]]:
        """The ticket's fields, read-only, as (label, value) rows."""
        local = timezone.localtime
        promised = ticket.promised_ready_at
        return [
            ("Reference", ticket.reference),
            ("Customer pages", self.customer_links(ticket)),
            ("Customer", ticket.customer),
            ("Device", ticket.device),
            ("Status", ticket.get_status_display()),
            ("Progress", self.progress(ticket)),
            ("Reported problem", ticket.problem_description),
            ("Priority", ticket.get_priority_display()),
            ("Due date", ticket.due_date or "—"),
            ("Assigned technician", ticket.assigned_technician or "—"),
            ("Current quote", self.quote_summary(ticket)),
            ("Quote decided at", _local(ticket.quote_decided_at) if ticket.quote_decided_at else "—"),
            ("Estimate", self.ready_by_summary(ticket)),
            ("Promised ready by", f"{local(promised):%a %d %b %Y %H:%M}" if promised else "—"),
            ("Created", _local(ticket.created_at)),
            ("Updated", _local(ticket.updated_at)),
        ]

    def _render(self, request: HttpRequest, template: str, **context: Any) -> TemplateResponse:
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "app_label": self.opts.app_label,
                "is_popup": False,
                **context,
            },
        )

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


def _photo_thumbnail(photo: Photo) -> str:
    """The photo through the access-checked views (the media URL is never served: photos are private)."""
    small = photos.planned_widths(photo.width)[0]
    return format_html(
        '<a href="{}" target="_blank" rel="noopener"><img class="rt-thumb" src="{}" alt="{}"></a>'
        ' <a href="{}">original</a>',
        reverse("photo", args=[photo.pk]),
        reverse("photo-variant", args=[photo.pk, small, "webp"]),
        photo.caption or str(photo),
        reverse("photo-original", args=[photo.pk]),
    )


def _photo_link(photo: Photo) -> str:
    size = f"{photo.width}×{photo.height}" if photo.width and photo.height else "image"
    return format_html(
        '<a href="{}" target="_blank" rel="noopener">Open ({})</a>', reverse("photo", args=[photo.pk]), size
    )


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
