"""PayPal adapter: the only module that imports ``paypalserversdk``.

Orders v2 are created (``PayPal-Request-Id`` is the idempotency key), captured, read and
refunded through ``paypal-server-sdk``; reconciliation lists captures and refunds through the
Transaction Search API. The SDK hard-codes its two hosts, so :class:`_Configuration` (a
``Configuration`` subclass overriding ``get_base_uri``) points it at ``PAYPAL_API_BASE`` when set
(tests: a loopback fake). Never call ``Configuration.clone_with()``: it returns a plain
``Configuration`` and loses that override.

Webhooks are verified with PayPal's own ``POST /v1/notifications/verify-webhook-signature``
(the "postback"): the SDK has no method for it, so :class:`_NotificationsController` adds one in
the SDK's own style (same host, OAuth token, time-out and retries). The request carries the
webhook's raw body byte for byte as ``webhook_event``, so PayPal checks its signature over
exactly what it sent (``transmission_id|transmission_time|webhook_id|crc32(body)``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from apimatic_core.authentication.multiple.single_auth import Single
from apimatic_core.exceptions.auth_validation_exception import AuthValidationException
from apimatic_core.request_builder import RequestBuilder
from apimatic_core.response_handler import ResponseHandler
from apimatic_core.types.parameter import Parameter
from django.conf import settings
from paypalserversdk.api_helper import APIHelper
from paypalserversdk.configuration import Configuration, Environment, Server
from paypalserversdk.controllers.base_controller import BaseController
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.http.http_method_enum import HttpMethodEnum
from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
from paypalserversdk.models.checkout_payment_intent import CheckoutPaymentIntent
from paypalserversdk.models.money import Money
from paypalserversdk.models.order_request import OrderRequest
from paypalserversdk.models.payment_source import PaymentSource
from paypalserversdk.models.paypal_wallet import PaypalWallet
from paypalserversdk.models.paypal_wallet_experience_context import PaypalWalletExperienceContext
from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest
from paypalserversdk.models.refund_request import RefundRequest
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from revivatech.money import MoneyError, decimal_string_to_minor, minor_to_decimal_string

from ..lifecycle import PaymentStatus, Provider
from .base import (
    PAYPAL_CURRENCIES,
    NotFoundAtProvider,
    PaymentDeclined,
    PaymentUpdate,
    ProviderError,
    ProviderUnavailable,
    RemotePayment,
    RemoteRefund,
    VerifiedEvent,
    WebhookVerificationError,
    WebhookVerificationUnavailable,
)

SUPPORTED_CURRENCIES = PAYPAL_CURRENCIES
#: Transaction Search answers at most 31 days per request.
_SEARCH_WINDOW = timedelta(days=31)
_SEARCH_PAGE_SIZE = 500
_WEBHOOK_HEADERS = {
    "transmission_id": "PAYPAL-TRANSMISSION-ID",
    "transmission_time": "PAYPAL-TRANSMISSION-TIME",
    "transmission_sig": "PAYPAL-TRANSMISSION-SIG",
    "cert_url": "PAYPAL-CERT-URL",
    "auth_algo": "PAYPAL-AUTH-ALGO",
}

_CAPTURE_STATUS = {
    "COMPLETED": PaymentStatus.SUCCEEDED,
    "PARTIALLY_REFUNDED": PaymentStatus.PARTIALLY_REFUNDED,
    "REFUNDED": PaymentStatus.REFUNDED,
    "PENDING": PaymentStatus.PROCESSING,
    "DECLINED": PaymentStatus.FAILED,
    "FAILED": PaymentStatus.FAILED,
}
_ORDER_STATUS = {
    "CREATED": PaymentStatus.CREATED,
    "SAVED": PaymentStatus.CREATED,
    "PAYER_ACTION_REQUIRED": PaymentStatus.CREATED,
    "APPROVED": PaymentStatus.PROCESSING,
    "VOIDED": PaymentStatus.CANCELED,
    "COMPLETED": PaymentStatus.SUCCEEDED,
}
#: Transaction Search status codes: S success, P pending, D denied, V reversed (refunded).
_SEARCH_STATUS = {
    "S": PaymentStatus.SUCCEEDED,
    "P": PaymentStatus.PROCESSING,
    "D": PaymentStatus.FAILED,
    "V": PaymentStatus.REFUNDED,
}


class _Configuration(Configuration):
    """The SDK's configuration, reaching ``base_uri`` instead of its hard-coded hosts."""

    def __init__(self, *, base_uri: str = "", **kwargs: Any) -> None:
        self._base_uri = base_uri.rstrip("/")
        super().__init__(**kwargs)

    def get_base_uri(self, server=Server.DEFAULT):
        return self._base_uri or super().get_base_uri(server)


class _NotificationsController(BaseController):
    """``POST /v1/notifications/verify-webhook-signature``, which the SDK does not include."""

    def verify_webhook_signature(self, body: str):
        return (
            super()
            .new_api_call_builder.request(
                RequestBuilder()
                .server(Server.DEFAULT)
                .path("/v1/notifications/verify-webhook-signature")
                .http_method(HttpMethodEnum.POST)
                .header_param(Parameter().key("Content-Type").value("application/json"))
                .header_param(Parameter().key("accept").value("application/json"))
                .body_param(Parameter().value(body))
                .auth(Single("Oauth2"))
            )
            .response(ResponseHandler().deserializer(APIHelper.json_deserialize).is_api_response(True))
            .execute()
        )


def _money(amount: dict[str, Any] | None) -> tuple[int | None, str]:
    if not amount:
        return None, ""
    currency = str(amount.get("currency_code") or "").upper()
    try:
        return decimal_string_to_minor(str(amount.get("value")), currency), currency
    except MoneyError:
        return None, currency


def _link(resource: dict[str, Any], *rels: str) -> str:
    for link in resource.get("links") or []:
        if link.get("rel") in rels:
            return str(link.get("href") or "")
    return ""


def _captures(order: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for unit in order.get("purchase_units") or []:
        found.extend((unit.get("payments") or {}).get("captures") or [])
    return found


def _order_reference(order: dict[str, Any]) -> str:
    for unit in order.get("purchase_units") or []:
        if unit.get("custom_id"):
            return str(unit["custom_id"])
    return ""


def _order_amount(order: dict[str, Any]) -> tuple[int | None, str]:
    for unit in order.get("purchase_units") or []:
        if unit.get("amount"):
            return _money(unit["amount"])
    return None, ""


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _remote_from_order(order: dict[str, Any]) -> RemotePayment:
    amount, currency = _order_amount(order)
    captures = _captures(order)
    remote = RemotePayment(
        provider=Provider.PAYPAL,
        payment_id=str(order.get("id") or ""),
        status=_ORDER_STATUS.get(str(order.get("status")), PaymentStatus.CREATED),
        amount=amount or 0,
        currency=currency,
        approve_url=_link(order, "payer-action", "approve"),
        created=_when(order.get("create_time")),
        reference=_order_reference(order),
    )
    if not captures:
        return remote
    capture = captures[-1]
    received, capture_currency = _money(capture.get("amount"))
    status = _CAPTURE_STATUS.get(str(capture.get("status")), PaymentStatus.PROCESSING)
    details = capture.get("status_details") or {}
    return replace(
        remote,
        status=status,
        charge_id=str(capture.get("id") or ""),
        amount_received=received if status != PaymentStatus.FAILED else None,
        currency=capture_currency or currency,
        failure_code=str(details.get("reason") or "") if status == PaymentStatus.FAILED else "",
        failure_message="PayPal declined the payment." if status == PaymentStatus.FAILED else "",
    )


def _error_body(error: ApiException) -> dict[str, Any]:
    try:
        body = json.loads(error.response.text or "{}")
    except (ValueError, AttributeError):
        return {}
    return body if isinstance(body, dict) else {}


def _issue(body: dict[str, Any]) -> str:
    for detail in body.get("details") or []:
        if detail.get("issue"):
            return str(detail["issue"])
    return str(body.get("name") or "")


def _mapped(error: Exception) -> ProviderError:
    """The SDK's or the network's exception → ours, with a message a person can act on."""
    if not isinstance(error, ApiException):  # requests' exceptions are OSErrors
        return ProviderUnavailable("PayPal could not be reached; try again in a minute.")
    status = error.response_code
    body = _error_body(error)
    issue = _issue(body)
    description = next(
        (d.get("description") for d in body.get("details") or [] if d.get("description")),
        body.get("message") or error.reason,
    )
    if status >= 500 or status == 429:
        return ProviderUnavailable(
            "PayPal is not answering properly; try again in a minute.", code=issue, status=status
        )
    if status == 401:
        return ProviderError(
            "PayPal refused our credentials (check PAYPAL_CLIENT_ID / PAYPAL_CLIENT_SECRET).",
            code=issue,
            status=status,
        )
    if status == 404:
        return NotFoundAtProvider(
            f"PayPal does not know this object: {description}", code=issue, status=status
        )
    if issue in {"INSTRUMENT_DECLINED", "TRANSACTION_REFUSED", "PAYER_CANNOT_PAY"}:
        return PaymentDeclined(
            "PayPal declined the payment method. Choose another way to pay at PayPal, or pay by card.",
            code=issue,
            status=status,
        )
    return ProviderError(f"PayPal refused the request: {issue or description}", code=issue, status=status)


class PayPalGateway:
    provider = Provider.PAYPAL

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        webhook_id: str,
        environment: str = "sandbox",
        api_base: str = "",
        timeout: float = 20,
        max_retries: int = 2,
        webhook_tolerance: int = 900,
        brand_name: str = "",
    ) -> None:
        self._webhook_id = webhook_id
        self._webhook_tolerance = webhook_tolerance
        self._brand_name = brand_name
        #: HTTP status of the last failed token request (401: wrong credentials).
        self._token_error: int | None = None
        config = _Configuration(
            base_uri=api_base,
            environment=Environment.PRODUCTION if environment == "live" else Environment.SANDBOX,
            timeout=timeout,
            max_retries=max_retries,
            backoff_factor=0.5,
            # Every POST we make carries a PayPal-Request-Id, so repeating one is safe.
            retry_methods=["GET", "PUT", "POST"],
            client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                o_auth_client_id=client_id,
                o_auth_client_secret=client_secret,
                o_auth_token_provider=self._token,
            ),
        )
        self._client = PaypalServersdkClient(config=config)
        self._notifications = _NotificationsController(self._client.global_configuration)

    @classmethod
    def from_settings(cls) -> PayPalGateway:
        return cls(
            client_id=settings.PAYPAL_CLIENT_ID,
            client_secret=settings.PAYPAL_CLIENT_SECRET,
            webhook_id=settings.PAYPAL_WEBHOOK_ID,
            environment=settings.PAYPAL_ENVIRONMENT,
            api_base=settings.PAYPAL_API_BASE,
            timeout=settings.PAYPAL_TIMEOUT_SECONDS,
            max_retries=settings.PAYPAL_MAX_RETRIES,
            webhook_tolerance=settings.PAYPAL_WEBHOOK_TOLERANCE_SECONDS,
            brand_name=settings.SHOP_NAME,
        )

    def supports(self, currency: str) -> bool:
        return currency.upper() in SUPPORTED_CURRENCIES

    def _token(self, last_token, auth_manager):
        """The SDK's OAuth token provider: reuse the token until it expires; remember why a
        token request failed (the SDK itself only says the token is missing)."""
        if last_token is not None and not auth_manager.is_token_expired(last_token):
            return last_token
        try:
            token = auth_manager.fetch_token()
        except ApiException as error:
            self._token_error = error.response_code
            return None
        self._token_error = None
        return token

    def _no_token(self) -> ProviderError:
        if self._token_error in (400, 401, 403):
            return ProviderError(
                "PayPal refused our credentials (check PAYPAL_CLIENT_ID / PAYPAL_CLIENT_SECRET).",
                status=self._token_error,
            )
        return ProviderUnavailable("PayPal did not give us an access token; try again in a minute.")

    def _call(self, method, options: dict[str, Any]) -> dict[str, Any]:
        try:
            response = method(options)
        except AuthValidationException as error:
            raise self._no_token() from error
        except (ApiException, OSError) as error:
            raise _mapped(error) from error
        try:
            return json.loads(response.text or "{}")
        except ValueError as error:
            raise ProviderUnavailable("PayPal sent an answer we could not read.") from error

    # --- orders ---------------------------------------------------------------------------------

    def create_order(
        self,
        *,
        amount: int,
        currency: str,
        request_id: str,
        reference: str,
        invoice_id: str,
        description: str,
        return_url: str,
        cancel_url: str,
    ) -> RemotePayment:
        if not self.supports(currency):
            raise ProviderError(f"PayPal cannot take payments in {currency}.")
        experience = PaypalWalletExperienceContext(
            brand_name=self._brand_name[:127] or APIHelper.SKIP,
            shipping_preference="NO_SHIPPING",
            user_action="PAY_NOW",
            return_url=return_url,
            cancel_url=cancel_url,
        )
        body = OrderRequest(
            intent=CheckoutPaymentIntent.CAPTURE,
            purchase_units=[
                PurchaseUnitRequest(
                    amount=AmountWithBreakdown(
                        currency_code=currency, value=minor_to_decimal_string(amount, currency)
                    ),
                    reference_id=reference,
                    custom_id=reference,
                    invoice_id=invoice_id,
                    description=description[:127],
                )
            ],
            payment_source=PaymentSource(paypal=PaypalWallet(experience_context=experience)),
        )
        order = self._call(
            self._client.orders.create_order,
            {"body": body, "paypal_request_id": request_id, "prefer": "return=representation"},
        )
        return _remote_from_order(order)

    def get_order(self, order_id: str) -> RemotePayment:
        return _remote_from_order(self._call(self._client.orders.get_order, {"id": order_id}))

    def capture_order(self, order_id: str, *, request_id: str) -> RemotePayment:
        """Capture an approved order. A capture PayPal declines comes back as status FAILED (or
        raises :class:`PaymentDeclined` when PayPal answers 422 INSTRUMENT_DECLINED)."""
        try:
            order = self._call(
                self._client.orders.capture_order,
                {"id": order_id, "paypal_request_id": request_id, "prefer": "return=representation"},
            )
        except ProviderError as error:
            if error.code != "ORDER_ALREADY_CAPTURED":
                raise
            return self.get_order(order_id)
        return _remote_from_order(order)

    def get_capture(self, capture_id: str) -> RemotePayment:
        capture = self._call(self._client.payments.get_captured_payment, {"capture_id": capture_id})
        received, currency = _money(capture.get("amount"))
        related = (capture.get("supplementary_data") or {}).get("related_ids") or {}
        status = _CAPTURE_STATUS.get(str(capture.get("status")), PaymentStatus.PROCESSING)
        return RemotePayment(
            provider=Provider.PAYPAL,
            payment_id=str(related.get("order_id") or ""),
            status=status,
            amount=received or 0,
            currency=currency,
            amount_received=received if status != PaymentStatus.FAILED else None,
            charge_id=str(capture.get("id") or capture_id),
            created=_when(capture.get("create_time")),
            reference=str(capture.get("custom_id") or ""),
        )

    def refund_capture(
        self,
        capture_id: str,
        *,
        amount: int,
        currency: str,
        request_id: str,
        reference: str,
        invoice_id: str,
        note: str = "",
    ) -> RemoteRefund:
        body = RefundRequest(
            amount=Money(currency_code=currency, value=minor_to_decimal_string(amount, currency)),
            custom_id=reference,
            invoice_id=invoice_id,
            note_to_payer=note[:255] or APIHelper.SKIP,
        )
        refund = self._call(
            self._client.payments.refund_captured_payment,
            {
                "capture_id": capture_id,
                "body": body,
                "paypal_request_id": request_id,
                "prefer": "return=representation",
            },
        )
        refunded, refund_currency = _money(refund.get("amount"))
        total, _ = _money((refund.get("seller_payable_breakdown") or {}).get("total_refunded_amount"))
        status = {"COMPLETED": "succeeded", "PENDING": "pending"}.get(str(refund.get("status")), "failed")
        return RemoteRefund(
            refund_id=str(refund.get("id") or ""),
            amount=refunded if refunded is not None else amount,
            currency=refund_currency or currency,
            status=status,
            refunded_total=total,
        )

    # --- reconciliation -------------------------------------------------------------------------

    def list_captures(self, since: datetime, until: datetime) -> list[RemotePayment]:
        """Captures made in [since, until) with the refunds made against them (Transaction
        Search, in windows of at most 31 days). ``payment_id`` is empty: matched by capture id."""
        transactions = []
        start = since
        while start < until:
            end = min(start + _SEARCH_WINDOW, until)
            page = 1
            while True:
                answer = self._call(
                    self._client.transaction_search.search_transactions,
                    {
                        "start_date": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "end_date": end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "fields": "transaction_info",
                        "page_size": _SEARCH_PAGE_SIZE,
                        "page": page,
                    },
                )
                transactions.extend(
                    item.get("transaction_info") or {} for item in answer.get("transaction_details") or []
                )
                if page >= int(answer.get("total_pages") or 1):
                    break
                page += 1
            start = end
        return self._captures_from(transactions)

    @staticmethod
    def _captures_from(transactions: list[dict[str, Any]]) -> list[RemotePayment]:
        refunded: dict[str, int] = defaultdict(int)
        captures = []
        for info in transactions:
            amount, currency = _money(info.get("transaction_amount"))
            code = str(info.get("transaction_event_code") or "")
            if amount is None:
                continue
            if code.startswith("T11") and amount < 0:  # a refund or reversal of a capture
                if str(info.get("transaction_status")) in ("S", "P"):
                    refunded[str(info.get("paypal_reference_id") or "")] += -amount
                continue
            if code.startswith("T00") and amount > 0:
                status = _SEARCH_STATUS.get(str(info.get("transaction_status")), PaymentStatus.PROCESSING)
                captures.append(
                    RemotePayment(
                        provider=Provider.PAYPAL,
                        payment_id="",
                        status=status,
                        amount=amount,
                        currency=currency,
                        amount_received=amount if status != PaymentStatus.FAILED else None,
                        charge_id=str(info.get("transaction_id") or ""),
                        created=_when(info.get("transaction_initiation_date")),
                        reference=str(info.get("custom_field") or ""),
                    )
                )
        result = []
        for capture in captures:
            total = refunded.get(capture.charge_id, 0)
            status = capture.status
            if total and status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
                status = (
                    PaymentStatus.REFUNDED if total >= capture.amount else PaymentStatus.PARTIALLY_REFUNDED
                )
            result.append(replace(capture, status=status, amount_refunded=total))
        return result

    # --- webhooks -------------------------------------------------------------------------------

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        """Ask PayPal whether this delivery is genuine (see the module docstring)."""
        if not self._webhook_id:
            raise WebhookVerificationUnavailable("PAYPAL_WEBHOOK_ID is not set.")
        values = {}
        for field, header in _WEBHOOK_HEADERS.items():
            value = (headers.get(header) or "").strip()
            if not value:
                raise WebhookVerificationError(f"The {header} header is missing.")
            values[field] = value
        sent_at = _when(values["transmission_time"])
        if sent_at is None:
            raise WebhookVerificationError("PAYPAL-TRANSMISSION-TIME is not a date and time.")
        age = abs((datetime.now(UTC) - sent_at).total_seconds())
        if age > self._webhook_tolerance:
            raise WebhookVerificationError(
                f"PAYPAL-TRANSMISSION-TIME is {int(age)} s away from now (limit {self._webhook_tolerance} s)."
            )
        try:
            text = body.decode("utf-8")
            event = json.loads(text)
            event_id, event_type = str(event["id"]), str(event["event_type"])
            resource = event.get("resource") or {}
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise WebhookVerificationError("The body is not a PayPal webhook event.") from error
        request = json.dumps({**values, "webhook_id": self._webhook_id})
        # The raw body goes in unchanged: PayPal's signature covers its exact bytes.
        request = f'{request[:-1]}, "webhook_event": {text}}}'
        try:
            response = self._notifications.verify_webhook_signature(request)
            verdict = json.loads(response.text or "{}").get("verification_status")
        except ApiException as error:
            if error.response_code == 400:
                raise WebhookVerificationError("PayPal could not check these signature headers.") from error
            raise WebhookVerificationUnavailable("PayPal's signature check did not answer.") from error
        except AuthValidationException as error:
            raise WebhookVerificationUnavailable(self._no_token().message) from error
        except (OSError, ValueError) as error:
            raise WebhookVerificationUnavailable("PayPal's signature check could not be reached.") from error
        if verdict != "SUCCESS":
            raise WebhookVerificationError("PayPal says the webhook signature is not valid.")
        return VerifiedEvent(
            provider=Provider.PAYPAL,
            event_id=event_id,
            event_type=event_type,
            payload=event,
            update=self._update_from(event_type, resource if isinstance(resource, dict) else {}),
        )

    @staticmethod
    def _update_from(event_type: str, resource: dict[str, Any]) -> PaymentUpdate | None:
        amount, currency = _money(resource.get("amount"))
        related = (resource.get("supplementary_data") or {}).get("related_ids") or {}
        reference = str(resource.get("custom_id") or "")
        if event_type == "PAYMENT.CAPTURE.COMPLETED":
            return PaymentUpdate(
                kind="succeeded",
                payment_id=str(related.get("order_id") or ""),
                charge_id=str(resource.get("id") or ""),
                amount=amount,
                currency=currency,
                reference=reference,
            )
        if event_type == "PAYMENT.CAPTURE.PENDING":
            return PaymentUpdate(
                kind="processing",
                payment_id=str(related.get("order_id") or ""),
                charge_id=str(resource.get("id") or ""),
                reference=reference,
            )
        if event_type == "PAYMENT.CAPTURE.DENIED":
            reason = str((resource.get("status_details") or {}).get("reason") or "DECLINED")
            return PaymentUpdate(
                kind="failed",
                payment_id=str(related.get("order_id") or ""),
                charge_id=str(resource.get("id") or ""),
                failure_code=reason,
                failure_message="PayPal declined the payment.",
                reference=reference,
            )
        if event_type == "PAYMENT.CAPTURE.REFUNDED":
            up = _link(resource, "up")
            capture_id = up.rstrip("/").rsplit("/", 1)[-1] if "/captures/" in up else ""
            total, _ = _money((resource.get("seller_payable_breakdown") or {}).get("total_refunded_amount"))
            return PaymentUpdate(
                kind="refunded",
                charge_id=capture_id,
                currency=currency,
                refund_id=str(resource.get("id") or ""),
                refund_amount=amount,
                refunded_total=total,
                reference=reference,
            )
        return None
