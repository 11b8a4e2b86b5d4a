"""Payment providers behind one small interface (:mod:`.base`).

``stripe_gateway()`` / ``paypal_gateway()`` return an adapter built from settings, or ``None``
when the provider's keys are not configured (the site then says online payment is not set up).
The adapters, and so the SDKs, are imported only when a provider is configured. One adapter
per configuration is kept per process, so PayPal's OAuth token is fetched once, not per request.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from django.conf import settings

from ..lifecycle import Provider

if TYPE_CHECKING:
    from .paypal import PayPalGateway
    from .stripe import StripeGateway

_STRIPE_SETTINGS = (
    "STRIPE_SECRET_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "STRIPE_TIMEOUT_SECONDS",
    "STRIPE_MAX_NETWORK_RETRIES",
    "STRIPE_WEBHOOK_TOLERANCE_SECONDS",
)
_PAYPAL_SETTINGS = (
    "PAYPAL_CLIENT_ID",
    "PAYPAL_CLIENT_SECRET",
    "PAYPAL_WEBHOOK_ID",
    "PAYPAL_ENVIRONMENT",
    "PAYPAL_API_BASE",
    "PAYPAL_TIMEOUT_SECONDS",
    "PAYPAL_MAX_RETRIES",
    "PAYPAL_WEBHOOK_TOLERANCE_SECONDS",
    "SHOP_NAME",
)


_cache: dict[tuple[Any, ...], Any] = {}
_cache_lock = threading.Lock()


def _cached(key: tuple[Any, ...], build):
    with _cache_lock:
        if key not in _cache:
            if len(_cache) > 8:  # settings changed (tests): forget old configurations
                _cache.clear()
            _cache[key] = build()
        return _cache[key]


def stripe_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_PUBLISHABLE_KEY)


def paypal_configured() -> bool:
    return bool(settings.PAYPAL_CLIENT_ID and settings.PAYPAL_CLIENT_SECRET)


def stripe_gateway() -> StripeGateway | None:
    if not stripe_configured():
        return None
    from .stripe import StripeGateway

    key = ("stripe", *(getattr(settings, name) for name in _STRIPE_SETTINGS))
    return _cached(key, StripeGateway.from_settings)


def paypal_gateway() -> PayPalGateway | None:
    if not paypal_configured():
        return None
    from .paypal import PayPalGateway

    key = ("paypal", *(getattr(settings, name) for name in _PAYPAL_SETTINGS))
    return _cached(key, PayPalGateway.from_settings)


def gateway(provider: str):
    """The adapter of ``provider`` or None."""
    if provider == Provider.STRIPE:
        return stripe_gateway()
    if provider == Provider.PAYPAL:
        return paypal_gateway()
    return None
