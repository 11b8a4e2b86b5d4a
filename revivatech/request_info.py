"""Who sent a request: the client IP, trusting ``X-Forwarded-For`` only from the proxies named in
``ANALYTICS_TRUSTED_PROXIES``. Project plumbing (rate limits, request logs) and the apps (analytics'
visitor hash and country) all read it here, so they agree on who the client is."""

from __future__ import annotations

import ipaddress
import logging
from functools import lru_cache
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)


@lru_cache(maxsize=32)
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            logger.warning("ANALYTICS_TRUSTED_PROXIES: %r is not an IP address or network; ignored", entry)
    return tuple(networks)


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def client_ip(meta: dict[str, Any]) -> str:
    """REMOTE_ADDR; behind trusted proxies (ANALYTICS_TRUSTED_PROXIES), the first hop of
    X-Forwarded-For, read from the right, that is not itself a trusted proxy."""
    remote = str(meta.get("REMOTE_ADDR") or "")
    trusted = _networks(tuple(settings.ANALYTICS_TRUSTED_PROXIES))
    if not trusted:
        return remote

    def is_trusted(address) -> bool:
        return address is not None and any(address in network for network in trusted)

    if not is_trusted(_parse_ip(remote)):
        return remote
    hops = [hop.strip() for hop in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _parse_ip(hop)
        if address is None:  # a forged or garbled entry: stop trusting the chain here
            break
        if not is_trusted(address):
            return str(address)
    return remote
