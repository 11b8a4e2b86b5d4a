"""Validation of tracker batches: the batch as a whole, then each event on its own, so a batch
keeps its valid events and reports the others as ``{"events[3].depth": ["message"]}``.

Hand-written (no serializer per event) because it runs for every event on the hot path: a
50-event batch validates in well under a millisecond.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import Resolver404, resolve

from ..models import EVENT_TYPE_BY_NAME, EventType

MAX_FUTURE_SKEW = timedelta(minutes=1)
CUSTOM_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
VITALS = ("LCP", "INP", "CLS", "FCP", "TTFB")
#: Good / poor thresholds of the Core Web Vitals programme (values above "poor" are poor).
VITAL_THRESHOLDS = {
    "LCP": (2500, 4000),
    "INP": (200, 500),
    "CLS": (0.1, 0.25),
    "FCP": (1800, 3000),
    "TTFB": (800, 1800),
}
MAX_CUSTOM_PROPS = 10
MAX_PATH = 500
BATCH_KEYS = {"v", "sent_at", "events", "device"}
DEVICE_KEYS = {"screen", "tz", "lang", "hw"}
HARDWARE_KEYS = {"cores", "memory", "touch", "dpr"}


class Invalid(Exception):
    """One field's problem."""


#: What no database column takes: PostgreSQL refuses NUL in text and jsonb, and a lone UTF-16
#: surrogate (JSON's "\ud800") cannot be encoded as UTF-8 at all. One such event used to stop
#: every later flush, so it is refused here, per event.
UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "Contains characters that cannot be stored (NUL bytes or lone surrogates)."


def storable(value: str) -> str:
    if UNSTORABLE.search(value):
        raise Invalid(UNSTORABLE_MESSAGE)
    return value


# --- field checkers: each returns the cleaned value or raises Invalid ----------------------------------


def text(max_length: int, *, allow_empty: bool = False) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid("Must be a string.")
        value = storable(value).strip()
        if not value and not allow_empty:
            raise Invalid("Must not be empty.")
        if len(value) > max_length:
            raise Invalid(f"Must be at most {max_length} characters.")
        return value

    return check


def integer(minimum: int, maximum: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise Invalid("Must be a whole number.")
        value = int(value)
        if not minimum <= value <= maximum:
            raise Invalid(f"Must be between {minimum} and {maximum}.")
        return value

    return check


def number(minimum: float, maximum: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise Invalid("Must be a number.")
        if not minimum <= value <= maximum:
            raise Invalid(f"Must be between {minimum:g} and {maximum:g}.")
        return round(float(value), 4)

    return check


def one_of(*choices: Any) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or value not in choices:
            raise Invalid(f"Must be one of: {', '.join(str(c) for c in choices)}.")
        return value

    return check


def referrer_host(value: Any) -> str:
    """Only the host of an external referrer is kept (never its path or query)."""
    url = text(1000, allow_empty=True)(value)
    host = (urlsplit(url).hostname or "") if url else ""
    return host[:100]


def utm(value: Any) -> dict[str, str]:
    """Campaign parameters: the five standard ones are kept, other ``utm_*`` ones (utm_id, …)
    are dropped; anything else is refused (the tracker sends only ``utm_*``)."""
    if not isinstance(value, dict):
        raise Invalid("Must be an object of utm_* parameters.")
    unknown = {str(key) for key in value if not str(key).startswith("utm_")}
    if unknown:
        raise Invalid(
            f"Unknown parameters: {', '.join(sorted(unknown))}; only utm_* parameters are accepted."
        )
    # Cut, not refused: a long campaign name still counts the visit (the column holds 100).
    limit = max(1, min(settings.ANALYTICS_UTM_MAX_LENGTH, 100))
    return {key: text(1000)(item)[:limit] for key, item in value.items() if key in UTM_KEYS}


def custom_props(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid("Must be an object.")
    if len(value) > MAX_CUSTOM_PROPS:
        raise Invalid(f"At most {MAX_CUSTOM_PROPS} properties.")
    cleaned = {}
    for key, item in value.items():
        if not CUSTOM_NAME.match(str(key)):
            raise Invalid(f"Property name {str(key)[:40]!r} must be 1-64 letters, digits or _.:-")
        scalar = (
            item is None or isinstance(item, bool) or isinstance(item, int | float) and math.isfinite(item)
        )
        if not scalar and not (isinstance(item, str) and len(item) <= 100):
            raise Invalid(f"Property {key!r} must be a string (at most 100 characters), number or boolean.")
        if isinstance(item, str) and UNSTORABLE.search(item):
            raise Invalid(f"Property {key!r}: {UNSTORABLE_MESSAGE[0].lower()}{UNSTORABLE_MESSAGE[1:]}")
        cleaned[key] = item
    return cleaned


def custom_name(value: Any) -> str:
    value = text(64)(value)
    if not CUSTOM_NAME.match(value):
        raise Invalid("Must be 1-64 letters, digits or _.:-")
    return value


def source_path(value: Any) -> str:
    """A script URL reduced to its path (hosts and queries of third-party scripts are dropped)."""
    url = text(300, allow_empty=True)(value)
    return urlsplit(url).path[:200] if url else ""


@dataclass(frozen=True)
class Spec:
    required: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    optional: dict[str, Callable[[Any], Any]] = field(default_factory=dict)


COORD = integer(0, 1_000_000)
SELECTOR = text(200)
FORM = text(100)
FIELD = text(100)

SPECS: dict[int, Spec] = {
    EventType.PAGEVIEW: Spec(optional={"ref": referrer_host, "utm": utm, "nav": one_of("load", "history")}),
    EventType.CLICK: Spec(required={"sel": SELECTOR, "x": COORD, "y": COORD}, optional={"text": text(80)}),
    EventType.SCROLL: Spec(required={"depth": one_of(25, 50, 75, 100)}),
    EventType.FORM_START: Spec(required={"form": FORM}),
    EventType.FIELD_FOCUS: Spec(required={"form": FORM, "field": FIELD}),
    EventType.FORM_SUBMIT: Spec(required={"form": FORM}),
    EventType.FORM_ABANDON: Spec(required={"form": FORM}, optional={"field": FIELD}),
    EventType.BOOKING_STARTED: Spec(),
    EventType.BOOKING_COMPLETED: Spec(),
    EventType.QUOTE_APPROVED: Spec(),
    EventType.QUOTE_DECLINED: Spec(),
    EventType.PAYMENT_STARTED: Spec(),
    EventType.PAYMENT_SUCCEEDED: Spec(),
    EventType.PAYMENT_FAILED: Spec(),
    EventType.RAGE_CLICK: Spec(
        required={"sel": SELECTOR, "x": COORD, "y": COORD, "count": integer(3, 1000)},
        optional={"text": text(80)},
    ),
    EventType.DEAD_CLICK: Spec(
        required={"sel": SELECTOR, "x": COORD, "y": COORD}, optional={"text": text(80)}
    ),
    EventType.EXIT_INTENT: Spec(),
    EventType.PAGE_LEAVE: Spec(required={"engaged_ms": integer(0, 86_400_000)}),
    EventType.WEB_VITAL: Spec(required={"name": one_of(*VITALS), "value": number(0, 600_000)}),
    EventType.JS_ERROR: Spec(
        required={"message": text(300)},
        optional={"source": source_path, "line": integer(0, 10_000_000), "col": integer(0, 10_000_000)},
    ),
    EventType.CUSTOM: Spec(required={"name": custom_name}, optional={"props": custom_props}),
}
COMMON_KEYS = {"type", "t", "path"}


def vital_rating(name: str, value: float) -> str:
    good, poor = VITAL_THRESHOLDS[name]
    if value <= good:
        return "good"
    return "needs-improvement" if value <= poor else "poor"


_ROUTE_PARAM = re.compile(r"<(?:[^>:]+:)?([^>]+)>")


def normalise_path(path: str) -> str:
    """The page as the site's route (``/track/{token}/``), so secrets and ids in URLs (tracking
    tokens) are never stored and pages aggregate; unknown paths are kept as sent (truncated)."""
    return route_of(path)[0]


@lru_cache(maxsize=8192)
def route_of(path: str) -> tuple[str, bool]:
    """:func:`normalise_path` and whether the path is a page of the site (it resolves to one of its
    URL patterns). Unknown paths are stored as sent only up to a daily cap (see storage)."""
    path = path.split("?", 1)[0].split("#", 1)[0] or "/"
    try:
        match = resolve(path)
    except Resolver404:
        return path[:200], False
    if not match.args and not match.kwargs:
        return path[:200], True
    if match.route and not match.route.startswith("^"):
        return ("/" + _ROUTE_PARAM.sub(r"{\1}", match.route))[:200], True
    normalised = path
    for name, value in match.kwargs.items():
        normalised = normalised.replace(str(value), "{" + name + "}", 1)
    for value in match.args:
        normalised = normalised.replace(str(value), "{}", 1)
    return normalised[:200], True


@dataclass
class ValidEvent:
    type: int
    occurred_at_ms: int
    path: str
    props: dict[str, Any]
    #: The path is a page of the site (else it counts against the daily cap of unknown paths).
    known_path: bool = True


def _timestamp(value: Any, now_ms: int, skew_ms: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid("Must be a time in milliseconds since 1970 (a number).")
    occurred = int(value) + skew_ms
    if occurred > now_ms + MAX_FUTURE_SKEW.total_seconds() * 1000:
        raise Invalid("Is in the future.")
    max_age_ms = settings.ANALYTICS_MAX_EVENT_AGE_HOURS * 3_600_000
    if occurred < now_ms - max_age_ms:
        raise Invalid(f"Is more than {settings.ANALYTICS_MAX_EVENT_AGE_HOURS} hours old.")
    return occurred


def validate_event(raw: Any, now_ms: int, skew_ms: int) -> tuple[ValidEvent | None, dict[str, list[str]]]:
    """One event: the cleaned event, or ``None`` and its errors per field."""
    if not isinstance(raw, dict):
        return None, {"": ["Each event must be a JSON object."]}
    errors: dict[str, list[str]] = {}
    type_name = raw.get("type")
    event_type = EVENT_TYPE_BY_NAME.get(type_name) if isinstance(type_name, str) else None
    if event_type is None:
        known = ", ".join(EVENT_TYPE_BY_NAME)
        message = "This field is required." if type_name is None else f"Unknown type {str(type_name)[:40]!r}."
        return None, {"type": [f"{message} Known types: {known}."]}
    spec = SPECS[event_type]
    try:
        occurred = _timestamp(raw.get("t"), now_ms, skew_ms)
    except Invalid as exc:
        errors["t"] = [str(exc) if "t" in raw else "This field is required."]
        occurred = 0
    path_value = raw.get("path")
    path, known_path = "", True
    if not isinstance(path_value, str) or not path_value.startswith("/") or len(path_value) > MAX_PATH:
        errors["path"] = [f"Must be the page's path, starting with '/' (at most {MAX_PATH} characters)."]
    elif UNSTORABLE.search(path_value):
        errors["path"] = [UNSTORABLE_MESSAGE]
    else:
        path, known_path = route_of(path_value)
    unknown = set(raw) - COMMON_KEYS - set(spec.required) - set(spec.optional)
    for key in sorted(unknown, key=str):
        errors[str(key)[:40]] = [f"Unknown field for a {type_name} event."]
    props: dict[str, Any] = {}
    for key, check in spec.required.items():
        if key not in raw:
            errors[key] = ["This field is required."]
            continue
        try:
            props[key] = check(raw[key])
        except Invalid as exc:
            errors[key] = [str(exc)]
    for key, check in spec.optional.items():
        if key in raw and raw[key] is not None:
            try:
                props[key] = check(raw[key])
            except Invalid as exc:
                errors[key] = [str(exc)]
    if errors:
        return None, errors
    if event_type == EventType.WEB_VITAL:
        if props["name"] == "CLS" and props["value"] > 100:
            return None, {"value": ["CLS must be between 0 and 100."]}
        props["rating"] = vital_rating(props["name"], props["value"])
    if event_type == EventType.PAGEVIEW and not props.get("ref"):
        props.pop("ref", None)
    return ValidEvent(event_type, occurred, path, props, known_path), {}


def device_signals(value: Any) -> dict[str, Any]:
    """Richer signals sent with consent: screen, time zone, language, hardware hints."""
    if not isinstance(value, dict):
        raise Invalid("Must be an object.")
    unknown = set(value) - DEVICE_KEYS
    if unknown:
        raise Invalid(f"Unknown keys: {', '.join(sorted(map(str, unknown)))}; allowed: screen, tz, lang, hw.")
    signals: dict[str, Any] = {}
    if "screen" in value:
        screen = text(20)(value["screen"])
        if not re.fullmatch(r"\d{1,5}x\d{1,5}", screen):
            raise Invalid("screen must look like 1920x1080.")
        signals["screen"] = screen
    if "tz" in value:
        signals["tz"] = text(64, allow_empty=True)(value["tz"])
    if "lang" in value:
        signals["lang"] = text(35, allow_empty=True)(value["lang"])
    if "hw" in value:
        hardware = value["hw"]
        if not isinstance(hardware, dict) or set(hardware) - HARDWARE_KEYS:
            raise Invalid("hw must be an object with cores, memory, touch, dpr.")
        signals["hw"] = {key: number(0, 1024)(item) for key, item in hardware.items()}
    return signals


@dataclass
class ValidatedBatch:
    events: list[ValidEvent]
    errors: dict[str, list[str]]
    rejected: int
    device: dict[str, Any] | None


class BatchError(Exception):
    """The batch as a whole is unusable (status 400 or 413)."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.status = status


def validate_batch(body: Any, now: datetime) -> ValidatedBatch:
    """Validate a decoded batch; raise :class:`BatchError` if it is unusable as a whole."""
    if not isinstance(body, dict):
        raise BatchError(
            "The body must be a JSON object with an 'events' list.", {"": ["Expected an object."]}
        )
    unknown = set(body) - BATCH_KEYS
    if unknown:
        names = ", ".join(sorted(str(k)[:40] for k in unknown))
        raise BatchError(f"Unknown fields: {names}.", {str(k)[:40]: ["Unknown field."] for k in unknown})
    events = body.get("events")
    if not isinstance(events, list) or not events:
        raise BatchError(
            "'events' must be a non-empty list of events.", {"events": ["Must be a non-empty list."]}
        )
    limit = settings.ANALYTICS_MAX_BATCH_EVENTS
    if len(events) > limit:
        raise BatchError(
            f"Too many events in one batch: {len(events)}; send at most {limit} per request.",
            {"events": [f"At most {limit} events per request."]},
            status=413,
        )
    now_ms = int(now.timestamp() * 1000)
    skew_ms = 0
    sent_at = body.get("sent_at")
    if sent_at is not None:
        if isinstance(sent_at, bool) or not isinstance(sent_at, int | float) or not math.isfinite(sent_at):
            raise BatchError(
                "'sent_at' must be the client's time in milliseconds.", {"sent_at": ["Must be a number."]}
            )
        skew_ms = now_ms - int(sent_at)  # corrects every event for the client's clock
    device = None
    if body.get("device") is not None:
        try:
            device = device_signals(body["device"])
        except Invalid as exc:
            raise BatchError(f"device: {exc}", {"device": [str(exc)]}) from None
    valid: list[ValidEvent] = []
    errors: dict[str, list[str]] = {}
    for index, raw in enumerate(events):
        event, event_errors = validate_event(raw, now_ms, skew_ms)
        if event is not None:
            valid.append(event)
            continue
        for name, messages in event_errors.items():
            errors[f"events[{index}]" + (f".{name}" if name else "")] = messages
    return ValidatedBatch(events=valid, errors=errors, rejected=len(events) - len(valid), device=device)
