"""Fixtures of the notifications tests: isolated limits and marks, and the providers' loopback
fakes (real SDKs pointed at 127.0.0.1), plus a real SMTP server."""

from __future__ import annotations

import json
import uuid

import pytest

from notifications import providers
from notifications.services import ratelimit
from tests.fakes.fcm import FakeFCM
from tests.fakes.sendgrid import API_KEY as SENDGRID_KEY
from tests.fakes.sendgrid import FakeSendGrid
from tests.fakes.ses import REGION, FakeSES
from tests.fakes.smtp import FakeSMTPServer
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio


@pytest.fixture(autouse=True)
def _notification_settings(settings):
    """Console email only, no limits, no quiet hours, and a fresh Redis key prefix per test (so
    rate-limit windows and provider marks never leak between tests or parallel runs)."""
    settings.SITE_URL = "http://testserver"
    settings.NOTIFICATIONS_PUBLIC_URL = "http://testserver"
    settings.NOTIFICATIONS_REDIS_PREFIX = f"test-notifications:{uuid.uuid4().hex}"
    settings.NOTIFICATIONS_PROVIDERS = {"email": ["console"], "sms": [], "push": []}
    settings.NOTIFICATIONS_RATE_LIMITS_SPEC = ""
    settings.NOTIFICATIONS_QUIET_HOURS_CHANNELS = []
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 30.0
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 6
    settings.NOTIFICATIONS_PROVIDER_TIMEOUT = 5.0
    ratelimit.reset_local_windows()
    yield
    providers.reset()


def _channels(settings, **changes):
    settings.NOTIFICATIONS_PROVIDERS = {**settings.NOTIFICATIONS_PROVIDERS, **changes}


@pytest.fixture
def smtp_server(settings):
    with FakeSMTPServer() as server:
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        _channels(settings, email=["smtp"])
        yield server
        providers.reset()


@pytest.fixture
def twilio_fake(settings):
    with FakeTwilio() as fake:
        settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
        settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
        settings.TWILIO_FROM_NUMBER = FROM_NUMBER
        settings.TWILIO_MESSAGING_SERVICE_SID = ""
        settings.TWILIO_API_BASE_URL = fake.url
        _channels(settings, sms=["twilio"])
        yield fake
        providers.reset()


@pytest.fixture
def sendgrid_fake(settings):
    with FakeSendGrid() as fake:
        settings.SENDGRID_API_KEY = SENDGRID_KEY
        settings.SENDGRID_API_BASE_URL = fake.url
        _channels(settings, email=["sendgrid"])
        yield fake
        providers.reset()


@pytest.fixture
def fcm_fake(settings):
    with FakeFCM() as fake:
        settings.FCM_SERVICE_ACCOUNT_JSON = json.dumps(fake.service_account())
        settings.FCM_SERVICE_ACCOUNT_FILE = ""
        settings.FCM_PROJECT_ID = ""
        settings.FCM_API_BASE_URL = fake.url
        _channels(settings, push=["fcm"])
        yield fake
        providers.reset()


@pytest.fixture
def ses_fake(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFORTESTS")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-for-tests")
    with FakeSES() as fake:
        settings.AMAZON_SES_REGION = REGION
        settings.AMAZON_SES_ENDPOINT_URL = fake.url
        _channels(settings, email=["ses"])
        yield fake
        providers.reset()
