"""Several processes as one site: nginx in front of web1 and web2, two workers, one beat (the set
docker-compose.yml runs). Whatever a customer or the shop does must not depend on which process
serves it: sessions, CSRF, rate limits, live tracking and the outbox all live in PostgreSQL or
Redis, never in one process's memory. And X-Forwarded-For is believed from the proxy only.

Which process served a request is read from the proxy's access log (``upstream=<address>``), or
the request goes to one process directly (``stack.web_urls``), as nothing but the proxy can do in
compose."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from http.cookies import SimpleCookie

import httpx
from websockets.sync.client import connect

from revivatech.observability.context import hashed_ip

from .compose import wait_for
from .site import CSRF_SECRET, booking_form, new_contact, receive_until

#: Test clients come from loopback aliases of their own, so the proxy's X-Forwarded-For (the
#: client's address) differs from the proxy's own (127.0.0.2) and tests do not share rate limits.
RATE_LIMITED_CLIENT = "127.0.0.3"
FORGED = "198.51.100.23"  # TEST-NET-2: an address nobody here has


class Browser:
    """Cookies carried by hand: the production cookies are ``Secure``, and the set speaks plain
    HTTP here (TLS ends before the proxy), so an HTTP client would not send them back."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = httpx.request(method, url, headers=headers, timeout=30, follow_redirects=False, **kwargs)
        for header in response.headers.get_list("set-cookie"):
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response


def _form_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]


def test_a_session_and_its_csrf_token_work_on_either_process(stack):
    web1, web2 = (stack.web_urls[name] for name in stack.web_instances)
    username, password = f"e2e-staff-{uuid.uuid4().hex[:8]}", secrets.token_urlsafe(16)
    stack.manage("create_staff_user", username=username, password=password)
    browser = Browser()

    form = browser.request("GET", f"{web1}/account/login/")
    assert form.status_code == 200 and "csrftoken" in browser.cookies
    credentials = {"username": username, "password": password, "csrfmiddlewaretoken": _form_token(form.text)}

    # the token web1 issued is refused without its cookie, on web2 as anywhere...
    stranger = httpx.post(f"{web2}/account/login/", data=credentials, timeout=30)
    assert stranger.status_code == 403
    # ...and accepted with it: the form from web1 posted to web2 signs in
    signed_in = browser.request("POST", f"{web2}/account/login/", data=credentials)
    assert signed_in.status_code == 302, signed_in.text[:2000]
    assert "sessionid" in browser.cookies

    # the session web2 created is known to web1, and to whichever process the proxy picks
    assert browser.request("GET", f"{web1}/admin/").status_code == 200
    marker = uuid.uuid4().hex
    answers = [browser.request("GET", f"{stack.url}/admin/?probe={marker}-{n}") for n in range(8)]
    assert [a.status_code for a in answers] == [200] * 8
    served = stack.served_by(marker)
    assert set(served) == set(stack.web_instances), served  # both processes served the session
    # and without the cookie, neither lets anyone in
    assert httpx.get(f"{web1}/admin/", timeout=30).status_code == 302


def _book_from(address: str, url: str, *, forged: str | None = None) -> httpx.Response:
    headers = {"X-CSRFToken": CSRF_SECRET}
    if forged:
        headers["X-Forwarded-For"] = forged
    email, _ = new_contact()
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(transport=transport, cookies={"csrftoken": CSRF_SECRET}, timeout=30) as client:
        return client.post(
            f"{url}/book/", data={"csrfmiddlewaretoken": CSRF_SECRET, **booking_form(email)}, headers=headers
        )


def test_the_booking_limit_counts_across_both_processes_and_forged_addresses_are_ignored(stack):
    from .conftest import SPEED_ENV

    limit = int(SPEED_ENV["RATE_LIMIT_BOOKING_IP"].split("/")[0])
    marker = f'{RATE_LIMITED_CLIENT} "POST /book/'
    before = stack.served_by(marker)
    answers = [_book_from(RATE_LIMITED_CLIENT, stack.url).status_code for _ in range(limit)]
    assert answers == [302] * limit
    served = stack.served_by(marker) - before
    assert set(served) == set(stack.web_instances), served  # the count was shared by both
    # one more through the proxy is refused, wherever it lands, whatever it claims to be
    assert _book_from(RATE_LIMITED_CLIENT, stack.url).status_code == 429
    assert _book_from(RATE_LIMITED_CLIENT, stack.url, forged=FORGED).status_code == 429  # replaced
    # straight at a web process, a forged X-Forwarded-For is not believed (it is not the proxy):
    # the address counted is the real one, which is over the limit
    for name in stack.web_instances:
        assert _book_from(RATE_LIMITED_CLIENT, stack.web_urls[name], forged=FORGED).status_code == 429

    # what the processes logged is the real address too (a keyed hash of it), never the forged one
    logged = stack.text("web1") + stack.text("web2")
    real, forged = hashed_ip(RATE_LIMITED_CLIENT, stack.secret_key), hashed_ip(FORGED, stack.secret_key)
    bookings = [json.loads(line) for line in logged.splitlines() if '"path": "/book/"' in line]
    assert any(b.get("ip_hash") == real and b.get("status") == 429 for b in bookings)
    assert forged not in logged
    # and the proxy itself is believed: a client of its own is counted as itself, not as the proxy
    assert _book_from("127.0.0.4", stack.url).status_code == 302


def test_a_change_through_web1_reaches_a_socket_held_by_web2(stack):
    web1, web2 = (stack.web_urls[name] for name in stack.web_instances)
    email, _ = new_contact()
    with httpx.Client(cookies={"csrftoken": CSRF_SECRET}, timeout=30) as client:
        booked = client.post(
            f"{stack.url}/book/",
            data={"csrfmiddlewaretoken": CSRF_SECRET, **booking_form(email)},
            headers={"X-CSRFToken": CSRF_SECRET},
        )
        assert booked.status_code == 302, booked.text[:2000]
        token = re.fullmatch(r"/track/([^/]+)/", booked.headers["location"])[1]
        reference = re.search(r'data-reference="([^"]+)"', client.get(f"{stack.url}/track/{token}/").text)[1]
    technician = stack.manage("assign_technician", reference=reference)

    socket_url = f"{web2.replace('http', 'ws')}/ws/repairs/{reference}/?token={token}"
    with connect(socket_url, origin=stack.url, open_timeout=20) as socket:
        receive_until(socket, lambda f: f.get("type") == "snapshot", timeout=20)
        answer = httpx.post(
            f"{web1}/api/v1/repairs/{reference}/transition/",
            json={"status": "received"},
            headers={"Authorization": f"Token {technician['token']}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        event = receive_until(
            socket,
            lambda f: f.get("type") == "event" and f.get("kind") == "ticket.status_changed",
            timeout=20,
        )
    assert event["payload"]["ticket"]["status"] == "received"


def test_both_workers_send_from_one_outbox_each_email_once(stack, fakes):
    count = 60
    queued = stack.manage("queue_emails", count=count)
    tokens = set(queued["tokens"])
    wait_for(
        lambda: tokens <= set(fakes.smtp.receipts()),
        timeout=120,
        what="the batch in the SMTP sink",
        stack=stack,
    )
    drained = stack.manage("wait_drained", ids=queued["ids"], timeout=60)
    assert drained["drained"], drained
    receipts = fakes.smtp.receipts()
    assert {token: receipts[token] for token in tokens} == dict.fromkeys(tokens, 1)
    # both workers took part (each logs the deliveries it ran)
    for name in stack.worker_instances:
        assert "Task notifications.deliver[" in stack.processes[name].text(), f"{name} sent nothing"
