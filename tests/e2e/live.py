"""A customer's tracking page and the traffic of a busy shop, as asyncio clients: for the rolling
restart test (tests/e2e/test_rolling_restart.py).

:class:`LiveTicket` follows static/js/live-tracking.js step by step: connect, apply each event whose
``seq`` is newer than the last applied one, take ``last_seq`` from the snapshot, and on a dropped
socket reconnect after ``reconnectDelay(attempt, code)`` (equal jitter, 0.5 s doubling to 30 s; the
attempt count reset by a snapshot; the first reconnect after a server's restart, close code 1012 or
1001, anywhere within 5 s) asking for ``?since=<last applied seq>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
import websockets

BASE_DELAY = 0.5
MAX_DELAY = 30.0


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


RESTART_SPREAD = 5.0
RESTART_CODES = {1001, 1012}


def backoff_delay(attempt: int, rand=random.random) -> float:
    """live-tracking.js's ``backoffDelay``, in seconds."""
    ceiling = min(MAX_DELAY, BASE_DELAY * 2**attempt)
    return ceiling / 2 + rand() * (ceiling / 2)


def reconnect_delay(attempt: int, close_code: int | None, rand=random.random) -> float:
    """live-tracking.js's ``reconnectDelay``, in seconds: a server's restart spreads the first reconnect."""
    if attempt == 0 and close_code in RESTART_CODES:
        return rand() * RESTART_SPREAD
    return backoff_delay(attempt, rand)


@dataclass
class LiveTicket:
    base_ws: str  # ws://host:port
    origin: str
    reference: str
    token: str
    last_seq: int | None = None  # None until the first snapshot (the page's rendered state)
    first_seq: int | None = None
    applied: list[int] = field(default_factory=list)
    received: list[int] = field(default_factory=list)  # every event frame, duplicates included
    connects: int = 0
    drops: int = 0
    close_codes: Counter = field(default_factory=Counter)
    attempt: int = 0
    live: asyncio.Event = field(default_factory=asyncio.Event)
    socket: object = None  # the open connection, if any

    def url(self) -> str:
        params = {"token": self.token}
        if self.last_seq is not None:
            params["since"] = str(self.last_seq)
        return f"{self.base_ws}/ws/repairs/{self.reference}/?{urlencode(params)}"

    def receive(self, frame: dict) -> None:
        if frame.get("type") == "event":
            self.received.append(frame["seq"])
            if self.last_seq is not None and frame["seq"] <= self.last_seq:
                return  # already applied
            self.last_seq = frame["seq"]
            self.applied.append(frame["seq"])
        elif frame.get("type") == "snapshot":
            self.attempt = 0
            self.last_seq = max(self.last_seq or 0, frame["ticket"]["last_seq"])
            if self.first_seq is None:
                self.first_seq = self.last_seq
            self.live.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            close_code = None
            try:
                async with websockets.connect(self.url(), origin=self.origin, open_timeout=20) as socket:
                    self.socket = socket
                    self.connects += 1
                    async for raw in socket:
                        self.receive(json.loads(raw))
                    close_code = socket.close_code
                    self.close_codes[close_code] += 1
            except (TimeoutError, OSError, websockets.exceptions.WebSocketException) as error:
                self.close_codes[type(error).__name__] += 1
            if stop.is_set():
                return
            self.drops += 1
            delay = reconnect_delay(self.attempt, close_code)
            self.attempt += 1
            await pause(stop, delay)

    async def close(self) -> None:
        """The page is closed (``stop`` must be set first, or it reconnects)."""
        if self.socket is not None:
            await self.socket.close()

    @property
    def duplicates(self) -> int:
        return len(self.received) - len(set(self.received))


async def catch_up(base_ws: str, origin: str, reference: str, token: str, since: int) -> list[int]:
    """The events after ``since`` as a fresh socket gets them from the database: the truth."""
    query = urlencode({"token": token, "since": since})
    seqs = []
    async with websockets.connect(
        f"{base_ws}/ws/repairs/{reference}/?{query}", origin=origin, open_timeout=20
    ) as socket:
        async for raw in socket:
            frame = json.loads(raw)
            if frame.get("type") == "event":
                seqs.append(frame["seq"])
            elif frame.get("type") == "snapshot":
                return seqs
    return seqs


@dataclass
class Load:
    """GETs at a steady rate: tracking pages (anonymous) and API reads (a technician's token)."""

    base_url: str
    pages: list[str]
    api_paths: list[str]
    api_token: str
    rate: float = 15.0  # requests per second
    sent: int = 0
    failed: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    async def one(self, client: httpx.AsyncClient, path: str, headers: dict) -> None:
        started = time.monotonic()
        try:
            answer = await client.get(path, headers=headers)
            if answer.status_code != 200:
                self.failed.append(f"{path}: {answer.status_code}")
        except httpx.HTTPError as error:
            self.failed.append(f"{path}: {error!r}")
        self.latencies.append(time.monotonic() - started)

    async def run(self, stop: asyncio.Event) -> None:
        auth = {"Authorization": f"Token {self.api_token}"}
        targets = [(p, {}) for p in self.pages] + [(p, auth) for p in self.api_paths]
        tasks = set()
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=20)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30, limits=limits) as client:
            while not stop.is_set():
                path, headers = targets[self.sent % len(targets)]
                self.sent += 1
                task = asyncio.create_task(self.one(client, path, headers))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                await pause(stop, 1 / self.rate)
            if tasks:
                await asyncio.gather(*tasks)
