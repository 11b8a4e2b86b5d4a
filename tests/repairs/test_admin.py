"""The workshop admin: role-scoped querysets and writes that go only through the services.

Every POST here is built from the change page as a browser would submit it (see
``form_values``), then a few fields are changed, so management forms and hidden inline ids are
real.
"""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser

import pytest
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
    return response.context["adminform"].form


def inline_formset(response, prefix: str):
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.prefix == prefix:
            return inline.formset
    raise AssertionError(f"no inline {prefix!r}")


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

    response = client.post(url, {"move_to_status": Status.RECEIVED, "priority": "urgent"})
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


# --- the change form ----------------------------------------------------------------------------------


def test_status_choices_are_only_the_allowed_transitions(client, technician, ticket):
    login(client, technician)
    response = client.get(change_url(ticket))
    widget_choices = main_form(response).fields["move_to_status"].widget.choices
    assert [value for value, _label in widget_choices] == ["", Status.RECEIVED, Status.CANCELLED]

    advance(ticket, Status.RECEIVED, Status.DIAGNOSING)
    response = client.get(change_url(ticket))
    widget_choices = main_form(response).fields["move_to_status"].widget.choices
    assert [value for value, _label in widget_choices] == [
        "",
        Status.AWAITING_APPROVAL,
        Status.CANCELLED,
        Status.UNREPAIRABLE,
    ]


def test_change_page_links_to_tracking_page_and_receipt(client, technician, ticket):
    login(client, technician)
    content = client.get(change_url(ticket)).content.decode()
    assert reverse("track", args=[ticket.tracking_token]) in content
    assert reverse("receipt", args=[ticket.tracking_token]) in content


def test_technician_moves_a_ticket_to_awaiting_approval_with_a_quote(client, technician, ticket):
    login(client, technician)
    url = change_url(ticket)

    data = form_values(client, url)
    data.update(move_to_status=Status.RECEIVED, status_message="Your laptop has arrived.")
    assert client.post(url, data).status_code == 302

    data = form_values(client, url)
    data["move_to_status"] = Status.DIAGNOSING
    assert client.post(url, data).status_code == 302

    # The quote entered in the same save lets the ticket ask for approval.
    data = form_values(client, url)
    data.update(
        quote_amount_major="89.50", quote_currency_code="gbp", move_to_status=Status.AWAITING_APPROVAL
    )
    response = client.post(url, data)
    assert response.status_code == 302, main_form(response).errors

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
    url = change_url(ticket)
    data = form_values(client, url)
    data.update(move_to_status=Status.COLLECTED, priority="urgent")
    response = client.post(url, data)

    assert response.status_code == 200
    errors = main_form(response).errors["move_to_status"]
    assert errors == ["A ticket cannot move from “Booked” to “Collected”. Allowed next: Received, Cancelled."]
    assert "Please correct the error below." in response.content.decode()
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == (Status.BOOKED, "normal")
    assert event_kinds(ticket) == [EventKind.BOOKED]

    data["move_to_status"] = "not-a-status"
    response = client.post(url, data)
    assert "to “not-a-status”" in main_form(response).errors["move_to_status"][0]


def test_service_refusal_shows_its_message_and_rolls_back_the_whole_save(client, technician, ticket):
    """Priority is changed first (update_ticket), then the transition is refused: neither stays."""
    advance(ticket, Status.RECEIVED, Status.DIAGNOSING)
    login(client, technician)
    url = change_url(ticket)
    data = form_values(client, url)
    data.update(priority="urgent", move_to_status=Status.AWAITING_APPROVAL, status_message="Quote inside")
    response = client.post(url, data)

    assert response.status_code == 200
    form = main_form(response)
    assert form.errors["move_to_status"] == ["Send a quote before asking the customer for approval."]
    assert form["priority"].value() == "urgent"  # the input is kept for the next try
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == (Status.DIAGNOSING, "normal")
    assert event_kinds(ticket) == [EventKind.BOOKED, EventKind.STATUS_CHANGED, EventKind.STATUS_CHANGED]


def test_message_without_a_status_is_refused(client, technician, ticket):
    login(client, technician)
    url = change_url(ticket)
    data = form_values(client, url)
    data["status_message"] = "Hello"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "choose a status to move to" in main_form(response).errors["status_message"][0]
    assert event_kinds(ticket) == [EventKind.BOOKED]


def test_quote_fields_are_disabled_once_the_quote_is_approved(client, technician, ticket):
    advance(ticket, Status.RECEIVED, Status.DIAGNOSING, Status.AWAITING_APPROVAL, Status.APPROVED)
    login(client, technician)
    url = change_url(ticket)
    data = form_values(client, url)
    data.update(quote_amount_major="1.00", quote_currency_code="EUR")  # forged: the field is disabled
    assert client.post(url, data).status_code == 302
    ticket.refresh_from_db()
    assert (ticket.quote_amount, ticket.quote_currency) == (8900, "GBP")


def test_quote_with_too_many_decimals_is_refused(client, technician, ticket):
    advance(ticket, Status.RECEIVED)
    login(client, technician)
    url = change_url(ticket)
    data = form_values(client, url)
    data["quote_amount_major"] = "10.005"
    response = client.post(url, data)
    assert main_form(response).errors["quote_amount_major"] == ["Amounts in GBP have 2 decimal places."]
    ticket.refresh_from_db()
    assert ticket.quote_amount is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"quote_amount_major": "lots"}, "quote_amount_major", "Enter a number."),
        ({"quote_amount_major": "-1"}, "quote_amount_major", "greater than or equal to 0"),
        ({"quote_amount_major": "2000000"}, "quote_amount_major", "less than or equal to 1000000"),
        (
            {"quote_amount_major": "10", "quote_currency_code": "G1"},
            "quote_currency_code",
            "Unsupported currency",
        ),
        (
            {"quote_amount_major": "10", "quote_currency_code": "XYZ"},
            "quote_currency_code",
            "Unsupported currency",
        ),
        ({"quote_currency_code": "EUR"}, "quote_amount_major", "Enter the quote amount"),
        ({"due_date": "someday"}, "due_date", "Enter a valid date."),
        ({"priority": "whenever"}, "priority", "Select a valid choice."),
        ({"problem_description": "   "}, "problem_description", "required"),
    ],
)
def test_bad_input_is_refused_with_a_message(client, technician, ticket, changes, field, message):
    advance(ticket, Status.RECEIVED)
    login(client, technician)
    url = change_url(ticket)
    data = form_values(client, url)
    data.update(changes)
    response = client.post(url, data)
    assert response.status_code == 200
    assert message in " ".join(main_form(response).errors[field])
    assert event_kinds(ticket) == [EventKind.BOOKED, EventKind.STATUS_CHANGED]


def test_a_sent_quote_cannot_be_blanked(client, technician, ticket):
    advance(ticket, Status.RECEIVED, Status.DIAGNOSING, Status.AWAITING_APPROVAL)
    login(client, technician)
    url = change_url(ticket)
    data = form_values(client, url)
    assert data["quote_amount_major"] == "89.00"
    data["quote_amount_major"] = ""
    response = client.post(url, data)
    assert "cannot be removed" in main_form(response).errors["quote_amount_major"][0]
    ticket.refresh_from_db()
    assert ticket.quote_amount == 8900


def test_money_conversion():
    assert money.decimal_string_to_minor(Decimal("89.00"), "GBP") == 8900
    assert money.decimal_string_to_minor(Decimal("1500"), "JPY") == 1500
    assert money.minor_to_decimal(8950, "GBP") == Decimal("89.50")
    assert money.minor_to_decimal(None, "GBP") is None


def test_technician_cannot_change_the_assigned_technician(client, technician, other_technician, ticket):
    login(client, technician)
    url = change_url(ticket)
    response = client.get(url)
    assert "assigned_technician" not in main_form(response).fields
    assert "assigned_technician" in response.context["adminform"].readonly_fields

    data = form_values(client, url)
    data["assigned_technician"] = str(other_technician.pk)  # forged
    assert client.post(url, data).status_code == 302
    ticket.refresh_from_db()
    assert ticket.assigned_technician == technician


def test_staff_reassign_a_ticket_through_update_ticket(client, staff_user, other_technician, ticket):
    login(client, staff_user)
    url = change_url(ticket)
    data = form_values(client, url)
    data.update(assigned_technician=str(other_technician.pk), due_date="2031-05-17")
    response = client.post(url, data)
    assert response.status_code == 302, main_form(response).errors
    ticket.refresh_from_db()
    assert ticket.assigned_technician == other_technician
    assert str(ticket.due_date) == "2031-05-17"
    update = TicketEvent.objects.get(ticket=ticket, kind=EventKind.DETAILS_UPDATED)
    assert set(update.payload["changes"]) == {"assigned_technician", "due_date"}
    assert update.actor == staff_user


def test_staff_cannot_assign_a_non_technician(client, staff_user, customer, ticket):
    login(client, staff_user)
    url = change_url(ticket)
    data = form_values(client, url)
    data["assigned_technician"] = str(customer.user.pk)
    response = client.post(url, data)
    assert response.status_code == 200
    assert main_form(response).errors["assigned_technician"]
    ticket.refresh_from_db()
    assert ticket.assigned_technician_id != customer.user.pk


# --- inlines ---------------------------------------------------------------------------------------


def test_note_milestone_quality_check_and_photo_are_added_through_the_services(client, technician, ticket):
    advance(ticket, Status.RECEIVED, Status.DIAGNOSING)
    login(client, technician)
    url = change_url(ticket)
    data = form_values(client, url)
    data.update(
        {
            "notes-0-text": "Customer says it was dropped.",
            "notes-0-priority": "high",
            "milestones-0-title": "Screen replaced",
            "milestones-0-percent": "60",
            "quality_checks-0-item": "Display",
            "quality_checks-0-passed": "on",
            "photos-0-upload": image_file("intake.png"),
            "photos-0-category": "intake",
            "photos-0-caption": "Crack on the lid",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context and main_form(response).errors

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
    assert set(event_kinds(ticket)[3:]) == {
        EventKind.MILESTONE_REACHED,
        EventKind.PHOTO_ADDED,
        EventKind.QUALITY_CHECKED,
        EventKind.NOTE_ADDED,
    }

    # The change page now shows the photo through the access-checked photo view.
    content = client.get(url).content.decode()
    thumbnail = reverse("photo-variant", args=[photo.pk, photo.width if photo.width < 320 else 320, "webp"])
    assert f'src="{thumbnail}"' in content
    assert reverse("photo-original", args=[photo.pk]) in content
    assert photo.image.url not in content


def test_existing_history_rows_are_read_only(client, staff_user, ticket):
    services.add_note(ticket, text="Original note", by=staff_user)
    login(client, staff_user)
    url = change_url(ticket)
    response = client.get(url)
    notes = inline_formset(response, "notes")
    assert notes.can_delete is False
    data = form_values(client, url)
    assert "notes-0-text" not in data  # rendered read-only, not as an input
    data.update({"notes-0-text": "Rewritten", "notes-0-DELETE": "on"})  # forged
    assert client.post(url, data).status_code == 302
    assert list(Note.objects.filter(ticket=ticket).values_list("text", flat=True)) == ["Original note"]


def test_a_file_that_is_not_an_image_is_refused_on_its_inline(client, technician, ticket):
    login(client, technician)
    url = change_url(ticket)
    data = form_values(client, url)
    data.update(
        {
            "photos-0-upload": SimpleUploadedFile("notes.png", b"not an image", content_type="image/png"),
            "photos-0-category": "intake",
            "notes-0-text": "Saved only with the photo",
            "move_to_status": Status.RECEIVED,
        }
    )
    response = client.post(url, data)
    assert response.status_code == 200
    photo_errors = inline_formset(response, "photos").errors[0]
    assert "upload" in photo_errors
    assert "valid image" in photo_errors["upload"][0]
    assert not Photo.objects.exists()
    assert not Note.objects.exists()
    ticket.refresh_from_db()
    assert ticket.status == Status.BOOKED


def test_photo_refused_by_the_service_shows_the_limit(client, technician, ticket, settings):
    settings.PHOTO_MAX_UPLOAD_BYTES = 100
    login(client, technician)
    url = change_url(ticket)
    data = form_values(client, url)
    data.update({"photos-0-upload": image_file("big.png", size=(400, 400)), "photos-0-category": "intake"})
    response = client.post(url, data)
    assert response.status_code == 200
    assert "the limit is 100 bytes" in inline_formset(response, "photos").errors[0]["upload"][0]
    assert not Photo.objects.exists()
    assert event_kinds(ticket) == [EventKind.BOOKED]


def test_refusal_after_a_photo_was_stored_removes_the_file(client, technician, ticket, settings):
    """Photos are saved before notes; the note is refused, so the stored photo file is deleted."""
    login(client, technician)
    url = change_url(ticket)
    data = form_values(client, url)
    data.update(
        {
            "photos-0-upload": image_file("kept.png"),
            "photos-0-category": "intake",
            "notes-0-text": "x" * 5001,
        }
    )
    response = client.post(url, data)
    assert response.status_code == 200
    assert inline_formset(response, "notes").errors[0]["text"] == [
        "Ensure this field has at most 5000 characters."
    ]
    assert not Photo.objects.exists()
    assert not Note.objects.exists()
    assert event_kinds(ticket) == [EventKind.BOOKED]
    media = settings.MEDIA_ROOT
    assert not any(path.is_file() for path in media.rglob("*")) if media.exists() else True


def test_milestone_refused_after_cancelling_undoes_the_cancellation(client, technician, ticket):
    """The transition runs first; the milestone on the now-closed ticket is refused; both roll back."""
    login(client, technician)
    url = change_url(ticket)
    data = form_values(client, url)
    data.update(
        {
            "move_to_status": Status.CANCELLED,
            "milestones-0-title": "Parts ordered",
            "milestones-0-percent": "30",
            "photos-0-upload": image_file("kept-for-retry.png"),
            "photos-0-category": "intake",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 200
    milestone_errors = inline_formset(response, "milestones").errors[0]
    assert milestone_errors["title"] == ["This repair is closed; no more milestones can be added."]
    assert inline_formset(response, "photos").errors[0] == {}  # the rewound upload still validates
    ticket.refresh_from_db()
    assert ticket.status == Status.BOOKED
    assert not status_history(ticket)
    assert not Milestone.objects.exists()
    assert not Photo.objects.exists()
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
    assert not RepairTicket.objects.exists()


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
