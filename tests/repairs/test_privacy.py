"""The repairs app's share of GDPR export and erasure."""

import json

import pytest
from django.contrib.auth import get_user_model

from repairs import services
from repairs.models import Customer, Photo, RepairTicket, TicketEvent
from repairs.privacy import erase_customer_data, export_customer_data
from tests.factories import image_file

pytestmark = pytest.mark.django_db


def test_export_holds_profile_devices_and_customer_visible_history(ticket, technician):
    services.add_note(ticket, text="Internal remark", by=technician)
    services.add_note(ticket, text="Parts ordered", visible_to_customer=True, by=technician)
    data = export_customer_data(ticket.customer)
    json.dumps(data, default=str)  # serialisable
    assert data["profile"]["email"] == ticket.customer.email
    assert data["devices"][0]["serial_number"] == ticket.device.serial_number
    (exported,) = data["tickets"]
    assert exported["reference"] == ticket.reference
    assert [n["text"] for n in exported["notes"]] == ["Parts ordered"]


def test_erase_leaves_nothing_identifying(ticket, technician):
    customer = ticket.customer
    identifying = [
        customer.name,
        customer.email,
        customer.phone,
        ticket.device.serial_number,
        "Ring me on 0777",
    ]
    services.add_note(ticket, text="Ring me on 0777", visible_to_customer=True, by=technician)
    photo = services.add_photo(ticket, image=image_file(), category="intake", caption="Ring me on 0777")
    photo = services.render_photo_variants(photo)
    photo_path = photo.image.path
    from django.core.files.storage import default_storage

    variant_names = [variant["name"] for variant in photo.variants]
    assert variant_names and all(default_storage.exists(name) for name in variant_names)

    summary = erase_customer_data(customer)

    assert summary["tickets"] == 1 and summary["photos"] == 1
    assert not Photo.objects.exists()
    import os

    assert not os.path.exists(photo_path)
    assert not any(default_storage.exists(name) for name in variant_names)
    customer.refresh_from_db()
    assert customer.user is None and not get_user_model().objects.filter(pk=ticket.customer.user_id).exists()
    dump = json.dumps(
        [
            list(Customer.objects.values()),
            list(RepairTicket.objects.values()),
            list(TicketEvent.objects.values("payload")),
            export_customer_data(customer),
        ],
        default=str,
    )
    for value in identifying:
        assert value not in dump
