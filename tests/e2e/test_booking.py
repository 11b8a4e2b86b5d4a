"""(a) A booking through the real /book/ form, in Chromium, gets its confirmation email from the
worker process (published to Redis by web, sent by the worker, received by the SMTP sink)."""

from __future__ import annotations

import re

import pytest

from .compose import wait_for
from .site import booking_form, new_contact

pytestmark = pytest.mark.browser


def test_a_booking_through_the_form_is_confirmed_by_email_from_the_worker(stack, fakes, browser):
    email, phone = new_contact()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{stack.url}/book/")
    form = booking_form(email, phone)
    for name in ("name", "email", "phone", "brand", "model", "condition_on_intake", "problem_description"):
        page.fill(f"[name={name}]", form[name])
    page.select_option("[name=kind]", form["kind"])
    page.check("[name=preferred_contact][value=email]")
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/track/[^/]+/$"), timeout=30_000)
    reference = page.get_attribute("#ticket", "data-reference")
    context.close()

    received = wait_for(
        lambda: [m for m in list(fakes.smtp.messages) if email in m.recipients],
        timeout=60,
        what=f"the booking confirmation of {reference} in the SMTP sink",
        stack=stack,
    )
    assert len(received) == 1
    assert received[0].message["Subject"] == f"Your repair {reference} is booked"

    rows = stack.manage("messages", reference=reference)["messages"]
    (confirmation,) = [
        r for r in rows if r["template_key"] == "booking_confirmed" and r["channel"] == "email"
    ]
    assert confirmation["status"] == "sent"
    assert confirmation["token"] == received[0].token  # the outbox row is what the sink got
    # Published to the broker (only a non-eager enqueue stamps enqueued_at) and run by the worker.
    assert confirmation["enqueued_at"] != "None"
    web = stack.text("web1") + stack.text("web2")
    worker = stack.text("worker")
    assert '"child_task_name": "notifications.deliver"' in web  # web published the task...
    assert "Task notifications.deliver[" not in web  # ...and did not run it
    assert "Task notifications.deliver[" in worker and "succeeded" in worker
