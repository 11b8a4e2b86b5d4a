"""Structured JSON logs: one line per request with its id, status and duration; the request id
accepted from X-Request-ID when well-formed; stdlib loggers in the same format; PII masked."""

from __future__ import annotations

import logging
import re

import pytest
import structlog

from revivatech.observability.context import REQUEST_ID_HEADER
from revivatech.observability.logging import build_logging, formatter_processors, shared_processors

pytestmark = pytest.mark.django_db

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def finished(json_logs, **fields) -> list[dict]:
    return json_logs.where(event="request_finished", **fields)


def test_a_request_logs_one_json_line_with_id_status_route_and_duration(client, customer, json_logs):
    client.force_login(customer.user)
    response = client.get("/healthz")

    assert response.status_code == 200
    request_id = response[REQUEST_ID_HEADER]
    assert HEX_ID.match(request_id)
    lines = finished(json_logs, request_id=request_id)
    assert len(lines) == 1  # request_started is DEBUG: one INFO line per request
    line = lines[0]
    assert line["level"] == "info"
    assert line["logger"] == "django_structlog.middlewares.request"
    assert (line["method"], line["path"], line["route"], line["status"]) == (
        "GET",
        "/healthz",
        "healthz",
        200,
    )
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$", line["timestamp"])  # ISO, UTC
    assert line["user_id"] == customer.user.pk
    assert re.match(r"^[0-9a-f]{16}$", line["ip_hash"])  # a keyed hash, never the address
    assert "127.0.0.1" not in json_logs.stream.getvalue()
    assert customer.user.email not in json_logs.stream.getvalue()
    assert "code" not in line  # one name for the status


def test_every_line_of_the_request_is_json_and_carries_its_id(client, staff_user, ticket, json_logs):
    client.force_login(staff_user)
    response = client.post(
        f"/api/v1/repairs/{ticket.reference}/transition/",
        {"status": "received"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    request_id = response[REQUEST_ID_HEADER]
    lines = json_logs.all()  # raises if any line is not JSON
    assert lines
    ours = [line for line in lines if line.get("request_id") == request_id]
    assert {line["event"] for line in ours} >= {"request_finished"}
    assert finished(json_logs, request_id=request_id)[0]["route"] == "api-repair-transition"


def test_a_well_formed_incoming_request_id_is_kept_and_echoed(client, json_logs):
    incoming = "edge-7f3a9c1e-42b0-4a8e-9d7c-0c4e5a6b7c8d"
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)

    assert response[REQUEST_ID_HEADER] == incoming
    assert len(finished(json_logs, request_id=incoming)) == 1


@pytest.mark.parametrize(
    "bad",
    [
        "short",  # under 8 characters
        "x" * 129,  # over 128
        "has space in it",
        'quote"injection-12345',
        "line\nbreak-123456",
        "<script>alert(1)</script>",
    ],
)
def test_a_malformed_incoming_request_id_is_replaced(client, json_logs, bad):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=bad)

    replacement = response[REQUEST_ID_HEADER]
    assert replacement != bad and HEX_ID.match(replacement)
    assert len(finished(json_logs, request_id=replacement)) == 1
    assert bad not in json_logs.stream.getvalue()


def test_errors_and_redirects_carry_the_header_too(client, json_logs):
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    line = finished(json_logs, request_id=missing[REQUEST_ID_HEADER])[0]
    assert (line["status"], line["route"], line["level"]) == (404, "<unmatched>", "warning")
    # Django's own "Not Found" line, written after the request's context is cleared, has the id too.
    django_line = json_logs.where(logger="django.request")[0]
    assert django_line["request_id"] == missing[REQUEST_ID_HEADER] and django_line["status_code"] == 404

    redirect = client.get("/offline")  # APPEND_SLASH redirect, answered by CommonMiddleware
    assert redirect.status_code == 301
    assert REQUEST_ID_HEADER in redirect


def test_third_party_stdlib_logs_are_json_with_the_request_context(json_logs):
    with structlog.contextvars.bound_contextvars(request_id="abc123def456"):
        logging.getLogger("django.request").warning("Something %s happened", "odd")
        logging.getLogger("celery.worker").info("worker line")

    django_line = json_logs.where(logger="django.request")[0]
    assert django_line["event"] == "Something odd happened"
    assert django_line["level"] == "warning"
    assert django_line["request_id"] == "abc123def456"
    assert json_logs.where(logger="celery.worker")[0]["request_id"] == "abc123def456"


def test_tracking_tokens_in_paths_and_query_strings_are_not_logged(client, ticket, json_logs):
    response = client.get(f"/track/{ticket.tracking_token}/?token={ticket.tracking_token}&x=1")

    line = finished(json_logs, request_id=response[REQUEST_ID_HEADER])[0]
    assert ticket.tracking_token not in json_logs.stream.getvalue()
    assert "?" not in line["path"]


def test_personal_data_is_masked_in_json_lines(json_logs):
    pytest.importorskip("revivatech.security.logging")
    log = structlog.get_logger("repairs.services")
    log.info("customer_contacted", email="jane.doe@example.com", phone="+44 7700 900123", user_id=7)
    logging.getLogger("notifications").warning("could not mail jane.doe@example.com at +447700900123")
    try:
        raise ValueError("bad address jane.doe@example.com")
    except ValueError:
        log.exception("send_failed")

    text = json_logs.stream.getvalue()
    assert "jane.doe@example.com" not in text
    assert "7700 900123" not in text and "447700900123" not in text
    structured = json_logs.where(event="customer_contacted")[0]
    assert structured["email"] == "***" and structured["user_id"] == 7
    failure = json_logs.where(event="send_failed")[0]
    assert failure["exception"][0]["exc_type"] == "ValueError"


def test_console_format_is_selectable():
    config = build_logging(log_format="console", level="INFO")
    formatter = structlog.stdlib.ProcessorFormatter(
        processors=config["formatters"]["structlog"]["processors"], foreign_pre_chain=shared_processors()
    )
    record = logging.LogRecord("django", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    rendered = formatter.format(record)
    assert "hello world" in rendered and not rendered.lstrip().startswith("{")

    json_formatter = structlog.stdlib.ProcessorFormatter(
        processors=formatter_processors("json"), foreign_pre_chain=shared_processors()
    )
    assert json_formatter.format(record).startswith("{")
