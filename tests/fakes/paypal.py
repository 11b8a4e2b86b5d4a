"""A loopback fake of PayPal's REST API (the parts RevivaTech uses), for tests and benchmarks.

It answers the real ``paypal-server-sdk`` in PayPal's wire format: OAuth client credentials
(``POST /v1/oauth2/token``), Orders v2 (create, get, capture, with ``PayPal-Request-Id``
replays), captures and refunds (``/v2/payments/captures/...``), Transaction Search
(``/v1/reporting/transactions``), and PayPal's errors (``{"name", "message", "details":
[{"issue", "description"}], "debug_id"}``).

It also plays PayPal's webhook sender. :meth:`FakePayPal.webhook` signs a delivery the way PayPal
does: SHA256withRSA over ``transmission_id|transmission_time|webhook_id|crc32(body)`` with a
private key whose certificate it serves at ``PAYPAL-CERT-URL``; its
``POST /v1/notifications/verify-webhook-signature`` checks a signature exactly that way, over the
raw bytes of the ``webhook_event`` it is sent.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import string
import threading
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

CLIENT_ID = "fake-paypal-client-id"
CLIENT_SECRET = "fake-paypal-client-secret"
WEBHOOK_ID = "8PT597110X687430LKGECATA"
#: Currencies PayPal takes without decimals.
NO_DECIMALS = {"JPY", "HUF", "TWD"}
_ID_ALPHABET = string.ascii_uppercase + string.digits


def _id(length: int = 17) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=1)
def _signing_identity() -> tuple[rsa.RSAPrivateKey, bytes]:
    """PayPal's webhook signing key and its certificate (PEM), made once per process."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.paypal.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


def signed_message(transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> bytes:
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()


def raw_member(document: str, name: str) -> str | None:
    """The exact text of a top-level member's value in a JSON object (what PayPal signs)."""
    decoder = json.JSONDecoder()
    match = re.search(rf'"{re.escape(name)}"\s*:\s*', document)
    if not match:
        return None
    _, end = decoder.raw_decode(document, match.end())
    return document[match.end() : end]


class PayPalError(Exception):
    def __init__(self, status: int, name: str, message: str, issue: str = "", description: str = "") -> None:
        super().__init__(message)
        self.status = status
        body: dict[str, Any] = {"name": name, "message": message, "debug_id": secrets.token_hex(6)}
        if issue:
            body["details"] = [{"issue": issue, "description": description or message}]
        self.body = body


def _unprocessable(issue: str, description: str) -> PayPalError:
    return PayPalError(
        422,
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed business validation.",
        issue,
        description,
    )


def _not_found(what: str) -> PayPalError:
    return PayPalError(
        404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.", "INVALID_RESOURCE_ID", what
    )


@dataclass
class _Failure:
    method: str
    path_prefix: str
    status: int
    times: int


@dataclass
class Received:
    method: str
    path: str
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def _minor(amount: dict[str, Any]) -> tuple[int, str]:
    """PayPal's own reading of an amount: validates decimals per currency (for its bookkeeping,
    in hundredths, or units for no-decimal currencies)."""
    currency, value = str(amount.get("currency_code")), str(amount.get("value"))
    if currency in NO_DECIMALS:
        if not re.fullmatch(r"\d{1,10}", value):
            raise _unprocessable("DECIMALS_NOT_SUPPORTED", f"Currency {currency} does not support decimals.")
        return int(value), currency
    if not re.fullmatch(r"\d{1,10}(\.\d{1,2})?", value):
        raise _unprocessable(
            "DECIMAL_PRECISION",
            "If the currency supports decimals, only two decimal place precision is supported.",
        )
    return int(Decimal(value) * 100), currency


def _value(minor: int, currency: str) -> str:
    if currency in NO_DECIMALS:
        return str(minor)
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


class FakePayPal:
    def __init__(self, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_id = WEBHOOK_ID
        self.orders: dict[str, dict[str, Any]] = {}
        self.captures: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        #: Transaction Search rows (``transaction_info`` objects).
        self.transactions: list[dict[str, Any]] = []
        self.received: list[Received] = []
        self.tokens: set[str] = set()
        self._replays: dict[str, tuple[str, int, bytes]] = {}
        self._failures: list[_Failure] = []
        self._declines: list[str] = []
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self.cert_name = f"CERT-360caa42-fca2a594-{secrets.token_hex(4)}"

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def cert_url(self) -> str:
        return f"{self.url}/v1/notifications/certs/{self.cert_name}"

    def start(self) -> FakePayPal:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakePayPal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting ------------------------------------------------------------------------------

    def fail_next(self, method: str, path_prefix: str, *, status: int = 500, times: int = 1) -> None:
        self._failures.append(_Failure(method.upper(), path_prefix, status, times))

    def decline_next_capture(self, how: str = "INSTRUMENT_DECLINED") -> None:
        """``INSTRUMENT_DECLINED``: capture answers 422 (the buyer may pick another funding
        source); ``DECLINED``: capture answers 201 with a capture whose status is DECLINED."""
        self._declines.append(how)

    def requests_to(self, method: str, path_prefix: str) -> list[Received]:
        return [r for r in self.received if r.method == method and r.path.startswith(path_prefix)]

    # --- what happens at PayPal, outside our server ---------------------------------------------

    def approve(self, order_id: str) -> None:
        """The buyer logs in at PayPal and approves the order."""
        with self._lock:
            order = self.orders[order_id]
            order["status"] = "APPROVED"
            order["payer"] = {
                "name": {"given_name": "Casey", "surname": "Buyer"},
                "email_address": "casey.buyer@example.com",
                "payer_id": _id(13),
            }

    def add_capture(
        self, *, amount: int, currency: str = "GBP", when: datetime | None = None
    ) -> dict[str, Any]:
        """A capture made outside RevivaTech (e.g. a PayPal.me payment), for reconciliation."""
        order = self._new_order(
            {
                "intent": "CAPTURE",
                "purchase_units": [
                    {"amount": {"currency_code": currency, "value": _value(amount, currency)}}
                ],
            }
        )
        self.approve(order["id"])
        self._capture(order["id"])
        capture = order["purchase_units"][0]["payments"]["captures"][0]
        if when is not None:
            for row in self.transactions:
                if row["transaction_id"] == capture["id"]:
                    row["transaction_initiation_date"] = _iso(when)
        return capture

    def refund_in_dashboard(self, capture_id: str, amount: int) -> dict[str, Any]:
        capture = self.captures[capture_id]
        return self._refund(
            capture_id,
            {
                "amount": {
                    "currency_code": capture["amount"]["currency_code"],
                    "value": _value(amount, capture["amount"]["currency_code"]),
                }
            },
        )

    def webhook(
        self,
        event_type: str,
        resource: dict[str, Any],
        *,
        event_id: str | None = None,
        transmission_time: datetime | None = None,
        webhook_id: str | None = None,
        resource_type: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook delivery: the body and the headers, signed as PayPal signs them."""
        event = {
            "id": event_id or f"WH-{_id(17)}-{_id(17)}",
            "event_version": "1.0",
            "create_time": _iso(datetime.now(UTC)),
            "resource_type": resource_type or ("refund" if "REFUNDED" in event_type else "capture"),
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": f"{event_type.replace('.', ' ').title()}",
            "resource": json.loads(json.dumps(resource)),
            "links": [
                {"href": f"{self.url}/v1/notifications/webhooks-events/x", "rel": "self", "method": "GET"}
            ],
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        return body, self.sign(body, transmission_time=transmission_time, webhook_id=webhook_id)

    def sign(
        self, body: bytes, *, transmission_time: datetime | None = None, webhook_id: str | None = None
    ) -> dict[str, str]:
        key, _ = _signing_identity()
        transmission_id = str(uuid.uuid4())
        sent = _iso(transmission_time or datetime.now(UTC))
        message = signed_message(transmission_id, sent, webhook_id or self.webhook_id, body)
        signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return {
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": sent,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-CERT-URL": self.cert_url,
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }

    # --- the API --------------------------------------------------------------------------------

    def _links(self, kind: str, object_id: str, *extra: tuple[str, str, str]) -> list[dict[str, str]]:
        links = [{"href": f"{self.url}/{kind}/{object_id}", "rel": "self", "method": "GET"}]
        links += [{"href": href, "rel": rel, "method": method} for href, rel, method in extra]
        return links

    def _new_order(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("intent") != "CAPTURE":
            raise PayPalError(
                400, "INVALID_REQUEST", "Request is not well-formed.", "INVALID_PARAMETER_VALUE", "intent"
            )
        units = body.get("purchase_units") or []
        if len(units) != 1 or not units[0].get("amount"):
            raise PayPalError(
                400, "INVALID_REQUEST", "Request is not well-formed.", "MISSING_REQUIRED_PARAMETER", "amount"
            )
        _minor(units[0]["amount"])
        order_id = _id()
        experience = ((body.get("payment_source") or {}).get("paypal") or {}).get("experience_context") or {}
        order = {
            "id": order_id,
            "intent": "CAPTURE",
            "status": "PAYER_ACTION_REQUIRED",
            "payment_source": {"paypal": {}},
            "purchase_units": [{"reference_id": units[0].get("reference_id", "default"), **units[0]}],
            "create_time": _iso(datetime.now(UTC)),
            "links": self._links(
                "v2/checkout/orders",
                order_id,
                (f"https://www.sandbox.paypal.com/checkoutnow?token={order_id}", "payer-action", "GET"),
            ),
            "_return_url": experience.get("return_url"),
            "_cancel_url": experience.get("cancel_url"),
        }
        with self._lock:
            self.orders[order_id] = order
        return order

    def _public(self, order: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in json.loads(json.dumps(order)).items() if not k.startswith("_")}

    def _capture(self, order_id: str) -> dict[str, Any]:
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                raise _not_found(f"Specified resource ID does not exist: {order_id}")
            if order["status"] == "COMPLETED":
                raise _unprocessable("ORDER_ALREADY_CAPTURED", "Order already captured.")
            if order["status"] != "APPROVED":
                raise _unprocessable(
                    "ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment."
                )
            decline = self._declines.pop(0) if self._declines else ""
            if decline == "INSTRUMENT_DECLINED":
                raise _unprocessable(
                    "INSTRUMENT_DECLINED",
                    "The instrument presented was either declined by the processor or bank, "
                    "or it can't be used for this payment.",
                )
            unit = order["purchase_units"][0]
            capture_id = _id()
            status = "DECLINED" if decline == "DECLINED" else "COMPLETED"
            now = _iso(datetime.now(UTC))
            capture = {
                "id": capture_id,
                "status": status,
                "amount": dict(unit["amount"]),
                "final_capture": True,
                "custom_id": unit.get("custom_id"),
                "invoice_id": unit.get("invoice_id"),
                "seller_protection": {"status": "ELIGIBLE"},
                "create_time": now,
                "update_time": now,
                "supplementary_data": {"related_ids": {"order_id": order_id}},
                "links": self._links(
                    "v2/payments/captures",
                    capture_id,
                    (f"{self.url}/v2/payments/captures/{capture_id}/refund", "refund", "POST"),
                    (f"{self.url}/v2/checkout/orders/{order_id}", "up", "GET"),
                ),
            }
            if status == "DECLINED":
                capture["status_details"] = {"reason": "DECLINED_BY_RISK_FRAUD_FILTERS"}
            unit["payments"] = {"captures": [capture]}
            order["status"] = "COMPLETED"
            self.captures[capture_id] = capture
            amount, currency = _minor(capture["amount"])
            self.transactions.append(
                {
                    "transaction_id": capture_id,
                    "transaction_event_code": "T0006",
                    "transaction_initiation_date": now,
                    "transaction_updated_date": now,
                    "transaction_amount": dict(capture["amount"]),
                    "transaction_status": "S" if status == "COMPLETED" else "D",
                    "custom_field": unit.get("custom_id"),
                    "invoice_id": unit.get("invoice_id"),
                }
            )
            return order

    def _refund(self, capture_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            capture = self.captures.get(capture_id)
            if capture is None:
                raise _not_found(f"Specified resource ID does not exist: {capture_id}")
            if capture["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
                raise _unprocessable("CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded.")
            captured, currency = _minor(capture["amount"])
            done = sum(_minor(r["amount"])[0] for r in self.refunds.values() if r["_capture"] == capture_id)
            amount = _minor(body["amount"])[0] if body.get("amount") else captured - done
            if body.get("amount") and body["amount"].get("currency_code") != currency:
                raise _unprocessable(
                    "REFUND_CURRENCY_MISMATCH", "Refund must be in the currency of the capture."
                )
            if amount > captured - done:
                raise _unprocessable(
                    "REFUND_AMOUNT_EXCEEDED",
                    "The refund amount must be less than or equal to the capture amount.",
                )
            refund_id = _id()
            total = done + amount
            now = _iso(datetime.now(UTC))
            refund = {
                "id": refund_id,
                "status": "COMPLETED",
                "amount": {"currency_code": currency, "value": _value(amount, currency)},
                "custom_id": body.get("custom_id") or capture.get("custom_id"),
                "invoice_id": body.get("invoice_id"),
                "note_to_payer": body.get("note_to_payer"),
                "seller_payable_breakdown": {
                    "gross_amount": {"currency_code": currency, "value": _value(amount, currency)},
                    "total_refunded_amount": {"currency_code": currency, "value": _value(total, currency)},
                },
                "create_time": now,
                "update_time": now,
                "links": self._links(
                    "v2/payments/refunds",
                    refund_id,
                    (f"{self.url}/v2/payments/captures/{capture_id}", "up", "GET"),
                ),
                "_capture": capture_id,
            }
            self.refunds[refund_id] = refund
            capture["status"] = "REFUNDED" if total >= captured else "PARTIALLY_REFUNDED"
            self.transactions.append(
                {
                    "transaction_id": refund_id,
                    "paypal_reference_id": capture_id,
                    "paypal_reference_id_type": "TXN",
                    "transaction_event_code": "T1107",
                    "transaction_initiation_date": now,
                    "transaction_updated_date": now,
                    "transaction_amount": {"currency_code": currency, "value": _value(-amount, currency)},
                    "transaction_status": "S",
                    "custom_field": refund.get("custom_id"),
                }
            )
            return {k: v for k, v in refund.items() if not k.startswith("_")}

    def _search(self, query: dict[str, str]) -> dict[str, Any]:
        try:
            start = datetime.fromisoformat(query["start_date"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(query["end_date"].replace("Z", "+00:00"))
        except (KeyError, ValueError):
            raise PayPalError(
                400,
                "INVALID_REQUEST",
                "Request is not well-formed.",
                "INVALID_REQUEST",
                "start_date, end_date",
            ) from None
        if end - start > timedelta(days=31):
            raise PayPalError(400, "INVALID_REQUEST", "Date range is greater than 31 days", "INVALID_REQUEST")
        rows = [
            row
            for row in self.transactions
            if start
            <= datetime.fromisoformat(row["transaction_initiation_date"].replace("Z", "+00:00"))
            <= end
        ]
        size = int(query.get("page_size") or 100)
        page = int(query.get("page") or 1)
        pages = max(1, -(-len(rows) // size))
        chunk = rows[(page - 1) * size : page * size]
        return {
            "transaction_details": [{"transaction_info": row} for row in chunk],
            "account_number": "FAKEACCOUNT",
            "start_date": query["start_date"],
            "end_date": query["end_date"],
            "last_refreshed_datetime": _iso(datetime.now(UTC)),
            "page": page,
            "total_items": len(rows),
            "total_pages": pages,
        }

    def _verify(self, raw: str) -> dict[str, Any]:
        try:
            request = json.loads(raw)
            event_text = raw_member(raw, "webhook_event")
        except ValueError:
            raise PayPalError(
                400, "VALIDATION_ERROR", "Invalid request - see details.", "MALFORMED_REQUEST_JSON"
            ) from None
        required = (
            "auth_algo",
            "cert_url",
            "transmission_id",
            "transmission_sig",
            "transmission_time",
            "webhook_id",
        )
        missing = [name for name in required if not request.get(name)]
        if missing or event_text is None:
            raise PayPalError(
                400,
                "VALIDATION_ERROR",
                "Invalid request - see details.",
                "MISSING_REQUIRED_PARAMETER",
                ", ".join(missing),
            )
        _, pem = _signing_identity()
        cert = x509.load_pem_x509_certificate(pem)
        ok = request["cert_url"] == self.cert_url and request["auth_algo"] == "SHA256withRSA"
        if ok:
            message = signed_message(
                request["transmission_id"],
                request["transmission_time"],
                request["webhook_id"],
                event_text.encode(),
            )
            try:
                cert.public_key().verify(
                    base64.b64decode(request["transmission_sig"]),
                    message,
                    padding.PKCS1v15(),
                    hashes.SHA256(),
                )
            except (InvalidSignature, ValueError):
                ok = False
        # PayPal signs for the webhook it delivers to; another webhook id never verifies.
        ok = ok and request["webhook_id"] == self.webhook_id
        return {"verification_status": "SUCCESS" if ok else "FAILURE"}

    def handle(self, method: str, path: str, query: dict[str, str], body: Any, raw: str) -> tuple[int, Any]:
        if method == "POST" and path == "/v2/checkout/orders":
            return 201, self._public(self._new_order(body or {}))
        if method == "GET" and (match := re.fullmatch(r"/v2/checkout/orders/(\w+)", path)):
            order = self.orders.get(match[1])
            if order is None:
                raise _not_found(f"Specified resource ID does not exist: {match[1]}")
            return 200, self._public(order)
        if method == "POST" and (match := re.fullmatch(r"/v2/checkout/orders/(\w+)/capture", path)):
            return 201, self._public(self._capture(match[1]))
        if method == "GET" and (match := re.fullmatch(r"/v2/payments/captures/(\w+)", path)):
            capture = self.captures.get(match[1])
            if capture is None:
                raise _not_found(f"Specified resource ID does not exist: {match[1]}")
            return 200, capture
        if method == "POST" and (match := re.fullmatch(r"/v2/payments/captures/(\w+)/refund", path)):
            return 201, self._refund(match[1], body or {})
        if method == "GET" and path == "/v1/reporting/transactions":
            return 200, self._search(query)
        if method == "POST" and path == "/v1/notifications/verify-webhook-signature":
            return 200, self._verify(raw)
        raise _not_found(f"{method} {path}")

    # --- HTTP -----------------------------------------------------------------------------------

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Paypal-Debug-Id", secrets.token_hex(6))
                self.end_headers()
                self.wfile.write(body)

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                query = dict(parse_qsl(parts.query))
                content_type = self.headers.get("Content-Type") or ""
                try:
                    body = json.loads(raw) if raw and "json" in content_type else dict(parse_qsl(raw))
                except ValueError:
                    body = None
                fake.received.append(Received(method, parts.path, body, dict(self.headers.items())))
                if method == "GET" and parts.path == f"/v1/notifications/certs/{fake.cert_name}":
                    return self._reply(200, _signing_identity()[1], "application/x-pem-file")
                if method == "POST" and parts.path == "/v1/oauth2/token":
                    return self._token()
                auth = self.headers.get("Authorization") or ""
                if not auth.startswith("Bearer ") or auth[7:] not in fake.tokens:
                    error = PayPalError(
                        401,
                        "AUTHENTICATION_FAILURE",
                        "Authentication failed due to invalid authentication credentials "
                        "or a missing Authorization header.",
                    )
                    return self._reply(401, json.dumps(error.body).encode())
                for failure in fake._failures:
                    if (
                        failure.times > 0
                        and failure.method == method
                        and parts.path.startswith(failure.path_prefix)
                    ):
                        failure.times -= 1
                        error = PayPalError(
                            failure.status, "INTERNAL_SERVER_ERROR", "An internal server error occurred."
                        )
                        return self._reply(failure.status, json.dumps(error.body).encode())
                request_id = self.headers.get("PayPal-Request-Id")
                fingerprint = f"{method} {parts.path} {raw}"
                if method == "POST" and request_id and request_id in fake._replays:
                    seen, status, stored = fake._replays[request_id]
                    if seen.split(" ", 2)[:2] == fingerprint.split(" ", 2)[:2]:
                        return self._reply(status, stored)
                try:
                    status, obj = fake.handle(method, parts.path, query, body, raw)
                    payload = json.dumps(obj).encode()
                except PayPalError as error:
                    status, payload = error.status, json.dumps(error.body).encode()
                if method == "POST" and request_id and status < 500:
                    fake._replays[request_id] = (fingerprint, status, payload)
                return self._reply(status, payload)

            def _token(self) -> None:
                expected = base64.b64encode(f"{fake.client_id}:{fake.client_secret}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    body = {"error": "invalid_client", "error_description": "Client Authentication failed"}
                    return self._reply(401, json.dumps(body).encode())
                token = f"A21AA{secrets.token_urlsafe(24)}"
                fake.tokens.add(token)
                body = {
                    "scope": "https://uri.paypal.com/services/payments/payment",
                    "access_token": token,
                    "token_type": "Bearer",
                    "app_id": "APP-80W284485P519543T",
                    "expires_in": 32400,
                    "nonce": secrets.token_hex(8),
                }
                return self._reply(200, json.dumps(body).encode())

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        return Handler
