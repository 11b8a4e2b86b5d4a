"""The workshop admin: role-scoped querysets and writes that go only through the services.

The ticket's change page has one small form per action (status, details, quote, promise,
milestone, photo, quality check, note). Every action POST here is built from that form as a
browser would submit it (see ``form_values`` and ``post_action``), then a few fields are changed.
"""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from repairs import services
from repairs.lifecycle import Status
from repairs.models import (
    EventKind,
    Milestone,
    Note,
    Photo,
    QualityCheck,
    RepairTicket,
    TicketEvent,
)
from repairs.selectors import status_history
from revivatech import money
from tests.factories import DEFAULT_PASSWORD, CustomerFactory, DeviceFactory, advance, image_file, make_ticket

pytestmark = pytest.mark.django_db


# --- helpers --------------------------------------------------------------------------------------


class _FormValues(HTMLParser):
    """What a browser would submit from ``<form id=form_id>`` (files and buttons left out)."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.values: dict[str, list[str]] = {}
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._option_value: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def _add(self, name: str, value: str) -> None:
        if "__prefix__" not in name:
            self.values.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form" and attributes.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            kind = (attributes.get("type") or "text").lower()
            if kind in {"submit", "button", "reset", "image", "file"}:
                return
            if kind in {"checkbox", "radio"}:
                if "checked" in attributes:
                    self._add(name, attributes.get("value") or "on")
                return
            self._add(name, attributes.get("value") or "")
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "option" and self._select:
            value = attributes.get("value") or ""
            if self._select_first is None:
                self._select_first = value
            if "selected" in attributes:
                self._add(self._select, value)
                self._select_chosen = True
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "select" and self._select:
            if not self._select_chosen and self._select_first is not None:
                self._add(self._select, self._select_first)
            self._select = None
        elif tag == "textarea" and self._textarea:
            self._add(self._textarea, self._text.removeprefix("\n"))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text += data


def change_url(ticket: RepairTicket) -> str:
    return reverse("admin:repairs_repairticket_change", args=[ticket.pk])


def form_values(client, url: str, form_id: str = "repairticket_form") -> dict[str, object]:
    """GET an admin form page and return its current values, ready to be POSTed back."""
    response = client.get(url)
    assert response.status_code == 200, response
    parser = _FormValues(form_id)
    parser.feed(response.content.decode())
    assert parser.values, f"form {form_id} not found"
    return {name: values if len(values) > 1 else values[0] for name, values in parser.values.items()}


def main_form(response):
    """The add page's form."""
    return response.context["form"]


def action_form(response, name: str):
    """One action's form on the ticket's change page (bound after a refused POST)."""
    return response.context["forms"][name]


def post_action(client, ticket: RepairTicket, name: str, changes: dict | None = None, follow=False, **more):
    """POST one action's form as the page renders it, with ``changes`` (unprefixed field names)."""
    data = form_values(client, change_url(ticket), f"ticket-{name}")
    data.update({f"{name}-{field}": value for field, value in {**(changes or {}), **more}.items()})
    return client.post(change_url(ticket), data, follow=follow)


def event_kinds(ticket: RepairTicket) -> list[str]:
    return list(TicketEvent.objects.filter(ticket=ticket).order_by("seq").values_list("kind", flat=True))


def login(client, user) -> None:
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)


# --- who sees what ----------------------------------------------------------------------------------


def test_customers_cannot_log_into_the_admin(client, customer):
    response = client.post(
        reverse("admin:login"), {"username": customer.user.username, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    assert "correct username and password for a staff account" in response.content.decode()

    client.force_login(customer.user)
    response = client.get(reverse("admin:repairs_repairticket_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_technician_changelist_lists_only_assigned_tickets(client, technician, ticket, other_ticket):
    login(client, technician)
    response = client.get(reverse("admin:repairs_repairticket_changelist"))
    assert response.status_code == 200
    content = response.content.decode()
    assert ticket.reference in content
    assert other_ticket.reference not in content
    assert list(response.context["cl"].result_list) == [ticket]


def test_staff_see_every_ticket(client, staff_user, ticket, other_ticket):
    login(client, staff_user)
    response = client.get(reverse("admin:repairs_repairticket_changelist"))
    assert set(response.context["cl"].result_list) == {ticket, other_ticket}


def test_changelist_search_and_filters(client, staff_user, ticket, other_ticket):
    login(client, staff_user)
    url = reverse("admin:repairs_repairticket_changelist")
    by_serial = client.get(url, {"q": other_ticket.device.serial_number})
    assert list(by_serial.context["cl"].result_list) == [other_ticket]
    by_email = client.get(url, {"q": ticket.customer.email})
    assert list(by_email.context["cl"].result_list) == [ticket]
    advance(ticket, Status.RECEIVED)
    by_status = client.get(url, {"status__exact": Status.RECEIVED})
    assert list(by_status.context["cl"].result_list) == [ticket]


def test_technician_cannot_open_or_post_to_an_unassigned_ticket(client, technician, other_ticket):
    login(client, technician)
    url = change_url(other_ticket)
    response = client.get(url, follow=True)
    assert response.redirect_chain, "expected the admin's 'does not exist' redirect"
    content = response.content.decode()
    assert "doesn’t exist" in content
    assert other_ticket.reference not in content
    assert other_ticket.problem_description not in content

    response = client.post(url, {"action": "status", "status-move_to_status": Status.RECEIVED})
    assert response.status_code == 302
    other_ticket.refresh_from_db()
    assert other_ticket.status == Status.BOOKED
    assert other_ticket.priority == "normal"


def test_technicians_cannot_add_or_delete_tickets(client, technician, ticket):
    login(client, technician)
    assert client.get(reverse("admin:repairs_repairticket_add")).status_code == 403
    delete_url = reverse("admin:repairs_repairticket_delete", args=[ticket.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert RepairTicket.objects.filter(pk=ticket.pk).exists()


# --- the change page: one form per action -----------------------------------------------------------


def test_status_choices_are_only_the_allowed_transitions(client, technician, ticket):
    login(client, technician)
    response = client.get(change_url(ticket))
    widget_choices = action_form(response, "status").fields["move_to_status"].widget.choices
    assert [value for value, _label in widget_choices] == ["", Status.RECEIVED, Status.CANCELLED]

    advance(ticket, Status.RECEIVED, Status.DIAGNOSING)
    response = client.get(change_url(ticket))
    widget_choices = action_form(response, "status").fields["move_to_status"].widget.choices
    assert [value for value, _label in widget_choices] == [
        "",
        Status.AWAITING_APPROVAL,
        Status.CANCELLED,
        Status.UNREPAIRABLE,
    ]


def test_a_closed_ticket_offers_no_status_change(client, technician, ticket):
    advance(ticket, Status.CANCELLED)
    login(client, technician)
    response = client.get(change_url(ticket))
    assert "status" not in response.context["forms"]
    data = {"action": "status", "status-move_to_status": Status.RECEIVED}  # forged
    response = client.post(change_url(ticket), data, follow=True)
    assert "That change is not available on this ticket." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.CANCELLED


def test_change_page_links_to_tracking_page_and_receipt(client, technician, ticket):
    login(client, technician)
    content = client.get(change_url(ticket)).content.decode()
    assert reverse("track", args=[ticket.tracking_token]) in content
    assert reverse("receipt", args=[ticket.tracking_token]) in content


def test_change_page_shows_one_form_per_action_posting_to_itself(client, technician, ticket):
    login(client, technician)
    response = client.get(change_url(ticket))
    assert set(response.context["forms"]) == {
        "status",
        "details",
        "quote",
        "promise",
        "milestone",
        "photo",
        "check",
        "note",
    }
    content = response.content.decode()
    for name in response.context["forms"]:
        values = form_values(client, change_url(ticket), f"ticket-{name}")
        assert values["action"] == name
    assert 'id="ticket-photo" class="ticket-action" enctype="multipart/form-data"' in content
    assert 'name="_save"' not in content  # no stock change form to save


def test_technician_moves_a_ticket_to_awaiting_approval_with_a_quote(client, technician, ticket):
    login(client, technician)
    url = change_url(ticket)

    response = post_action(
        client,
        ticket,
        "status",
        {"status_message": "Your laptop has arrived."},
        move_to_status=Status.RECEIVED,
        follow=True,
    )
    assert "Moved to “Received”." in response.content.decode()
    assert post_action(client, ticket, "status", move_to_status=Status.DIAGNOSING).status_code == 302

    # The quote is sent first; then the ticket may ask for approval.
    response = post_action(client, ticket, "quote", quote_amount_major="89.50", quote_currency_code="gbp")
    assert response.status_code == 302, response.context and action_form(response, "quote").errors
    assert response["Location"] == url
    response = post_action(client, ticket, "status", move_to_status=Status.AWAITING_APPROVAL)
    assert response.status_code == 302, response.context and action_form(response, "status").errors

    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_APPROVAL
    assert ticket.quote_amount == 8950
    assert ticket.quote_currency == "GBP"
    changes = [(c.from_status, c.to_status, c.changed_by, c.note) for c in status_history(ticket)]
    assert changes == [
        (Status.BOOKED, Status.RECEIVED, technician, "Your laptop has arrived."),
        (Status.RECEIVED, Status.DIAGNOSING, technician, ""),
        (Status.DIAGNOSING, Status.AWAITING_APPROVAL, technician, ""),
    ]
    assert event_kinds(ticket) == [
        EventKind.BOOKED,
        EventKind.STATUS_CHANGED,
        EventKind.STATUS_CHANGED,
        EventKind.QUOTE_SENT,
        EventKind.STATUS_CHANGED,
    ]
    assert TicketEvent.objects.filter(ticket=ticket, seq__gt=1).exclude(actor=technician).count() == 0


def test_forged_illegal_transition_is_refused_and_nothing_changes(client, technician, ticket):
    login(client, technician)
    response = post_action(client, ticket, "status", move_to_status=Status.COLLECTED)

    assert response.status_code == 200
    errors = action_form(response, "status").errors["move_to_status"]
    assert errors == ["A ticket cannot move from “Booked” to “Collected”. Allowed next: Received, Cancelled."]
    assert "Please correct the error below." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.BOOKED
    assert event_kinds(ticket) == [EventKind.BOOKED]

    response = post_action(client, ticket, "status", move_to_status="not-a-status")
    assert "to “not-a-status”" in action_form(response, "status").errors["move_to_status"][0]


def test_service_refusal_shows_its_message_keeps_the_input_and_saves_nothing(client, technician, ticket):
    """The form is valid; ``transition_ticket`` refuses (no quote yet): its message is on the field."""
    advance(ticket, Status.RECEIVED, Status.DIAGNOSING)
    login(client, technician)
    response = post_action(
        client, ticket, "status", move_to_status=Status.AWAITING_APPROVAL, status_message="Quote inside"
    )

    assert response.status_code == 200
    form = action_form(response, "status")
    assert form.errors["move_to_status"] == ["Send a quote before asking the customer for approval."]
    assert form["status_message"].value() == "Quote inside"  # the input is kept for the next try
    assert "Quote inside" in response.content.decode()
    assert (
        'Please correct the error in <a href="#ticket-status">Status change</a>' in response.content.decode()
    )
    assert not action_form(response, "details").is_bound  # the other forms are fresh
    ticket.refresh_from_db()
    assert ticket.status == Status.DIAGNOSING
    assert event_kinds(ticket) == [EventKind.BOOKED, EventKind.STATUS_CHANGED, EventKind.STATUS_CHANGED]


def test_a_message_without_a_status_is_refused(client, technician, ticket):
    login(client, technician)
    response = post_action(client, ticket, "status", move_to_status="", status_message="Hello")
    assert response.status_code == 200
    assert action_form(response, "status").errors["move_to_status"] == ["Choose the status to move to."]
    assert event_kinds(ticket) == [EventKind.BOOKED]


def test_quote_fields_are_disabled_once_the_quote_is_approved(client, technician, ticket):
    advance(ticket, Status.RECEIVED, Status.DIAGNOSING, Status.AWAITING_APPROVAL, Status.APPROVED)
    login(client, technician)
    response = client.get(change_url(ticket))
    assert action_form(response, "quote").fields["quote_amount_major"].disabled
    assert 'value="Send the quote"' not in response.content.decode()
    # forged: the field is disabled, so the posted values are ignored
    response = post_action(
        client, ticket, "quote", quote_amount_major="1.00", quote_currency_code="EUR", follow=True
    )
    assert "Nothing was changed." in response.content.decode()
    ticket.refresh_from_db()
    assert (ticket.quote_amount, ticket.quote_currency) == (8900, "GBP")
    assert EventKind.QUOTE_SENT not in event_kinds(ticket)[-1:]


def test_quote_refused_by_the_service_shows_next_to_the_amount(client, technician, ticket, monkeypatch):
    """Should the form let a quote through that ``send_quote`` refuses, the message lands on the field."""
    advance(ticket, Status.RECEIVED)
    login(client, technician)

    def refuse(*args, **kwargs):
        raise ValidationError({"quote_amount": "Too much for this repair."})

    monkeypatch.setattr(services, "send_quote", refuse)
    response = post_action(client, ticket, "quote", quote_amount_major="99", quote_currency_code="GBP")
    assert response.status_code == 200
    form = action_form(response, "quote")
    assert form.errors["quote_amount_major"] == ["Too much for this repair."]
    assert form["quote_amount_major"].value() == "99"
    ticket.refresh_from_db()
    assert ticket.quote_amount is None


def test_quote_with_too_many_decimals_is_refused(client, technician, ticket):
    advance(ticket, Status.RECEIVED)
    login(client, technician)
    response = post_action(client, ticket, "quote", quote_amount_major="10.005")
    assert action_form(response, "quote").errors["quote_amount_major"] == [
        "Amounts in GBP have 2 decimal places."
    ]
    ticket.refresh_from_db()
    assert ticket.quote_amount is None


@pytest.mark.parametrize(
    ("action", "changes", "field", "message"),
    [
        ("quote", {"quote_amount_major": "lots"}, "quote_amount_major", "Enter a number."),
        ("quote", {"quote_amount_major": "-1"}, "quote_amount_major", "greater than or equal to 0"),
        ("quote", {"quote_amount_major": "2000000"}, "quote_amount_major", "less than or equal to 1000000"),
        (
            "quote",
            {"quote_amount_major": "10", "quote_currency_code": "G1"},
            "quote_currency_code",
            "Unsupported currency",
        ),
        (
            "quote",
            {"quote_amount_major": "10", "quote_currency_code": "XYZ"},
            "quote_currency_code",
            "Unsupported currency",
        ),
        ("quote", {"quote_currency_code": "EUR"}, "quote_amount_major", "Enter the quote amount"),
        ("details", {"due_date": "someday"}, "due_date", "Enter a valid date."),
        ("details", {"priority": "whenever"}, "priority", "Select a valid choice."),
        ("details", {"problem_description": "   "}, "problem_description", "required"),
    ],
)
def test_bad_input_is_refused_with_a_message(client, technician, ticket, action, changes, field, message):
    advance(ticket, Status.RECEIVED)
    login(client, technician)
    response = post_action(client, ticket, action, changes)
    assert response.status_code == 200
    assert message in " ".join(action_form(response, action).errors[field])
    assert event_kinds(ticket) == [EventKind.BOOKED, EventKind.STATUS_CHANGED]


def test_a_sent_quote_cannot_be_blanked(client, technician, ticket):
    advance(ticket, Status.RECEIVED, Status.DIAGNOSING, Status.AWAITING_APPROVAL)
    login(client, technician)
    data = form_values(client, change_url(ticket), "ticket-quote")
    assert data["quote-quote_amount_major"] == "89.00"
    response = post_action(client, ticket, "quote", quote_amount_major="")
    assert "cannot be removed" in action_form(response, "quote").errors["quote_amount_major"][0]
    ticket.refresh_from_db()
    assert ticket.quote_amount == 8900


def test_money_conversion():
    assert money.decimal_string_to_minor(Decimal("89.00"), "GBP") == 8900
    assert money.decimal_string_to_minor(Decimal("1500"), "JPY") == 1500
    assert money.minor_to_decimal(8950, "GBP") == Decimal("89.50")
    assert money.minor_to_decimal(None, "GBP") is None


def test_technician_updates_details_through_update_ticket(client, technician, ticket):
    login(client, technician)
    response = post_action(client, ticket, "details", priority="urgent", follow=True)
    assert "The details were updated." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.priority == "urgent"
    update = TicketEvent.objects.get(ticket=ticket, kind=EventKind.DETAILS_UPDATED)
    assert (update.payload["changes"], update.actor) == ({"priority": ["normal", "urgent"]}, technician)

    history = client.get(reverse("admin:repairs_repairticket_history", args=[ticket.pk])).content.decode()
    assert "Details: The details were updated." in history  # the admin's own log, as before

    response = post_action(client, ticket, "details", follow=True)  # nothing changed: no service call
    assert "Nothing was changed." in response.content.decode()
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.DETAILS_UPDATED).count() == 1


def test_technician_cannot_change_the_assigned_technician(client, technician, other_technician, ticket):
    login(client, technician)
    response = client.get(change_url(ticket))
    assert "assigned_technician" not in action_form(response, "details").fields
    assert ("Assigned technician", technician) in response.context["summary"]

    response = post_action(client, ticket, "details", assigned_technician=str(other_technician.pk))  # forged
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assigned_technician == technician


def test_staff_reassign_a_ticket_through_update_ticket(client, staff_user, other_technician, ticket):
    login(client, staff_user)
    response = post_action(
        client, ticket, "details", assigned_technician=str(other_technician.pk), due_date="2031-05-17"
    )
    assert response.status_code == 302, response.context and action_form(response, "details").errors
    ticket.refresh_from_db()
    assert ticket.assigned_technician == other_technician
    assert str(ticket.due_date) == "2031-05-17"
    update = TicketEvent.objects.get(ticket=ticket, kind=EventKind.DETAILS_UPDATED)
    assert set(update.payload["changes"]) == {"assigned_technician", "due_date"}
    assert update.actor == staff_user


def test_staff_cannot_assign_a_non_technician(client, staff_user, customer, ticket):
    login(client, staff_user)
    response = post_action(client, ticket, "details", assigned_technician=str(customer.user.pk))
    assert response.status_code == 200
    assert action_form(response, "details").errors["assigned_technician"]
    ticket.refresh_from_db()
    assert ticket.assigned_technician_id != customer.user.pk


def test_a_technician_cannot_act_on_another_technicians_ticket(client, technician, other_ticket):
    """Every action posted to an unassigned ticket: "not found" (as its page), nothing written."""
    login(client, technician)
    for name, values in {
        "status": {"move_to_status": Status.RECEIVED},
        "details": {"priority": "urgent", "problem_description": "x", "due_date": ""},
        "quote": {"quote_amount_major": "10"},
        "promise": {"promise_ready_by_0": "2031-01-01", "promise_ready_by_1": "10:00"},
        "milestone": {"title": "Done", "percent": "50"},
        "photo": {"upload": image_file(), "category": "intake"},
        "check": {"item": "Display", "passed": "on"},
        "note": {"text": "Hi", "priority": "normal"},
    }.items():
        data = {"action": name, **{f"{name}-{key}": value for key, value in values.items()}}
        response = client.post(change_url(other_ticket), data)
        assert response.status_code == 302, name
        assert response["Location"] == reverse("admin:index"), name
    assert event_kinds(other_ticket) == [EventKind.BOOKED]
    other_ticket.refresh_from_db()
    assert (other_ticket.status, other_ticket.priority) == (Status.BOOKED, "normal")
    assert not Photo.objects.exists()


def test_a_user_without_change_rights_cannot_post_an_action(client, ticket):
    """Viewing is not changing: an admin user who may only view tickets is refused (403) on POST."""
    viewer = get_user_model().objects.create_user("viewer", password=DEFAULT_PASSWORD, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_repairticket"))
    login(client, viewer)
    response = client.post(
        change_url(ticket), {"action": "note", "note-text": "x", "note-priority": "normal"}
    )
    assert response.status_code == 403
    assert not Note.objects.exists()


# --- history: one row per form, through its service ----------------------------------------------------


def test_note_milestone_quality_check_and_photo_are_added_through_the_services(client, technician, ticket):
    advance(ticket, Status.RECEIVED, Status.DIAGNOSING)
    login(client, technician)
    url = change_url(ticket)
    for name, values in {
        "note": {"text": "Customer says it was dropped.", "priority": "high"},
        "milestone": {"title": "Screen replaced", "percent": "60"},
        "check": {"item": "Display", "passed": "on"},
        "photo": {"upload": image_file("intake.png"), "category": "intake", "caption": "Crack on the lid"},
    }.items():
        response = post_action(client, ticket, name, values)
        assert response.status_code == 302, response.context and action_form(response, name).errors
        assert response["Location"] == url

    ticket.refresh_from_db()
    assert ticket.progress_percent == 60
    note = Note.objects.get(ticket=ticket)
    assert (note.text, note.priority, note.author, note.visible_to_customer) == (
        "Customer says it was dropped.",
        "high",
        technician,
        False,
    )
    milestone = Milestone.objects.get(ticket=ticket)
    assert (milestone.title, milestone.percent, milestone.created_by) == ("Screen replaced", 60, technician)
    check = QualityCheck.objects.get(ticket=ticket)
    assert (check.item, check.passed, check.checked_by) == ("Display", True, technician)
    photo = Photo.objects.get(ticket=ticket)
    assert (photo.category, photo.caption, photo.taken_by, photo.width) == (
        "intake",
        "Crack on the lid",
        technician,
        64,
    )
    assert photo.image.storage.exists(photo.image.name)
    assert event_kinds(ticket)[3:] == [
        EventKind.NOTE_ADDED,
        EventKind.MILESTONE_REACHED,
        EventKind.QUALITY_CHECKED,
        EventKind.PHOTO_ADDED,
    ]

    # The change page lists them, the photo through the access-checked photo view.
    content = client.get(url).content.decode()
    for text in ("Customer says it was dropped.", "Screen replaced", "Display", "Crack on the lid"):
        assert text in content
    thumbnail = reverse("photo-variant", args=[photo.pk, photo.width if photo.width < 320 else 320, "webp"])
    assert f'src="{thumbnail}"' in content
    assert reverse("photo-original", args=[photo.pk]) in content
    assert photo.image.url not in content


def test_existing_history_rows_are_read_only(client, staff_user, ticket):
    services.add_note(ticket, text="Original note", by=staff_user)
    login(client, staff_user)
    url = change_url(ticket)
    content = client.get(url).content.decode()
    assert "Original note" in content
    assert "Original note</textarea>" not in content  # shown as text, not as an input
    data = {"action": "note", "note-text": "Rewritten", "note-priority": "normal", "notes-0-DELETE": "on"}
    assert client.post(url, data).status_code == 302  # forged edit: only ever adds
    assert list(Note.objects.filter(ticket=ticket).values_list("text", flat=True)) == [
        "Original note",
        "Rewritten",
    ]


def _stored_files(settings) -> list:
    media = settings.MEDIA_ROOT
    return [path for path in media.rglob("*") if path.is_file()] if media.exists() else []


def test_a_file_that_is_not_an_image_is_refused_on_its_form(client, technician, ticket, settings):
    login(client, technician)
    upload = SimpleUploadedFile("notes.png", b"not an image", content_type="image/png")
    response = post_action(client, ticket, "photo", upload=upload, category="intake", caption="Kept")
    assert response.status_code == 200
    form = action_form(response, "photo")
    assert "valid image" in form.errors["upload"][0]
    assert form["caption"].value() == "Kept"
    assert not Photo.objects.exists()
    assert not _stored_files(settings)
    assert event_kinds(ticket) == [EventKind.BOOKED]


def test_photo_refused_by_the_service_shows_the_limit_and_stores_nothing(
    client, technician, ticket, settings
):
    settings.PHOTO_MAX_UPLOAD_BYTES = 100
    login(client, technician)
    response = post_action(
        client, ticket, "photo", upload=image_file("big.png", size=(400, 400)), category="diagnosis"
    )
    assert response.status_code == 200
    form = action_form(response, "photo")
    assert "the limit is 100 bytes" in form.errors["upload"][0]
    assert form["category"].value() == "diagnosis"
    assert not Photo.objects.exists()
    assert not _stored_files(settings)
    assert event_kinds(ticket) == [EventKind.BOOKED]


def test_a_note_refused_by_the_service_keeps_its_text(client, technician, ticket):
    login(client, technician)
    response = post_action(client, ticket, "note", text="x" * 5001, priority="high")
    assert response.status_code == 200
    form = action_form(response, "note")
    assert form.errors["text"] == ["Ensure this field has at most 5000 characters."]
    assert form["text"].value() == "x" * 5001
    assert not Note.objects.exists()
    assert event_kinds(ticket) == [EventKind.BOOKED]


def test_a_milestone_on_a_closed_ticket_is_refused_on_its_form(client, technician, ticket):
    advance(ticket, Status.CANCELLED)
    login(client, technician)
    response = post_action(client, ticket, "milestone", title="Parts ordered", percent="30")
    assert response.status_code == 200
    form = action_form(response, "milestone")
    assert form.errors["title"] == ["This repair is closed; no more milestones can be added."]
    assert form["title"].value() == "Parts ordered"
    assert not Milestone.objects.exists()
    assert event_kinds(ticket) == [EventKind.BOOKED, EventKind.STATUS_CHANGED]


def test_a_quality_check_is_recorded_failed_when_unticked(client, technician, ticket):
    advance(ticket, Status.RECEIVED)
    login(client, technician)
    response = post_action(client, ticket, "check", item="Battery", notes="Swollen")
    assert response.status_code == 302
    check = QualityCheck.objects.get(ticket=ticket)
    assert (check.item, check.passed, check.notes, check.checked_by) == (
        "Battery",
        False,
        "Swollen",
        technician,
    )


def test_an_unknown_action_changes_nothing(client, technician, ticket):
    login(client, technician)
    response = client.post(change_url(ticket), {"action": "delete", "status-move_to_status": "received"})
    assert response.status_code == 302
    assert event_kinds(ticket) == [EventKind.BOOKED]


# --- adding tickets ------------------------------------------------------------------------------------


def test_staff_add_a_ticket_through_create_ticket(client, staff_user, technician):
    customer = CustomerFactory()
    device = DeviceFactory(customer=customer)
    login(client, staff_user)
    response = client.post(
        reverse("admin:repairs_repairticket_add"),
        {
            "customer": customer.pk,
            "device": device.pk,
            "problem_description": "Will not charge.",
            "priority": "high",
            "due_date": "2031-01-02",
            "assigned_technician": technician.pk,
        },
    )
    assert response.status_code == 302, main_form(response).errors
    ticket = RepairTicket.objects.get(customer=customer)
    assert (ticket.device, ticket.priority, ticket.assigned_technician) == (device, "high", technician)
    assert ticket.reference.startswith("RT-")
    assert event_kinds(ticket) == [EventKind.BOOKED]
    assert TicketEvent.objects.get(ticket=ticket).actor == staff_user


def test_adding_a_ticket_for_another_customers_device_is_refused(client, staff_user):
    customer = CustomerFactory()
    someone_elses_device = DeviceFactory()
    login(client, staff_user)
    response = client.post(
        reverse("admin:repairs_repairticket_add"),
        {
            "customer": customer.pk,
            "device": someone_elses_device.pk,
            "problem_description": "Will not charge.",
            "priority": "normal",
        },
    )
    assert response.status_code == 200
    assert main_form(response).errors["device"] == ["This device belongs to another customer."]
    assert main_form(response)["problem_description"].value() == "Will not charge."  # kept
    assert not RepairTicket.objects.exists()


def test_the_add_page_is_a_plain_form_with_the_admins_widgets(client, staff_user):
    login(client, staff_user)
    response = client.get(reverse("admin:repairs_repairticket_add"))
    assert response.status_code == 200
    form = main_form(response)
    assert list(form.fields) == [
        "customer",
        "device",
        "problem_description",
        "priority",
        "due_date",
        "assigned_technician",
    ]
    content = response.content.decode()
    assert "admin-autocomplete" in content  # customer and device are searched, not listed
    assert 'id="repairticket_form"' in content


# --- customers, devices, history -----------------------------------------------------------------------


def test_technician_sees_only_customers_and_devices_of_assigned_tickets(
    client, technician, ticket, other_ticket
):
    login(client, technician)
    customers = client.get(reverse("admin:repairs_customer_changelist"))
    assert list(customers.context["cl"].result_list) == [ticket.customer]
    devices = client.get(reverse("admin:repairs_device_changelist"))
    assert list(devices.context["cl"].result_list) == [ticket.device]

    other_customer_url = reverse("admin:repairs_customer_change", args=[other_ticket.customer.pk])
    assert client.get(other_customer_url).status_code == 302  # "doesn't exist"
    own_customer = client.get(reverse("admin:repairs_customer_change", args=[ticket.customer.pk]))
    assert own_customer.status_code == 200
    assert own_customer.context["has_change_permission"] is False
    assert client.get(reverse("admin:repairs_customer_add")).status_code == 403
    assert client.get(reverse("admin:repairs_device_add")).status_code == 403


def test_staff_manage_customers(client, staff_user, ticket):
    login(client, staff_user)
    url = reverse("admin:repairs_customer_change", args=[ticket.customer.pk])
    data = form_values(client, url, form_id="customer_form")
    data["phone"] = "+44 20 7946 0000"
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    ticket.customer.refresh_from_db()
    assert ticket.customer.phone == "+44 20 7946 0000"


def test_details_staff_correct_in_the_admin_count_as_confirmed(client, staff_user, ticket):
    """A stranger's typed details wait for a confirmation; staff correcting them vouch for them."""
    type(ticket.customer).objects.filter(pk=ticket.customer.pk).update(contact_confirmed_at=None)
    login(client, staff_user)
    url = reverse("admin:repairs_customer_change", args=[ticket.customer.pk])
    data = form_values(client, url, form_id="customer_form")
    data["name"] = "Renamed Only"
    assert client.post(url, data).status_code == 302
    ticket.customer.refresh_from_db()
    assert ticket.customer.contact_confirmed_at is None  # the name alone vouches for nothing
    data["phone"] = "+44 20 7946 0001"
    assert client.post(url, data).status_code == 302
    ticket.customer.refresh_from_db()
    assert ticket.customer.contact_confirmed_at is not None


def test_history_is_read_only_in_the_admin(client, staff_user, ticket):
    login(client, staff_user)
    event = TicketEvent.objects.get(ticket=ticket)
    url = reverse("admin:repairs_ticketevent_change", args=[event.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    client.post(url, {"kind": EventKind.NOTE_ADDED, "seq": 99})
    event.refresh_from_db()
    assert (event.kind, event.seq) == (EventKind.BOOKED, 1)
    assert client.get(reverse("admin:repairs_ticketevent_add")).status_code == 403
    assert (
        client.post(reverse("admin:repairs_ticketevent_delete", args=[event.pk]), {"post": "yes"}).status_code
        == 403
    )


def test_technician_history_lists_only_assigned_tickets(client, technician, ticket, other_ticket):
    login(client, technician)
    response = client.get(reverse("admin:repairs_ticketevent_changelist"))
    assert {event.ticket_id for event in response.context["cl"].result_list} == {ticket.pk}


def test_staff_can_see_another_technicians_ticket_page(client, staff_user, other_ticket):
    make_ticket()  # an unassigned ticket too
    login(client, staff_user)
    response = client.get(change_url(other_ticket))
    assert response.status_code == 200
    assert other_ticket.reference in response.content.decode()


# --- bulk assignment -------------------------------------------------------------------------------------


def test_staff_assign_selected_tickets_to_a_technician(client, staff_user, technician, other_technician):
    first, second = make_ticket(technician=technician), make_ticket()
    login(client, staff_user)
    url = reverse("admin:repairs_repairticket_changelist")
    selection = {"action": "assign_to_technician", "_selected_action": [first.pk, second.pk]}

    confirm = client.post(url, selection)
    assert confirm.status_code == 200
    assert first.reference in confirm.content.decode()

    refused = client.post(url, {**selection, "apply": "Assign"})
    assert refused.context["form"].errors["technician"] == ["Choose the technician to assign the tickets to."]

    response = client.post(
        url, {**selection, "apply": "Assign", "technician": other_technician.pk}, follow=True
    )
    assert "Assigned 2 tickets to" in response.content.decode()
    assert set(RepairTicket.objects.values_list("assigned_technician", flat=True)) == {other_technician.pk}
    assert TicketEvent.objects.filter(kind=EventKind.DETAILS_UPDATED, actor=staff_user).count() == 2


def test_technicians_do_not_get_the_assign_action(client, technician, other_technician, ticket):
    login(client, technician)
    url = reverse("admin:repairs_repairticket_changelist")
    assert "assign_to_technician" not in client.get(url).content.decode()
    client.post(
        url,
        {
            "action": "assign_to_technician",
            "_selected_action": [ticket.pk],
            "apply": "Assign",
            "technician": other_technician.pk,
        },
    )
    ticket.refresh_from_db()
    assert ticket.assigned_technician == technician
