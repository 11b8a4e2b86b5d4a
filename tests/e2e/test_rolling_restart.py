"""Deploys without downtime (docs/operations.md, "Rolling restart").

Web: with the set behind nginx under a steady load of tracking pages and API reads, 20 live
tracking sockets open and a technician posting customer-visible notes, web1 is restarted (SIGTERM:
uvicorn's graceful shutdown; wait for the exit; start; wait for /readyz), then web2. Not one request
fails (nginx sends what a stopping process refuses to the other one), and every socket, closed by
its process, resumes with ``?since=`` (static/js/live-tracking.js's logic, tests/e2e/live.py) and ends
with every event exactly once, in order.

Workers: SIGTERM to a worker in the middle of a batch is Celery's warm shutdown: it finishes the
tasks in hand, hands back what it had prefetched, and the other worker (or the restarted one) sends
the rest. Every email arrives exactly once.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time

import httpx

from .compose import wait_for
from .live import LiveTicket, Load, catch_up, pause
from .site import CSRF_SECRET, booking_form, new_contact

TICKETS = 4
SOCKETS_PER_TICKET = 5  # 20 sockets
CLIENT = "127.0.0.5"  # this test's own client address (its own booking rate limit)


def _book(stack) -> tuple[str, str]:
    email, _ = new_contact()
    transport = httpx.HTTPTransport(local_address=CLIENT)
    with httpx.Client(
        base_url=stack.url, transport=transport, cookies={"csrftoken": CSRF_SECRET}, timeout=30
    ) as client:
        booked = client.post(
            "/book/",
            data={"csrfmiddlewaretoken": CSRF_SECRET, **booking_form(email)},
            headers={"X-CSRFToken": CSRF_SECRET},
        )
        assert booked.status_code == 302, booked.text[:2000]
        token = re.fullmatch(r"/track/([^/]+)/", booked.headers["location"])[1]
        reference = re.search(r'data-reference="([^"]+)"', client.get(f"/track/{token}/").text)[1]
    return reference, token


async def _post_notes(stack, tickets, api_token: str, stop: asyncio.Event, posted: list, failed: list):
    """A technician's customer-visible notes, round the tickets, about two a second."""
    headers = {"Authorization": f"Token {api_token}"}
    async with httpx.AsyncClient(base_url=stack.url, timeout=30, headers=headers) as client:
        n = 0
        while not stop.is_set():
            reference = tickets[n % len(tickets)][0]
            try:
                answer = await client.post(
                    f"/api/v1/repairs/{reference}/notes/",
                    json={"text": f"Rolling restart note {n}", "visible_to_customer": True},
                )
                (posted if answer.status_code == 201 else failed).append((reference, answer.status_code))
            except httpx.HTTPError as error:
                failed.append((reference, repr(error)))
            n += 1
            await pause(stop, 0.5)


def test_a_rolling_restart_of_the_web_processes_drops_nothing(stack):
    tickets = [_book(stack) for _ in range(TICKETS)]
    technician = stack.manage(
        "assign_technician", reference=tickets[0][0], also=[reference for reference, _ in tickets[1:]]
    )
    base_ws = stack.url.replace("http://", "ws://")
    restarts: dict[str, dict[str, float]] = {}

    async def scenario():
        stop_sockets, stop_load = asyncio.Event(), asyncio.Event()
        sockets = [
            LiveTicket(base_ws, stack.url, reference, token)
            for reference, token in tickets
            for _ in range(SOCKETS_PER_TICKET)
        ]
        socket_tasks = [asyncio.create_task(s.run(stop_sockets)) for s in sockets]
        await asyncio.wait_for(asyncio.gather(*(s.live.wait() for s in sockets)), 60)
        load = Load(
            stack.url,
            pages=[f"/track/{token}/" for _, token in tickets],
            api_paths=[f"/api/v1/repairs/{reference}/" for reference, _ in tickets],
            api_token=technician["token"],
        )
        posted, post_failed = [], []
        load_task = asyncio.create_task(load.run(stop_load))
        notes_task = asyncio.create_task(
            _post_notes(stack, tickets, technician["token"], stop_load, posted, post_failed)
        )
        await asyncio.sleep(3)
        for name in stack.web_instances:  # one at a time: the other serves meanwhile
            restarts[name] = await asyncio.to_thread(stack.restart_web, name)
            await asyncio.sleep(2)
        await asyncio.sleep(2)
        stop_load.set()
        await asyncio.gather(load_task, notes_task)

        # every socket catches up with everything posted (from the database, on resume)
        truth = {}
        for reference, token in tickets:
            first = min(s.first_seq for s in sockets if s.reference == reference)
            truth[reference] = await catch_up(base_ws, stack.url, reference, token, first)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(s.applied != truth[s.reference] for s in sockets):
            await asyncio.sleep(0.2)
        stop_sockets.set()
        await asyncio.gather(*(s.close() for s in sockets))
        await asyncio.wait_for(asyncio.gather(*socket_tasks, return_exceptions=True), 30)
        return sockets, load, posted, post_failed, truth

    sockets, load, posted, post_failed, truth = asyncio.run(asyncio.wait_for(scenario(), 150))

    resumed = sum(1 for s in sockets if s.connects >= 2)
    figures = {
        "requests_sent": load.sent,
        "requests_failed": len(load.failed),
        "p95_ms": round(sorted(load.latencies)[int(len(load.latencies) * 0.95) - 1] * 1000, 1),
        "notes_posted": len(posted),
        "notes_failed": len(post_failed),
        "sockets": len(sockets),
        "sockets_resumed": resumed,
        "reconnects": sum(s.connects - 1 for s in sockets),
        "duplicates": sum(s.duplicates for s in sockets),
        "restart_seconds": {name: round(r["total"], 1) for name, r in restarts.items()},
        "graceful_stop_seconds": {name: round(r["stop_seconds"], 1) for name, r in restarts.items()},
    }
    print(f"rolling restart: {figures}")
    assert load.failed == [], load.failed[:20]
    assert post_failed == [], post_failed
    assert len(posted) >= 10  # the load really ran through both restarts
    for reference, _ in tickets:
        assert len(truth[reference]) >= sum(1 for r, _ in posted if r == reference)
    for s in sockets:
        assert s.applied == truth[s.reference], (s.reference, s.applied, truth[s.reference], s.close_codes)
        assert s.duplicates == 0
        # each socket was closed by each restart of the process holding it: all resumed at least once
        assert s.connects >= 2, (s.reference, s.close_codes)
    # both processes really were restarted and served again afterwards
    for name in stack.web_instances:
        assert stack.processes[name].running


def test_a_worker_stopped_mid_batch_finishes_its_tasks_and_the_rest_are_sent_once(stack, fakes):
    emails = 300
    queued = stack.manage("queue_emails", count=emails)
    tokens = set(queued["tokens"])

    def received() -> int:
        return sum(n for token, n in fakes.smtp.receipts().items() if token in tokens)

    wait_for(lambda: received() >= 20, timeout=120, what="the first emails", stack=stack, interval=0.01)
    worker = stack.worker_instances[0]
    process = stack.processes[worker]
    at_signal = received()
    assert at_signal < emails, "the batch finished before the SIGTERM: nothing was tested"
    started = time.monotonic()
    stopping = threading.Thread(target=process.terminate, kwargs={"timeout": 60})
    stopping.start()
    stopping.join(90)
    stop_seconds = time.monotonic() - started
    assert process.process.returncode == 0, process.output()  # a warm shutdown, not a kill

    drained = stack.manage("wait_drained", run_timeout=200, ids=queued["ids"], timeout=150)
    assert drained["drained"], f"{drained}\n{stack.logs()}"
    stack.restart_worker(worker)  # the set as it was (compose's restart)
    receipts = fakes.smtp.receipts()
    assert {token: receipts[token] for token in tokens} == dict.fromkeys(tokens, 1)
    rows = stack.manage("messages", ids=queued["ids"])["messages"]
    assert {row["status"] for row in rows} == {"sent"}  # none dead-lettered "outcome unknown"
    print(
        f"worker warm shutdown: {stop_seconds:.1f} s; {at_signal}/{emails} received at the SIGTERM, "
        f"all {emails} delivered exactly once"
    )
