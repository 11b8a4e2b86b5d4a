"""A loopback fake of Sentry's ingest endpoint: the real ``sentry_sdk`` posts envelopes to
``POST /api/<project_id>/envelope/`` (gzip or brotli compressed); the fake decodes each one into
its items (events, transactions, sessions ...) and keeps them for the test to read.

Usage::

    with FakeSentry() as fake:
        init_sentry(fake.dsn)
        ...
        sentry_sdk.flush()
        fake.events()          # the error events that arrived, as dicts
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from .loopback import LoopbackHTTPFake, Reply, Request

PROJECT_ID = "4242"
PUBLIC_KEY = "f" * 32
_ENVELOPE_PATH = re.compile(r"^/api/(?P<project>\d+)/envelope/?(?:\?.*)?$")


@dataclass
class EnvelopeItem:
    project: str
    headers: dict[str, Any]
    payload: bytes

    @property
    def type(self) -> str:
        return self.headers.get("type", "")

    def json(self) -> Any:
        return json.loads(self.payload)


def _decompress(request: Request) -> bytes:
    encoding = request.headers.get("content-encoding", "").lower()
    if encoding == "gzip":
        return gzip.decompress(request.body)
    if encoding == "br":
        import brotli

        return brotli.decompress(request.body)
    return request.body


def parse_envelope(data: bytes) -> tuple[dict[str, Any], list[tuple[dict[str, Any], bytes]]]:
    """Sentry's envelope format: a JSON header line, then per item a JSON header line and a
    payload (``length`` bytes when the header says so, else up to the next newline)."""
    header_line, _, rest = data.partition(b"\n")
    envelope_header = json.loads(header_line or b"{}")
    items = []
    while rest.strip():
        item_header_line, _, rest = rest.partition(b"\n")
        item_header = json.loads(item_header_line)
        length = item_header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length:]
            if rest.startswith(b"\n"):
                rest = rest[1:]
        items.append((item_header, payload))
    return envelope_header, items


class FakeSentry(LoopbackHTTPFake):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.items: list[EnvelopeItem] = []

    @property
    def dsn(self) -> str:
        host_port = self.url.removeprefix("http://")
        return f"http://{PUBLIC_KEY}@{host_port}/{PROJECT_ID}"

    def respond(self, request: Request) -> Reply:
        match = _ENVELOPE_PATH.match(request.path)
        if request.method != "POST" or match is None:
            return Reply.json(404, {"detail": "not found"})
        auth = request.headers.get("x-sentry-auth", "")
        if f"sentry_key={PUBLIC_KEY}" not in auth:
            return Reply.json(401, {"detail": "bad sentry_key"})
        _, items = parse_envelope(_decompress(request))
        with self.lock:
            self.items.extend(EnvelopeItem(match["project"], header, payload) for header, payload in items)
        return Reply.json(200, {"id": uuid.uuid4().hex})

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [item.json() for item in self.items if item.type == "event"]
