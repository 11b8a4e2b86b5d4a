"""The customer's side as a real shop's, in Chromium at phone (390x844, touch) and desktop sizes:
book by tapping the real button with the consent banner unanswered, find the shop's address and
hours on the tracking page, the receipt and the confirmation email, decide a quote in two steps,
and manage a guest's messages from the email's signed link."""

from __future__ import annotations

import re

import pytest
from django.db import close_old_connections

from notifications.services.preferences import preference_matrix
from repairs import services
from repairs.models import RepairTicket
from tests.browser_support import DESKTOP, PHONE, run_outside_playwrights_loop
from tests.factories import TechnicianFactory

pytestmark = pytest.mark.browser

ADDRESS = "12 Market Street"
HOURS = "09:00–17:30"


def _uncovered(page, selector: str) -> dict:
    """Scroll the element into view and say what the browser would hit at its centre: the
    element itself (or its child), never the consent banner over it."""
    return page.eval_on_selector(
        selector,
        """(el) => {
          el.scrollIntoView({block: "center"});
          const r = el.getBoundingClientRect();
          const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          const banner = document.getElementById("rt-consent");
          const b = banner && !banner.hidden ? banner.getBoundingClientRect() : null;
          const apart = !b || b.bottom <= r.top || b.top >= r.bottom
            || b.right <= r.left || b.left >= r.right;
          const ok = el === hit || el.contains(hit);
          return {ok, hit: hit && hit.outerHTML.slice(0, 80), overlaps: !apart};
        }""",
    )


def _tap(page, selector: str, touch: bool) -> None:
    where = _uncovered(page, selector)
    assert where["ok"] and not where["overlaps"], where
    # trial=False and no force: Playwright itself refuses to act if something else would get the tap.
    (page.tap if touch else page.click)(selector, timeout=5000)


@pytest.mark.parametrize(("size", "decision"), [("phone", "decline"), ("desktop", "approve")])
def test_a_customer_books_finds_the_shop_decides_a_quote_and_manages_messages(
    shop_profile, default_messages, live_asgi_url, mailbox, browser, size, decision
):
    touch = size == "phone"
    context = browser.new_context(**(PHONE if touch else DESKTOP))
    page = context.new_page()
    errors: list = []
    page.on("pageerror", lambda error: errors.append(error))

    # Home: the consent banner asks, in the flow, and covers nothing; booking needs no answer.
    page.goto(f"{live_asgi_url}/")
    page.wait_for_selector("#rt-consent:not([hidden])")
    assert page.evaluate("getComputedStyle(document.getElementById('rt-consent')).position") == "static"
    # The first view is the page's own: "Book a repair" shows without scrolling, nothing over it.
    assert page.evaluate(
        """() => {
          const r = document.querySelector(".hero a.button").getBoundingClientRect();
          const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          return r.bottom <= innerHeight && Boolean(hit.closest(".hero a.button"));
        }"""
    )
    _tap(page, ".hero a.button", touch)
    page.wait_for_url(f"{live_asgi_url}/book/")
    assert page.is_visible("#rt-consent")  # still unanswered

    # A failed submit moves focus to the error summary (read out by screen readers).
    _tap(page, "form.form button[type=submit]", touch)
    page.wait_for_selector("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.get_attribute("#error-summary", "role") == "alert"

    page.fill("[name=name]", "Dana Scully")
    page.fill("[name=email]", "dana@example.com")
    page.select_option("[name=kind]", "phone")
    page.fill("[name=brand]", "Apple")
    page.fill("[name=model]", "iPhone 13")
    page.fill("[name=condition_on_intake]", "Cracked corner")
    page.fill("[name=problem_description]", "The screen stays black after a fall.")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # as far down as a thumb goes
    _tap(page, "form.form button[type=submit]", touch)
    page.wait_for_url(re.compile(r".*/track/[^/]+/$"))
    close_old_connections()
    ticket = RepairTicket.objects.get()

    # Tracking page: the shop's address and hours lead (the next step is bringing the device in).
    shop_panel = page.text_content("#shop-panel")
    assert "Bring your device to us" in shop_panel and ADDRESS in shop_panel and HOURS in shop_panel
    assert "+44 1273 960 123" in shop_panel
    assert page.text_content("#ticket-status").strip() == "Booked"

    # Receipt: the same details, to print.
    page.goto(f"{live_asgi_url}/track/{ticket.tracking_token}/receipt/")
    receipt = page.text_content(".receipt")
    assert ADDRESS in receipt and HOURS in receipt and "VAT number GB 123 4567 89" in receipt

    # The confirmation email: where to go, when, and from whom.
    (email,) = mailbox.wait(1)
    text, html = email.part("text/plain"), email.part("text/html")
    assert email.message["Subject"] == f"Your repair {ticket.reference} is booked"
    for body in (text, html):
        assert ADDRESS in body and "Monday" in body and HOURS in body and "+44 1273 960 123" in body
    assert "Bring the device to RevivaTech Brighton, 12 Market Street" in text

    # The quote, in two steps: the first only explains.
    def workshop():
        technician = TechnicianFactory()
        for status in ("received", "diagnosing"):
            services.transition_ticket(ticket, status, by=technician)
        services.send_quote(ticket, amount=12900, by=technician)
        services.transition_ticket(ticket, "awaiting_approval", by=technician)

    run_outside_playwrights_loop(workshop)
    ticket.refresh_from_db()
    page.goto(f"{live_asgi_url}/track/{ticket.tracking_token}/")
    # Newest news first.
    assert page.get_attribute("#timeline li:first-child", "data-seq") == str(ticket.last_event_seq)
    _tap(page, f"#quote button[value={decision}]", touch)
    page.wait_for_selector("#confirm-title")
    heading = page.text_content("#confirm-title")
    assert "£129.00" in heading and "What happens next" in page.text_content(".quote-confirm")
    close_old_connections()
    ticket.refresh_from_db()
    assert ticket.status == "awaiting_approval"  # nothing decided yet
    _tap(page, ".quote-confirm button[type=submit]", touch)
    page.wait_for_url(f"{live_asgi_url}/track/{ticket.tracking_token}/")
    close_old_connections()
    ticket.refresh_from_db()
    assert ticket.status == ("cancelled" if decision == "decline" else "approved")
    if decision == "decline":
        assert "Collect your device" in page.text_content("#shop-panel")

    # Messages: the guest opens the signed link from the email, no login, and changes a choice.
    link = re.search(r"Choose which messages you get \(no login needed\): (\S+)", text).group(1)
    assert "/notifications/preferences/" in link
    prefs = context.new_page()
    prefs.goto(link)
    assert "Notifications" in prefs.text_content("h1")
    box = prefs.locator("input[name='marketing__email']")
    assert not box.is_checked()
    box.check()
    _tap(prefs, "form.notif-form button[type=submit]", touch)
    prefs.wait_for_selector(".message--success")
    close_old_connections()
    assert preference_matrix(ticket.customer)["marketing"]["email"].enabled is True
    assert not errors, errors
    context.close()


def test_staff_preview_an_email_styled_as_the_customer_sees_it(
    shop_profile, default_messages, live_asgi_url, browser
):
    from notifications.models import MessageTemplate
    from tests.factories import DEFAULT_PASSWORD, StaffFactory

    staff = StaffFactory()
    template = MessageTemplate.objects.get(key="booking_confirmed")
    page = browser.new_context(**DESKTOP).new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and violations.append(message.text),
    )
    page.goto(f"{live_asgi_url}/admin/login/")
    page.fill("#id_username", staff.username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_asgi_url}/admin/")
    page.goto(f"{live_asgi_url}/admin/notifications/messagetemplate/{template.pk}/preview/")
    frame = page.frame_locator("iframe.notif-preview-frame")
    brand = frame.locator(".brand")
    brand.wait_for()
    # The email's own <style> applies: the brand bar is the shop's green, as in a mail client.
    assert brand.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(15, 94, 90)"
    assert "12 Market Street" in frame.locator(".footer").text_content()
    assert not violations, violations
