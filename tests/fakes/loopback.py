"""The plumbing the notification providers' HTTP fakes share: a threaded HTTP/1.1 server on
127.0.0.1 (keep-alive, so SDK connection pools behave as against the real API), a script of
failures to play next, an optional per-request delay, and a thread-safe log of what arrived.

A fake subclasses :class:`LoopbackHTTPFake` and implements :meth:`respond`, answering in its
provider's wire format. ``fail_next("500", "429")`` makes the next two sends fail that way;
``set_mode("500")`` makes every send fail until ``set_mode("ok")``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, **headers: str) -> Reply:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json", **headers})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() does not wait for a slow handler (delay) to finish
    allow_reuse_address = True
    request_queue_size = 128


class LoopbackHTTPFake:
    """Base of the HTTP fakes: start/stop, failure script, request log."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.requests: list[Request] = []
        self._script: deque[str] = deque()
        self._mode = "ok"
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without TCP_NODELAY, Nagle plus the client's
            # delayed ACK add 40 ms to every keep-alive response on loopback.
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                with fake.lock:
                    fake.requests.append(request)
                if fake.delay:
                    time.sleep(fake.delay)
                try:
                    reply = fake.respond(request)
                except Exception as exc:  # a bug in the fake shows as a 500 the test will notice
                    reply = Reply.json(500, {"fake_error": repr(exc)})
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args: Any) -> None:
                return None

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name=type(self).__name__
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LoopbackHTTPFake:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- failure script ---

    def fail_next(self, *modes: str) -> None:
        with self.lock:
            self._script.extend(modes)

    def set_mode(self, mode: str) -> None:
        with self.lock:
            self._script.clear()
            self._mode = mode

    def next_mode(self) -> str:
        with self.lock:
            return self._script.popleft() if self._script else self._mode

    def respond(self, request: Request) -> Reply:
        raise NotImplementedError
