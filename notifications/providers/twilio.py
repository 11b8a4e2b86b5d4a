"""SMS through Twilio with the official ``twilio`` SDK, and verification of Twilio's status
callbacks (``X-Twilio-Signature``: HMAC over the exact URL Twilio called plus the POST fields).

The SDK's HTTP client has no timeout by default: ``TwilioHttpClient`` gets
``NOTIFICATIONS_PROVIDER_TIMEOUT``. ``TWILIO_API_BASE_URL`` points the API domain elsewhere
(tests use a loopback fake speaking Twilio's wire format).
"""

from __future__ import annotations

import logging
from typing import ClassVar

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.rest import Client

from .base import (
    NotConfigured,
    Outgoing,
    ProviderUnavailable,
    RateLimited,
    RecipientRejected,
    SendResult,
    short,
)

#: Twilio error codes that mean this number will never get the message.
RECIPIENT_ERRORS = {
    21211,  # invalid "To" number
    21408,  # no permission to send to this region
    21610,  # the recipient replied STOP
    21612,  # the number cannot be reached from our sender
    21614,  # not a mobile number
    21617,  # body too long
}
RATE_LIMIT_CODES = {20429, 14107}

_http_logger = logging.getLogger(__name__ + ".http")
_http_logger.setLevel(logging.WARNING)  # the SDK logs every request and response at INFO


class TwilioSmsProvider:
    name: ClassVar[str] = "twilio"
    channel: ClassVar[str] = "sms"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        messaging_service_sid: str,
        base_url: str,
        timeout: float,
    ) -> None:
        http_client = TwilioHttpClient(timeout=timeout, logger=_http_logger)
        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.client.api.base_url = base_url.rstrip("/")
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid

    def send(self, message: Outgoing) -> SendResult:
        options: dict = {"to": message.recipient, "body": message.body_text}
        if self.messaging_service_sid:
            options["messaging_service_sid"] = self.messaging_service_sid
        else:
            options["from_"] = self.from_number
        if message.status_callback_url:
            options["status_callback"] = message.status_callback_url
        try:
            created = self.client.messages.create(**options)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _mapped(exc) from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"Twilio unreachable: {exc.__class__.__name__}: {short(exc)}") from exc
        except TwilioException as exc:
            raise ProviderUnavailable(f"Twilio error: {short(exc)}") from exc
        return SendResult(created.sid or "")

    def close(self) -> None:
        session = getattr(self.client.http_client, "session", None)
        if session is not None:
            session.close()


def _mapped(exc: TwilioRestException | TwilioServiceException) -> Exception:
    status = int(exc.status or 0)
    code = exc.code
    text = getattr(exc, "msg", None) or getattr(exc, "detail", None) or getattr(exc, "title", "")
    line = f"Twilio {status} (code {code}): {short(text)}"
    if status == 429 or code in RATE_LIMIT_CODES:
        return RateLimited(line, retry_after=1.0, status=status, code=code)
    if status >= 500 or status in (401, 403) or status == 0:
        return ProviderUnavailable(line, status=status, code=code)
    if code in RECIPIENT_ERRORS or 400 <= status < 500:
        return RecipientRejected(line, status=status, code=code)
    return ProviderUnavailable(line, status=status, code=code)


def build() -> TwilioSmsProvider:
    if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
        raise NotConfigured("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set")
    if not (settings.TWILIO_FROM_NUMBER or settings.TWILIO_MESSAGING_SERVICE_SID):
        raise NotConfigured("set TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
    return TwilioSmsProvider(
        account_sid=settings.TWILIO_ACCOUNT_SID,
        auth_token=settings.TWILIO_AUTH_TOKEN,
        from_number=settings.TWILIO_FROM_NUMBER,
        messaging_service_sid=settings.TWILIO_MESSAGING_SERVICE_SID,
        base_url=settings.TWILIO_API_BASE_URL,
        timeout=settings.NOTIFICATIONS_PROVIDER_TIMEOUT,
    )


# --- status callbacks -----------------------------------------------------------------------------


def verify_status_callback(url: str, params, signature: str, signature_settings: str = "") -> bool:
    """True when Twilio signed this exact public ``url`` and these POST fields with our token."""
    if not settings.TWILIO_AUTH_TOKEN or not signature:
        return False
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    return validator.validate(url, params, signature, get_signature_algorithm(signature_settings))
