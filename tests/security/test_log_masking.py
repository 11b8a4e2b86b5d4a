"""Personal data and secrets never reach log output: the stdlib filter on every handler and the
structlog processor mask emails, phones, tokens, card numbers, passwords and Authorization headers."""

from __future__ import annotations

import io
import logging

import pytest
from django.conf import settings

from revivatech.security.logging import PIIMaskingFilter, mask_pii_processor, mask_text

EMAIL = "ada.lovelace@example.com"
PHONE = "+44 7700 900123"
NATIONAL_PHONE = "07700 900456"
TRACKING_TOKEN = "Zq3xv9Yb2KpLmN8rTs4uWd1e"
API_TOKEN = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
CARD = "4242 4242 4242 4242"
SECRETS = (EMAIL, PHONE, NATIONAL_PHONE, TRACKING_TOKEN, API_TOKEN, CARD, "hunter2", "sk_test_51Habc")


def _captured(logger_name: str, emit) -> str:
    """What a handler configured like ours (with the filter) writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PIIMaskingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s %(customer)s"))
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_a_log_line_about_a_customer_is_masked():
    output = _captured(
        "repairs.test",
        lambda log: log.info(
            "booking by %s (%s, %s) GET /track/%s/?token=%s card %s password=hunter2 sk_test_51Habc",
            EMAIL,
            PHONE,
            NATIONAL_PHONE,
            TRACKING_TOKEN,
            TRACKING_TOKEN,
            CARD,
            extra={"customer": {"email": EMAIL, "phone": PHONE, "name": "Ada"}},
        ),
    )
    for secret in SECRETS:
        assert secret not in output, (secret, output)
    assert "a***@***" in output and "/track/***/" in output and "***4242" in output
    assert "booking by" in output  # the rest of the line is still there


def test_authorization_headers_and_tracebacks_are_masked():
    def emit(log):
        try:
            raise ValueError(f"bad request from {EMAIL}")
        except ValueError:
            log.exception(
                "failed with headers %s", {"Authorization": f"Token {API_TOKEN}"}, extra={"customer": ""}
            )
        log.warning("Authorization: Bearer %s", API_TOKEN, extra={"customer": ""})

    output = _captured("revivatech.test", emit)
    assert API_TOKEN not in output and EMAIL not in output
    assert "ValueError" in output  # the traceback is kept, masked


def test_the_structlog_processor_masks_fields_and_nested_values():
    event = {
        "event": f"quote sent to {EMAIL}",
        "phone": PHONE,
        "request": f"GET /track/{TRACKING_TOKEN}/pay/",
        "headers": {"authorization": f"Token {API_TOKEN}", "accept": "text/html"},
        "items": [f"card {CARD}", 42],
        "status": 200,
    }
    masked = mask_pii_processor(None, "info", event)
    flat = repr(masked)
    for secret in SECRETS:
        assert secret not in flat
    assert masked["status"] == 200 and masked["headers"]["accept"] == "text/html" and masked["items"][1] == 42


def test_plain_numbers_dates_and_references_are_left_alone():
    text = "ticket RT-2026-00012 took 1234 ms at 2026-11-27 12:00:01, id=12345678, t=1767225600000"
    assert mask_text(text) == text


def test_every_configured_handler_has_the_filter():
    handlers = settings.LOGGING["handlers"]
    assert handlers
    for name, handler in handlers.items():
        assert "pii_mask" in handler.get("filters", []), name
    assert settings.LOGGING["filters"]["pii_mask"]["()"] == "revivatech.security.logging.PIIMaskingFilter"


@pytest.mark.django_db
def test_a_real_request_log_line_is_masked(client, caplog, ticket):
    """Django's own request logging (a 404 under a tracking URL) goes through the root handlers."""
    root_handler_filters = [
        f for h in logging.getLogger().handlers for f in h.filters if isinstance(f, PIIMaskingFilter)
    ]
    assert root_handler_filters, "the root logger's handlers carry the masking filter"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    for masking in root_handler_filters[:1]:
        handler.addFilter(masking)
    logging.getLogger("django.request").addHandler(handler)
    try:
        client.get(f"/track/{ticket.tracking_token}/photos/999999/")
    finally:
        logging.getLogger("django.request").removeHandler(handler)
    output = stream.getvalue()
    assert "Not Found" in output and ticket.tracking_token not in output
