"""One JSON error shape for the whole API: ``{"detail": "...", "errors": {...}}``.

``detail`` is a sentence a person can read; ``errors`` keeps the per-field messages
(``{"field": ["message", ...]}``) and is ``{}`` when the error is not about a field.
Django ``ValidationError`` (raised by the services) becomes a 400 like DRF's own.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

NON_FIELD_KEYS = ("non_field_errors", "__all__", "detail")


def _first_message(errors: Any) -> str:
    """The first message in DRF's error structure, prefixed with its field name."""
    if isinstance(errors, dict):
        for field, value in errors.items():
            message = _first_message(value)
            if field in NON_FIELD_KEYS:
                return message
            return f"{field}: {message}"
        return ""
    if isinstance(errors, list):
        return _first_message(errors[0]) if errors else ""
    return str(errors)


def _django_validation_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {"non_field_errors": exc.messages}


def _supported_media_types(context: dict[str, Any]) -> str:
    view = context.get("view")
    parsers = view.get_parsers() if view is not None and hasattr(view, "get_parsers") else []
    return ", ".join(parser.media_type for parser in parsers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, then reshaped; ``None`` (a 500) only for unexpected exceptions."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_validation_errors(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        message = _first_message(errors).rstrip() or "Check the request."
        response.data = {"detail": f"Invalid input. {message}", "errors": errors}
        return response
    detail = str(data.get("detail", "")) if isinstance(data, dict) else _first_message(data)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        supported = _supported_media_types(context)
        if supported:
            detail = f"{detail} Send the body as {supported}."
    response.data = {"detail": detail or response.status_text, "errors": {}}
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(
        {"detail": f"No API endpoint at {request.path}.", "errors": {}}, status=status.HTTP_404_NOT_FOUND
    )


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {"detail": "Internal server error. The problem has been logged.", "errors": {}},
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


__all__ = ["exception_handler", "json_not_found", "json_server_error"]
