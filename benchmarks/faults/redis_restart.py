"""Fault 2: restart Redis (channel layer, Celery broker, cache) while sockets are open and messages
are queued.

N websocket clients follow repair rooms with the tracking token, exactly as static/js/live-tracking.js
does: ``?since=<last applied seq>`` on every (re)connect, backoff with equal jitter (0.5 s doubling,
reset by a snapshot), an event with ``seq <= lastSeq`` dropped. Staff fire status updates through
the API at a steady rate; half of the tickets get updates only until the outage ends ("quiet"
tickets: their last event is one that was published while Redis was down). Mid-run the private
Redis gets ``SHUTDOWN NOSAVE`` (everything queued in it is gone) and is started again 3 s later.

Counted: lost = a customer-visible event (the ticket's log in PostgreSQL is the truth) missing on
any client once the run settles; duplicated = an event applied twice by a client's app code (raw
duplicate frames, dropped by the client's ``seq`` check as designed, are reported separately);
recovery = Redis back -> every client holds every event committed up to then.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field

from .data import customer_visible_seqs, staff_token, tickets_in_repair
from .harness import ReadyzPoller, Result, Site

OUTAGE_SECONDS = 3.0
BEFORE_SECONDS = 3.0
AFTER_SECONDS = 4.0
RATE = 20.0  # status updates per second, all tickets together


@dataclass
class Follower:
    """One browser tab following one repair, as live-tracking.js does."""

    reference: str
    token: str
    last_seq: int
    applied: dict[int, float] = field(default_factory=dict)  # seq -> wall time applied
    app_duplicates: int = 0
    frames_dropped: int = 0
    connects: int = 0
    failed_connects: int = 0
    stopped: bool = False

    def receive(self, raw: str) -> None:
        message = json.loads(raw)
        if message.get("type") == "event":
            seq = message["seq"]
            if seq <= self.last_seq:
                self.frames_dropped += 1  # the client's own dedupe
                return
            if seq in self.applied:
                self.app_duplicates += 1
            self.applied[seq] = time.time()
            self.last_seq = seq
        elif message.get("type") == "snapshot":
            self.last_seq = max(self.last_seq, message["ticket"]["last_seq"])

    async def follow(self, port: int) -> None:
        from websockets.asyncio.client import connect

        attempt = 0
        while not self.stopped:
            url = (
                f"ws://127.0.0.1:{port}/ws/repairs/{self.reference}/?since={self.last_seq}&token={self.token}"
            )
            try:
                async with connect(url, origin=f"http://127.0.0.1:{port}", open_timeout=10) as ws:
                    self.connects += 1
                    async for raw in ws:
                        if '"snapshot"' in raw:
                            attempt = 0
                        self.receive(raw)
                        if self.stopped:
                            return
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failed_connects += 1
            if self.stopped:
                return
            ceiling = min(30.0, 0.5 * 2**attempt)
            attempt += 1
            await asyncio.sleep(ceiling / 2 + random.random() * ceiling / 2)  # noqa: S311


async def _scenario(site: Site, redis_server, tickets, token: str, clients: int) -> dict:
    import httpx

    followers = [Follower(t.reference, t.tracking_token, t.last_seq) for t in (tickets * clients)[:clients]]
    tasks = [asyncio.create_task(f.follow(site.port)) for f in followers]
    await asyncio.sleep(1.5)  # everyone connected and has its snapshot

    status = {t.reference: t.status for t in tickets}
    refs = list(status)
    quiet = set(refs[: len(refs) // 2])
    codes: dict[int, int] = {}
    service_ok = [0]
    marks: dict[str, float] = {}

    async with httpx.AsyncClient(
        base_url=site.url, headers={"Authorization": f"Token {token}"}, timeout=15
    ) as http:

        async def fire(ref: str, target: str, through_api: bool) -> None:
            if not through_api:  # the service layer, as the admin or a Celery task would
                if await asyncio.to_thread(_transition, ref, target):
                    status[ref] = target
                    service_ok[0] += 1
                return
            try:
                response = await http.post(f"/api/v1/repairs/{ref}/transition/", json={"status": target})
                code = response.status_code
                if code == 200:
                    status[ref] = target
            except httpx.HTTPError:
                code = 0
            codes[code] = codes.get(code, 0) + 1

        async def outage() -> None:
            await asyncio.sleep(BEFORE_SECONDS)
            await asyncio.to_thread(redis_server.shutdown_nosave)
            marks["down"] = time.time()
            await asyncio.sleep(OUTAGE_SECONDS)
            await asyncio.to_thread(redis_server.start)
            marks["up"] = time.time()

        outage_task = asyncio.create_task(outage())
        started = time.time()
        total = BEFORE_SECONDS + OUTAGE_SECONDS + AFTER_SECONDS
        i = 0
        pending: set[asyncio.Task] = set()
        busy: set[str] = set()
        while time.time() - started < total:
            candidates = [r for r in refs if r not in busy and not (r in quiet and "up" in marks)]
            if candidates:
                ref = candidates[i % len(candidates)]
                busy.add(ref)
                target = "awaiting_parts" if status[ref] == "in_repair" else "in_repair"
                task = asyncio.create_task(fire(ref, target, through_api=i % 2 == 1))
                task.add_done_callback(lambda _t, r=ref: busy.discard(r))
                pending.add(task)
                task.add_done_callback(pending.discard)
            i += 1
            await asyncio.sleep(1 / RATE)
        await asyncio.gather(*pending)
        await outage_task

    # settle: every follower must end up with every customer-visible event of its ticket
    expected = {ref: await asyncio.to_thread(customer_visible_seqs, ref) for ref in refs}
    deadline = time.time() + 40

    initial = {t.reference: t.last_seq for t in tickets}

    def missing() -> int:
        return sum(
            len({s for s in expected[f.reference] if s > initial[f.reference]} - set(f.applied))
            for f in followers
        )

    while missing() and time.time() < deadline:
        await asyncio.sleep(0.1)
    for follower in followers:
        follower.stopped = True
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "followers": followers,
        "expected": expected,
        "codes": codes,
        "marks": marks,
        "service_ok": service_ok[0],
    }


def _transition(reference: str, target: str) -> bool:
    from django.contrib.auth import get_user_model
    from django.db import close_old_connections

    from repairs import services
    from repairs.models import RepairTicket

    close_old_connections()
    try:
        staff = get_user_model().objects.get(username="faults-staff")
        services.transition_ticket(RepairTicket.objects.get(reference=reference), target, by=staff)
        return True
    except Exception:
        return False


def run(env: dict[str, str], redis_server, *, clients: int = 50) -> Result:
    token = staff_token()
    tickets = tickets_in_repair(max(2, clients // 2))
    with Site(env) as site, ReadyzPoller(site.url) as readyz:
        outcome = asyncio.run(_scenario(site, redis_server, tickets, token, clients))
    followers, expected, marks = outcome["followers"], outcome["expected"], outcome["marks"]
    initial = {t.reference: t.last_seq for t in tickets}
    lost = 0
    last_needed = 0.0
    committed_by_up = {}
    from repairs.models import TicketEvent

    for ref in expected:
        committed_by_up[ref] = {
            seq
            for seq, created in TicketEvent.objects.filter(
                ticket__reference=ref, customer_visible=True, seq__gt=initial[ref]
            ).values_list("seq", "created_at")
            if created.timestamp() <= marks["up"]
        }
    for follower in followers:
        new = {s for s in expected[follower.reference] if s > initial[follower.reference]}
        lost += len(new - set(follower.applied))
        for seq in committed_by_up[follower.reference]:
            applied_at = follower.applied.get(seq)
            if applied_at is not None:
                last_needed = max(last_needed, applied_at)
    events = sum(len({s for s in expected[r] if s > initial[r]}) for r in expected)
    deliveries = sum(len({s for s in expected[f.reference] if s > initial[f.reference]}) for f in followers)
    duplicated = sum(f.app_duplicates for f in followers)
    recovery = max(0.0, last_needed - marks["up"]) if lost == 0 else None
    codes = outcome["codes"]
    notes = [
        f"{len(followers)} sockets on {len(expected)} tickets; {events} events committed "
        f"({deliveries} socket deliveries expected); updates: {outcome['service_ok']} through the "
        f"service layer, API answers {dict(sorted(codes.items()))}",
        f"reconnects {sum(f.connects for f in followers) - len(followers)}, "
        f"failed connection attempts (retried with backoff) "
        f"{sum(f.failed_connects for f in followers)}, duplicate frames dropped by the client's seq check "
        f"{sum(f.frames_dropped for f in followers)}",
    ]
    down, up = marks["down"], marks["up"]
    mono_offset = time.monotonic() - time.time()
    readyz_text = readyz.summary(down + mono_offset + 0.2, up + mono_offset - 0.1)
    back = readyz.first_ok_after(up + mono_offset)
    readyz_text += (
        f"; 200 again {back - (up + mono_offset):.2f} s after restart" if back else "; never 200 again"
    )
    api_5xx = sum(n for code, n in codes.items() if code >= 500 or code == 0)
    if api_5xx:
        notes.append(f"API: {api_5xx} status updates answered 5xx / no answer during the outage")
    return Result(
        fault="2. Redis restart (sockets + queue)",
        attempted=deliveries,
        lost=lost,
        duplicated=duplicated,
        recovery_s=recovery,
        readyz=readyz_text,
        notes=notes,
        ok=lost == 0 and duplicated == 0 and back is not None,
    )
