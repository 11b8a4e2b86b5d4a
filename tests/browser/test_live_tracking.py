"""A customer's tracking page follows changes a technician makes in the admin, live."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.browser_support import run_outside_playwrights_loop
from tests.factories import DEFAULT_PASSWORD, CustomerFactory, TechnicianFactory, make_ticket

pytestmark = pytest.mark.browser

LIVE_DEADLINE_MS = 2000


def _render_photos_as_the_worker_does() -> None:
    from repairs.models import Photo
    from repairs.tasks import render_photo_variants

    for photo_id in Photo.objects.values_list("pk", flat=True):
        render_photo_variants.run(photo_id)


def _login_admin(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")


@pytest.fixture
def assigned_ticket(live_asgi_url):
    """Made before the browser starts (its event loop would refuse the publisher's async_to_sync)."""
    technician = TechnicianFactory()
    return technician, make_ticket(customer=CustomerFactory(), technician=technician)


def test_tracking_page_shows_admin_changes_within_two_seconds(
    live_asgi_url, assigned_ticket, browser, tmp_path
):
    technician, ticket = assigned_ticket

    customer_page = browser.new_context().new_page()
    page_errors = []
    customer_page.on("pageerror", lambda error: page_errors.append(error))
    customer_page.goto(f"{live_asgi_url}/track/{ticket.tracking_token}/")
    customer_page.wait_for_selector("#live-indicator[data-state=live]", timeout=5000)
    assert customer_page.text_content("#ticket-status").strip() == "Booked"

    workshop = browser.new_context().new_page()
    _login_admin(workshop, live_asgi_url, technician.username)
    workshop.goto(f"{live_asgi_url}/admin/repairs/repairticket/{ticket.pk}/change/")

    # 1. A status change from the admin's "Status change" form appears without a reload.
    workshop.select_option("select[name=status-move_to_status]", "received")
    workshop.fill("[name=status-status_message]", "Your laptop is with us.")
    workshop.click("#ticket-status [type=submit]")
    workshop.wait_for_selector(".messagelist .success")
    customer_page.wait_for_function(
        "document.querySelector('#ticket-status').textContent.trim() === 'Received'", timeout=LIVE_DEADLINE_MS
    )
    assert customer_page.get_attribute("#ticket-progress", "value") == "10"
    assert "Your laptop is with us." in customer_page.text_content("#timeline")

    # 2. A photo uploaded through the admin's "Add a photo" form appears, with its category, without
    # a reload.
    picture = tmp_path / "repair.png"
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), "teal").save(buffer, "PNG")
    picture.write_bytes(buffer.getvalue())
    workshop.set_input_files("input[name=photo-upload]", str(picture))
    workshop.select_option("select[name=photo-category]", "diagnosis")
    workshop.fill("input[name=photo-caption]", "Swollen battery")
    workshop.click("#ticket-photo [type=submit]")
    workshop.wait_for_selector(".messagelist .success")
    customer_page.wait_for_selector("#photos li img", timeout=LIVE_DEADLINE_MS)
    assert "Swollen battery" in customer_page.text_content("#photos")
    # A worker renders the variants (with a broker; without one the upload did it inline), then
    # the photo really loads through the token-checked view, as a normalised variant.
    run_outside_playwrights_loop(_render_photos_as_the_worker_does)
    served = customer_page.evaluate(
        "fetch(document.querySelector('#photos li img').currentSrc).then(r => r.headers.get('content-type'))"
    )
    assert served in ("image/avif", "image/webp")
    assert customer_page.url.endswith(f"/track/{ticket.tracking_token}/")  # never reloaded away
    assert page_errors == []


def test_tracking_page_resumes_after_the_connection_drops(live_asgi_url, assigned_ticket, browser):
    technician, ticket = assigned_ticket
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_asgi_url}/track/{ticket.tracking_token}/")
    page.wait_for_selector("#live-indicator[data-state=live]", timeout=5000)

    # Drop the connection and make changes while the page is away.
    context.set_offline(True)
    page.wait_for_selector("#live-indicator[data-state=offline], #live-indicator[data-state=reconnecting]")
    from repairs import services

    def changes_while_away():
        services.transition_ticket(ticket, "received", by=technician)
        services.add_note(ticket, text="Back online soon", visible_to_customer=True, by=technician)

    run_outside_playwrights_loop(changes_while_away)
    page.wait_for_timeout(500)
    assert page.text_content("#ticket-status").strip() == "Booked"  # really cut off: nothing arrived
    context.set_offline(False)
    page.wait_for_function(
        "document.querySelector('#ticket-status').textContent.trim() === 'Received'", timeout=15000
    )
    page.wait_for_selector("#notes li", timeout=5000)
    assert "Back online soon" in page.text_content("#notes")
    seqs = page.eval_on_selector_all("#timeline li", "items => items.map(i => Number(i.dataset.seq))")
    # Newest first, as the server renders it: the live events went in at the top.
    assert seqs == sorted(set(seqs), reverse=True) and seqs[:2] == [3, 2]


#: What a status change updates on the tracking page: the chip, the line under it and the progress.
STATUS_BLOCK_JS = """() => {
  const text = (id) => document.getElementById(id).textContent.trim();
  const chip = document.getElementById('ticket-status');
  return {
    status: text('ticket-status'), chipStatus: chip.dataset.status, chipClass: chip.className,
    sentence: text('ticket-status-sentence'),
    progress: document.getElementById('ticket-progress').value, progressText: text('ticket-progress-text'),
    pageStatus: document.getElementById('ticket').dataset.status,
    timeline: [...document.querySelectorAll('#timeline li')].map((li) => [
      li.dataset.seq, li.querySelector('.timeline__title').textContent.trim(),
      (li.querySelector('.timeline__detail') || {textContent: ''}).textContent.trim()]),
  };
}"""


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 800}])
def test_a_live_status_change_renders_the_page_as_a_reload_would(
    live_asgi_url, assigned_ticket, browser, viewport
):
    technician, ticket = assigned_ticket
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(f"{live_asgi_url}/track/{ticket.tracking_token}/")
    page.wait_for_selector("#live-indicator[data-state=live]", timeout=5000)
    booked_sentence = page.text_content("#ticket-status-sentence").strip()
    from repairs import services

    for status in ("received", "diagnosing"):
        run_outside_playwrights_loop(
            lambda status=status: services.transition_ticket(ticket, status, by=technician)
        )
        page.wait_for_function(
            "(status) => document.getElementById('ticket').dataset.status === status",
            arg=status,
            timeout=LIVE_DEADLINE_MS,
        )
        live = page.evaluate(STATUS_BLOCK_JS)
        page.reload()
        page.wait_for_selector("#live-indicator[data-state=live]", timeout=5000)
        assert live == page.evaluate(STATUS_BLOCK_JS)
    assert live["sentence"] and live["sentence"] != booked_sentence


def test_after_a_server_restart_the_first_reconnect_is_spread_over_five_seconds(
    live_asgi_url, assigned_ticket, browser
):
    """live-tracking.js's reconnectDelay, as the page runs it: a process restarting (1012) or going
    away (1001) spreads its sockets' first reconnect over 0-5 s; any other drop backs off as before."""
    _, ticket = assigned_ticket
    page = browser.new_context().new_page()
    page.goto(f"{live_asgi_url}/track/{ticket.tracking_token}/")
    delays = page.evaluate(
        """async () => {
          const src = document.querySelector("script[src*='live-tracking']").src;
          const { reconnectDelay } = await import(src);
          const at = (r) => () => r;
          return {
            restartLow: reconnectDelay(0, 1012, at(0)), restartHigh: reconnectDelay(0, 1012, at(0.999)),
            goingAway: reconnectDelay(0, 1001, at(0.5)), dropped: reconnectDelay(0, 1006, at(0)),
            restartAgain: reconnectDelay(1, 1012, at(0)),
          };
        }"""
    )
    assert delays == {
        "restartLow": 0,
        "restartHigh": 4995,
        "goingAway": 2500,
        "dropped": 250,  # equal jitter: half of 500 ms at least
        "restartAgain": 500,  # after the spread, the usual backoff
    }
