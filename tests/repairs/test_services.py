"""Service functions: validation, history, one event per change published after commit."""

import pytest
from django.core.exceptions import ValidationError

from repairs import services
from repairs.models import Customer, Milestone, Note, Photo, QualityCheck, RepairTicket, TicketEvent
from repairs.services import CustomerDetails, DeviceDetails
from revivatech import events
from tests.factories import CustomerWithLoginFactory, UserFactory, advance, image_file, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def published():
    """Collect the domain events the bus publishes during a test."""
    seen: list[events.DomainEvent] = []
    events.subscribe(events.ALL_EVENTS, seen.append)
    yield seen
    events.unsubscribe(events.ALL_EVENTS, seen.append)


def _book(email="ana@example.com", user=None, **device):
    return services.book_repair(
        customer=CustomerDetails(name="Ana Lopes", email=email, phone="+44 7700 900001"),
        device=DeviceDetails(kind=device.get("kind", "phone"), brand="Google", model="Pixel 8"),
        problem="The phone restarts when the camera opens.",
        user=user,
    )


def test_booking_creates_customer_device_ticket_and_booked_event(
    django_capture_on_commit_callbacks, published
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _book()
    assert ticket.status == "booked"
    assert ticket.reference.startswith("RT-") and len(ticket.reference) == 9
    assert len(ticket.tracking_token) >= 32  # 192 random bits, URL-safe
    assert ticket.customer.email == "ana@example.com"
    assert [(e.name, e.seq, e.ticket_reference) for e in published] == [
        ("ticket.booked", 1, ticket.reference)
    ]
    assert published[0].customer_visible is True


def test_references_and_tokens_are_unique_and_not_sequential():
    tickets = [make_ticket() for _ in range(20)]
    references = [t.reference for t in tickets]
    assert len(set(references)) == 20
    assert references != sorted(references)
    assert len({t.tracking_token for t in tickets}) == 20


def test_anonymous_booking_reuses_a_login_less_customer_by_email():
    first = _book(email="Ana@Example.com")
    second = _book(email="ana@example.com")
    assert first.customer_id == second.customer_id
    assert Customer.objects.count() == 1


def test_anonymous_booking_never_attaches_to_a_customer_with_a_login():
    owner = CustomerWithLoginFactory(email="ana@example.com")
    ticket = _book(email="ana@example.com")
    assert ticket.customer_id != owner.pk


def test_logged_in_booking_uses_the_users_customer():
    owner = CustomerWithLoginFactory()
    ticket = _book(email="whatever@example.com", user=owner.user)
    assert ticket.customer_id == owner.pk


def test_booking_with_bad_details_saves_nothing():
    with pytest.raises(ValidationError) as excinfo:
        _book(email="not-an-email")
    assert "email" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        _book(kind="toaster")
    assert "kind" in excinfo.value.message_dict
    assert RepairTicket.objects.count() == Customer.objects.count() == 0


def test_events_are_published_only_after_commit(django_capture_on_commit_callbacks, published, ticket):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.transition_ticket(ticket, "received")
    assert published == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()
    assert [e.name for e in published] == ["ticket.status_changed"]
    assert published[0].payload["ticket"]["status"] == "received"


def test_a_failing_subscriber_does_not_break_the_change(django_capture_on_commit_callbacks, ticket):
    def broken(event):
        raise RuntimeError("subscriber bug")

    events.subscribe("ticket.status_changed", broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.transition_ticket(ticket, "received")
    finally:
        events.unsubscribe("ticket.status_changed", broken)
    ticket.refresh_from_db()
    assert ticket.status == "received"


def test_sequence_numbers_are_consecutive_per_ticket(ticket, other_ticket, technician):
    services.add_note(ticket, text="Internal: check the hinge", by=technician)
    services.transition_ticket(other_ticket, "received")
    services.add_milestone(ticket, title="Opened", percent=15, by=technician)
    assert list(ticket.events.values_list("seq", flat=True)) == [1, 2, 3]
    assert list(other_ticket.events.values_list("seq", flat=True)) == [1, 2]


def test_quote_approval_moves_to_approved(ticket, customer):
    ticket = advance(ticket, "received", "diagnosing")
    ticket = services.send_quote(ticket, amount=12999, currency="eur")
    assert (ticket.quote_amount, ticket.quote_currency) == (12999, "EUR")
    ticket = services.transition_ticket(ticket, "awaiting_approval")
    ticket = services.decide_quote(ticket, approved=True, by=customer.user)
    assert ticket.status == "approved"
    assert ticket.quote_decision == "approved" and ticket.quote_decided_at is not None
    assert ticket.events.last().kind == "ticket.quote_decided"


def test_quote_decline_cancels_and_second_decision_is_refused(ticket):
    ticket = advance(ticket, "received", "diagnosing", "awaiting_approval")
    ticket = services.decide_quote(ticket, approved=False)
    assert (ticket.status, ticket.quote_decision) == ("cancelled", "declined")
    with pytest.raises(ValidationError, match="no quote waiting"):
        services.decide_quote(ticket, approved=True)


@pytest.mark.parametrize("amount", [-1, 12.5, "100", True, 2**31])
def test_quote_amount_must_be_whole_minor_units(ticket, amount):
    ticket = advance(ticket, "received")
    with pytest.raises(ValidationError, match="minor units"):
        services.send_quote(ticket, amount=amount)


def test_quote_cannot_change_after_approval(ticket):
    ticket = advance(ticket, "received", "diagnosing", "awaiting_approval", "approved")
    with pytest.raises(ValidationError, match="only be sent while the repair is received"):
        services.send_quote(ticket, amount=100)


def test_milestone_sets_progress_and_is_validated(ticket, technician):
    milestone = services.add_milestone(ticket, title="Parts ordered", percent=40, by=technician)
    ticket.refresh_from_db()
    assert ticket.progress_percent == 40 and milestone.created_by == technician
    for bad in (-5, 101, "50"):
        with pytest.raises(ValidationError, match="0 to 100"):
            services.add_milestone(ticket, title="x", percent=bad)
    with pytest.raises(ValidationError, match="required"):
        services.add_milestone(ticket, title="  ", percent=10)
    assert Milestone.objects.count() == 1


def test_no_milestones_on_closed_tickets(ticket):
    ticket = services.transition_ticket(ticket, "cancelled")
    with pytest.raises(ValidationError, match="closed"):
        services.add_milestone(ticket, title="late", percent=90)


def test_internal_note_event_is_not_customer_visible(ticket, technician):
    internal = services.add_note(ticket, text="Customer was rude", priority="high", by=technician)
    public = services.add_note(ticket, text="Parts arrive Friday", visible_to_customer=True, by=technician)
    kinds = dict(
        ticket.events.filter(kind="ticket.note_added").values_list("payload__note_id", "customer_visible")
    )
    assert kinds == {internal.pk: False, public.pk: True}
    with pytest.raises(ValidationError):
        services.add_note(ticket, text="x", priority="apocalyptic")
    assert Note.objects.count() == 2


def test_photo_is_stored_privately_with_its_size(ticket, technician, settings):
    photo = services.add_photo(ticket, image=image_file(size=(120, 80)), category="intake", by=technician)
    assert (photo.width, photo.height) == (120, 80)
    assert str(settings.MEDIA_ROOT) in photo.image.path
    event = ticket.events.last()
    assert event.kind == "ticket.photo_added" and event.payload["category"] == "intake"


def test_bad_photos_are_refused(ticket, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    with pytest.raises(ValidationError, match="not an image"):
        services.add_photo(ticket, image=SimpleUploadedFile("x.jpg", b"not really"), category="repair")
    settings.PHOTO_MAX_UPLOAD_BYTES = 100
    with pytest.raises(ValidationError, match="limit"):
        services.add_photo(ticket, image=image_file(size=(300, 300)), category="repair")
    with pytest.raises(ValidationError, match="Choose one of"):
        services.add_photo(ticket, image=image_file(), category="selfie")
    assert Photo.objects.count() == 0


def test_quality_check_records_result(ticket, technician):
    check = services.record_quality_check(
        ticket, item="Wi-Fi connects", passed=False, notes="Weak", by=technician
    )
    assert check.checked_by == technician and not check.passed
    assert ticket.events.last().payload["passed"] is False
    with pytest.raises(ValidationError):
        services.record_quality_check(ticket, item="Wi-Fi", passed="yes")
    assert QualityCheck.objects.count() == 1


def test_update_ticket_assigns_only_technicians_and_records_changes(ticket, other_technician):
    ticket = services.update_ticket(ticket, assigned_technician=other_technician, priority="urgent")
    assert ticket.assigned_technician == other_technician and ticket.priority == "urgent"
    event = ticket.events.last()
    assert event.kind == "ticket.updated" and not event.customer_visible
    assert set(event.payload["changes"]) == {"assigned_technician", "priority"}
    with pytest.raises(ValidationError, match="Technicians group"):
        services.update_ticket(ticket, assigned_technician=UserFactory())
    with pytest.raises(ValidationError, match="cannot be changed"):
        services.update_ticket(ticket, status="collected")
    seq = ticket.last_event_seq
    services.update_ticket(ticket, priority="urgent")  # no change, no event
    assert TicketEvent.objects.filter(ticket=ticket).count() == seq


def test_other_apps_record_payment_events_on_the_ticket_log(
    ticket, django_capture_on_commit_callbacks, published
):
    with django_capture_on_commit_callbacks(execute=True):
        event = services.record_ticket_event(
            ticket,
            kind="ticket.payment_received",
            payload={"amount": 8900, "currency": "GBP", "invoice_id": 1},
        )
    assert (event.seq, event.customer_visible) == (2, True)
    assert [e.name for e in published] == ["ticket.payment_received"]
    with pytest.raises(ValidationError, match="Other apps may record only"):
        services.record_ticket_event(ticket, kind="ticket.status_changed", payload={})


def test_a_transaction_chosen_as_a_deadlock_victim_is_run_again(transactional_db):
    """PostgreSQL breaks a lock cycle between concurrent changes by aborting one whole transaction;
    the service runs it again rather than refusing the change (seen under concurrent API updates)."""
    from django.db import OperationalError

    from repairs.services._common import retry_on_deadlock

    class Deadlock(Exception):
        sqlstate = "40P01"

    calls = []

    @retry_on_deadlock
    def change():
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from Deadlock()
        return "done"

    assert change() == "done" and len(calls) == 2

    @retry_on_deadlock
    def broken():
        raise OperationalError("connection refused")  # not a lock cycle: no second try

    with pytest.raises(OperationalError):
        broken()
