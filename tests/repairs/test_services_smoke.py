from repairs import services


def test_booking_creates_ticket_and_first_event(ticket):
    assert ticket.reference.startswith("RT-")
    assert ticket.last_event_seq == 1
    assert ticket.events.get().kind == "ticket.booked"
    services.transition_ticket(ticket, "received")
    ticket.refresh_from_db()
    assert ticket.status == "received"
