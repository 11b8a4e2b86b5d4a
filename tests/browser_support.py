"""Real-browser tests: the ASGI app served by uvicorn on 127.0.0.1, driven by Debian's Chromium
through Playwright (never Playwright's own browser download).

Loaded as a pytest plugin (``-p tests.browser_support`` in pyproject.toml), so every test module
can use the ``live_asgi_url`` and ``browser`` fixtures; tests marked ``browser`` are skipped
locally when Chromium is missing and run (failing loudly) in CI."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(config, items):
    """Without Chromium, browser tests are skipped locally; in CI they run (and fail loudly)."""
    if CHROMIUM.exists() or _in_ci():
        return
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} not installed (apt-get install chromium)"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerThread(threading.Thread):
    """uvicorn serving the full ASGI app (HTTP + WebSockets) in this process, so it shares the
    test database and the channel layer with the test."""

    def __init__(self, app, port: int):
        super().__init__(daemon=True)
        import uvicorn

        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", ws="websockets-sansio"
            )
        )

    def run(self) -> None:
        self.server.run()

    def stop(self) -> None:
        self.server.should_exit = True
        self.join(timeout=10)


@pytest.fixture
def live_asgi_url(transactional_db, settings):
    """Base URL of the running site (static files served from the finders, as in development)."""
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    from django.core.handlers.asgi import ASGIHandler
    from django.db import connections
    from django.db.backends.signals import connection_created

    # The previous live server's teardown terminates the database's other backends, which may
    # include this thread's idle connection: start the test on a fresh one (reconnects on use).
    connection_created.connect(_wait_on_shared_cache_locks)
    connections.close_all()

    from revivatech.asgi import build_application

    port = _free_port()
    server = ServerThread(build_application(ASGIHandler()), port)
    server.start()
    deadline = time.monotonic() + 10
    while not server.server.started:
        if time.monotonic() > deadline or not server.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.stop()
    _close_server_thread_connections()
    connection_created.disconnect(_wait_on_shared_cache_locks)


#: How long a statement waits for another connection's lock: the site's SQLite ``timeout``.
SQLITE_LOCK_WAIT_SECONDS = 20.0


def _retry_while_locked(execute, sql, params, many, context):
    """Run the statement, retrying while another connection of the shared cache holds a lock."""
    from django.db import OperationalError

    deadline = time.monotonic() + SQLITE_LOCK_WAIT_SECONDS
    while True:
        try:
            return execute(sql, params, many, context)
        except OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _wait_on_shared_cache_locks(sender, connection, **kwargs) -> None:
    """The test database on SQLite is in memory with a shared cache, where a statement that meets
    another connection's lock fails at once ("database table is locked"): the busy timeout the
    site's file database waits with does not apply there. The live server's requests and the
    test run on several connections at once (a booking while a beacon is stored), so each waits
    as it would on the site's file database."""
    wrappers = connection.execute_wrappers
    if connection.vendor == "sqlite" and connection.is_in_memory_db() and _retry_while_locked not in wrappers:
        wrappers.append(_retry_while_locked)


def _close_server_thread_connections() -> None:
    """The server answered from worker threads whose database connections outlive it; on
    PostgreSQL they would keep the test database from being flushed and dropped."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in the test's thread; the test still makes plain
    # ORM calls (fixtures, services) there, which Django would otherwise refuse.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True
        )
        from django.db import connections

        # The test's ORM calls run under Playwright's loop, with a connection of that context,
        # which an earlier live server's teardown may have terminated: start from a fresh one.
        connections.close_all()
        yield chromium
        # ORM calls made while Playwright's loop runs use a connection of that context; close it
        # here (same context), or the live server's teardown kills it and the next browser test
        # finds it dead ("terminating connection due to administrator command" on PostgreSQL).
        from django.db import connections

        connections.close_all()
        chromium.close()


# --- the customer's side: a filled-in shop, the default messages, a real mailbox ----------------

#: Viewports the customer pages are tried at: a phone (touch) and a desktop.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


@pytest.fixture
def shop_profile(transactional_db):
    """The shop's one profile, filled in as staff would (the browser tests flush the row the
    migration made)."""
    from repairs.models import ShopProfile

    profile = ShopProfile.load()
    profile.name = "RevivaTech Brighton"
    profile.address = "12 Market Street\nBrighton\nBN1 1AA"
    profile.phone = "+44 1273 960 123"
    profile.email = "repairs@revivatech.example"
    profile.vat_number = "GB 123 4567 89"
    for day in ("mon", "tue", "wed", "thu", "fri"):
        setattr(profile, f"hours_{day}", "09:00-17:30")
    profile.hours_sat = "10:00-16:00"
    profile.save()
    return profile


@pytest.fixture
def default_messages(transactional_db):
    """The seeded message templates and automation rules (booking confirmed, quote ready…), as
    the migrations make them: transactional tests flush the rows the migrations wrote."""
    import importlib

    from django.apps import apps

    for name, function in (
        ("0002_default_templates_and_rules", "seed"),
        ("0004_booking_confirmed_shop_details", "update"),
        ("0005_ready_by_in_emails", "add_ready_by"),
    ):
        migration = importlib.import_module(f"notifications.migrations.{name}")
        getattr(migration, function)(apps, None)


@pytest.fixture
def mailbox(settings, live_asgi_url):
    """A real SMTP server (aiosmtpd) that the site's email goes to; links in emails point at the
    live server. ``mailbox.wait(n)`` delivers due messages and waits for ``n`` to arrive."""
    from notifications import providers
    from notifications.services import delivery
    from tests.fakes.smtp import FakeSMTPServer

    with FakeSMTPServer() as server:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.NOTIFICATIONS_PROVIDERS = {"email": ["smtp"], "sms": [], "push": []}
        settings.NOTIFICATIONS_RATE_LIMITS_SPEC = ""
        settings.NOTIFICATIONS_QUIET_HOURS_CHANNELS = []
        settings.SITE_URL = settings.NOTIFICATIONS_PUBLIC_URL = live_asgi_url
        providers.reset()

        def wait(count: int = 1, timeout: float = 15.0):
            from django.db import close_old_connections

            deadline = time.monotonic() + timeout
            while len(server.messages) < count:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{len(server.messages)} of {count} emails arrived in {timeout} s")
                close_old_connections()
                delivery.drain(max_seconds=2)
                time.sleep(0.1)
            return list(server.messages)

        server.wait = wait
        yield server
        providers.reset()


def run_outside_playwrights_loop(work) -> None:
    """Service calls publish with async_to_sync, which refuses a thread that runs an event loop
    (Playwright's sync API keeps one in the test's thread): make them from another thread."""
    errors = []

    def target():
        try:
            work()
        except Exception as exc:  # re-raised in the test
            errors.append(exc)
        finally:
            from django.db import connection

            connection.close()

    worker = threading.Thread(target=target)
    worker.start()
    worker.join(timeout=30)
    if errors:
        raise errors[0]
