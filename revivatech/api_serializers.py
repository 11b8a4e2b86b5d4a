"""Serializers every app's API shares: strict JSON request bodies and the one error shape.

Request bodies use :class:`StrictInputSerializer` and the ``Strict*`` fields: unknown fields and
values of the wrong JSON type are errors instead of being ignored or coerced.
:class:`ErrorSerializer` documents the error body of every endpoint (revivatech/api_errors.py
shapes it); drf-spectacular names its component ``Error`` (revivatech/api_schema.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

# --- strict input --------------------------------------------------------------------------------


def json_type_name(value: Any) -> str:
    """How a decoded JSON value is called in an error message ("a string", "null"...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


class StrictCharField(serializers.CharField):
    """Text that must arrive as a JSON string (DRF would turn ``123`` into ``"123"``)."""

    default_error_messages = {"wrong_type": "Must be a string, not {type}."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("wrong_type", type=json_type_name(data))
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A whole number that must arrive as a JSON integer (not ``"8900"``, ``89.5`` or ``true``)."""

    default_error_messages = {"wrong_type": "Must be a whole number, not {type}."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("wrong_type", type=json_type_name(data))
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """``true`` or ``false``; DRF would also accept ``"yes"``, ``0``, ``"off"``..."""

    default_error_messages = {"wrong_type": "Must be true or false, not {type}."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("wrong_type", type=json_type_name(data))
        return data


class StrictChoiceField(serializers.ChoiceField):
    """One of a fixed set of strings; the error lists the accepted values."""

    default_error_messages = {"wrong_type": "Must be a string, not {type}."}

    def __init__(self, choices: Any, **kwargs: Any) -> None:
        super().__init__(choices, **kwargs)
        accepted = ", ".join(str(key) for key in self.choices)
        self.error_messages["invalid_choice"] = (
            f'"{{input}}" is not a valid choice. Choose one of: {accepted}.'
        )

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("wrong_type", type=json_type_name(data))
        return super().to_internal_value(data)


class StrictInputSerializer(serializers.Serializer):
    """A request body: fields the endpoint does not accept are rejected by name."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            accepted = sorted(name for name, field in self.fields.items() if not field.read_only)
            unknown = sorted(str(name) for name in data if name not in accepted)
            if unknown:
                listed = ", ".join(f'"{name}"' for name in unknown)
                noun = "field" if len(unknown) == 1 else "fields"
                summary = f"Unknown {noun} {listed}. This endpoint accepts: {', '.join(accepted)}."
                errors: dict[str, list[str]] = {"non_field_errors": [summary]}
                errors.update({name: ["Unknown field."] for name in unknown})
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


# --- responses -----------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """The shape of every API error (see revivatech/api_errors.py)."""

    detail = serializers.CharField(help_text="What went wrong, as a sentence.")
    errors = serializers.DictField(
        # A list of messages per field, or (nested bodies) an object of the same shape per field.
        child=serializers.JSONField(),
        help_text="Messages per request field; empty when the error is not about a field.",
    )
