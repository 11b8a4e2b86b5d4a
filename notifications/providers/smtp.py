"""Email through any SMTP server (Gmail too) with Django's SMTP backend.

One connection per worker process is kept open between messages; a connection the server has
dropped is reopened once. SMTP reply codes decide what a failure means: 4xx and network errors
are temporary (the next provider takes over, the message is retried), a 5xx refusal of the
recipient is permanent.
"""

from __future__ import annotations

import contextlib
import smtplib
import threading
from typing import ClassVar

from django.conf import settings
from django.core.mail import get_connection

from .base import (
    NotConfigured,
    Outgoing,
    ProviderUnavailable,
    RecipientRejected,
    SendResult,
    django_email,
    message_id_domain,
    short,
)


class SmtpEmailProvider:
    name: ClassVar[str] = "smtp"
    channel: ClassVar[str] = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        password: str,
        use_tls: bool,
        use_ssl: bool,
        timeout: float,
        from_email: str,
        reply_to: str,
    ) -> None:
        self.options = {
            "host": host,
            "port": port,
            "username": username,
            "password": password,
            "use_tls": use_tls,
            "use_ssl": use_ssl,
            "timeout": timeout,
        }
        self.from_email = from_email
        self.reply_to = reply_to
        self._connection = None
        self._lock = threading.Lock()

    def _open(self):
        if self._connection is None:
            connection = get_connection(
                "django.core.mail.backends.smtp.EmailBackend", fail_silently=False, **self.options
            )
            connection.open()
            self._connection = connection
            return connection, True
        return self._connection, False

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # already broken
                connection.close()

    def send(self, message: Outgoing) -> SendResult:
        email = django_email(message, from_email=self.from_email, reply_to=self.reply_to)
        with self._lock:
            for _ in range(2):
                try:
                    connection, fresh = self._open()
                    connection.send_messages([email])
                    break
                except smtplib.SMTPServerDisconnected as exc:
                    # The server dropped an idle connection before it took the message: reopen once.
                    self._drop()
                    if fresh:
                        raise ProviderUnavailable(f"SMTP server disconnected: {short(exc)}") from exc
                except smtplib.SMTPRecipientsRefused as exc:
                    code, reply = next(iter(exc.recipients.values()))
                    if 400 <= code < 500:
                        raise ProviderUnavailable(f"SMTP {code}: {short(reply)}", status=code) from exc
                    raise RecipientRejected(f"SMTP {code}: {short(reply)}", status=code) from exc
                except smtplib.SMTPResponseException as exc:
                    self._drop()
                    text = f"SMTP {exc.smtp_code}: {short(exc.smtp_error)}"
                    ours = isinstance(exc, (smtplib.SMTPAuthenticationError, smtplib.SMTPSenderRefused))
                    if exc.smtp_code >= 500 and not ours:
                        raise RecipientRejected(text, status=exc.smtp_code) from exc
                    raise ProviderUnavailable(text, status=exc.smtp_code) from exc
                except (OSError, smtplib.SMTPException) as exc:
                    self._drop()
                    raise ProviderUnavailable(
                        f"SMTP unreachable: {exc.__class__.__name__}: {short(exc)}"
                    ) from exc
        return SendResult(f"{message.token}@{message_id_domain(self.from_email)}")

    def close(self) -> None:
        with self._lock:
            self._drop()


def build() -> SmtpEmailProvider:
    if not settings.EMAIL_HOST:
        raise NotConfigured("EMAIL_HOST is not set")
    return SmtpEmailProvider(
        host=settings.EMAIL_HOST,
        port=settings.EMAIL_PORT,
        username=settings.EMAIL_HOST_USER,
        password=settings.EMAIL_HOST_PASSWORD,
        use_tls=settings.EMAIL_USE_TLS,
        use_ssl=settings.EMAIL_USE_SSL,
        timeout=settings.NOTIFICATIONS_PROVIDER_TIMEOUT,
        from_email=settings.NOTIFICATIONS_FROM_EMAIL,
        reply_to=settings.NOTIFICATIONS_REPLY_TO,
    )
