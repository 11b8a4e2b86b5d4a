"""OpenAPI post-processing: every operation documents the error answers it can give.

The views document their own success and the errors particular to them; this drf-spectacular
post-processing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``) adds, where a view did not,
the errors every operation of its kind can answer with the API's one error shape
(``{"detail", "errors"}``, see :mod:`revivatech.api_errors`):

- 400 when it reads a body or query parameters (validation), 415 when it reads a body;
- 401 (with a ``WWW-Authenticate: Token`` challenge) and 403 (role, or CSRF with a session) when it
  has authenticators;
- 404 when its path has parameters or it is paginated (an unknown page);
- 429 (with ``Retry-After``) on writes, which the abuse limits throttle.

Found by fuzzing the schema with schemathesis (``tests/security/test_fuzz_api.py``): without it the
schema promised only 200 where the API rightly answered 400/401/403/404.
"""

from __future__ import annotations

from typing import Any

ERROR_COMPONENT = "Error"
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
#: The component drf-spectacular builds from ``revivatech.api_serializers.ErrorSerializer``; used when no
#: view referenced it (so the hook never points at a missing component).
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The shape of every API error (see revivatech/api_errors.py).",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, as a sentence."},
        "errors": {
            "type": "object",
            "additionalProperties": {},
            "description": "Messages per request field; empty when the error is not about a field.",
        },
    },
    "required": ["detail", "errors"],
}

HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
WRITE_METHODS = {"post", "put", "patch", "delete"}

DESCRIPTIONS = {
    "400": "Invalid input: the message says which field and why.",
    "401": "Not signed in, or the token is unknown: send `Authorization: Token <key>`.",
    "403": "Signed in, but your role may not do this (or a session request without its CSRF token).",
    "404": "Nothing here among what you may see (or no such page).",
    "415": "The body is not sent as application/json.",
    "429": "Too many requests: try again after `Retry-After` seconds.",
}


def _error_response(code: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[code],
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if code == "401":
        response["headers"] = {
            "WWW-Authenticate": {"schema": {"type": "string"}, "description": "The challenge: `Token`."}
        }
    if code == "429":
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
        }
    return response


def _has_authenticators(operation: dict[str, Any]) -> bool:
    return any(requirement for requirement in operation.get("security", []))


def error_codes_for(method: str, path: str, operation: dict[str, Any]) -> list[str]:
    """The error status codes an operation can answer with, from its shape."""
    parameters = operation.get("parameters", [])
    query = [p for p in parameters if p.get("in") == "query"]
    codes: list[str] = []
    if "requestBody" in operation or query:
        codes.append("400")
    if _has_authenticators(operation):
        codes += ["401", "403"]
    if "{" in path or any(p.get("name") == "page" for p in query):
        codes.append("404")
    if "requestBody" in operation:
        codes.append("415")
    if method in WRITE_METHODS:
        codes.append("429")
    return codes


def document_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular post-processing hook: add the common error responses to every operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code in error_codes_for(method, path, operation):
                responses.setdefault(code, _error_response(code))
    return result
