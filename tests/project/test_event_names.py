"""Domain event names come from one enum, ``revivatech.events.EventKind``: every name that is
subscribed to, worded, stored or chosen in a rule is a member, and no Python source outside the
enum types a ``"ticket.…"`` event name by hand (a typo there would silently never fire)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from revivatech import events
from revivatech.events import EventKind

ROOT = Path(__file__).resolve().parents[2]
APP_DIRS = ("analytics", "notifications", "payments", "repairs", "revivatech")
KINDS = set(EventKind.values)

#: ``"ticket.…"`` strings that are not event names.
NOT_EVENT_NAMES = {
    "ticket.event",  # the Channels group message type that carries an event to the sockets
    "ticket.reference",  # a DRF serializer field's source attribute path
}


def _source_files():
    for app in APP_DIRS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # migrations are frozen history and must not import app code
            yield path


def test_no_python_source_types_an_event_name_outside_the_enum():
    enum_file = ROOT / "revivatech" / "events.py"
    typed = []
    for path in _source_files():
        if path == enum_file:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.fullmatch(r"ticket\.[a-z_]+", node.value)
                and node.value not in NOT_EVENT_NAMES
            ):
                typed.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert typed == [], "use revivatech.events.EventKind instead of typing the name"


def test_repairs_reexports_the_same_enum():
    from repairs.models import EventKind as RepairsEventKind
    from repairs.models import TicketEvent

    assert RepairsEventKind is EventKind
    assert TicketEvent._meta.get_field("kind").choices == EventKind.choices


def test_every_subscribed_name_is_an_event_kind():
    # The apps subscribed in ready(); "*" (every event) is the only other name allowed.
    subscribed = {name for name, handlers in events._subscribers.items() if handlers}
    assert subscribed, "no subscriptions found: the apps' ready() did not run?"
    assert subscribed - {events.ALL_EVENTS} <= KINDS


def test_every_name_in_rules_wording_and_analytics_is_an_event_kind():
    from analytics.services.subscribers import RECORDED
    from notifications.models import EVENT_CHOICES, AutomationRule
    from notifications.services.automation import AUTOMATED_EVENTS
    from repairs.presenters import CUSTOMER_PAYLOAD_KEYS, EVENT_TEXT, EVENT_VARIANT_FIELDS

    assert {name for name, _label in EVENT_CHOICES} <= KINDS
    assert {name for name, _label in AutomationRule._meta.get_field("event").choices} <= KINDS
    assert set(AUTOMATED_EVENTS) <= KINDS
    assert set(RECORDED) <= KINDS
    assert set(EVENT_TEXT) <= KINDS
    assert set(EVENT_VARIANT_FIELDS) <= KINDS
    assert set(CUSTOMER_PAYLOAD_KEYS) <= KINDS


@pytest.mark.django_db
def test_the_default_automation_rules_name_event_kinds():
    from notifications.models import AutomationRule

    stored = set(AutomationRule.objects.values_list("event", flat=True))
    assert stored, "the default rules (notifications migration 0002) are missing"
    assert stored <= KINDS


def test_the_live_tracking_script_handles_only_event_kinds():
    # The browser cannot import the enum: its handler names are checked against it instead.
    script = (ROOT / "static" / "js" / "live-tracking.js").read_text()
    handled = set(re.findall(r'"(ticket\.[a-z_]+)"\s*\(', script))
    assert handled, "the live-tracking handlers were not found"
    assert handled <= KINDS
