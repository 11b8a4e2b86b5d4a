"""The request id: accepted from ``X-Request-ID`` when well-formed, generated otherwise, and kept
in structlog's context variables so every log line, task and socket event can carry it."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid

import structlog

REQUEST_ID_HEADER = "X-Request-ID"
#: What an incoming id may look like: a UUID, a proxy's hex id, a trace id ... Nothing that could
#: break a log line or a header (no spaces, quotes, control characters), at most 128 characters.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{7,127}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def valid_request_id(value: str | None) -> bool:
    return bool(value) and _REQUEST_ID.fullmatch(value) is not None


def accept_request_id(value: str | None) -> str:
    """The incoming id when it is well-formed, a fresh one otherwise."""
    return value if valid_request_id(value) else new_request_id()


def current_request_id() -> str | None:
    """The request id bound to this context (a request, a task it queued, a socket), if any."""
    return structlog.contextvars.get_contextvars().get("request_id")


def hashed_ip(ip: str, secret: str) -> str:
    """A keyed hash of a client IP: lines of one client correlate, the address is not stored."""
    if not ip:
        return ""
    return hmac.new(secret.encode(), ip.encode(), hashlib.sha256).hexdigest()[:16]
