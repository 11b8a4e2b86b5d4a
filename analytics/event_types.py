"""The tracked event types: the vocabulary of the tracker, the storage and every part that reads
events (kept out of ``analytics/models.py`` so that the parts' models modules can use it without
importing the module that registers them)."""

from __future__ import annotations

from django.db import models


class EventType(models.IntegerChoices):
    """Stored as a small integer; the tracker and the API use the names."""

    PAGEVIEW = 1, "pageview"
    CLICK = 2, "click"
    SCROLL = 3, "scroll"
    FORM_START = 4, "form_start"
    FIELD_FOCUS = 5, "field_focus"
    FORM_SUBMIT = 6, "form_submit"
    FORM_ABANDON = 7, "form_abandon"
    BOOKING_STARTED = 8, "booking_started"
    BOOKING_COMPLETED = 9, "booking_completed"
    QUOTE_APPROVED = 10, "quote_approved"
    QUOTE_DECLINED = 11, "quote_declined"
    PAYMENT_STARTED = 12, "payment_started"
    PAYMENT_SUCCEEDED = 13, "payment_succeeded"
    PAYMENT_FAILED = 14, "payment_failed"
    RAGE_CLICK = 15, "rage_click"
    DEAD_CLICK = 16, "dead_click"
    EXIT_INTENT = 17, "exit_intent"
    PAGE_LEAVE = 18, "page_leave"
    WEB_VITAL = 19, "web_vital"
    JS_ERROR = 20, "js_error"
    CUSTOM = 21, "custom"


EVENT_TYPE_BY_NAME: dict[str, int] = {label: value for value, label in EventType.choices}
EVENT_NAME_BY_TYPE: dict[int, str] = {value: label for value, label in EventType.choices}


EVENT_TYPE_BY_NAME: dict[str, int] = {label: value for value, label in EventType.choices}
EVENT_NAME_BY_TYPE: dict[int, str] = {value: label for value, label in EventType.choices}
