"""(f) Real Chromium on the customer pages served by the production set (manifest static files,
CSP, service worker) at phone and desktop size: nothing overflows sideways, the booking button
can be tapped, and the console stays free of errors."""

from __future__ import annotations

import pytest

from .site import book, new_contact

pytestmark = pytest.mark.browser

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture(scope="module")
def tracked(stack):
    email, phone = new_contact()
    return book(stack, email, phone)


@pytest.mark.parametrize("size", list(SIZES))
def test_customer_pages_fit_work_and_log_no_errors(stack, browser, tracked, size):
    _, token = tracked
    phone = size == "phone"
    context = browser.new_context(
        viewport=SIZES[size], is_mobile=phone, has_touch=phone, device_scale_factor=1
    )
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda message: errors.append(f"console: {message.text}") if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    pages = {
        "home": "/",
        "book": "/book/",
        "tracking": f"/track/{token}/",
        "receipt": f"/track/{token}/receipt/",
    }
    for name, path in pages.items():
        answer = page.goto(f"{stack.url}{path}", wait_until="networkidle")
        assert answer is not None and answer.status == 200, f"{name}: {answer and answer.status}"
        consent = page.locator("#rt-consent")
        if consent.is_visible():  # a first visit: answer the privacy question as a visitor does
            choice = consent.locator('[data-consent="0"]')
            (choice.tap if phone else choice.click)(timeout=5000)
            consent.wait_for(state="hidden", timeout=5000)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} at {size} overflows sideways by {overflow}px"
        if name in ("home", "book"):
            selector = 'a[href="/book/"]' if name == "home" else "form button[type=submit]"
            button = page.locator(selector).first
            button.scroll_into_view_if_needed()
            box = button.bounding_box()
            assert box and box["width"] >= 24 and box["height"] >= 24, f"{name}: {box}"
            assert box["x"] >= 0 and box["x"] + box["width"] <= SIZES[size]["width"]
            # actionable: visible, enabled, stable and not covered by anything
            (button.tap if phone else button.click)(trial=True, timeout=5000)
    context.close()
    assert errors == [], errors
