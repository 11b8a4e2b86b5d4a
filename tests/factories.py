"""factory-boy factories shared by every test module."""

from __future__ import annotations

import io

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from repairs import services
from repairs.models import Customer, Device, RepairTicket
from repairs.roles import STAFF_GROUP, TECHNICIANS_GROUP

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TechnicianFactory(UserFactory):
    username = factory.Sequence(lambda n: f"tech{n}")
    is_staff = True

    @factory.post_generation
    def groups(obj, create, extracted, **kwargs):
        if create:
            obj.groups.add(Group.objects.get(name=TECHNICIANS_GROUP))


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True

    @factory.post_generation
    def groups(obj, create, extracted, **kwargs):
        if create:
            obj.groups.add(Group.objects.get(name=STAFF_GROUP))


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = "+44 7700 900123"
    #: A customer the shop knows (booked in at the counter): their details are confirmed. Pass
    #: ``contact_confirmed_at=None`` for details a stranger typed into the booking form.
    contact_confirmed_at = factory.LazyFunction(timezone.now)


class CustomerWithLoginFactory(CustomerFactory):
    user = factory.SubFactory(UserFactory)


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    customer = factory.SubFactory(CustomerFactory)
    kind = "laptop"
    brand = "Lenovo"
    model = "ThinkPad X1 Carbon"
    serial_number = factory.Sequence(lambda n: f"SN{n:08d}")
    condition_on_intake = "Scratches on the lid"
    accessories = "Charger"


def make_ticket(customer: Customer | None = None, technician=None, **kwargs) -> RepairTicket:
    """A booked ticket created through the service, as the booking page would."""
    customer = customer or CustomerFactory()
    device = kwargs.pop("device", None) or DeviceFactory(customer=customer)
    return services.create_ticket(
        customer=customer,
        device=device,
        problem=kwargs.pop("problem", "Screen flickers and the battery drains fast."),
        assigned_technician=technician,
        **kwargs,
    )


def advance(ticket: RepairTicket, *statuses: str, by=None) -> RepairTicket:
    """Walk a ticket through ``statuses`` via the service (sending a quote when needed)."""
    for status in statuses:
        if status == "awaiting_approval" and ticket.quote_amount is None:
            ticket = services.send_quote(ticket, amount=8900, by=by)
        ticket = services.transition_ticket(ticket, status, by=by)
    return ticket


def backdate_status(ticket: RepairTicket, to_status: str, at) -> None:
    """Pretend ``ticket`` entered ``to_status`` at ``at`` (every such move) in its status history."""
    from repairs.selectors import status_events

    status_events(to_status).filter(ticket=ticket).update(created_at=at)


def image_file(name: str = "photo.png", size=(64, 48), fmt: str = "PNG", color="red") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    content_type = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}[fmt]
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=content_type)


#: A complete, valid booking form (the /book/ page's fields), for tests that post bookings.
BOOKING_FORM = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "+44 7700 900123",
    "preferred_contact": "email",
    "kind": "laptop",
    "brand": "Apple",
    "model": "MacBook Air M1",
    "serial_number": "C02XYZ123",
    "condition_on_intake": "Small dent on the lid",
    "accessories": "Charger",
    "problem_description": "The keyboard stopped working after a coffee spill.",
}
