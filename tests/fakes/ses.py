"""A loopback fake of Amazon SES v2 (``POST /v2/email/outbound-emails``, REST-JSON) answering boto3
through django-anymail's SES backend, and builders for the SNS notifications SES publishes
(what anymail's tracking webhook receives).

Modes: ``ok``, ``throttle`` (429 TooManyRequestsException), ``500`` (InternalFailure),
``rejected`` (400 MessageRejected).
"""

from __future__ import annotations

import base64
import email
import json
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from email.message import Message as MimeMessage
from typing import Any

from .loopback import LoopbackHTTPFake, Reply, Request

REGION = "eu-west-1"
WEBHOOK_SECRET = "sns-user:sns-password-for-tests"
ERRORS = {
    "throttle": (429, "TooManyRequestsException", "Maximum sending rate exceeded."),
    "500": (500, "InternalFailure", "An internal failure occurred."),
    "rejected": (400, "MessageRejected", "Email address is not verified."),
}


@dataclass
class RawEmail:
    message_id: str
    mime: MimeMessage
    received_at: float

    @property
    def token(self) -> str:
        return str(self.mime.get("X-RevivaTech-Message", ""))

    @property
    def to(self) -> str:
        return str(self.mime.get("To", ""))


class FakeSES(LoopbackHTTPFake):
    def __init__(self, *, delay: float = 0.0):
        super().__init__(delay=delay)
        self.sent: list[RawEmail] = []

    def respond(self, request: Request) -> Reply:
        if request.method != "POST" or request.path != "/v2/email/outbound-emails":
            return _error(404, "NotFoundException", f"No endpoint {request.path}")
        if not request.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256"):
            return _error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        mode = self.next_mode()
        if mode in ERRORS:
            return _error(*ERRORS[mode])
        body = request.json()
        raw = base64.b64decode(body["Content"]["Raw"]["Data"])
        mime = email.message_from_bytes(raw)
        sent = RawEmail("0102" + secrets.token_hex(28) + "-000000", mime, time.time())
        with self.lock:
            self.sent.append(sent)
        return Reply.json(200, {"MessageId": sent.message_id})

    def receipts(self) -> Counter:
        with self.lock:
            return Counter(mail.token for mail in self.sent)


def _error(status: int, code: str, message: str) -> Reply:
    return Reply.json(status, {"__type": code, "message": message}, **{"x-amzn-ErrorType": f"{code}:"})


# --- SNS notifications of SES events ------------------------------------------------------------


def ses_event(event_type: str, message_id: str, recipient: str) -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    mail = {
        "timestamp": now,
        "messageId": message_id,
        "source": "shop@example.com",
        "destination": [recipient],
        "headers": [],
    }
    event: dict[str, Any] = {"eventType": event_type, "mail": mail}
    if event_type == "Delivery":
        event["delivery"] = {"timestamp": now, "recipients": [recipient], "smtpResponse": "250 2.0.0 OK"}
    elif event_type == "Bounce":
        event["bounce"] = {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {"emailAddress": recipient, "diagnosticCode": "smtp; 550 5.1.1 user unknown"}
            ],
            "timestamp": now,
        }
    elif event_type == "Open":
        event["open"] = {"timestamp": now, "userAgent": "Mozilla/5.0", "ipAddress": "192.0.2.1"}
    elif event_type == "Send":
        event["send"] = {}
    return event


def sns_post(event: dict[str, Any], *, secret: str = WEBHOOK_SECRET, sns_message_id: str | None = None):
    """(body, headers) of the SNS HTTP POST carrying one SES event, with basic auth."""
    sns_id = sns_message_id or str(uuid.uuid4())
    body = json.dumps(
        {
            "Type": "Notification",
            "MessageId": sns_id,
            "TopicArn": f"arn:aws:sns:{REGION}:123456789012:ses-events",
            "Message": json.dumps(event),
            "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "SignatureVersion": "1",
            "Signature": "not-checked-by-anymail",
            "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-fake.pem",
            "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
        }
    ).encode()
    headers = {
        "HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification",
        "HTTP_X_AMZ_SNS_MESSAGE_ID": sns_id,
    }
    if secret:
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(secret.encode()).decode()
    return body, headers
