"""Development email through Django's own backends, no account needed:

- ``file`` (the embedded default): Django's file backend writes each message, one ``.log`` file
  per message, to ``EMAIL_FILE_PATH`` (``var/mail/`` by default), so a first ``make run`` stays
  readable and the messages can still be read (``ls -t var/mail | head``);
- ``console``: Django's console backend prints each message to standard output.

Under the test runner (Django's locmem email backend) both land in ``django.core.mail.outbox``.
"""

from __future__ import annotations

import threading
from typing import ClassVar

from django.conf import settings
from django.core.mail import get_connection

from .base import Outgoing, SendResult, django_email, message_id_domain

CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"
FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
LOCMEM_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


class ConsoleEmailProvider:
    name: ClassVar[str] = "console"
    channel: ClassVar[str] = "email"
    backend: ClassVar[str] = CONSOLE_BACKEND

    def __init__(self, from_email: str, reply_to: str) -> None:
        self.from_email = from_email
        self.reply_to = reply_to
        self._lock = threading.Lock()

    def _connection(self):
        if settings.EMAIL_BACKEND == LOCMEM_BACKEND:
            return get_connection(LOCMEM_BACKEND)
        if self.backend == FILE_BACKEND:
            return get_connection(FILE_BACKEND, file_path=str(settings.EMAIL_FILE_PATH))
        return get_connection(self.backend)

    def send(self, message: Outgoing) -> SendResult:
        email = django_email(message, from_email=self.from_email, reply_to=self.reply_to)
        with self._lock:
            self._connection().send_messages([email])
        return SendResult(f"{message.token}@{message_id_domain(self.from_email)}")

    def close(self) -> None:
        return None


class FileEmailProvider(ConsoleEmailProvider):
    name: ClassVar[str] = "file"
    backend: ClassVar[str] = FILE_BACKEND


def build() -> ConsoleEmailProvider:
    return ConsoleEmailProvider(settings.NOTIFICATIONS_FROM_EMAIL, settings.NOTIFICATIONS_REPLY_TO)


def build_file() -> FileEmailProvider:
    return FileEmailProvider(settings.NOTIFICATIONS_FROM_EMAIL, settings.NOTIFICATIONS_REPLY_TO)
