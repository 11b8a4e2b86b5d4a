"""A loopback fake of Firebase Cloud Messaging (HTTP v1) and of Google's OAuth token endpoint,
answering the real ``firebase-admin`` SDK.

* ``POST /token``: the SDK signs a JWT with the service account's private key (RS256) and trades
  it for an access token; the fake checks the signature with the public key and the audience.
* ``POST /v1/projects/{project}/messages:send``: needs ``Authorization: Bearer <that token>`` and
  a message with exactly one of ``token`` / ``fid``; answers ``{"name": "projects/…/messages/…"}``
  or FCM's errors with their ``FcmError`` details (``UNREGISTERED``, ``QUOTA_EXCEEDED``…).

Modes: ``ok``, ``unregistered`` (404), ``429`` (QUOTA_EXCEEDED with Retry-After), ``503``
(UNAVAILABLE), ``500`` (INTERNAL), ``400`` (INVALID_ARGUMENT). ``unregister(token)`` makes one
token answer UNREGISTERED for good, as FCM does for an uninstalled app.

:meth:`FakeFCM.service_account` makes a throwaway service account (fresh RSA key) whose
``token_uri`` points at this fake.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .loopback import LoopbackHTTPFake, Reply, Request

PROJECT_ID = "revivatech-fake"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
ERRORS = {
    "unregistered": (404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."),
    "429": (429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded for sending messages."),
    "503": (503, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."),
    "500": (500, "INTERNAL", "INTERNAL", "Internal error encountered."),
    "400": (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid value at 'message.data'."),
}


@dataclass
class Push:
    name: str
    target_field: str
    target: str
    message: dict[str, Any]
    received_at: float

    @property
    def token(self) -> str:
        return str(self.message.get("data", {}).get("message_token", ""))


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class FakeFCM(LoopbackHTTPFake):
    def __init__(self, *, delay: float = 0.0, project_id: str = PROJECT_ID):
        super().__init__(delay=delay)
        self.project_id = project_id
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._access_tokens: set[str] = set()
        self.unregistered: set[str] = set()
        self.sent: list[Push] = []
        self.token_requests = 0

    def service_account(self) -> dict[str, str]:
        pem = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": secrets.token_hex(20),
            "private_key": pem,
            "client_email": f"firebase-adminsdk@{self.project_id}.iam.gserviceaccount.com",
            "client_id": "1234567890",
            "auth_uri": f"{self.url}/auth",
            "token_uri": f"{self.url}/token",
            "auth_provider_x509_cert_url": f"{self.url}/certs",
            "client_x509_cert_url": f"{self.url}/certs/client",
        }

    def unregister(self, token: str) -> None:
        with self.lock:
            self.unregistered.add(token)

    # --- endpoints ---

    def respond(self, request: Request) -> Reply:
        if request.method == "POST" and request.path == "/token":
            return self._token(request)
        if request.method == "POST" and request.path == f"/v1/projects/{self.project_id}/messages:send":
            return self._send(request)
        return _error(404, "NOT_FOUND", None, f"No endpoint {request.path}")

    def _token(self, request: Request) -> Reply:
        form = dict(parse_qsl(request.body.decode()))
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return Reply.json(400, {"error": "unsupported_grant_type"})
        try:
            header, payload, signature = form["assertion"].split(".")
            self._key.public_key().verify(
                _b64url_decode(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            claims = json.loads(_b64url_decode(payload))
        except (KeyError, ValueError, InvalidSignature):
            return Reply.json(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        # google-auth signs for Google's token endpoint whatever token_uri says
        if claims.get("aud") not in (f"{self.url}/token", GOOGLE_TOKEN_AUDIENCE):
            return Reply.json(400, {"error": "invalid_grant", "error_description": "Invalid JWT audience."})
        access_token = "ya29.fake-" + secrets.token_urlsafe(24)
        with self.lock:
            self._access_tokens.add(access_token)
            self.token_requests += 1
        return Reply.json(200, {"access_token": access_token, "expires_in": 3599, "token_type": "Bearer"})

    def _send(self, request: Request) -> Reply:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        with self.lock:
            known = bearer in self._access_tokens
        if not known:
            return _error(401, "UNAUTHENTICATED", None, "Request had invalid authentication credentials.")
        body = request.json()
        message = body.get("message", {}) if isinstance(body, dict) else {}
        targets = [field for field in ("token", "fid", "topic", "condition") if field in message]
        if len(targets) != 1:
            return _error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Exactly one target is required.")
        target = str(message[targets[0]])
        with self.lock:
            gone = target in self.unregistered
        mode = "unregistered" if gone else self.next_mode()
        if mode in ERRORS:
            status, grpc, fcm, text = ERRORS[mode]
            extra = {"Retry-After": "1"} if mode == "429" else {}
            return _error(status, grpc, fcm, text, **extra)
        push = Push(
            name=f"projects/{self.project_id}/messages/{secrets.randbelow(10**18)}",
            target_field=targets[0],
            target=target,
            message=message,
            received_at=time.time(),
        )
        with self.lock:
            self.sent.append(push)
        return Reply.json(200, {"name": push.name})

    def receipts(self) -> Counter:
        with self.lock:
            return Counter(push.token for push in self.sent)


def _error(status: int, grpc_status: str, fcm_code: str | None, message: str, **headers: str) -> Reply:
    error: dict[str, Any] = {"code": status, "message": message, "status": grpc_status}
    if fcm_code:
        error["details"] = [{"@type": FCM_ERROR, "errorCode": fcm_code}]
    return Reply.json(status, {"error": error}, **headers)
