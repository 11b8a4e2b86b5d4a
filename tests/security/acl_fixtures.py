"""The world the access-control suite and the API fuzzer run against, built once per test.

Two customers, A and B, each with a repair that carries everything a customer may own or see:
customer-visible and internal photos (with their rendered AVIF/WebP variant files), notes, quality
checks, milestones, an issued invoice with a payment, outbox messages, a push device, notification
preferences and quiet hours, analytics sessions, events, a consented device and a consent record.
A's repair is assigned to the *assigned technician*; B's to another technician; the *unassigned
technician* has no repair at all. The six roles of the suite are :data:`ROLES`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import time, timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from analytics.models import ConsentRecord, Event, EventType, Session, TrackedDevice, VisitorLink
from notifications.models import Message, PushDevice
from notifications.services import preferences as notification_preferences
from payments.lifecycle import PaymentStatus, Provider
from payments.models import Invoice, Payment
from repairs import services
from repairs.models import Customer, Photo, RepairTicket
from tests.factories import CustomerWithLoginFactory, StaffFactory, TechnicianFactory, image_file
from tests.notifications.factories import PushDeviceFactory, notify
from tests.payments.factories import PaymentFactory, issued_invoice, ready_ticket

ANONYMOUS = "anonymous"
CUSTOMER_A = "customer_a"
CUSTOMER_B = "customer_b"
TECH_UNASSIGNED = "tech_unassigned"
TECH_ASSIGNED = "tech_assigned"
STAFF = "staff"
#: The six roles, in the order the tables list them.
ROLES = (ANONYMOUS, CUSTOMER_A, CUSTOMER_B, TECH_UNASSIGNED, TECH_ASSIGNED, STAFF)


@dataclass
class Owned:
    """Everything one customer owns (or may see) in the world."""

    customer: Customer
    ticket: RepairTicket
    photo: Photo  # visible to the customer, variants rendered
    internal_photo: Photo  # internal (staff and the assigned technician only), variants rendered
    invoice: Invoice
    payment: Payment
    message: Message
    push_device: PushDevice
    session: Session
    event: Event
    tracked_device: TrackedDevice
    consent: ConsentRecord
    visible_note_id: int = 0
    internal_note_id: int = 0
    quality_check_id: int = 0


@dataclass
class World:
    users: dict[str, Any]
    a: Owned
    b: Owned
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, role: str, **defaults: Any) -> Client:
        """A test client logged in as ``role``: a session as a browser would have after logging in,
        written directly (the login itself, with django-axes' signal handlers, is tested elsewhere)."""
        client = Client(**defaults)
        user = self.users.get(role)
        if user is not None:
            session = import_module(settings.SESSION_ENGINE).SessionStore()
            session[SESSION_KEY] = user._meta.pk.value_to_string(user)
            session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.save()
            client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
        return client

    def auth_header(self, role: str) -> dict[str, str]:
        """Headers that authenticate ``role`` on the API with its token (none for anonymous)."""
        token = self.tokens.get(role)
        return {"Authorization": f"Token {token}"} if token else {}


def _owned(customer: Customer, technician) -> Owned:
    ticket = ready_ticket(customer=customer, technician=technician)
    photo = services.add_photo(ticket, image=image_file(), category="repair", caption="Board", by=technician)
    internal = services.add_photo(
        ticket, image=image_file(color="blue"), category="diagnosis", visible_to_customer=False, by=technician
    )
    photo = services.render_photo_variants(photo)
    internal = services.render_photo_variants(internal)
    visible_note = services.add_note(
        ticket, text="Your screen is in.", visible_to_customer=True, by=technician
    )
    internal_note = services.add_note(ticket, text="Internal: supplier is slow.", by=technician)
    check = services.record_quality_check(ticket, item="Battery holds charge", passed=True, by=technician)
    services.add_milestone(ticket, title="Parts fitted", percent=80, by=technician)
    ticket.refresh_from_db()
    invoice = issued_invoice(ticket)
    payment = PaymentFactory(invoice=invoice, provider=Provider.STRIPE, status=PaymentStatus.SUCCEEDED)
    dispatch = notify(customer, ticket=ticket)
    message = (
        Message.objects.filter(dispatch=dispatch).first() or Message.objects.filter(customer=customer).first()
    )
    push_device = PushDeviceFactory(customer=customer)
    notification_preferences.update_preferences(customer, {("status", "sms"): True})
    notification_preferences.set_quiet_hours(customer, enabled=True, start=time(22, 0), end=time(7, 0))
    now = timezone.now()
    tracked = TrackedDevice.objects.create(
        id=uuid.uuid4(), customer=customer, first_seen_at=now, last_seen_at=now, browser="Chrome"
    )
    session = Session.objects.create(
        identity=tracked.id,
        device_id=tracked.id,
        customer=customer,
        started_at=now - timedelta(minutes=5),
        last_seen_at=now,
        entry_path=f"/track/{ticket.tracking_token}/",
        exit_path="/",
        pageviews=1,
        events=1,
        pages=["/"],
    )
    event = Event.objects.create(
        occurred_at=now - timedelta(minutes=4),
        type=EventType.PAGEVIEW,
        session=session,
        device_id=tracked.id,
        customer=customer,
        path="/account/repairs/",
    )
    VisitorLink.objects.create(visitor_key=uuid.uuid4(), customer=customer, source="login", linked_at=now)
    consent = ConsentRecord.objects.create(
        granted=True, version="1", device_id=tracked.id, customer=customer, created_at=now
    )
    assert message is not None, "the world needs an outbox row per customer"
    return Owned(
        customer=customer,
        ticket=ticket,
        photo=photo,
        internal_photo=internal,
        invoice=invoice,
        payment=payment,
        message=message,
        push_device=push_device,
        session=session,
        event=event,
        tracked_device=tracked,
        consent=consent,
        visible_note_id=visible_note.pk,
        internal_note_id=internal_note.pk,
        quality_check_id=check.pk,
    )


def build_world() -> World:
    customer_a = CustomerWithLoginFactory(name="Alice Able")
    customer_b = CustomerWithLoginFactory(name="Bob Baker")
    assigned = TechnicianFactory()
    b_technician = TechnicianFactory()
    unassigned = TechnicianFactory()
    staff = StaffFactory()
    users = {
        ANONYMOUS: None,
        CUSTOMER_A: customer_a.user,
        CUSTOMER_B: customer_b.user,
        TECH_UNASSIGNED: unassigned,
        TECH_ASSIGNED: assigned,
        STAFF: staff,
    }
    world = World(users=users, a=_owned(customer_a, assigned), b=_owned(customer_b, b_technician))
    world.tokens = {
        role: Token.objects.get_or_create(user=user)[0].key
        for role, user in users.items()
        if user is not None
    }
    return world


def user_model():
    return get_user_model()
