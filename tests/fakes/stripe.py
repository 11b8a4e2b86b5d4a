"""A loopback fake of the Stripe API (the parts RevivaTech uses), for tests and benchmarks.

It answers the real ``stripe`` SDK in Stripe's wire format: form-encoded requests with bracketed
keys, JSON objects (``payment_intent``, ``charge``, ``refund``, ``list``), JSON errors
(``{"error": {"type", "code", "message"}}``) and ``Idempotency-Key`` replays. Test helpers play
the parts nobody's server does: the customer confirming a payment with Stripe.js
(:meth:`FakeStripe.customer_pays`), a dispute being opened, and Stripe signing a webhook
(:func:`sign`, ``Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">``).

Usage::

    with FakeStripe() as fake:
        settings.STRIPE_API_BASE = fake.url
        ...
        fake.fail_next("POST", "/v1/payment_intents", status=500)  # one 5xx, then normal
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SECRET_KEY = "sk_test_fake_revivatech"
PUBLISHABLE_KEY = "pk_test_fake_revivatech"
WEBHOOK_SECRET = "whsec_fake_revivatech_endpoint_secret"
API_VERSION = "2025-01-27.acacia"


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header exactly as Stripe computes it."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``metadata[invoice]=x&expand[0]=y`` → ``{"metadata": {"invoice": "x"}, "expand": ["y"]}``."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return _lists(result)


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        if value and all(k.isdigit() for k in value):
            return [_lists(value[k]) for k in sorted(value, key=int)]
        return {k: _lists(v) for k, v in value.items()}
    return value


@dataclass
class _Failure:
    method: str
    path_prefix: str
    status: int
    times: int
    error: dict[str, Any]


@dataclass
class Received:
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class StripeError(Exception):
    def __init__(self, status: int, type_: str, message: str, code: str = "", **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "error": {"type": type_, "message": message, **({"code": code} if code else {}), **extra}
        }


class FakeStripe:
    def __init__(self, secret_key: str = SECRET_KEY) -> None:
        self.secret_key = secret_key
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.received: list[Received] = []
        self._idempotent: dict[str, tuple[str, int, bytes]] = {}
        self._failures: list[_Failure] = []
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeStripe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting ------------------------------------------------------------------------------

    def fail_next(
        self, method: str, path_prefix: str, *, status: int = 500, times: int = 1, code: str = ""
    ) -> None:
        """The next ``times`` matching requests fail with ``status`` (before doing anything, so
        no idempotent result is saved, as Stripe does)."""
        error_type = "api_error" if status >= 500 else "invalid_request_error"
        error = {
            "type": error_type,
            "message": "An unknown error occurred",
            **({"code": code} if code else {}),
        }
        self._failures.append(_Failure(method.upper(), path_prefix, status, times, error))

    def requests_to(self, method: str, path_prefix: str) -> list[Received]:
        return [r for r in self.received if r.method == method and r.path.startswith(path_prefix)]

    def _now(self) -> int:
        return int(time.time())

    # --- what happens outside our server ------------------------------------------------------

    def customer_pays(self, intent_id: str, *, outcome: str = "succeeded") -> dict[str, Any]:
        """The customer confirms the PaymentIntent with Stripe.js: ``succeeded`` or a decline
        (``card_declined``, ``insufficient_funds``)."""
        with self._lock:
            intent = self.payment_intents[intent_id]
            charge = {
                "id": _id("ch"),
                "object": "charge",
                "amount": intent["amount"],
                "amount_captured": 0,
                "amount_refunded": 0,
                "currency": intent["currency"],
                "created": self._now(),
                "captured": False,
                "disputed": False,
                "paid": False,
                "refunded": False,
                "status": "failed",
                "payment_intent": intent_id,
                "metadata": dict(intent["metadata"]),
                "livemode": False,
            }
            if outcome == "succeeded":
                charge.update(amount_captured=intent["amount"], captured=True, paid=True, status="succeeded")
                intent.update(status="succeeded", amount_received=intent["amount"], last_payment_error=None)
            else:
                decline = "insufficient_funds" if outcome == "insufficient_funds" else "generic_decline"
                charge.update(failure_code="card_declined", failure_message="Your card was declined.")
                intent.update(
                    status="requires_payment_method",
                    last_payment_error={
                        "type": "card_error",
                        "code": "card_declined",
                        "decline_code": decline,
                        "message": "Your card was declined.",
                        "charge": charge["id"],
                    },
                )
            self.charges[charge["id"]] = charge
            intent["latest_charge"] = charge["id"]
            return json.loads(json.dumps(intent))

    def add_payment_intent(
        self, *, amount: int, currency: str = "gbp", status: str = "succeeded", metadata: dict | None = None
    ) -> dict[str, Any]:
        """A PaymentIntent made outside RevivaTech (e.g. in Stripe's dashboard)."""
        intent = self._new_intent({"amount": amount, "currency": currency, "metadata": metadata or {}})
        if status == "succeeded":
            return self.customer_pays(intent["id"])
        with self._lock:
            intent["status"] = status
        return intent

    def open_dispute(self, charge_id: str, *, reason: str = "fraudulent") -> dict[str, Any]:
        with self._lock:
            charge = self.charges[charge_id]
            charge["disputed"] = True
            return {
                "id": _id("dp"),
                "object": "dispute",
                "amount": charge["amount"],
                "currency": charge["currency"],
                "charge": charge_id,
                "payment_intent": charge["payment_intent"],
                "reason": reason,
                "status": "needs_response",
                "created": self._now(),
                "livemode": False,
            }

    def refund_in_dashboard(self, intent_id: str, amount: int) -> dict[str, Any]:
        """Someone refunds in Stripe's dashboard; returns the charge (as in ``charge.refunded``)."""
        self._refund({"payment_intent": intent_id, "amount": str(amount)})
        return self.charge_of(intent_id)

    def charge_of(self, intent_id: str) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self.charges[self.payment_intents[intent_id]["latest_charge"]]))

    def event(self, event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        """An Event object as Stripe sends it to a webhook endpoint."""
        return {
            "id": event_id or _id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self._now(),
            "data": {"object": json.loads(json.dumps(obj))},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }

    # --- the API --------------------------------------------------------------------------------

    def _new_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            amount = int(params.get("amount", ""))
        except ValueError:
            raise StripeError(
                400, "invalid_request_error", "Invalid integer: amount", "parameter_invalid_integer"
            )
        if amount < 1:
            raise StripeError(400, "invalid_request_error", "Amount must be at least 1", "amount_too_small")
        currency = str(params.get("currency") or "")
        if not re.fullmatch(r"[a-z]{3}", currency):
            raise StripeError(
                400, "invalid_request_error", f"Invalid currency: {currency}", "parameter_invalid"
            )
        intent_id = _id("pi")
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "automatic_payment_methods": params.get("automatic_payment_methods"),
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "created": self._now(),
            "currency": currency,
            "description": params.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "receipt_email": params.get("receipt_email"),
            "status": "requires_payment_method",
        }
        with self._lock:
            self.payment_intents[intent_id] = intent
        return intent

    def _intent_view(self, intent: dict[str, Any], expand: list[str]) -> dict[str, Any]:
        view = json.loads(json.dumps(intent))
        if "latest_charge" in expand and view.get("latest_charge"):
            view["latest_charge"] = self.charges[view["latest_charge"]]
        return view

    def _refund(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            intent_id = params.get("payment_intent")
            charge_id = params.get("charge")
            if intent_id:
                intent = self.payment_intents.get(intent_id)
                if intent is None:
                    raise StripeError(
                        404,
                        "invalid_request_error",
                        f"No such payment_intent: '{intent_id}'",
                        "resource_missing",
                    )
                charge_id = intent.get("latest_charge")
            charge = self.charges.get(charge_id or "")
            if charge is None or charge["status"] != "succeeded":
                raise StripeError(
                    400,
                    "invalid_request_error",
                    "This PaymentIntent does not have a successful charge to refund.",
                    "charge_not_refundable",
                )
            remaining = charge["amount_captured"] - charge["amount_refunded"]
            amount = int(params.get("amount") or remaining)
            if remaining <= 0:
                raise StripeError(
                    400,
                    "invalid_request_error",
                    f"Charge {charge_id} has already been refunded.",
                    "charge_already_refunded",
                )
            if amount > remaining:
                raise StripeError(
                    400,
                    "invalid_request_error",
                    f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
                    "amount_too_large",
                )
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
            refund = {
                "id": _id("re"),
                "object": "refund",
                "amount": amount,
                "charge": charge_id,
                "currency": charge["currency"],
                "created": self._now(),
                "metadata": params.get("metadata") or {},
                "payment_intent": charge["payment_intent"],
                "reason": params.get("reason"),
                "status": "succeeded",
            }
            self.refunds[refund["id"]] = refund
            return refund

    def _list(self, items: list[dict[str, Any]], params: dict[str, Any], url: str) -> dict[str, Any]:
        created = params.get("created") or {}
        if isinstance(created, dict):
            if "gte" in created:
                items = [i for i in items if i["created"] >= int(created["gte"])]
            if "lt" in created:
                items = [i for i in items if i["created"] < int(created["lt"])]
        items = sorted(items, key=lambda i: (i["created"], i["id"]), reverse=True)
        if params.get("starting_after"):
            ids = [i["id"] for i in items]
            items = items[ids.index(params["starting_after"]) + 1 :]
        limit = int(params.get("limit") or 10)
        page = items[:limit]
        return {"object": "list", "data": page, "has_more": len(items) > limit, "url": url}

    def handle(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if method == "POST" and path == "/v1/payment_intents":
                return 200, self._new_intent(params)
            if match := re.fullmatch(r"/v1/payment_intents/([\w]+)", path):
                intent = self.payment_intents.get(match[1])
                if intent is None:
                    raise StripeError(
                        404,
                        "invalid_request_error",
                        f"No such payment_intent: '{match[1]}'",
                        "resource_missing",
                    )
                return 200, self._intent_view(intent, params.get("expand") or [])
            if match := re.fullmatch(r"/v1/payment_intents/([\w]+)/cancel", path):
                intent = self.payment_intents[match[1]]
                if intent["status"] == "succeeded":
                    raise StripeError(
                        400,
                        "invalid_request_error",
                        "You cannot cancel this PaymentIntent because it has a status of succeeded.",
                        "payment_intent_unexpected_state",
                    )
                intent["status"] = "canceled"
                return 200, intent
            if method == "GET" and path == "/v1/payment_intents":
                return 200, self._list(list(self.payment_intents.values()), params, path)
            if method == "GET" and path == "/v1/charges":
                return 200, self._list(list(self.charges.values()), params, path)
            if method == "POST" and path == "/v1/refunds":
                return 200, self._refund(params)
        raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    # --- HTTP -----------------------------------------------------------------------------------

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Request-Id", _id("req"))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                pairs = parse_qsl(parts.query, keep_blank_values=True) + parse_qsl(
                    raw, keep_blank_values=True
                )
                params = decode_form(pairs)
                fake.received.append(Received(method, parts.path, params, dict(self.headers.items())))
                if self.headers.get("Authorization") != f"Bearer {fake.secret_key}":
                    error = StripeError(401, "invalid_request_error", "Invalid API Key provided.")
                    return self._reply(401, json.dumps(error.body).encode())
                for failure in fake._failures:
                    if (
                        failure.times > 0
                        and failure.method == method
                        and parts.path.startswith(failure.path_prefix)
                    ):
                        failure.times -= 1
                        return self._reply(failure.status, json.dumps({"error": failure.error}).encode())
                key = self.headers.get("Idempotency-Key")
                fingerprint = f"{method} {parts.path} {json.dumps(params, sort_keys=True)}"
                if method == "POST" and key and key in fake._idempotent:
                    seen, status, body = fake._idempotent[key]
                    if seen != fingerprint:
                        error = StripeError(
                            400,
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same parameters "
                            "they were first used with.",
                        )
                        return self._reply(400, json.dumps(error.body).encode())
                    return self._reply(status, body, {"Idempotent-Replayed": "true"})
                try:
                    status, obj = fake.handle(method, parts.path, params)
                    body = json.dumps(obj).encode()
                except StripeError as error:
                    status, body = error.status, json.dumps(error.body).encode()
                if method == "POST" and key:
                    fake._idempotent[key] = (fingerprint, status, body)
                return self._reply(status, body)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

        return Handler
