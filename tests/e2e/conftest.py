"""The production set of docker-compose.yml (nginx, web1 + web2, two workers, beat), started once
for this package and stopped after its last test (so a full ``make test`` run does not carry it along).

Needs PostgreSQL and Redis (``DATABASE_URL``/``REDIS_URL``, as CI sets them) and Chromium: the
set gets a fresh database ``<name>_e2e_<random>`` on the same PostgreSQL server and a Redis database
of its own (``E2E_REDIS_DB``, default: REDIS_URL's number + 8), both removed at the end. Locally
without them the suite is skipped; in CI (``CI=true``) it fails instead.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass

import pytest

from tests.browser_support import CHROMIUM
from tests.conftest import in_ci
from tests.fakes import stripe as stripe_fake
from tests.fakes import twilio as twilio_fake
from tests.fakes.fcm import FakeFCM
from tests.fakes.smtp import FakeSMTPServer
from tests.fakes.stripe import FakeStripe
from tests.fakes.twilio import FakeTwilio

from .compose import ComposeStack, StackConfig, nginx_binary

E2E_DIR = os.path.dirname(__file__)

#: Test-speed knobs on top of compose's environment (see docs): the sweeper every 2 s instead of
#: 15 s, 5-second leases so a killed worker's rows come back within the test, no per-provider
#: rate limits or quiet hours (they would make a 200-email batch or an evening run slow, and have
#: their own tests), and the per-IP booking limit small enough for test_multiprocess to reach it
#: from a client address of its own (other tests book from 127.0.0.1 or their own alias).
SPEED_ENV = {
    "NOTIFICATIONS_SWEEP_SECONDS": "2",
    "NOTIFICATIONS_LEASE_SECONDS": "5",
    "NOTIFICATIONS_REENQUEUE_AFTER_SECONDS": "3",
    "NOTIFICATIONS_BATCH_SIZE": "20",
    "NOTIFICATIONS_RATE_LIMITS": "",
    "NOTIFICATIONS_QUIET_HOURS_CHANNELS": "",
    "RATE_LIMIT_BOOKING_IP": "12/minute",
    "RATE_LIMIT_BOOKING_USER": "1000/minute",
}


def _missing() -> str | None:
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return "DATABASE_URL (PostgreSQL)"
    if not os.environ.get("REDIS_URL", "").startswith("redis://"):
        return "REDIS_URL"
    if not CHROMIUM.exists():
        return f"Chromium at {CHROMIUM}"
    if nginx_binary() is None:
        return "nginx (apt-get install -y nginx-light)"
    return None


def pytest_collection_modifyitems(config, items):
    """Mark the suite ``e2e``; without PostgreSQL/Redis/Chromium skip it locally, never in CI."""
    missing = _missing()
    for item in items:
        if not str(item.fspath).startswith(E2E_DIR):
            continue
        item.add_marker(pytest.mark.e2e)
        if missing and not in_ci() and "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.skip(reason=f"the end-to-end suite needs {missing}"))


@dataclass
class Fakes:
    smtp: FakeSMTPServer
    twilio: FakeTwilio
    fcm: FakeFCM
    stripe: FakeStripe
    stripe_webhook_secret: str


def provider_env(fakes: Fakes, static_root: str) -> dict[str, str]:
    """The providers pointed at the loopback fakes (these variables are what a deployment sets
    for its real providers), and STATIC_ROOT for the collectstatic step."""
    return {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(fakes.smtp.port),
        "EMAIL_USE_TLS": "0",
        "EMAIL_USE_SSL": "0",
        "TWILIO_ACCOUNT_SID": twilio_fake.ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": twilio_fake.AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": twilio_fake.FROM_NUMBER,
        "TWILIO_API_BASE_URL": fakes.twilio.url,
        "FCM_SERVICE_ACCOUNT_JSON": json.dumps(fakes.fcm.service_account()),
        "FCM_API_BASE_URL": fakes.fcm.url,
        "STRIPE_SECRET_KEY": stripe_fake.SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": stripe_fake.PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": fakes.stripe_webhook_secret,
        "STRIPE_API_BASE": fakes.stripe.url,
        "STATIC_ROOT": static_root,
    }


@pytest.fixture(scope="package")
def fakes():
    smtp, twilio, fcm, stripe = FakeSMTPServer(), FakeTwilio(), FakeFCM(), FakeStripe()
    started = []
    try:
        for fake in (smtp, twilio, fcm, stripe):
            fake.start()
            started.append(fake)
        yield Fakes(smtp, twilio, fcm, stripe, stripe_webhook_secret=f"whsec_{secrets.token_hex(24)}")
    finally:
        for fake in reversed(started):
            fake.stop()


@pytest.fixture(scope="package")
def stack(fakes, tmp_path_factory):
    """web + worker + beat as docker-compose.yml runs them, on a fresh database."""
    missing = _missing()
    if missing:  # only reached in CI (locally the tests are skipped at collection)
        pytest.fail(f"CI must run the end-to-end suite, but it needs {missing}", pytrace=False)
    static_root = str(tmp_path_factory.mktemp("e2e-static"))
    config = StackConfig(
        database_url=os.environ["DATABASE_URL"],
        redis_url=os.environ["REDIS_URL"],
        extra_env={**provider_env(fakes, static_root), **SPEED_ENV},
        redis_db=int(os.environ["E2E_REDIS_DB"]) if os.environ.get("E2E_REDIS_DB") else None,
    )
    compose = ComposeStack(config)
    try:
        compose.start()
    except BaseException:
        print(compose.logs())
        compose.stop()
        raise
    try:
        yield compose
    finally:
        compose.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed end-to-end test shows the tail of every process's log."""
    outcome = yield
    report = outcome.get_result()
    compose = item.funcargs.get("stack") if hasattr(item, "funcargs") else None
    if report.failed and compose is not None:
        report.sections.append(("compose processes (log tails)", compose.logs(2500)))
