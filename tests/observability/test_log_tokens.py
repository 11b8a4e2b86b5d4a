"""Tracking tokens never reach the logs, including through the ``request`` object Django attaches
to its own ``django.request`` and CSRF-failure records (issue #15, item 5)."""

from __future__ import annotations

import pytest
from django.test import Client

from revivatech.security.logging import MASK, mask_value

pytestmark = pytest.mark.django_db


def test_a_404_under_a_tracking_url_logs_no_token(client, ticket, json_logs):
    response = client.get(f"/track/{ticket.tracking_token}/photos/999999/")
    assert response.status_code == 404
    output = json_logs.stream.getvalue()
    assert "Not Found" in output
    assert ticket.tracking_token not in output


def test_a_csrf_failure_under_a_tracking_url_logs_no_token(ticket, json_logs):
    response = Client(enforce_csrf_checks=True).post(
        f"/track/{ticket.tracking_token}/quote/", {"decision": "approve"}
    )
    assert response.status_code == 403
    output = json_logs.stream.getvalue()
    assert "CSRF" in output  # the failure is logged …
    assert ticket.tracking_token not in output  # … without the token


def test_any_objects_text_is_masked_when_it_holds_a_token():
    class Holder:
        def __repr__(self) -> str:
            return "<Holder GET '/track/Zq3xv9Yb2KpLmN8rTs4uWd1e/'>"

    masked = mask_value({"request": Holder(), "count": 3, "when": None})
    assert masked["request"] == f"<Holder GET '/track/{MASK}/'>"
    assert masked["count"] == 3 and masked["when"] is None


def test_a_masked_request_line_keeps_its_request_id(client, ticket, json_logs):
    response = client.get(f"/track/{ticket.tracking_token}/photos/999999/")
    line = json_logs.where(logger="django.request")[0]
    assert line["request_id"] == response["X-Request-ID"]
    assert "/track/***/" in line["request"]
