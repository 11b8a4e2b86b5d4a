"""A dependency that goes away and comes back: /readyz says 503 while it is away and 200 after,
and requests fail cleanly (503 + Retry-After, never a 500) meanwhile.

The outages are real: PostgreSQL and Redis are reached through a TCP proxy this test starts
(benchmarks/faults/harness.py), which stops listening and cuts its open connections; the shared
services themselves are never touched. The PostgreSQL tests need DATABASE_URL (CI sets it), the
Redis ones REDIS_URL; the handler test at the end runs everywhere.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest
from django.db import OperationalError, connection
from django.test import Client
from rest_framework.authtoken.models import Token

from benchmarks.faults.harness import TcpProxy, free_port
from revivatech.outage import is_outage, unavailable_response
from tests.conftest import in_ci


def _needs_postgres() -> None:
    if connection.vendor != "postgresql":
        if in_ci():
            pytest.fail("CI must run this on PostgreSQL (DATABASE_URL)")
        pytest.skip("a TCP proxy in front of the database needs PostgreSQL; set DATABASE_URL")


@contextmanager
def database_through_proxy():
    """Django's connection goes through a proxy of ours for the duration."""
    settings_dict = connection.settings_dict
    original = (settings_dict["HOST"], settings_dict["PORT"])
    proxy = TcpProxy(free_port(), original[0] or "127.0.0.1", int(original[1] or 5432)).start()
    connection.close()
    settings_dict["HOST"], settings_dict["PORT"] = "127.0.0.1", proxy.port
    try:
        yield proxy
    finally:
        connection.close()
        settings_dict["HOST"], settings_dict["PORT"] = original
        proxy.stop()


def refuse(proxy: TcpProxy) -> None:
    proxy.refuse()
    connection.close()  # the connection the proxy just cut is dropped at the next request anyway


@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_while_postgres_refuses_and_200_once_it_is_back():
    _needs_postgres()
    client = Client()
    with database_through_proxy() as proxy:
        assert client.get("/readyz").status_code == 200
        refuse(proxy)
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.json()["checks"]["database"].startswith("database unavailable")
        proxy.allow()
        back = client.get("/readyz")
        assert back.status_code == 200, back.content
        assert back.json()["checks"]["database"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_requests_during_a_database_outage_answer_503_not_500(ticket, staff_user):
    _needs_postgres()
    token = Token.objects.create(user=staff_user).key
    client = Client(raise_request_exception=False)
    with database_through_proxy() as proxy:
        assert client.get("/api/v1/repairs/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
        refuse(proxy)
        api = client.get("/api/v1/repairs/", HTTP_AUTHORIZATION=f"Token {token}")
        assert api.status_code == 503
        assert api["Retry-After"] == "5"
        assert set(api.json()) == {"detail", "errors"} and "unavailable" in api.json()["detail"]
        page = client.get(f"/track/{ticket.tracking_token}/")
        assert page.status_code == 503
        assert "text/html" in page["Content-Type"] and b"back in a moment" in page.content
        proxy.allow()
        assert client.get(f"/track/{ticket.tracking_token}/").status_code == 200
        assert client.get("/api/v1/repairs/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


@pytest.fixture
def redis_through_proxy(settings):
    """REDIS_URL and the Celery broker (as /readyz reads them) go through a proxy of ours in front
    of the real Redis."""
    if not settings.REDIS_URL:
        if in_ci():
            pytest.fail("CI must set REDIS_URL")
        pytest.skip("needs Redis (REDIS_URL)")
    import redis

    kwargs = redis.connection.parse_url(settings.REDIS_URL)
    proxy = TcpProxy(free_port(), kwargs.get("host", "127.0.0.1"), int(kwargs.get("port", 6379))).start()
    settings.REDIS_URL = f"redis://127.0.0.1:{proxy.port}/{kwargs.get('db', 0)}"
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    yield proxy
    proxy.stop()


@pytest.mark.django_db
def test_readyz_is_503_while_redis_is_unreachable_and_200_once_it_is_back(redis_through_proxy):
    client = Client()
    assert client.get("/readyz").status_code == 200
    redis_through_proxy.refuse()
    down = client.get("/readyz")
    assert down.status_code == 503
    assert down.json()["checks"] == {
        "database": "ok",
        "redis": "redis unavailable: ConnectionError",
        "broker": "broker unavailable: OperationalError",
    }
    redis_through_proxy.allow()
    assert client.get("/readyz").status_code == 200


def _real_sqlite_outage() -> OperationalError:
    """The error Django raises when its database cannot be opened (a real one, from sqlite3)."""
    try:
        try:
            sqlite3.connect("file:/nonexistent-dir/db.sqlite3?mode=rw", uri=True)
        except sqlite3.OperationalError as error:
            raise OperationalError(str(error)) from error
    except OperationalError as wrapped:
        return wrapped
    raise AssertionError("sqlite3 opened a database in a directory that does not exist")


def test_the_outage_answer_is_json_under_the_api_and_a_page_elsewhere(rf):
    error = _real_sqlite_outage()
    assert is_outage(error)
    api = unavailable_response(rf.get("/api/v1/repairs/"), error)
    assert api.status_code == 503 and api["Retry-After"] == "5" and api["Cache-Control"] == "no-store"
    page = unavailable_response(rf.get("/book/"), error)
    assert page.status_code == 503 and b"Error 503" in page.content


def test_other_errors_stay_500s(rf):
    assert unavailable_response(rf.get("/api/v1/repairs/"), ValueError("a bug")) is None
    assert not is_outage(KeyError("x"))
