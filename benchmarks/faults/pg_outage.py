"""Fault 3: PostgreSQL refuses connections for 5 s.

The site reaches PostgreSQL only through a TCP proxy of ours (127.0.0.1:15440 -> 5432) and keeps
its connections in psycopg's pool (``DATABASE_POOL_MAX_SIZE=8``; Django checks a pooled connection
before handing it out), as a production ASGI deployment should. Clients keep booking repairs (the
real form, CSRF and all), sending analytics event batches, reading the API and the tracking page;
mid-run the proxy stops listening and cuts every open connection (the site's pooled ones too) for
5 s, then listens again.

Counted: lost = a booking answered with its tracking page (302) whose ticket does not exist
afterwards; duplicated = a booking stored twice; 500s (must be 0: an outage answers 503 with
Retry-After); recovery = proxy back -> from then on every request succeeds.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid

from .data import staff_token, tickets_in_repair
from .harness import PG_HOST, PG_PORT, PG_PROXY_PORT, ReadyzPoller, Result, Site, TcpProxy, database_url

BEFORE_SECONDS = 3.0
OUTAGE_SECONDS = 5.0
AFTER_SECONDS = 5.0
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


async def _clients(site: Site, proxy: TcpProxy, api_token: str, track_token: str) -> dict:
    import httpx

    log: list[tuple[float, str, int]] = []  # (time, endpoint, status)
    booked: list[tuple[str, str]] = []  # (email, tracking token) answered 302
    marks: dict[str, float] = {}
    stop = asyncio.Event()

    def record(endpoint: str, status: int) -> None:
        log.append((time.monotonic(), endpoint, status))

    async def booker(n: int) -> None:
        async with httpx.AsyncClient(base_url=site.url, timeout=15) as http:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    page = await http.get("/book/")
                    record("GET /book/", page.status_code)
                    found = CSRF_FIELD.search(page.text)
                    if page.status_code != 200 or not found:
                        await asyncio.sleep(0.2)
                        continue
                    email = f"faults-{uuid.uuid4().hex[:10]}@example.com"
                    response = await http.post(
                        "/book/",
                        data={
                            "csrfmiddlewaretoken": found.group(1),
                            "name": f"Fault Booker {n}-{i}",
                            "email": email,
                            "phone": "07700 900123",
                            "preferred_contact": "email",
                            "kind": "phone",
                            "brand": "Fault",
                            "model": "PG",
                            "condition_on_intake": "Scratched",
                            "problem_description": "[faults] booked during a database outage run",
                        },
                        headers={"Referer": f"{site.url}/book/"},
                    )
                    record("POST /book/", response.status_code)
                    if response.status_code == 302 and "/track/" in response.headers.get("location", ""):
                        booked.append((email, response.headers["location"].split("/track/")[1].strip("/")))
                except httpx.HTTPError:
                    record("POST /book/", 0)
                await asyncio.sleep(0.05)

    async def poster() -> None:
        async with httpx.AsyncClient(base_url=site.url, timeout=15) as http:
            while not stop.is_set():
                now_ms = int(time.time() * 1000)
                batch = [{"type": "pageview", "t": now_ms - k, "path": "/book/"} for k in range(10)]
                try:
                    response = await http.post(
                        "/api/v1/events/",
                        json={"sent_at": now_ms, "events": batch},
                        headers={"Content-Type": "text/plain"},
                    )
                    record("POST /api/v1/events/", response.status_code)
                except httpx.HTTPError:
                    record("POST /api/v1/events/", 0)
                await asyncio.sleep(0.05)

    async def reader(path: str, headers: dict[str, str]) -> None:
        async with httpx.AsyncClient(base_url=site.url, timeout=15, headers=headers) as http:
            while not stop.is_set():
                try:
                    response = await http.get(path)
                    record(f"GET {path.split('?')[0][:24]}", response.status_code)
                except httpx.HTTPError:
                    record(f"GET {path[:24]}", 0)
                await asyncio.sleep(0.05)

    async def outage() -> None:
        await asyncio.sleep(BEFORE_SECONDS)
        marks["down"] = time.monotonic()
        await asyncio.to_thread(proxy.refuse)
        await asyncio.sleep(OUTAGE_SECONDS)
        await asyncio.to_thread(proxy.allow)
        marks["up"] = time.monotonic()
        await asyncio.sleep(AFTER_SECONDS)
        stop.set()

    await asyncio.gather(
        outage(),
        *(booker(n) for n in range(3)),
        poster(),
        reader("/api/v1/repairs/", {"Authorization": f"Token {api_token}"}),
        reader(f"/track/{track_token}/", {}),
    )
    return {"log": log, "booked": booked, "marks": marks}


def run(env: dict[str, str]) -> Result:
    from repairs.models import RepairTicket

    api_token = staff_token()
    track_token = tickets_in_repair(1)[0].tracking_token
    proxy = TcpProxy(PG_PROXY_PORT, PG_HOST, PG_PORT).start()
    site_env = {
        **env,
        "DATABASE_URL": database_url(port=PG_PROXY_PORT),
        "DATABASE_POOL_MAX_SIZE": "8",
        "DATABASE_POOL_TIMEOUT": "2",
    }
    try:
        with Site(site_env) as site, ReadyzPoller(site.url) as readyz:
            outcome = asyncio.run(_clients(site, proxy, api_token, track_token))
    finally:
        proxy.stop()
    log, booked, marks = outcome["log"], outcome["booked"], outcome["marks"]
    down, up = marks["down"], marks["up"]
    by_status: dict[int, int] = {}
    for _, _, status in log:
        by_status[status] = by_status.get(status, 0) + 1
    during = [s for t, _, s in log if down <= t <= up]
    failures_after = [t for t, _, s in log if t > up and not 200 <= s < 400]
    recovery = (max(failures_after) - up) if failures_after else 0.0
    five_hundreds = by_status.get(500, 0)
    emails = [email for email, _ in booked]
    stored = dict(
        RepairTicket.objects.filter(customer__email__in=emails).values_list(
            "tracking_token", "customer__email"
        )
    )
    lost = sum(1 for _, token in booked if token not in stored)
    per_email: dict[str, int] = {}
    for email in RepairTicket.objects.filter(customer__email__in=emails).values_list(
        "customer__email", flat=True
    ):
        per_email[email] = per_email.get(email, 0) + 1
    duplicated = sum(n - 1 for n in per_email.values() if n > 1)
    back = readyz.first_ok_after(up)
    readyz_text = readyz.summary(down + 0.5, up - 0.05)
    readyz_text += f"; 200 again {back - up:.2f} s after" if back else "; never 200 again"
    per_endpoint: dict[str, dict[int, int]] = {}
    for _, endpoint, status in log:
        per_endpoint.setdefault(endpoint, {}).setdefault(status, 0)
        per_endpoint[endpoint][status] += 1
    notes = [
        "per endpoint: "
        + "; ".join(f"{e} {dict(sorted(c.items()))}" for e, c in sorted(per_endpoint.items())),
        f"{len(log)} requests: {dict(sorted(by_status.items()))}; during the outage "
        f"{sum(1 for s in during if s == 503)} x 503, {sum(1 for s in during if s == 500)} x 500",
        f"{len(booked)} bookings answered 302 -> all stored: {lost == 0}",
    ]
    return Result(
        fault="3. PostgreSQL refuses connections 5 s",
        attempted=len(log),
        lost=lost,
        duplicated=duplicated,
        recovery_s=recovery,
        readyz=readyz_text,
        notes=notes,
        ok=lost == 0 and duplicated == 0 and five_hundreds == 0 and back is not None,
    )
