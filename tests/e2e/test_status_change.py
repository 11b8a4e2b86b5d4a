"""(b) The assigned technician moves a repair on through the API: the customer's open tracking
socket gets the event, and the customer's chosen channels (email and SMS) get the message."""

from __future__ import annotations

import re

from websockets.sync.client import connect

from .compose import wait_for
from .site import api, book, new_contact, receive_until, ws_url


def test_a_technicians_status_change_reaches_the_socket_email_and_sms(stack, fakes):
    email, phone = new_contact()
    reference, tracking_token = book(stack, email, phone, preferred_contact="sms")
    technician = stack.manage("assign_technician", reference=reference)

    with connect(ws_url(stack, reference, tracking_token), origin=stack.url, open_timeout=20) as socket:
        snapshot = receive_until(socket, lambda f: f.get("type") == "snapshot", timeout=20)
        assert snapshot["ticket"]["status"] == "booked"
        with api(stack, technician["token"]) as client:
            answer = client.post(f"/api/v1/repairs/{reference}/transition/", json={"status": "received"})
        assert answer.status_code == 200, answer.text
        event = receive_until(
            socket,
            lambda f: f.get("type") == "event" and f.get("kind") == "ticket.status_changed",
            timeout=20,
        )
    assert event["reference"] == reference
    assert event["payload"]["ticket"]["status"] == "received"

    mail = wait_for(
        lambda: [
            m
            for m in list(fakes.smtp.messages)
            if email in m.recipients and "Received" in m.message["Subject"]
        ],
        timeout=60,
        what="the status email in the SMTP sink",
        stack=stack,
    )
    assert mail[0].message["Subject"] == f"{reference}: Received"
    digits = re.sub(r"\D", "", phone)
    texts = wait_for(
        lambda: [
            s
            for s in list(fakes.twilio.sent)
            if re.sub(r"\D", "", s.to) == digits and reference in s.body and "Received" in s.body
        ],
        timeout=60,
        what="the status SMS in the Twilio fake",
        stack=stack,
    )
    assert len(texts) == 1
    assert len(mail) == 1
