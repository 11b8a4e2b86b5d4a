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
        yield chromium
        chromium.close()
