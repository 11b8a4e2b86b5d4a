"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for tests and
benchmarks: Django's SMTP backend talks to it exactly as to Gmail or any mail server.

Modes (``fail_next`` / ``set_mode``): ``ok``; ``451`` (temporary refusal of the recipient);
``550`` (the mailbox does not exist); ``data451`` (temporary failure after DATA).
"""

from __future__ import annotations

import email
import logging
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    received_at: float

    @property
    def token(self) -> str:
        return str(self.message.get("X-RevivaTech-Message", ""))

    def part(self, mime_type: str) -> str:
        body = self.message.get_body(preferencelist=(mime_type.split("/")[1],))
        return body.get_content() if body is not None else ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Handler:
    def __init__(self, server: FakeSMTPServer) -> None:
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd hook
        mode = self.server.next_mode()
        if mode == "451":
            return "451 4.3.0 Mailbox temporarily unavailable, try again later"
        if mode == "550":
            return "550 5.1.1 The email account that you tried to reach does not exist"
        if mode == "data451":
            self.server.fail_data_once()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        if self.server.take_data_failure():
            return "451 4.3.0 Temporary local problem, try again"
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.server.keep(Received(envelope.mail_from, list(envelope.rcpt_tos), message, time.time()))
        return "250 2.0.0 Message accepted"


class FakeSMTPServer:
    def __init__(self) -> None:
        self.port = _free_port()
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._script: deque[str] = deque()
        self._mode = "ok"
        self._data_failures = 0
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> FakeSMTPServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> FakeSMTPServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def fail_next(self, *modes: str) -> None:
        with self._lock:
            self._script.extend(modes)

    def set_mode(self, mode: str) -> None:
        with self._lock:
            self._script.clear()
            self._mode = mode

    def next_mode(self) -> str:
        with self._lock:
            return self._script.popleft() if self._script else self._mode

    def fail_data_once(self) -> None:
        with self._lock:
            self._data_failures += 1

    def take_data_failure(self) -> bool:
        with self._lock:
            if self._data_failures:
                self._data_failures -= 1
                return True
            return False

    def keep(self, received: Received) -> None:
        with self._lock:
            self.messages.append(received)

    def receipts(self) -> Counter:
        with self._lock:
            return Counter(m.token for m in self.messages)
