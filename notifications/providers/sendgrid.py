"""Email through SendGrid's v3 API with the official ``sendgrid`` SDK, and verification of its
signed event webhook (ECDSA P-256 over timestamp + raw body, the SDK's ``EventWebhook``).

The SDK's HTTP client (python_http_client, urllib) has no timeout by default: it gets
``NOTIFICATIONS_PROVIDER_TIMEOUT``. ``SENDGRID_API_BASE_URL`` points it elsewhere (tests use a
loopback fake). SendGrid's own open/click tracking is turned off: we track with signed links.
"""

from __future__ import annotations

import binascii
import time
import urllib.error
from functools import lru_cache
from typing import ClassVar

from django.conf import settings
from python_http_client import exceptions as http_errors
from sendgrid import SendGridAPIClient
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.mail import (
    Category,
    ClickTracking,
    CustomArg,
    Header,
    Mail,
    OpenTracking,
    ReplyTo,
    TrackingSettings,
)

from .base import (
    NotConfigured,
    Outgoing,
    ProviderUnavailable,
    RateLimited,
    RecipientRejected,
    SendResult,
    short,
)

#: Headers SendGrid sets itself and refuses in the request.
RESERVED_HEADERS = {"message-id", "to", "from", "subject", "reply-to", "cc", "bcc", "content-type"}
#: Our message token travels as a custom argument and comes back in every webhook event.
TOKEN_ARG = "outbox_token"


class SendGridEmailProvider:
    name: ClassVar[str] = "sendgrid"
    channel: ClassVar[str] = "email"

    def __init__(
        self, *, api_key: str, base_url: str, timeout: float, from_email: str, reply_to: str
    ) -> None:
        self.client = SendGridAPIClient(api_key=api_key, host=base_url.rstrip("/"))
        self.client.client.timeout = timeout  # python_http_client has none by default
        self.from_email = from_email
        self.reply_to = reply_to

    def _mail(self, message: Outgoing) -> Mail:
        mail = Mail(
            from_email=self.from_email,
            to_emails=message.recipient,
            subject=message.subject,
            plain_text_content=message.body_text,
            html_content=message.body_html or None,
        )
        if self.reply_to:
            mail.reply_to = ReplyTo(self.reply_to)
        mail.custom_arg = CustomArg(TOKEN_ARG, message.token)
        mail.category = Category(message.kind)
        for name, value in message.headers.items():
            if name.lower() not in RESERVED_HEADERS:
                mail.header = Header(name, value)
        mail.tracking_settings = TrackingSettings(
            click_tracking=ClickTracking(False, False), open_tracking=OpenTracking(False)
        )
        return mail

    def send(self, message: Outgoing) -> SendResult:
        try:
            response = self.client.send(self._mail(message))
        except http_errors.TooManyRequestsError as exc:
            raise RateLimited(
                f"SendGrid 429: {short(exc.body)}", retry_after=_retry_after(exc.headers), status=429
            ) from exc
        except (http_errors.UnauthorizedError, http_errors.ForbiddenError) as exc:
            raise ProviderUnavailable(
                f"SendGrid refused our key ({exc.status_code})", status=exc.status_code
            ) from exc
        except http_errors.HTTPError as exc:
            status = int(exc.status_code)
            text = f"SendGrid {status}: {short(_body(exc))}"
            if status >= 500:
                raise ProviderUnavailable(text, status=status) from exc
            raise RecipientRejected(text, status=status) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise ProviderUnavailable(f"SendGrid unreachable: {short(exc)}") from exc
        message_id = response.headers.get("X-Message-Id", "") if response.headers else ""
        return SendResult(message_id or message.token)

    def close(self) -> None:
        return None


def _body(exc: http_errors.HTTPError) -> str:
    body = exc.body
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)


def _retry_after(headers) -> float:
    """Seconds to wait: SendGrid sends the reset time as a Unix timestamp."""
    try:
        reset = float(headers.get("X-RateLimit-Reset"))
    except (TypeError, ValueError, AttributeError):
        return 1.0
    return min(max(reset - time.time(), 1.0), 3600.0)


def build() -> SendGridEmailProvider:
    if not settings.SENDGRID_API_KEY:
        raise NotConfigured("SENDGRID_API_KEY is not set")
    return SendGridEmailProvider(
        api_key=settings.SENDGRID_API_KEY,
        base_url=settings.SENDGRID_API_BASE_URL,
        timeout=settings.NOTIFICATIONS_PROVIDER_TIMEOUT,
        from_email=settings.NOTIFICATIONS_FROM_EMAIL,
        reply_to=settings.NOTIFICATIONS_REPLY_TO,
    )


# --- signed event webhook -------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _public_key(public_key: str):
    return EventWebhook().convert_public_key_to_ecdsa(public_key.strip())


def verify_event_webhook(raw_body: bytes, signature: str, timestamp: str) -> bool:
    """True when SendGrid signed ``timestamp + raw_body`` with the configured key."""
    public_key = settings.SENDGRID_WEBHOOK_PUBLIC_KEY
    if not public_key or not signature or not timestamp:
        return False
    try:
        payload = raw_body.decode("utf-8")
        return EventWebhook().verify_signature(payload, signature, timestamp, _public_key(public_key))
    except (UnicodeDecodeError, binascii.Error, ValueError, TypeError):
        return False


def event_token(event: dict) -> str:
    """Our outbox token carried back in an event's custom arguments."""
    return str(event.get(TOKEN_ARG) or "")


def event_message_id(event: dict) -> str:
    """The X-Message-Id we stored: ``sg_message_id`` is it plus ``.filter…``."""
    return str(event.get("sg_message_id") or "").split(".", 1)[0]
