"""Pages in real Chromium at phone (390x844) and desktop sizes: no horizontal overflow, table headers
on one line, a keyboard-scrollable activity feed, chart legends without placeholders, and no
serious or critical axe-core violation on the customer pages (home, book, tracking, receipt), the
dashboard, customers at risk and the technician's ticket page in the admin.

axe-core is vendored (tests/browser/vendor/axe-core, MPL-2.0) so this runs offline; it is evaluated
through the DevTools protocol, which the site's strict CSP does not govern (a script tag would be
refused), and the pages keep their CSP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analytics.scoring.models import CustomerScore
from tests.analytics.factories import Visitor, store
from tests.factories import DEFAULT_PASSWORD, CustomerFactory, StaffFactory, TechnicianFactory, make_ticket

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
SERIOUS = {"serious", "critical"}

LAYOUT_JS = """() => {
  const overflow = document.documentElement.scrollWidth - window.innerWidth;
  // A header wraps when its text lies on more than one line (tops more than 2 px apart); headers
  // hidden visually (a phone's card layout keeps them for screen readers) are not drawn.
  const lineCount = (th) => {
    const tops = [];
    const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const rect of range.getClientRects()) {
        if (!tops.some((top) => Math.abs(top - rect.top) <= 2)) tops.push(rect.top);
      }
    }
    return tops.length;
  };
  const drawn = [...document.querySelectorAll('th')].filter((th) => th.getBoundingClientRect().width > 1);
  const wrapped = drawn.filter((th) => lineCount(th) > 1).map((th) => th.textContent.trim());
  return {overflow, wrapped};
}"""


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations of the page as it is now."""
    page.evaluate(AXE.read_text())
    results = page.evaluate("async () => JSON.stringify(await axe.run(document))")
    violations = json.loads(results)["violations"]
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in violations
        if v["impact"] in SERIOUS
    ]


def assert_fits(page) -> None:
    layout = page.evaluate(LAYOUT_JS)
    assert layout["overflow"] <= 0, f"{page.url} is {layout['overflow']} px wider than the window"
    assert layout["wrapped"] == [], f"table headers on more than one line: {layout['wrapped']}"


def sign_in(page, base: str, user, next_path: str) -> None:
    page.goto(f"{base}/admin/login/?next={next_path}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}{next_path}")


@pytest.fixture
def people(live_asgi_url):
    """Made before the browser starts: staff, a technician with an assigned ticket, a visit of
    today for the dashboard, and a customer score for the at-risk page."""
    from django.utils import timezone

    from analytics.services import buffer

    staff = StaffFactory()
    technician = TechnicianFactory()
    ticket = make_ticket(customer=CustomerFactory(name="Ada Lovelace"), technician=technician)
    now = timezone.now()
    store(Visitor(device_type="mobile"), ("pageview", now, "/"), ("pageview", now, "/book/"))
    buffer.flush_events()
    CustomerScore.objects.create(
        customer=ticket.customer,
        scored_at=now,
        engagement=12,
        conversion=40,
        loyalty=35,
        value=60,
        explanations={},
        segment="at_risk",
        segment_reason="churn risk 80% (≥ 60%)",
        churn_probability=0.8,
        clv_12m=11_900,
        currency="GBP",
        next_repair_probability=0.1,
        expected_days_to_next_repair=200,
        value_at_risk=9_520,
        actions=[
            {"code": "win_back", "text": "Win-back discount: churn risk 80%, last repair 14 months ago"}
        ],
        features={},
        model_versions={"churn": 1},
    )
    return {"staff": staff, "technician": technician, "ticket": ticket}


@pytest.mark.parametrize("size", sorted(SIZES))
def test_the_dashboard_fits_the_screen_and_reads_well(live_asgi_url, people, browser, size):
    page = browser.new_context(viewport=SIZES[size]).new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    sign_in(page, live_asgi_url, people["staff"], "/dashboard/")
    page.goto(f"{live_asgi_url}/dashboard/?range=today")
    page.wait_for_selector("#dash-live[data-state=live]", timeout=10000)
    page.wait_for_selector("#chart-funnel .uplot canvas", timeout=5000)
    page.wait_for_function("() => Number(document.body.dataset.dashboardRendered) > 0")
    assert_fits(page)
    # The traffic chart's legend names the series, without "--" placeholders for values.
    legend = page.text_content("#chart-traffic .u-legend")
    assert "Sessions" in legend and "--" not in legend
    # The funnel's axis numbers its bars; the table names them (words overlapped on a phone).
    axis = page.eval_on_selector_all("#chart-funnel .u-axis .u-value", "els => els.map((e) => e.textContent)")
    assert axis[:6] == ["1", "2", "3", "4", "5", "6"] or axis == []
    assert page.text_content("#t-funnel tbody tr:first-child td").startswith("1. ")
    # The activity feed and the alerts can be reached and scrolled with the keyboard.
    for feed in ("#activity-feed", "#alerts"):
        assert page.get_attribute(feed, "tabindex") == "0"
        page.focus(feed)
        assert page.evaluate("(id) => document.activeElement === document.querySelector(id)", feed)
    assert axe_violations(page) == []
    assert errors == []


@pytest.mark.parametrize("size", sorted(SIZES))
def test_customers_at_risk_fits_a_phone(live_asgi_url, people, browser, size):
    page = browser.new_context(viewport=SIZES[size]).new_page()
    sign_in(page, live_asgi_url, people["staff"], "/dashboard/customers/at-risk/")
    assert "Ada Lovelace" in page.text_content("#scores")
    assert "£119.00" in page.text_content("#scores") and "£95.20" in page.text_content("#scores")
    assert_fits(page)
    assert axe_violations(page) == []


@pytest.mark.parametrize("size", sorted(SIZES))
def test_customer_pages_have_no_serious_accessibility_violation(live_asgi_url, people, browser, size):
    token = people["ticket"].tracking_token
    page = browser.new_context(viewport=SIZES[size]).new_page()
    for path in ("/", "/book/", f"/track/{token}/", f"/track/{token}/receipt/"):
        page.goto(live_asgi_url + path)
        page.wait_for_load_state("load")
        assert axe_violations(page) == [], path
        assert page.evaluate(LAYOUT_JS)["overflow"] <= 0, path


def test_the_technicians_ticket_page_in_the_admin_has_no_serious_violation(live_asgi_url, people, browser):
    ticket = people["ticket"]
    page = browser.new_context(viewport=SIZES["desktop"]).new_page()
    path = f"/admin/repairs/repairticket/{ticket.pk}/change/"
    sign_in(page, live_asgi_url, people["technician"], path)
    assert axe_violations(page) == []
