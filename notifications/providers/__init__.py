"""Provider adapters, one module per outside SDK, and the per-channel registry.

``NOTIFICATIONS_PROVIDERS`` names the providers of each channel in failover order. Adapters are
built lazily (so an SDK is only imported when its provider is used), kept per process, and
dropped when settings change (tests) through :func:`reset`.
"""

from __future__ import annotations

import importlib
import logging
import threading

from django.conf import settings

from .base import (
    NotConfigured,
    Outgoing,
    Provider,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    RecipientRejected,
    SendResult,
)

logger = logging.getLogger(__name__)

#: channel -> provider name -> "module:factory" (each module imports its SDK, nothing else does).
PROVIDER_FACTORIES: dict[str, dict[str, str]] = {
    "email": {
        "file": "notifications.providers.console:build_file",
        "console": "notifications.providers.console:build",
        "smtp": "notifications.providers.smtp:build",
        "sendgrid": "notifications.providers.sendgrid:build",
        "ses": "notifications.providers.ses:build",
    },
    "sms": {"twilio": "notifications.providers.twilio:build"},
    "push": {"fcm": "notifications.providers.fcm:build"},
}

_lock = threading.Lock()
_built: dict[tuple[str, str], Provider] = {}


def _factory(channel: str, name: str):
    path = PROVIDER_FACTORIES.get(channel, {}).get(name)
    if path is None:
        known = ", ".join(PROVIDER_FACTORIES.get(channel, {})) or "none"
        raise NotConfigured(f"unknown {channel} provider {name!r} (known: {known})")
    module_name, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def get_provider(channel: str, name: str) -> Provider:
    """The adapter for ``name`` on ``channel``; raises NotConfigured with the reason."""
    key = (channel, name)
    with _lock:
        provider = _built.get(key)
        if provider is None:
            provider = _factory(channel, name)()
            _built[key] = provider
        return provider


def provider_names(channel: str) -> list[str]:
    return list(settings.NOTIFICATIONS_PROVIDERS.get(channel, []))


def channel_providers(channel: str) -> tuple[list[Provider], list[str]]:
    """The usable providers of a channel in failover order, and why the others are not usable."""
    providers: list[Provider] = []
    problems: list[str] = []
    for name in provider_names(channel):
        try:
            providers.append(get_provider(channel, name))
        except NotConfigured as exc:
            problems.append(f"{name}: {exc}")
        except Exception as exc:  # a broken setting must not take the worker down
            logger.exception("could not set up %s provider %s", channel, name)
            problems.append(f"{name}: {exc.__class__.__name__}: {exc}")
    return providers, problems


def unavailable_reason(channel: str) -> str | None:
    """Why ``channel`` cannot send at all (None when at least one provider is set up)."""
    names = provider_names(channel)
    if not names:
        return f"no {channel} provider is configured"
    providers, problems = channel_providers(channel)
    if providers:
        return None
    return f"no {channel} provider is usable ({'; '.join(problems)})"


def reset(**_kwargs) -> None:
    """Close and forget every adapter (settings changed, or a test wants fresh clients)."""
    with _lock:
        built = list(_built.values())
        _built.clear()
    for provider in built:
        try:
            provider.close()
        except Exception:
            logger.warning("could not close provider %s", provider.name, exc_info=True)


__all__ = [
    "NotConfigured",
    "Outgoing",
    "Provider",
    "ProviderError",
    "ProviderUnavailable",
    "RateLimited",
    "RecipientRejected",
    "SendResult",
    "channel_providers",
    "get_provider",
    "provider_names",
    "reset",
    "unavailable_reason",
]
