"""Push through Firebase Cloud Messaging (HTTP v1) with the official ``firebase-admin`` SDK.

The App is built from a service-account JSON given by settings (the JSON itself or a path).
The SDK times out after ``httpTimeout`` (we pass ``NOTIFICATIONS_PROVIDER_TIMEOUT``; the SDK's
default is 120 s, and the OAuth token fetch uses the same timeout). Its own retries (up to four
on 500/503, with sleeps) are turned off: the outbox retries with backoff and failover instead of
blocking a worker. ``FCM_API_BASE_URL`` points the send endpoint elsewhere and the service
account's ``token_uri`` the OAuth endpoint (tests use a loopback fake for both).

Targets: a device registered with an FCM registration token is sent with ``Message.token``
(firebase-admin 7.7 marks it deprecated in favour of ``Message.fid``, but registration tokens
are what the Firebase JS SDK's ``getToken()`` returns); a Firebase installation ID goes in
``Message.fid``. Both reach FCM's ``messages:send`` as their own field.
"""

from __future__ import annotations

import contextlib
import json
import uuid
import warnings
from typing import ClassVar

import firebase_admin
import requests.adapters
from django.conf import settings
from firebase_admin import credentials, messaging
from firebase_admin import exceptions as fb_errors
from google.auth import exceptions as google_auth_errors

from .base import (
    NotConfigured,
    Outgoing,
    ProviderUnavailable,
    RateLimited,
    RecipientRejected,
    SendResult,
    short,
)

DEFAULT_BASE_URL = "https://fcm.googleapis.com"


class FcmPushProvider:
    name: ClassVar[str] = "fcm"
    channel: ClassVar[str] = "push"

    def __init__(self, *, service_account: dict, project_id: str, base_url: str, timeout: float) -> None:
        options = {"httpTimeout": timeout}
        if project_id:
            options["projectId"] = project_id
        self.app = firebase_admin.initialize_app(
            credentials.Certificate(service_account),
            options,
            name=f"revivatech-notifications-{uuid.uuid4().hex}",
        )
        # The SDK has no public switch for its endpoint or its retries; both live on the
        # messaging service of this App (firebase-admin is pinned, see requirements.txt).
        service = messaging._get_messaging_service(self.app)
        base_url = base_url.rstrip("/")
        if base_url != DEFAULT_BASE_URL:
            service._fcm_url = f"{base_url}/v1/projects/{service._project_id}/messages:send"
        service._client.session.mount(base_url, requests.adapters.HTTPAdapter(max_retries=0))

    def _message(self, message: Outgoing) -> messaging.Message:
        data = {key: str(value) for key, value in message.data.items()}
        if message.link:
            data.setdefault("link", message.link)
        webpush = None
        if message.link.startswith("https://"):  # FCM only opens HTTPS links
            webpush = messaging.WebpushConfig(fcm_options=messaging.WebpushFCMOptions(link=message.link))
        target = (
            {"fid": message.recipient}
            if message.push_token_kind == "installation_id"
            else {"token": message.recipient}
        )
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="Message.token is deprecated", category=DeprecationWarning
            )
            return messaging.Message(
                notification=messaging.Notification(title=message.subject, body=message.body_text),
                data=data,
                webpush=webpush,
                **target,
            )

    def send(self, message: Outgoing) -> SendResult:
        try:
            payload = self._message(message)
        except ValueError as exc:
            raise RecipientRejected(f"FCM refused the message: {short(exc)}") from exc
        try:
            name = messaging.send(payload, app=self.app)
        except (messaging.UnregisteredError, messaging.SenderIdMismatchError) as exc:
            raise RecipientRejected(
                f"FCM: {exc.__class__.__name__}: {short(exc)}", deactivate_device=True, code=exc.code
            ) from exc
        except fb_errors.ResourceExhaustedError as exc:
            raise RateLimited(
                f"FCM quota exceeded: {short(exc)}", retry_after=_retry_after(exc), status=429
            ) from exc
        except (fb_errors.InvalidArgumentError, fb_errors.FailedPreconditionError) as exc:
            raise RecipientRejected(f"FCM: {short(exc)}", code=exc.code) from exc
        except fb_errors.FirebaseError as exc:
            raise ProviderUnavailable(f"FCM {exc.code}: {short(exc)}", code=exc.code) from exc
        except (google_auth_errors.GoogleAuthError, requests.RequestException) as exc:
            raise ProviderUnavailable(f"FCM sign-in failed: {short(exc)}") from exc
        return SendResult(name)

    def close(self) -> None:
        with contextlib.suppress(ValueError):  # already deleted
            firebase_admin.delete_app(self.app)


def _retry_after(exc: fb_errors.FirebaseError) -> float:
    response = getattr(exc, "http_response", None)
    try:
        return float(response.headers.get("Retry-After")) if response is not None else 1.0
    except (TypeError, ValueError):
        return 1.0


def _service_account() -> dict:
    if settings.FCM_SERVICE_ACCOUNT_JSON.strip():
        try:
            return json.loads(settings.FCM_SERVICE_ACCOUNT_JSON)
        except ValueError as exc:
            raise NotConfigured(f"FCM_SERVICE_ACCOUNT_JSON is not valid JSON: {exc}") from exc
    if settings.FCM_SERVICE_ACCOUNT_FILE:
        try:
            with open(settings.FCM_SERVICE_ACCOUNT_FILE, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError) as exc:
            raise NotConfigured(f"cannot read FCM_SERVICE_ACCOUNT_FILE: {exc}") from exc
    raise NotConfigured("FCM_SERVICE_ACCOUNT_JSON or FCM_SERVICE_ACCOUNT_FILE is not set")


def build() -> FcmPushProvider:
    try:
        return FcmPushProvider(
            service_account=_service_account(),
            project_id=settings.FCM_PROJECT_ID,
            base_url=settings.FCM_API_BASE_URL,
            timeout=settings.NOTIFICATIONS_PROVIDER_TIMEOUT,
        )
    except ValueError as exc:
        raise NotConfigured(f"the FCM service account is not valid: {exc}") from exc
