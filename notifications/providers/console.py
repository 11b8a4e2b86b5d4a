"""Development email: Django's console backend prints each message to standard output. Under the
test runner (Django's locmem email backend) messages land in ``django.core.mail.outbox`` instead."""

from __future__ import annotations

import threading
from typing import ClassVar

from django.conf import settings
from django.core.mail import get_connection

from .base import Outgoing, SendResult, django_email, message_id_domain

CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"
LOCMEM_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


class ConsoleEmailProvider:
    name: ClassVar[str] = "console"
    channel: ClassVar[str] = "email"

    def __init__(self, from_email: str, reply_to: str) -> None:
        self.from_email = from_email
        self.reply_to = reply_to
        self._lock = threading.Lock()

    def send(self, message: Outgoing) -> SendResult:
        email = django_email(message, from_email=self.from_email, reply_to=self.reply_to)
        backend = LOCMEM_BACKEND if settings.EMAIL_BACKEND == LOCMEM_BACKEND else CONSOLE_BACKEND
        with self._lock:
            get_connection(backend).send_messages([email])
        return SendResult(f"{message.token}@{message_id_domain(self.from_email)}")

    def close(self) -> None:
        return None


def build() -> ConsoleEmailProvider:
    return ConsoleEmailProvider(settings.NOTIFICATIONS_FROM_EMAIL, settings.NOTIFICATIONS_REPLY_TO)
