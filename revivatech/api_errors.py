"""One JSON error shape for the whole API: ``{"detail": "...", "errors": {...}}``.

``detail`` is a sentence a person can read; ``errors`` keeps DRF's per-field messages.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _first_message(errors) -> str:
    if isinstance(errors, dict):
        for field, value in errors.items():
            message = _first_message(value)
            if field in ("non_field_errors", "detail"):
                return message
            return f"{field}: {message}"
    if isinstance(errors, list) and errors:
        return _first_message(errors[0])
    return str(errors)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        response.data = {"detail": f"Invalid input. {_first_message(errors)}", "errors": errors}
    elif isinstance(data, dict) and "detail" in data:
        response.data = {"detail": str(data["detail"])}
    return response


def json_not_found(request, exception=None):
    return JsonResponse({"detail": f"No API endpoint at {request.path}."}, status=status.HTTP_404_NOT_FOUND)


def json_server_error(request):
    return JsonResponse({"detail": "Internal server error."}, status=500)


__all__ = ["exception_handler", "json_not_found", "json_server_error", "Response"]
