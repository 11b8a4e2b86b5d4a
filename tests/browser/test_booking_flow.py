"""The newcomer's path in a real browser: book a repair, land on its tracking page, print the receipt."""

import pytest

from repairs.models import RepairTicket

pytestmark = pytest.mark.browser


def test_booking_in_the_browser_leads_to_a_live_tracking_page(live_asgi_url, browser):
    page = browser.new_context().new_page()
    page.goto(f"{live_asgi_url}/book/")

    page.click("button[type=submit]")  # empty form: the server explains every missing answer
    assert page.locator(".errorlist").count() >= 5
    assert RepairTicket.objects.count() == 0

    page.fill("[name=name]", "Dana Scully")
    page.fill("[name=email]", "dana@example.com")
    page.fill("[name=phone]", "+44 7700 900777")
    page.select_option("[name=kind]", "laptop")
    page.fill("[name=brand]", "Framework")
    page.fill("[name=model]", "Laptop 13")
    page.fill("[name=condition_on_intake]", "Like new")
    page.fill("[name=problem_description]", "Keyboard stopped working after a coffee spill.")
    page.click("button[type=submit]")

    ticket = RepairTicket.objects.get()
    page.wait_for_url(f"{live_asgi_url}/track/{ticket.tracking_token}/")
    assert ticket.reference in page.text_content("body")
    assert page.text_content("#ticket-status").strip() == "Booked"
    page.wait_for_selector("#live-indicator[data-state=live]", timeout=5000)

    page.click("text=Intake receipt")
    page.wait_for_url(f"{live_asgi_url}/track/{ticket.tracking_token}/receipt/")
    assert page.locator("svg").count() >= 1
    assert "Framework Laptop 13" in page.text_content("body")
