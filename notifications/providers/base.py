"""The small interface every provider adapter implements, and the errors they raise.

An adapter turns an :class:`Outgoing` message into one SDK call (with an explicit timeout) and
maps whatever the SDK raises onto three errors the delivery worker understands:

* :class:`ProviderUnavailable`: the provider is down or refused us (5xx, timeout, connection
  refused, bad credentials). The next provider of the channel takes over; the message is retried.
* :class:`RateLimited`: the provider said 429. The message is deferred, not failed.
* :class:`RecipientRejected`: this recipient can never get it (invalid number, unregistered push
  token, hard-rejected address). No retry, no failover.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import ClassVar, Protocol

from django.core.mail import EmailMultiAlternatives


@dataclass(frozen=True)
class Outgoing:
    """Everything a provider needs to send one message (already rendered)."""

    token: str
    channel: str
    recipient: str
    kind: str
    subject: str = ""
    body_text: str = ""
    body_html: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    #: Push: string key/values delivered to the app; ``link`` opens on click.
    data: dict[str, str] = field(default_factory=dict)
    link: str = ""
    push_token_kind: str = "registration_token"
    #: SMS: where the provider reports delivery (signed by the provider).
    status_callback_url: str = ""


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str


class ProviderError(Exception):
    """A send that did not go through; ``str(error)`` says why in one line."""

    def __init__(self, message: str, *, status: int | None = None, code: str | int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ProviderUnavailable(ProviderError):
    """Down or refusing us: fail over to the next provider, retry later."""


class RateLimited(ProviderError):
    """The provider asked us to slow down (HTTP 429)."""

    def __init__(self, message: str, *, retry_after: float = 1.0, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(0.0, retry_after)


class RecipientRejected(ProviderError):
    """This recipient cannot get the message; ``deactivate_device`` for dead push tokens."""

    def __init__(self, message: str, *, deactivate_device: bool = False, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.deactivate_device = deactivate_device


class NotConfigured(Exception):
    """The provider lacks its settings; the message says which."""


class Provider(Protocol):
    name: ClassVar[str]
    channel: ClassVar[str]

    def send(self, message: Outgoing) -> SendResult: ...

    def close(self) -> None: ...


def short(text: object, limit: int = 300) -> str:
    """One line of at most ``limit`` characters (provider errors can be whole HTML pages)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def message_id_domain(from_email: str) -> str:
    address = parseaddr(from_email)[1]
    return address.rsplit("@", 1)[1] if "@" in address else "localhost"


def django_email(message: Outgoing, *, from_email: str, reply_to: str = "") -> EmailMultiAlternatives:
    """The message as a Django email (plain text + HTML), with a Message-ID made from our token so
    every copy of one outbox row carries the same id."""
    headers = {"Message-ID": f"<{message.token}@{message_id_domain(from_email)}>", **message.headers}
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=from_email,
        to=[message.recipient],
        reply_to=[reply_to] if reply_to else None,
        headers=headers,
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    return email
