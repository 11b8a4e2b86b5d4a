"""Provider choice from the environment: keys switch providers on, nothing configured still runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
KEYS = ("SENDGRID_API_KEY", "AMAZON_SES_REGION", "EMAIL_HOST", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
        "FCM_SERVICE_ACCOUNT_JSON", "FCM_SERVICE_ACCOUNT_FILE", "NOTIFICATIONS_EMAIL_PROVIDERS",
        "NOTIFICATIONS_SMS_PROVIDERS", "NOTIFICATIONS_PUSH_PROVIDERS")  # fmt: skip


def providers_with(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in KEYS}
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.NOTIFICATIONS_PROVIDERS))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "revivatech.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_provider_selection_from_the_environment():
    assert providers_with() == {"email": ["file"], "sms": [], "push": []}
    assert providers_with(
        SENDGRID_API_KEY="SG.x", EMAIL_HOST="smtp.gmail.com", TWILIO_ACCOUNT_SID="AC1", TWILIO_AUTH_TOKEN="t",
        FCM_SERVICE_ACCOUNT_FILE="/etc/fcm.json",
    ) == {"email": ["sendgrid", "smtp"], "sms": ["twilio"], "push": ["fcm"]}  # fmt: skip
    assert providers_with(NOTIFICATIONS_EMAIL_PROVIDERS="ses,smtp")["email"] == ["ses", "smtp"]
