"""A loopback fake of Twilio's Programmable Messaging API (``POST
/2010-04-01/Accounts/{sid}/Messages.json``), answering the real ``twilio`` SDK in Twilio's wire
format: form-encoded requests with HTTP basic auth, a JSON message resource with an ``SM…`` sid,
and Twilio's JSON errors (``{"code", "message", "more_info", "status"}``).

Modes (``fail_next`` / ``set_mode``): ``ok``, ``429`` (code 20429), ``500``, ``503``,
``invalid_number`` (400, code 21211), ``auth`` (401, code 20003).

:func:`sign_callback` signs a status callback exactly as Twilio does (with the SDK's own
``RequestValidator``), so tests can play Twilio calling us back.

Usage::

    with FakeTwilio() as fake:
        settings.TWILIO_API_BASE_URL = fake.url
        fake.fail_next("500")            # one 5xx, then normal
        fake.receipts_for(token)         # how many times a message arrived
"""

from __future__ import annotations

import base64
import secrets
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import parse_qs, parse_qsl, urlsplit

from twilio.request_validator import RequestValidator

from .loopback import LoopbackHTTPFake, Reply, Request

ACCOUNT_SID = "AC" + "f" * 32
AUTH_TOKEN = "fake-twilio-auth-token"
FROM_NUMBER = "+447700900001"

ERRORS = {
    "429": (429, 20429, "Too Many Requests"),
    "500": (500, 20500, "Internal Server Error"),
    "503": (503, 20503, "Service Unavailable"),
    "invalid_number": (400, 21211, "The 'To' number is not a valid phone number."),
    "auth": (401, 20003, "Authenticate"),
}


@dataclass
class Sms:
    sid: str
    to: str
    sender: str
    body: str
    status_callback: str
    received_at: float

    @property
    def token(self) -> str:
        """Our outbox token, carried in the status callback URL (``?m=<token>``)."""
        query = parse_qs(urlsplit(self.status_callback).query)
        return query.get("m", [""])[0]


class FakeTwilio(LoopbackHTTPFake):
    def __init__(self, *, delay: float = 0.0, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN):
        super().__init__(delay=delay)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sent: list[Sms] = []

    def _authorized(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("authorization", "") == f"Basic {expected}"

    def respond(self, request: Request) -> Reply:
        path = urlsplit(request.path).path
        if request.method != "POST" or path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return _error(404, 20404, f"The requested resource {path} was not found")
        if not self._authorized(request):
            return _error(*ERRORS["auth"])
        mode = self.next_mode()
        if mode in ERRORS:
            return _error(*ERRORS[mode])
        form = dict(parse_qsl(request.body.decode()))
        if (
            not form.get("To")
            or not (form.get("From") or form.get("MessagingServiceSid"))
            or not form.get("Body")
        ):
            return _error(400, 21604, "A 'To', a 'From' and a 'Body' are required.")
        sms = Sms(
            sid="SM" + secrets.token_hex(16),
            to=form["To"],
            sender=form.get("From", ""),
            body=form["Body"],
            status_callback=form.get("StatusCallback", ""),
            received_at=time.time(),
        )
        with self.lock:
            self.sent.append(sms)
        return Reply.json(
            201,
            {
                "sid": sms.sid,
                "account_sid": self.account_sid,
                "to": sms.to,
                "from": sms.sender,
                "body": sms.body,
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "date_created": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sms.sid}.json",
            },
        )

    def receipts(self) -> Counter:
        """Outbox token → how many times Twilio accepted it."""
        with self.lock:
            return Counter(sms.token for sms in self.sent)

    def receipts_for(self, token: str) -> int:
        return self.receipts()[str(token)]


def _error(status: int, code: int, message: str) -> Reply:
    return Reply.json(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


def sign_callback(url: str, params: dict[str, str], auth_token: str = AUTH_TOKEN) -> str:
    """The ``X-Twilio-Signature`` Twilio sends when it calls ``url`` with ``params``."""
    return RequestValidator(auth_token).compute_signature(url, params)


def status_params(sms: Sms, status: str, **extra: str) -> dict[str, str]:
    """The form Twilio posts to the status callback."""
    return {
        "MessageSid": sms.sid,
        "SmsSid": sms.sid,
        "AccountSid": ACCOUNT_SID,
        "MessageStatus": status,
        "SmsStatus": status,
        "To": sms.to,
        "From": sms.sender,
        "ApiVersion": "2010-04-01",
        **extra,
    }
