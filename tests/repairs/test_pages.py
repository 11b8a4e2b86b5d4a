"""The customer-facing pages: booking, tracking, quotes, receipts, photos and "My repairs"."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.template.loader import get_template
from django.urls import reverse

from repairs import services
from repairs.forms import BookingForm
from repairs.models import Customer, Device, RepairTicket, TicketEvent
from repairs.presenters import describe_event
from repairs.views import add_service_errors
from revivatech.money import format_money
from tests.factories import BOOKING_FORM, DEFAULT_PASSWORD, StaffFactory, advance, image_file, make_ticket

pytestmark = pytest.mark.django_db


VALID_BOOKING = BOOKING_FORM


def login(client, user) -> None:
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)


def track_url(ticket: RepairTicket) -> str:
    return reverse("track", args=[ticket.tracking_token])


def add_photo(ticket: RepairTicket, *, visible: bool, by=None):
    return services.add_photo(
        ticket,
        image=image_file(),
        category="diagnosis",
        caption="Water damage",
        visible_to_customer=visible,
        by=by,
    )


# --- presenters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [(8900, "GBP", "£89.00"), (123456, "EUR", "€1,234.56"), (0, "USD", "$0.00"), (500, "JPY", "500 JPY")],
)
def test_format_money(amount, currency, expected):
    assert format_money(amount, currency) == expected


def test_describe_event_covers_every_customer_visible_kind():
    assert describe_event("ticket.booked", {"reference": "RT-ABC234", "device": "Apple iPad"}) == {
        "title": "Repair booked",
        "detail": "We logged your Apple iPad under reference RT-ABC234.",
    }
    status = describe_event("ticket.status_changed", {"from": "booked", "to": "received", "note": ""})
    assert status == {"title": "Received", "detail": "We have received your device at the workshop."}
    assert (
        describe_event("ticket.quote_sent", {"amount": 8900, "currency": "GBP"})["title"]
        == "Quote ready: £89.00"
    )
    declined = describe_event(
        "ticket.quote_decided", {"decision": "declined", "amount": 100, "currency": "GBP"}
    )
    assert declined["title"] == "Quote declined"
    assert describe_event("ticket.quality_checked", {"item": "Battery", "passed": False})["title"] == (
        "Quality check failed: Battery"
    )
    assert describe_event("ticket.milestone_reached", {"title": "Screen fitted", "percent": 70}) == {
        "title": "Screen fitted",
        "detail": "Progress is now 70%.",
    }


def test_describe_event_never_fails_on_odd_input():
    assert describe_event("ticket.unknown", {}) == {"title": "Update", "detail": ""}
    assert describe_event("ticket.quote_sent", None)["title"] == "Quote ready"
    assert describe_event("ticket.milestone_reached", {"percent": 50}) == {
        "title": "Update",
        "detail": "Progress is now 50%.",
    }
    assert (
        describe_event("ticket.note_added", {"text": "Use {braces} freely"})["detail"]
        == "Use {braces} freely"
    )


# --- home, login, errors --------------------------------------------------------------------------


def test_home_page_invites_to_book_and_explains_tracking(client):
    response = client.get(reverse("home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("book") in html
    assert "Track your repair" in html
    assert 'action="/account/logout/"' not in html  # logged out: no logout form


def test_logged_in_nav_has_a_post_logout_form_with_csrf(client, customer):
    login(client, customer.user)
    html = client.get(reverse("home")).content.decode()
    assert re.search(r'<form[^>]*method="post"[^>]*action="/account/logout/"', html)
    assert "csrfmiddlewaretoken" in html
    assert "My repairs" in html


def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()


def test_500_page_renders_without_request_or_database():
    html = get_template("500.html").render({})
    assert "Something went wrong" in html
    assert "{%" not in html


def test_templates_have_no_inline_scripts_or_styles(client, ticket):
    for url in (
        reverse("home"),
        reverse("book"),
        track_url(ticket),
        reverse("receipt", args=[ticket.tracking_token]),
    ):
        html = client.get(url).content.decode()
        assert "style=" not in html, url
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url


# --- booking ---------------------------------------------------------------------------------------


def test_booking_form_renders(client):
    response = client.get(reverse("book"))
    assert response.status_code == 200
    html = response.content.decode()
    for field in ("name", "email", "phone", "kind", "brand", "model", "problem_description"):
        assert f'name="{field}"' in html
    assert 'value="console"' in html  # device kinds come from DeviceKind


def test_valid_booking_creates_a_ticket_and_redirects_to_tracking(client):
    response = client.post(reverse("book"), VALID_BOOKING)
    ticket = RepairTicket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == track_url(ticket)
    assert list(ticket.events.values_list("kind", flat=True)) == ["ticket.booked"]
    assert ticket.customer.email == "ada@example.com"
    assert ticket.customer.user is None
    assert ticket.device.serial_number == "C02XYZ123"
    page = client.get(response["Location"]).content.decode()
    assert ticket.reference in page
    assert "Keep the link to this page" in page  # the success message


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"phone": "call me maybe"}, "phone", "Enter a phone number of 7 to 15 digits"),
        ({"phone": "123"}, "phone", "Enter a phone number of 7 to 15 digits"),
        ({"phone": "", "preferred_contact": "sms"}, "phone", "Add a phone number for text messages"),
        ({"phone": "", "preferred_contact": "phone"}, "phone", "Add a phone number for phone calls"),
        ({"preferred_contact": "pigeon"}, "preferred_contact", "Select a valid choice."),
        ({"kind": "toaster"}, "kind", "Select a valid choice."),
        ({"brand": ""}, "brand", "This field is required."),
        ({"model": "x" * 81}, "model", "at most 80 characters"),
        ({"condition_on_intake": ""}, "condition_on_intake", "This field is required."),
        ({"problem_description": "broken"}, "problem_description", "at least 10 characters"),
        ({"problem_description": "          "}, "problem_description", "This field is required."),
    ],
)
def test_invalid_booking_shows_the_field_error_and_creates_nothing(client, changes, field, message):
    response = client.post(reverse("book"), {**VALID_BOOKING, **changes})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert 'aria-invalid="true"' in response.content.decode()
    assert not RepairTicket.objects.exists()
    assert not Customer.objects.exists()
    assert not Device.objects.exists()


def test_an_empty_post_lists_every_missing_answer(client):
    response = client.post(reverse("book"), {})
    assert response.status_code == 200
    assert "Please check 8 answers" in response.content.decode()
    assert not RepairTicket.objects.exists()


def test_service_validation_errors_land_on_the_form():
    """Rules only a service knows come back on the matching field, or on the form as a whole."""
    form = BookingForm(data=VALID_BOOKING)
    assert form.is_valid()
    add_service_errors(
        form, ValidationError({"email": "Already used.", "device": "Belongs to someone else."})
    )
    add_service_errors(form, ValidationError("Something else went wrong."))
    assert form.errors["email"] == ["Already used."]
    assert form.non_field_errors() == ["Belongs to someone else.", "Something else went wrong."]


def test_logged_in_customer_is_prefilled_and_the_booking_is_linked(client, customer):
    login(client, customer.user)
    form_page = client.get(reverse("book")).content.decode()
    assert f'value="{customer.email}"' in form_page
    response = client.post(reverse("book"), {**VALID_BOOKING, "email": "someone-else@example.com"})
    assert response.status_code == 302
    ticket = RepairTicket.objects.get()
    assert ticket.customer == customer
    assert Customer.objects.count() == 1
    assert ticket.events.get().actor == customer.user


def test_staff_booking_for_a_walk_in_does_not_link_the_staff_account(client, staff_user):
    login(client, staff_user)
    response = client.post(reverse("book"), VALID_BOOKING)
    assert response.status_code == 302
    ticket = RepairTicket.objects.get()
    assert ticket.customer.email == "ada@example.com"
    assert ticket.customer.user is None


# --- tracking page ---------------------------------------------------------------------------------


def test_tracking_page_shows_status_progress_and_live_hooks(client, ticket, technician):
    ticket = advance(ticket, "received", "diagnosing", by=technician)
    services.add_milestone(ticket, title="Board cleaned", percent=25, by=technician)
    services.record_quality_check(ticket, item="Keyboard", passed=True, notes="All keys work", by=technician)
    ticket.refresh_from_db()
    response = client.get(track_url(ticket))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-reference="{ticket.reference}"' in html
    assert f'data-last-seq="{ticket.last_event_seq}"' in html
    for hook in (
        "ticket-status",
        "ticket-progress",
        "timeline",
        "photos",
        "quality-checks",
        "notes",
        "milestones",
    ):
        assert f'id="{hook}"' in html
    assert "Diagnosing" in html
    assert '<progress id="ticket-progress" max="100" value="25">' in html
    assert "Board cleaned" in html
    assert "Keyboard" in html and "All keys work" in html
    seqs = [int(seq) for seq in re.findall(r'<li class="timeline__item" data-seq="(\d+)"', html)]
    # Newest first (the latest news leads on a phone); all these events are public.
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == ticket.last_event_seq
    assert "We have received your device at the workshop." in html
    assert reverse("receipt", args=[ticket.tracking_token]) in html


def test_tracking_page_hides_internal_notes_and_photos(client, ticket, technician):
    services.add_note(ticket, text="Customer seems nice, check the fan too", by=technician)
    services.add_note(ticket, text="Parts ordered, back on Friday", priority="high", visible_to_customer=True)
    public_photo = add_photo(ticket, visible=True)
    internal_photo = add_photo(ticket, visible=False)
    html = client.get(track_url(ticket)).content.decode()
    assert "Parts ordered, back on Friday" in html
    # Internal priority labels are not the customer's business; a high-priority note is "Important".
    assert "High priority" not in html and "Normal priority" not in html
    assert "Important" in html
    assert "check the fan too" not in html
    assert reverse("track-photo", args=[ticket.tracking_token, public_photo.pk]) in html
    assert reverse("track-photo", args=[ticket.tracking_token, internal_photo.pk]) not in html
    assert f'width="{public_photo.width}" height="{public_photo.height}" loading="lazy"' in html
    internal_seqs = TicketEvent.objects.filter(ticket=ticket, customer_visible=False).values_list(
        "seq", flat=True
    )
    for seq in internal_seqs:
        assert f'data-seq="{seq}"' not in html


def test_unknown_token_gives_the_same_404_page_as_any_missing_page(client):
    unknown = client.get(reverse("track", args=["no-such-token-" + "x" * 20]))
    missing = client.get("/this/page/does/not/exist/")
    assert unknown.status_code == missing.status_code == 404
    assert unknown.content == missing.content
    assert b"We can&#x27;t find that page" in unknown.content or b"We can't find that page" in unknown.content
    for name in ("receipt", "track-quote"):
        assert client.post(reverse(name, args=["nope"])).status_code in (404, 405)
    assert client.get(reverse("receipt", args=["nope"])).content == missing.content
    assert client.get(reverse("track", args=["x" * 100])).status_code == 404  # over-long tokens too


# --- quote decisions -------------------------------------------------------------------------------


@pytest.fixture
def quoted_ticket(ticket, technician):
    return advance(ticket, "received", "diagnosing", "awaiting_approval", by=technician)


def test_quote_with_buttons_is_shown_only_while_awaiting_approval(client, ticket, quoted_ticket):
    html = client.get(track_url(quoted_ticket)).content.decode()
    assert "£89.00" in html
    assert 'name="decision" value="approve"' in html
    assert 'name="decision" value="decline"' in html
    other = make_ticket()
    assert 'name="decision"' not in client.get(track_url(other)).content.decode()


def test_approving_the_quote_then_posting_again_explains_why_nothing_happened(client, quoted_ticket):
    url = reverse("track-quote", args=[quoted_ticket.tracking_token])
    response = client.post(url, {"decision": "approve", "confirmed": "on"}, follow=True)
    quoted_ticket.refresh_from_db()
    assert quoted_ticket.status == "approved"
    assert quoted_ticket.quote_decision == "approved"
    assert "you approved the quote of £89.00" in response.content.decode()
    assert response.redirect_chain == [(track_url(quoted_ticket), 302)]

    again = client.post(url, {"decision": "decline", "confirmed": "on"}, follow=True)
    quoted_ticket.refresh_from_db()
    assert quoted_ticket.status == "approved"
    assert "There is no quote waiting for a decision on this repair." in again.content.decode()


def test_declining_the_quote_cancels_the_repair(client, quoted_ticket, customer):
    login(client, customer.user)
    response = client.post(
        reverse("track-quote", args=[quoted_ticket.tracking_token]),
        {"decision": "decline", "confirmed": "on"},
    )
    assert response.status_code == 302
    quoted_ticket.refresh_from_db()
    assert quoted_ticket.status == "cancelled"
    assert quoted_ticket.quote_decision == "declined"
    event = quoted_ticket.events.get(seq=quoted_ticket.last_event_seq)
    assert event.kind == "ticket.quote_decided" and event.actor == customer.user
    assert "Quote declined" in client.get(track_url(quoted_ticket)).content.decode()


@pytest.mark.parametrize("data", [{}, {"decision": "maybe"}])
def test_an_invalid_decision_is_explained_and_changes_nothing(client, quoted_ticket, data):
    response = client.post(reverse("track-quote", args=[quoted_ticket.tracking_token]), data, follow=True)
    assert response.status_code == 200
    assert "Choose whether to approve or decline the quote." in response.content.decode()
    quoted_ticket.refresh_from_db()
    assert quoted_ticket.status == "awaiting_approval"


@pytest.mark.parametrize(
    ("decision", "says"),
    [
        (
            "approve",
            ["Approve the quote of £89.00?", "You pay £89.00 once the repair is done", "Yes, approve £89.00"],
        ),
        ("decline", ["Decline the quote of £89.00 and cancel the repair?", "we can reopen the quote"]),
    ],
)
def test_a_decision_is_confirmed_on_a_second_page_that_states_amount_and_next_steps(
    client, quoted_ticket, decision, says
):
    url = reverse("track-quote", args=[quoted_ticket.tracking_token])
    # Step one: the tracking page's button (GET) and a POST without confirmation only ask.
    for response in (client.get(url, {"decision": decision}), client.post(url, {"decision": decision})):
        assert response.status_code == 200
        html = response.content.decode()
        for text in says:
            assert text in html
        assert 'name="confirmed"' in html
    quoted_ticket.refresh_from_db()
    assert quoted_ticket.status == "awaiting_approval" and quoted_ticket.quote_decision == "pending"
    # Step two: the confirmation page's button decides.
    client.post(url, {"decision": decision, "confirmed": "on"})
    quoted_ticket.refresh_from_db()
    assert quoted_ticket.status == ("approved" if decision == "approve" else "cancelled")


def test_the_confirmation_page_for_a_decided_quote_sends_back_to_the_tracking_page(client, quoted_ticket):
    services.decide_quote(quoted_ticket, approved=True)
    response = client.get(
        reverse("track-quote", args=[quoted_ticket.tracking_token]), {"decision": "decline"}
    )
    assert response.status_code == 302 and response["Location"] == track_url(quoted_ticket)


# --- receipt ---------------------------------------------------------------------------------------


def test_receipt_has_the_intake_details_and_a_qr_code(client, ticket):
    response = client.get(reverse("receipt", args=[ticket.tracking_token]))
    assert response.status_code == 200
    html = response.content.decode()
    assert ticket.reference in html
    assert ticket.customer.name in html or ticket.customer.name.replace("'", "&#x27;") in html
    assert ticket.device.serial_number in html
    assert "Scratches on the lid" in html and "Charger" in html
    assert "passcode" in html and "90 days" in html
    assert re.search(r'<svg[^>]*class="qr-code"', html)
    assert ticket.tracking_url in html
    assert "js/print.js" in html


# --- photos ----------------------------------------------------------------------------------------


def test_tracked_photo_is_served_privately(client, ticket):
    photo = services.render_photo_variants(add_photo(ticket, visible=True))  # as the worker does
    response = client.get(reverse("track-photo", args=[ticket.tracking_token, photo.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"  # a normalised variant, never the original upload
    assert "private" in response["Cache-Control"]
    assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WEBP"


def test_tracked_photo_refuses_other_tickets_and_internal_photos(client, ticket, other_ticket):
    others_photo = add_photo(other_ticket, visible=True)
    internal_photo = add_photo(ticket, visible=False)
    not_found = client.get("/no-such-page/").content
    for photo in (others_photo, internal_photo):
        response = client.get(reverse("track-photo", args=[ticket.tracking_token, photo.pk]))
        assert response.status_code == 404
        assert response.content == not_found
    assert client.get(reverse("track-photo", args=["bad-token", others_photo.pk])).status_code == 404
    assert client.get(reverse("track-photo", args=[ticket.tracking_token, 999_999])).status_code == 404


def test_photo_by_id_needs_a_login(client, ticket):
    photo = add_photo(ticket, visible=True)
    response = client.get(reverse("photo", args=[photo.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_photo_by_id_follows_who_can_see_the_ticket(
    client, ticket, customer, other_customer, technician, other_technician
):
    public_photo = add_photo(ticket, visible=True)
    internal_photo = add_photo(ticket, visible=False)
    expectations = [
        (customer.user, public_photo, 200),
        (customer.user, internal_photo, 404),
        (other_customer.user, public_photo, 404),
        (technician, internal_photo, 200),
        (other_technician, public_photo, 404),
        (StaffFactory(), internal_photo, 200),
    ]
    for user, photo, status in expectations:
        client.force_login(user)
        response = client.get(reverse("photo", args=[photo.pk]))
        assert response.status_code == status, (user.username, photo.visible_to_customer)
        if status == 200:
            assert response["Cache-Control"].startswith("private")


def test_missing_photo_file_is_a_404_not_a_500(client, ticket):
    photo = add_photo(ticket, visible=True)
    photo.image.storage.delete(photo.image.name)
    assert client.get(reverse("track-photo", args=[ticket.tracking_token, photo.pk])).status_code == 404


# --- my repairs ------------------------------------------------------------------------------------


def test_account_repairs_redirects_anonymous_users_to_login(client):
    response = client.get(reverse("account-repairs"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse('account-repairs')}"


def test_account_repairs_lists_only_the_customers_own_tickets(client, customer, ticket, other_ticket):
    login(client, customer.user)
    html = client.get(reverse("account-repairs")).content.decode()
    assert ticket.reference in html
    assert track_url(ticket) in html
    assert other_ticket.reference not in html
    assert track_url(other_ticket) not in html
    assert "Booked" in html


def test_account_repairs_empty_state(client, other_customer):
    login(client, other_customer.user)
    html = client.get(reverse("account-repairs")).content.decode()
    assert "You have no repairs on this account yet." in html


def test_account_repairs_for_staff_lists_every_ticket(client, staff_user, ticket, other_ticket):
    login(client, staff_user)
    html = client.get(reverse("account-repairs")).content.decode()
    assert ticket.reference in html and other_ticket.reference in html


def test_a_failed_booking_puts_focus_on_the_error_summary(client):
    html = client.post(reverse("book"), {"name": ""}).content.decode()
    summary = re.search(r'<div class="error-summary"[^>]*>', html).group(0)
    # Focused on load (no script needed), announced as an alert.
    assert 'role="alert"' in summary and 'tabindex="-1"' in summary and "autofocus" in summary
