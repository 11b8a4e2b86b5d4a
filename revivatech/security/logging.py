"""Personal data and secrets masked out of log output.

Two entry points over the same masking rules:

* :class:`PIIMaskingFilter`, a ``logging.Filter`` installed on every stdlib handler by
  :func:`with_pii_filter` (``LOGGING`` in settings);
* :func:`mask_pii_processor`, a structlog processor for the structured-logging pipeline.

Masked: email addresses, phone numbers (international ``+…`` or national ``0…``), card-like numbers
(13–19 digits passing the Luhn check), tracking/unsubscribe/signed tokens in URLs and ``token=``
query strings, ``Authorization`` headers, passwords and secrets (``password=…``, ``"secret": …``),
provider keys (``sk_live_…``, ``whsec_…``, PaymentIntent client secrets). Fields whose *name* says
they hold such data (``email``, ``phone``, ``password``, ``token``, ``authorization`` …) are
masked whatever their value looks like.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

MASK = "***"

_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@[\w-]+(?:\.[\w-]+)+")
# International (+44 …) or national (0…) numbers: 9 to 15 digits with spaces, dots, dashes, brackets.
_PHONE = re.compile(r"(?<![\w+])(?:\+|00|0)\d(?:[\s().-]{0,2}\d){7,14}(?!\w)")
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
_URL_TOKEN = re.compile(
    r"(/(?:track|notifications/unsubscribe|notifications/c|notifications/o|invoices)/)([^/\s?#\"']{6,})"
)
_QUERY_SECRET = re.compile(
    r"([?&;](?:token|access_token|key|api_key|signature|sig|code|secret|password|client_secret)=)[^&\s#\"']+",
    re.IGNORECASE,
)
_AUTH_HEADER = re.compile(
    r"((?:authorization|proxy-authorization|x-api-key|cookie|set-cookie)[\"']?\s*[:=]\s*[\"']?)"
    r"(?:(?:bearer|token|basic)\s+)?[^\s\"',}]+",
    re.IGNORECASE,
)
_AUTH_SCHEME = re.compile(r"\b(Token|Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_KEY_VALUE_SECRET = re.compile(
    r"((?:password|passwd|passcode|pin|secret|api_key|apikey|client_secret|private_key|sessionid|csrftoken)"
    r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',}&]+",
    re.IGNORECASE,
)
#: Phones and cards need at least seven digits close together.
_HAS_DIGIT_RUN = re.compile(r"\d(?:[\s().-]{0,2}\d){6}")
_PROVIDER_SECRET = re.compile(
    r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{6,}|\bwhsec_[A-Za-z0-9]{6,}|\bpi_[A-Za-z0-9]+_secret_[A-Za-z0-9]+"
)

#: Field names whose values are masked whole (compared lower-case, ``-`` read as ``_``).
SENSITIVE_KEYS = frozenset(
    {
        "email",
        "phone",
        "phone_number",
        "mobile",
        "password",
        "passcode",
        "device_passcode",
        "token",
        "tracking_token",
        "access_token",
        "refresh_token",
        "authorization",
        "http_authorization",
        "cookie",
        "http_cookie",
        "secret",
        "client_secret",
        "api_key",
        "card_number",
        "address",
        "first_name",
        "last_name",
        "full_name",
        "name_on_card",
    }
)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if len(digits) < 13 or not _luhn_ok(digits):
        return match.group(0)
    return f"{MASK}{digits[-4:]}"


def mask_text(text: str) -> str:
    """``text`` with every personal detail or secret the rules recognise replaced by ``***``."""
    if not text:
        return text
    # Cheap substring checks first: most log lines skip most patterns.
    if "_" in text:
        text = _PROVIDER_SECRET.sub(MASK, text)
    if ":" in text or "=" in text:
        text = _AUTH_HEADER.sub(lambda m: m.group(1) + MASK, text)
        text = _KEY_VALUE_SECRET.sub(lambda m: m.group(1) + MASK, text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {MASK}", text)
    if "=" in text:
        text = _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, text)
    if "/" in text:
        text = _URL_TOKEN.sub(lambda m: m.group(1) + MASK, text)
    if "@" in text:
        text = _EMAIL.sub(lambda m: f"{m.group(1)}{MASK}@{MASK}", text)
    if _HAS_DIGIT_RUN.search(text):
        text = _CARD.sub(_mask_card, text)
        text = _PHONE.sub(MASK, text)
    return text


def _is_sensitive_key(key: Any) -> bool:
    return isinstance(key, str) and key.lower().replace("-", "_") in SENSITIVE_KEYS


def mask_value(value: Any, depth: int = 0) -> Any:
    """Strings masked; dicts, lists and tuples walked (sensitive keys masked whole)."""
    if depth > 6:
        return value
    if isinstance(value, MaskedText):
        return value  # masked already (by another handler's filter): keep its original
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {
            key: (MASK if _is_sensitive_key(key) and item not in (None, "") else mask_value(item, depth + 1))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_value(item, depth + 1) for item in value]
    if isinstance(value, tuple):
        return tuple(mask_value(item, depth + 1) for item in value)
    return mask_object(value)


#: Values whose text never holds personal data; anything else is checked through its text.
_PLAIN_TYPES = (bool, int, float, type(None))


class MaskedText(str):
    """The masked text of an object: what any formatter or renderer prints. ``original`` keeps the
    object for code that reads its attributes rather than printing it (the request id of a
    ``django.request`` line)."""

    original: Any = None


def mask_object(value: Any) -> Any:
    """Any other object (Django's ``request`` on ``django.request`` and CSRF records, a model
    instance …): renderers and formatters print its ``str``/``repr``, so when either holds
    something the rules mask, the object is replaced by its masked text; otherwise kept as is."""
    if isinstance(value, _PLAIN_TYPES):
        return value
    for show in (str, repr):
        try:
            text = show(value)
        except Exception:  # noqa: S112 - a broken __str__ must not lose the line: the renderer copes
            continue
        masked = mask_text(text)
        if masked != text:
            result = MaskedText(masked)
            result.original = value
            return result
    return value


#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_exception_formatter = logging.Formatter()


class PIIMaskingFilter(logging.Filter):
    """Masks the message, its arguments, ``extra=`` fields and the traceback text of each record.

    Install it on handlers (a logger's filters do not see records propagated from child loggers).
    It never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self._mask(record)
        except Exception:  # masking must never lose a log line
            record.msg, record.args = "[log message withheld: masking failed]", None
        return True

    def _mask(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, Mapping):  # structlog's ProcessorFormatter passes the event dict
            record.msg = mask_value(dict(record.msg))
        else:
            record.msg = mask_text(record.getMessage())
            record.args = None
        for name, value in list(vars(record).items()):
            if name in _RECORD_ATTRIBUTES or name.startswith("_"):
                continue
            if _is_sensitive_key(name) and isinstance(value, (str, int)):
                setattr(record, name, MASK)
            else:
                setattr(record, name, mask_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = _exception_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)


def mask_pii_processor(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the same masking over every field of the event dict (place it after
    ``format_exc_info`` so tracebacks are masked too, and before the renderer)."""
    return mask_value(event_dict)


def with_pii_filter(logging_config: dict[str, Any]) -> dict[str, Any]:
    """``LOGGING`` with :class:`PIIMaskingFilter` declared and attached to every handler."""
    config = dict(logging_config)
    filters = dict(config.get("filters", {}))
    filters.setdefault("pii_mask", {"()": "revivatech.security.logging.PIIMaskingFilter"})
    config["filters"] = filters
    handlers = {}
    for name, handler in config.get("handlers", {}).items():
        handler = dict(handler)
        attached = list(handler.get("filters", []))
        if "pii_mask" not in attached:
            attached.insert(0, "pii_mask")
        handler["filters"] = attached
        handlers[name] = handler
    config["handlers"] = handlers
    return config
