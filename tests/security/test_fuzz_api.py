"""API fuzzing with schemathesis, inside the test suite (bounded, deterministic).

Every operation of ``/api/schema/`` gets property-based requests generated from its schema
(valid and invalid bodies, query strings, path parameters), sent in-process to Django's WSGI
handler as each role: anonymous, customer, technician (assigned to the customer's repair) and
staff. Each response must pass schemathesis' checks:

- ``not_a_server_error``: no 5xx, ever;
- ``status_code_conformance``: the status is documented for the operation;
- ``content_type_conformance`` and ``response_schema_conformance``: the body is what the schema says.

Path parameters point at the world's real objects half of the time (so writes reach the services
instead of stopping at 404) and stay random the other half. Writes happen inside the test's
transaction and are rolled back. The heavier run against a live server is ``make fuzz``
(``tests/security/run_fuzz.py``).
"""

from __future__ import annotations

import functools
import json
import os
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.acl_fixtures import ANONYMOUS, CUSTOMER_A, STAFF, TECH_ASSIGNED, World, build_world

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: Examples per operation and role: small enough for CI (the whole file stays well under a minute and
#: a half on two cores); ``FUZZ_MAX_EXAMPLES`` raises it locally.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "5"))
ROLES = (ANONYMOUS, CUSTOMER_A, TECH_ASSIGNED, STAFF)


@dataclass
class FuzzReport:
    operations: int = 0
    examples: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


@pytest.fixture
def fuzz_world(db) -> World:
    return build_world()


@pytest.fixture
def wsgi_app(db):
    """Django's WSGI handler in this thread, on the test's transaction: the per-request connection
    clean-up is switched off (as Django's test client does), or it would close the transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    handler = WSGIHandler()

    def app(environ, start_response):
        # Every WSGI server sets the client's address; werkzeug's test environ (schemathesis) does not.
        environ.setdefault("REMOTE_ADDR", "127.0.0.1")
        return handler(environ, start_response)

    try:
        yield app
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _known_values(world: World) -> dict[str, str]:
    return {
        "reference": world.a.ticket.reference,
        "public_id": world.a.invoice.public_id,
        "device_id": str(world.a.push_device.pk),
    }


def _aim(case, known: dict[str, str]) -> None:
    """Half of the cases (chosen by a checksum of the generated values, so runs repeat) get the
    world's real objects as path parameters."""
    params = case.path_parameters or {}
    for name, value in list(params.items()):
        if name in known and zlib.crc32(repr(sorted(params.items())).encode()) % 2 == 0:
            params[name] = known[name]


def _fuzz_operation(operation, report: FuzzReport, role: str, headers: dict, known: dict) -> None:
    """Up to MAX_EXAMPLES generated cases of one operation; every failed check is recorded."""

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases on every run (hypothesis derives them from the test)
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=operation.as_strategy())
    def run(case):
        _aim(case, known)
        report.examples += 1
        response = case.call(headers=headers)
        report.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (AssertionError, BaseExceptionGroup) as failure:  # one failed check, or several
            where = f"{operation.method.upper()} {operation.path} -> {response.status_code}"
            for single in getattr(failure, "exceptions", [failure]):
                title = getattr(single, "title", "") or type(single).__name__
                text = str(single).strip().splitlines()
                report.failures.append(f"{role} {where}: {title}: {text[0] if text else ''}")

    run()


def fuzz(schema, world: World, role: str) -> FuzzReport:
    report = FuzzReport()
    headers = {**world.auth_header(role), "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0"}
    known = _known_values(world)
    for result in schema.get_all_operations():
        report.operations += 1
        _fuzz_operation(result.ok(), report, role, headers, known)
    return report


@functools.cache
def api_schema_document() -> dict:
    """The document ``/api/schema/`` serves (same generator and hooks), built once per run."""
    generator = SchemaGenerator()
    return json.loads(OpenApiJsonRenderer().render(generator.get_schema(request=None, public=True)))


@pytest.mark.parametrize("role", ROLES)
def test_fuzz_every_operation_no_server_error_no_schema_violation(role, fuzz_world, wsgi_app):
    schema = schemathesis.openapi.from_dict(api_schema_document())
    schema.app = wsgi_app  # requests go in-process to Django's WSGI handler
    started = time.monotonic()
    report = fuzz(schema, fuzz_world, role)
    elapsed = time.monotonic() - started
    print(
        f"\nfuzz[{role}]: {report.operations} operations, {report.examples} examples in {elapsed:.1f} s, "
        f"statuses {dict(sorted(report.statuses.items()))}, failures {len(report.failures)}"
    )
    assert report.operations >= 20
    assert report.examples >= report.operations
    server_errors = [f for f in report.failures if " -> 5" in f]
    assert not server_errors, "server errors:\n" + "\n".join(server_errors)
    assert not report.failures, "schema violations:\n" + "\n".join(sorted(set(report.failures)))
