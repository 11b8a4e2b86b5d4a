"""Table-driven access control: every page, API operation, admin view and WebSocket route, for the
six roles (anonymous, customer A, customer B, unassigned technician, assigned technician, staff).

The table is :mod:`tests.security.acl_table`; the world (A's and B's repairs with photos, notes,
checks, invoices, payments, messages, analytics rows) is :mod:`tests.security.acl_fixtures`.
Each test builds the world once and tries every row for every role, then reports every mismatch
at once as a table (route, role, expected, got).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib import admin
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from notifications.models import PushDevice
from repairs.models import RepairTicket
from repairs.presenters import CUSTOMER_PAYLOAD_KEYS
from revivatech.routing import websocket_urlpatterns
from tests.security.acl_fixtures import (
    ANONYMOUS,
    CUSTOMER_A,
    CUSTOMER_B,
    ROLES,
    STAFF,
    TECH_ASSIGNED,
    TECH_UNASSIGNED,
    World,
    build_world,
)
from tests.security.acl_table import (
    ACCEPT,
    ADMIN_GONE,
    ADMIN_LEGACY,
    ADMIN_LOGIN,
    ADMIN_REVIEWED,
    CLOSE,
    LOGIN,
    REDIRECT,
    WS_ROWS,
    Row,
    body_of,
    covered_routes,
    http_rows,
)

# --- helpers -----------------------------------------------------------------------------------------


def outcome(response) -> Any:
    """What a response means, in the table's terms."""
    if response.status_code in (301, 302, 303):
        location = response.headers.get("Location", "")
        if location.startswith(resolve_url(settings.LOGIN_URL)):
            return LOGIN
        if location.startswith("/admin/login/"):
            return ADMIN_LOGIN
        if location.rstrip("/") == "/admin" or location == "/admin/":
            return ADMIN_GONE
        return REDIRECT
    return response.status_code


def request(row: Row, world: World, clients: dict[str, Client], role: str):
    client = clients[role]
    headers = dict(row.headers)
    if row.api:
        headers.update(world.auth_header(role))
    kwargs: dict[str, Any] = {"headers": headers}
    data = body_of(row, world)
    if data is not None:
        kwargs["data"] = data
        if row.api or isinstance(data, list | dict) and row.method != "GET" and not _form(row):
            kwargs["content_type"] = "application/json"
            if not row.api:
                kwargs["data"] = json.dumps(data)
    return getattr(client, row.method.lower())(row.url(world), **kwargs)


def _form(row: Row) -> bool:
    """Pages take form posts; webhooks and the CSP endpoint take JSON."""
    return not ("webhooks" in row.route or row.route.startswith("csp-report") or "events" in row.route)


def _role_order(row: Row) -> list[str]:
    """Unsafe requests: roles that are allowed to change something go last (their change cannot
    then hide another role's refusal)."""
    if row.method in {"GET", "HEAD"}:
        return list(ROLES)
    allowed = [r for r in ROLES if row.expect[r] in {200, 201, 204, REDIRECT}]
    return [r for r in ROLES if r not in allowed] + allowed


def clients_for(world: World) -> dict[str, Client]:
    sessions = {role: world.client(role) for role in ROLES}
    return sessions


def failure_table(failures: list[tuple[str, str, Any, Any]]) -> str:
    lines = [
        f"{len(failures)} access-control mismatches:",
        f"{'route':70} {'role':16} {'expected':>14} {'got':>14}",
    ]
    lines += [f"{name[:70]:70} {role:16} {str(exp):>14} {str(got):>14}" for name, role, exp, got in failures]
    return "\n".join(lines)


def run_rows(rows: list[Row], world: World) -> list[tuple[str, str, Any, Any]]:
    clients = clients_for(world)
    api_clients = {role: Client() for role in ROLES}
    failures = []
    for row in rows:
        for role in _role_order(row):
            response = request(row, world, api_clients if row.api else clients, role)
            got = outcome(response)
            if got != row.expect[role]:
                failures.append((row.name, role, row.expect[role], got))
    return failures


def snapshot(world: World) -> dict[str, Any]:
    """What the unsafe requests must not change (beyond the rows whose owner may change it)."""
    tickets = {}
    for owned in (world.a, world.b):
        ticket = RepairTicket.objects.get(pk=owned.ticket.pk)
        tickets[ticket.reference] = (
            ticket.status,
            ticket.quote_amount,
            ticket.quote_decision,
            ticket.progress_percent,
            ticket.notes.count(),
            ticket.milestones.count(),
            ticket.events.count(),
            ticket.last_event_seq,
        )
    return {"tickets": tickets, "b_push_active": PushDevice.objects.get(pk=world.b.push_device.pk).active}


# --- the table ---------------------------------------------------------------------------------------


@pytest.fixture
def acl_world(db) -> World:
    """The world, built once for the test that asks for it."""
    return build_world()


@pytest.mark.django_db
def test_pages_and_api_by_role(acl_world):
    world = acl_world
    rows = [row for row in http_rows(world) if not row.route.startswith("admin/")]
    before = snapshot(world)
    failures = run_rows(rows, world)
    assert not failures, failure_table(failures)
    after = snapshot(world)
    assert after["tickets"] == before["tickets"], "a refused or invalid write changed a repair"
    assert after["b_push_active"], "B's push device was removed by someone else"


@pytest.mark.django_db
def test_admin_by_role(acl_world):
    world = acl_world
    rows = [row for row in http_rows(world) if row.route.startswith("admin/")]
    before = snapshot(world)
    failures = run_rows(rows, world)
    assert not failures, failure_table(failures)
    assert snapshot(world) == before


@pytest.mark.django_db
def test_unsafe_admin_requests_by_wrong_roles_change_nothing(acl_world):
    """POSTs to the change and delete pages of A's ticket by everyone who may not: refused, and the
    ticket is untouched."""
    world = acl_world
    ticket = world.a.ticket
    before = snapshot(world)
    expected = {
        # role: (delete, change)
        ANONYMOUS: (ADMIN_LOGIN, ADMIN_LOGIN),
        CUSTOMER_A: (ADMIN_LOGIN, ADMIN_LOGIN),
        CUSTOMER_B: (ADMIN_LOGIN, ADMIN_LOGIN),
        TECH_UNASSIGNED: (403, ADMIN_GONE),  # delete is refused before the lookup
        TECH_ASSIGNED: (403, None),  # may change the ticket: not tried here
    }
    failures = []
    for role, (on_delete, on_change) in expected.items():
        client = world.client(role)
        got = outcome(client.post(f"/admin/repairs/repairticket/{ticket.pk}/delete/", {"post": "yes"}))
        if got != on_delete:
            failures.append(("POST admin: delete A's ticket", role, on_delete, got))
        if on_change is not None:
            data = {"problem_description": "changed by a stranger"}
            got = outcome(client.post(f"/admin/repairs/repairticket/{ticket.pk}/change/", data))
            if got != on_change:
                failures.append(("POST admin: change A's ticket", role, on_change, got))
    assert not failures, failure_table(failures)
    assert RepairTicket.objects.get(pk=ticket.pk).problem_description != "changed by a stranger"
    assert snapshot(world)["tickets"] == before["tickets"]


# --- list endpoints return only what the role may see (IDOR) -----------------------------------------


def _api_json(world: World, role: str, url: str) -> Any:
    response = Client().get(url, headers=world.auth_header(role))
    assert response.status_code == 200, (role, url, response.status_code)
    return response.json()


@pytest.mark.django_db
def test_list_endpoints_return_only_own_objects(acl_world):
    world = acl_world
    a_ref, b_ref = world.a.ticket.reference, world.b.ticket.reference
    expected_refs = {
        CUSTOMER_A: {a_ref},
        CUSTOMER_B: {b_ref},
        TECH_UNASSIGNED: set(),
        TECH_ASSIGNED: {a_ref},
        STAFF: {a_ref, b_ref},
    }
    for role, refs in expected_refs.items():
        repairs = {r["reference"] for r in _api_json(world, role, "/api/v1/repairs/")["results"]}
        assert repairs == refs, (role, repairs)
        invoices = _api_json(world, role, "/api/v1/invoices/")["results"]
        invoice_ids = {i["id"] if "id" in i else i.get("public_id") for i in invoices}
        allowed = {world.a.invoice.public_id} if role == CUSTOMER_A else set()
        allowed |= {world.b.invoice.public_id} if role == CUSTOMER_B else set()
        if role == STAFF:
            allowed = {world.a.invoice.public_id, world.b.invoice.public_id}
        assert invoice_ids == allowed, (role, invoice_ids)
    # Customer A filtering by B's reference gets nothing of B's.
    assert _api_json(world, CUSTOMER_A, f"/api/v1/invoices/?repair={b_ref}")["results"] == []
    # Push devices: each customer sees only their own.
    for role, owned in ((CUSTOMER_A, world.a), (CUSTOMER_B, world.b)):
        devices = {d["id"] for d in _api_json(world, role, "/api/v1/notifications/push-tokens/")}
        assert devices == {owned.push_device.pk}, (role, devices)
    # Notes: customers see only notes meant for them.
    notes = {n["id"] for n in _api_json(world, CUSTOMER_A, f"/api/v1/repairs/{a_ref}/notes/")}
    assert world.a.internal_note_id not in notes and world.a.visible_note_id in notes
    events = _api_json(world, CUSTOMER_A, f"/api/v1/repairs/{a_ref}/events/")["events"]
    # Only the notes meant for the customer, presented through the sockets' allow-list.
    assert {e["payload"]["note_id"] for e in events if e["kind"] == "ticket.note_added"} <= notes
    assert all(set(e["payload"]) <= {*CUSTOMER_PAYLOAD_KEYS[e["kind"]], "ticket"} for e in events)


@pytest.mark.django_db
def test_pages_list_only_own_repairs_and_invoices(acl_world):
    world = acl_world
    for role, mine, theirs in ((CUSTOMER_A, world.a, world.b), (CUSTOMER_B, world.b, world.a)):
        client = world.client(role)
        page = client.get("/account/repairs/").content.decode()
        assert mine.ticket.reference in page and theirs.ticket.reference not in page
        assert theirs.ticket.tracking_token not in page
        invoices = client.get("/account/invoices/").content.decode()
        assert theirs.invoice.number not in invoices
    page = world.client(TECH_UNASSIGNED).get("/account/repairs/").content.decode()
    assert world.a.ticket.reference not in page and world.b.ticket.reference not in page


@pytest.mark.django_db
def test_analytics_reports_never_reach_customers_or_technicians(acl_world):
    """Sessions and events linked to A are staff-only: no customer or technician gets them."""
    world = acl_world
    for role in (CUSTOMER_A, CUSTOMER_B, TECH_UNASSIGNED, TECH_ASSIGNED):
        response = Client().get("/api/v1/analytics/sessions/", headers=world.auth_header(role))
        assert response.status_code == 403
        assert str(world.a.session.pk) not in response.content.decode()
    staff_sessions = _api_json(world, STAFF, "/api/v1/analytics/sessions/")["results"]
    assert str(world.a.session.pk) in {s["id"] for s in staff_sessions}


# --- repair photos are never public files --------------------------------------------------------------


@pytest.mark.django_db
def test_photo_files_are_not_served_under_media_url(acl_world):
    """The storage paths (original and every variant) under MEDIA_URL give nothing to anyone:
    photos are only served through the access-checked views."""
    world = acl_world
    names = []
    for owned in (world.a, world.b):
        for photo in (owned.photo, owned.internal_photo):
            names.append(photo.image.name)
            names += [variant["name"] for variant in photo.variants]
    assert names and all(name.startswith("repair-photos/") for name in names)
    for role in ROLES:
        client = world.client(role)
        for name in names:
            for url in (f"{settings.MEDIA_URL}{name}", f"/{name}", f"/static/{name}", f"/var/media/{name}"):
                response = client.get(url)
                assert response.status_code == 404, (role, url, response.status_code)
                assert not response.headers.get("Content-Type", "").startswith("image/"), (role, url)


@pytest.mark.django_db
def test_photo_variants_follow_the_photo_rules(acl_world):
    """Every rendered variant of A's photos: the same answer per role as the photo itself."""
    world = acl_world
    rules = {
        world.a.photo: {ANONYMOUS: LOGIN, CUSTOMER_A: 200, CUSTOMER_B: 404, TECH_UNASSIGNED: 404},
        world.a.internal_photo: {ANONYMOUS: LOGIN, CUSTOMER_A: 404, CUSTOMER_B: 404, TECH_UNASSIGNED: 404},
    }
    failures = []
    for photo, by_role in rules.items():
        by_role = {**by_role, TECH_ASSIGNED: 200, STAFF: 200}
        for variant in photo.variants:
            url = f"/photos/{photo.pk}/{variant['width']}.{variant['format']}"
            for role, want in by_role.items():
                got = outcome(world.client(role).get(url))
                if got != want:
                    failures.append((url, role, want, got))
            # Through B's tracking link: never.
            got = Client().get(
                f"/track/{world.b.ticket.tracking_token}/photos/{photo.pk}/{variant['width']}.{variant['format']}"
            )
            if got.status_code != 404:
                failures.append(("B's link: " + url, ANONYMOUS, 404, got.status_code))
    assert not failures, failure_table(failures)


# --- WebSockets ----------------------------------------------------------------------------------------


async def _ws_outcome(application, path: str, cookie: str | None) -> str:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    if not connected:
        return f"refused-{code}"
    try:
        message = await communicator.receive_output(timeout=1.5)
    except TimeoutError:
        return ACCEPT
    finally:
        await communicator.disconnect()
    if message["type"] == "websocket.close":
        return CLOSE if message.get("code") == 4403 else f"close-{message.get('code')}"
    return ACCEPT


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_websockets_by_role():
    from revivatech.asgi import application

    built = await sync_to_async(build_world)()
    cookies = {}
    for role in ROLES:
        client = await sync_to_async(built.client)(role)
        session = client.cookies.get(settings.SESSION_COOKIE_NAME)
        cookies[role] = f"{settings.SESSION_COOKIE_NAME}={session.value}" if session else None
    failures = []
    for row in WS_ROWS:
        path = row.path(built)
        for role in ROLES:
            got = await _ws_outcome(application, path, cookies[role])
            if got != row.expect[role]:
                failures.append((row.name, role, row.expect[role], got))
    assert not failures, failure_table(failures)


# --- the table covers every route ----------------------------------------------------------------------


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def test_every_url_pattern_is_in_the_table():
    """A route nobody added to the table fails here: add a row to tests/security/acl_table.py with
    what each of the six roles must get."""
    covered = covered_routes()
    missing = sorted(route for route in _walk(get_resolver().url_patterns) if route not in covered)
    assert not missing, "routes missing from tests/security/acl_table.py:\n" + "\n".join(missing)


def test_every_admin_model_is_reviewed():
    """A newly registered ModelAdmin must be reviewed (technician and staff rights) in the table."""
    registered = {m._meta.label_lower for m in admin.site._registry}
    assert not registered - ADMIN_REVIEWED, sorted(registered - ADMIN_REVIEWED)
    assert ADMIN_LEGACY


def test_every_websocket_route_is_in_the_table():
    routes = {str(pattern.pattern) for pattern in websocket_urlpatterns}
    assert routes - {row.route for row in WS_ROWS} == set()


def test_every_api_operation_is_in_the_table():
    """Every operation of the OpenAPI schema has an API row (same route, same method)."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    samples = {
        "reference": "RT-AAAAAA",
        "public_id": "abc123",
        "device_id": "1",
        "pk": "1",
        "id": "1",
        "customer_id": "1",
    }
    rows = {(row.route.replace("/^", "/"), row.method) for row in http_rows() if row.route.startswith("api/")}
    missing = []
    for path, operations in schema["paths"].items():
        concrete = path
        for name, value in samples.items():
            concrete = concrete.replace("{" + name + "}", value)
        route = resolve(concrete).route
        for method in operations:
            if (route, method.upper()) not in rows:
                missing.append(f"{method.upper()} {path}")
    assert not missing, "API operations missing from the table:\n" + "\n".join(sorted(missing))


def table_size() -> tuple[int, int]:
    """(rows, rows × roles) of the whole table, as the README reports it."""
    rows = len(http_rows()) + len(WS_ROWS)
    return rows, rows * len(ROLES)
