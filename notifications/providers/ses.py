"""Email through Amazon SES (v2 API) with django-anymail's backend on boto3, and SES delivery
notifications (SNS) through anymail's tracking webhook.

boto3 gets explicit connect/read timeouts (``NOTIFICATIONS_PROVIDER_TIMEOUT``) and one attempt
(boto's own retries would block a worker; the outbox retries with backoff and failover).
``AMAZON_SES_ENDPOINT_URL`` points it elsewhere (tests use a loopback fake of the SES v2 API).
The webhook accepts only posts carrying the basic-auth secret of the SNS subscription URL
(``AMAZON_SES_WEBHOOK_SECRET``): anything else is refused with 403.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from anymail.backends.amazon_ses import EmailBackend as AnymailSesBackend
from anymail.exceptions import (
    AnymailAPIError,
    AnymailConfigurationError,
    AnymailError,
    AnymailRecipientsRefused,
    AnymailWebhookValidationFailure,
)
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .base import (
    NotConfigured,
    Outgoing,
    ProviderUnavailable,
    RateLimited,
    RecipientRejected,
    SendResult,
    django_email,
    short,
)

THROTTLING_CODES = {"TooManyRequestsException", "Throttling", "ThrottlingException", "LimitExceededException"}
#: SES refusals about this one message or recipient (anything else means SES is unusable for now).
MESSAGE_REJECTED_CODES = {"MessageRejected", "BadRequestException", "InvalidParameterValue"}
TOKEN_METADATA = "outbox_token"


class SesEmailProvider:
    name: ClassVar[str] = "ses"
    channel: ClassVar[str] = "email"

    def __init__(
        self,
        *,
        region: str,
        endpoint_url: str,
        configuration_set: str,
        timeout: float,
        from_email: str,
        reply_to: str,
    ) -> None:
        client_params: dict[str, Any] = {
            "region_name": region,
            "config": {
                "connect_timeout": timeout,
                "read_timeout": timeout,
                "retries": {"total_max_attempts": 1, "mode": "standard"},
            },
        }
        if endpoint_url:
            client_params["endpoint_url"] = endpoint_url
        self.backend = AnymailSesBackend(
            client_params=client_params,
            configuration_set_name=configuration_set or None,
            fail_silently=False,
        )
        self.from_email = from_email
        self.reply_to = reply_to
        self._lock = threading.Lock()

    def send(self, message: Outgoing) -> SendResult:
        email = django_email(message, from_email=self.from_email, reply_to=self.reply_to)
        email.metadata = {TOKEN_METADATA: message.token}  # anymail: X-Metadata header, back in events
        try:
            with self._lock:
                self.backend.open()
                self.backend.send_messages([email])
        except AnymailRecipientsRefused as exc:
            raise RecipientRejected(f"SES refused the recipient: {short(exc)}") from exc
        except AnymailAPIError as exc:
            raise _mapped(exc) from exc
        except (AnymailError, BotoCoreError) as exc:
            raise ProviderUnavailable(f"SES unusable: {short(exc)}") from exc
        status = getattr(email, "anymail_status", None)
        return SendResult((status.message_id if status is not None else None) or message.token)

    def close(self) -> None:
        with self._lock:
            self.backend.close()


def _mapped(exc: AnymailAPIError) -> Exception:
    cause = exc.__cause__
    if isinstance(cause, ClientError):
        error = cause.response.get("Error", {})
        code = error.get("Code", "")
        status = int(cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        line = f"SES {status} {code}: {short(error.get('Message', ''))}"
        if code in THROTTLING_CODES or status == 429:
            return RateLimited(line, retry_after=1.0, status=status, code=code)
        if code in MESSAGE_REJECTED_CODES and status < 500:
            return RecipientRejected(line, status=status, code=code)
        return ProviderUnavailable(line, status=status, code=code)
    return ProviderUnavailable(f"SES unreachable: {short(exc)}")


def build() -> SesEmailProvider:
    if not settings.AMAZON_SES_REGION:
        raise NotConfigured("AMAZON_SES_REGION is not set")
    return SesEmailProvider(
        region=settings.AMAZON_SES_REGION,
        endpoint_url=settings.AMAZON_SES_ENDPOINT_URL,
        configuration_set=settings.AMAZON_SES_CONFIGURATION_SET,
        timeout=settings.NOTIFICATIONS_PROVIDER_TIMEOUT,
        from_email=settings.NOTIFICATIONS_FROM_EMAIL,
        reply_to=settings.NOTIFICATIONS_REPLY_TO,
    )


# --- delivery notifications (SNS → anymail tracking webhook) --------------------------------------


@dataclass(frozen=True)
class SesEvent:
    """One anymail tracking event, reduced to what the outbox needs."""

    event_id: str
    event_type: str
    message_id: str
    recipient: str
    timestamp: datetime | None
    description: str
    token: str


class _TrackingView(AmazonSESTrackingWebhookView):
    """anymail's SES view, answering 403 (not 400) to a wrong secret and handing the parsed events
    to our handler instead of a global signal."""

    handler: Callable[[list[SesEvent]], None] | None = None

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.META.get("HTTP_AUTHORIZATION"):
            # SNS only sends the credentials after a 401 challenge.
            response = HttpResponse("Credentials required.", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Basic realm="notifications"'
            return response
        try:
            self.run_validators(request)
            events = self.parse_events(request)
        except AnymailWebhookValidationFailure:
            return HttpResponse(
                "Forbidden: wrong webhook credentials.", status=403, content_type="text/plain"
            )
        except (AnymailAPIError, AnymailConfigurationError, KeyError, TypeError, ValueError) as exc:
            return HttpResponse(f"Bad notification: {short(exc, 120)}", status=400, content_type="text/plain")
        if self.handler is not None:
            self.handler([_reduced(event) for event in events])
        return HttpResponse("OK", content_type="text/plain")


def _reduced(event) -> SesEvent:
    return SesEvent(
        event_id=f"{event.event_id}:{event.recipient or ''}",
        event_type=str(event.event_type or ""),
        message_id=str(event.message_id or ""),
        recipient=str(event.recipient or ""),
        timestamp=event.timestamp,
        description=": ".join(str(part) for part in (event.description, event.mta_response) if part),
        token=str((event.metadata or {}).get(TOKEN_METADATA, "")),
    )


def tracking_webhook(request: HttpRequest, handler: Callable[[list[SesEvent]], None]) -> HttpResponse:
    """Answer one SNS post to the SES tracking webhook."""
    secret = settings.AMAZON_SES_WEBHOOK_SECRET
    if not secret:
        return HttpResponse(
            "Forbidden: the SES webhook has no secret configured (AMAZON_SES_WEBHOOK_SECRET).",
            status=403,
            content_type="text/plain",
        )
    client_params = {"region_name": settings.AMAZON_SES_REGION} if settings.AMAZON_SES_REGION else {}
    view = _TrackingView(webhook_secret=[secret], client_params=client_params, handler=handler)
    view.setup(request)
    return view.dispatch(request)
