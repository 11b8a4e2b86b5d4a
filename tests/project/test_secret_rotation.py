"""Rotating DJANGO_SECRET_KEY logs nobody out and breaks no link already sent: the old key, listed in
DJANGO_SECRET_KEY_FALLBACKS, still verifies what it signed while the new key signs."""

from __future__ import annotations

import os
import subprocess
import sys

from django.core import signing

from revivatech.settings.base import BASE_DIR


def test_a_value_signed_with_the_old_key_still_verifies_after_rotation(settings):
    settings.SECRET_KEY = "old-" + "k" * 50
    settings.SECRET_KEY_FALLBACKS = []
    token = signing.dumps({"customer": 7}, salt="preferences")

    settings.SECRET_KEY = "new-" + "k" * 50
    settings.SECRET_KEY_FALLBACKS = ["old-" + "k" * 50]
    assert signing.loads(token, salt="preferences") == {"customer": 7}

    settings.SECRET_KEY_FALLBACKS = []  # after the fallback is dropped, the old signature is refused
    try:
        signing.loads(token, salt="preferences")
    except signing.BadSignature:
        pass
    else:
        raise AssertionError("a value signed with a dropped key still verified")


def test_fallbacks_are_read_from_the_environment():
    env = {**os.environ, "DJANGO_SECRET_KEY_FALLBACKS": "first-old-key, second-old-key"}
    code = "from django.conf import settings; print(settings.SECRET_KEY_FALLBACKS)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "revivatech.settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "['first-old-key', 'second-old-key']"
