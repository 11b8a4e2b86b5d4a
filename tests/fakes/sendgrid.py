"""A loopback fake of SendGrid's v3 Mail Send API (``POST /v3/mail/send``) answering the real
``sendgrid`` SDK: bearer-key auth, ``202 Accepted`` with an ``X-Message-Id`` header, and
SendGrid's JSON errors (``{"errors": [{"message", "field"}]}``; 429 with ``X-RateLimit-Reset``).

Modes: ``ok``, ``429``, ``500``, ``503``, ``400`` (invalid address), ``401`` (bad key).

:class:`EventSigner` plays SendGrid's Signed Event Webhook: an ECDSA P-256 key pair whose public
key is configured as ``SENDGRID_WEBHOOK_PUBLIC_KEY`` (base64 DER, as SendGrid shows it) and
signatures over ``timestamp + raw body`` exactly as the SDK's ``EventWebhook`` verifies them.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .loopback import LoopbackHTTPFake, Reply, Request

API_KEY = "SG.fake-revivatech.key"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


@dataclass
class Mail:
    message_id: str
    payload: dict[str, Any]
    received_at: float

    @property
    def token(self) -> str:
        return str(self.payload.get("custom_args", {}).get("outbox_token", ""))

    @property
    def to(self) -> str:
        return self.payload["personalizations"][0]["to"][0]["email"]

    def content(self, mime_type: str) -> str:
        return next((c["value"] for c in self.payload.get("content", []) if c["type"] == mime_type), "")


class FakeSendGrid(LoopbackHTTPFake):
    def __init__(self, *, delay: float = 0.0, api_key: str = API_KEY):
        super().__init__(delay=delay)
        self.api_key = api_key
        self.sent: list[Mail] = []

    def respond(self, request: Request) -> Reply:
        if request.method != "POST" or request.path.rstrip("/") != "/v3/mail/send":
            return _errors(404, "not found")
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _errors(401, "The provided authorization grant is invalid, expired, or revoked")
        mode = self.next_mode()
        if mode == "429":
            return _errors(429, "too many requests", **{"X-RateLimit-Reset": str(int(time.time()) + 1)})
        if mode in ("500", "503"):
            return _errors(int(mode), "Internal server error")
        if mode == "400":
            return _errors(400, "Does not contain a valid address.", field="personalizations.0.to.0.email")
        if mode == "401":
            return _errors(401, "The provided authorization grant is invalid, expired, or revoked")
        payload = request.json()
        mail = Mail(secrets.token_urlsafe(16), payload, time.time())
        with self.lock:
            self.sent.append(mail)
        return Reply(202, b"", {"X-Message-Id": mail.message_id})

    def receipts(self) -> Counter:
        with self.lock:
            return Counter(mail.token for mail in self.sent)


def _errors(status: int, message: str, field: str | None = None, **headers: str) -> Reply:
    return Reply.json(status, {"errors": [{"message": message, "field": field, "help": None}]}, **headers)


class EventSigner:
    """SendGrid's side of the Signed Event Webhook."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key = base64.b64encode(der).decode()

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Headers for posting ``body``: signature over ``timestamp + body``."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = self._key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {SIGNATURE_HEADER: base64.b64encode(signature).decode(), TIMESTAMP_HEADER: stamp}


def event(mail: Mail, name: str, **extra: Any) -> dict[str, Any]:
    """One event as SendGrid posts it (``sg_message_id`` is the X-Message-Id plus a filter suffix)."""
    return {
        "email": mail.to,
        "timestamp": int(time.time()),
        "event": name,
        "sg_event_id": secrets.token_urlsafe(16),
        "sg_message_id": f"{mail.message_id}.filterdrecv-5645d9c87f-abcde-1-64B3.0",
        "outbox_token": mail.token,
        "category": [],
        **extra,
    }


def body_of(events: list[dict[str, Any]]) -> bytes:
    return json.dumps(events).encode()
