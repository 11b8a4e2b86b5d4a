"""Talking to the running set as its users do: the booking form over HTTP, the API with a
technician's token, the tracking socket, Stripe's webhook."""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid

import httpx

from .compose import ComposeStack

#: Django accepts any 32-character alphanumeric CSRF secret sent both as the cookie and in the
#: form (or header): what a browser does after its first GET, without the GET.
CSRF_SECRET = secrets.token_hex(16)


def customer_client(stack: ComposeStack) -> httpx.Client:
    return httpx.Client(
        base_url=stack.url,
        cookies={"csrftoken": CSRF_SECRET},
        headers={"X-CSRFToken": CSRF_SECRET},
        timeout=30,
        follow_redirects=False,
    )


def new_contact() -> tuple[str, str]:
    """A fresh email address and UK mobile number (Ofcom's drama range 07700 900000-900999)."""
    return f"e2e-{uuid.uuid4().hex[:10]}@example.com", f"+44 7700 900{secrets.randbelow(1000):03d}"


def booking_form(email: str, phone: str = "", preferred_contact: str = "email") -> dict[str, str]:
    return {
        "name": "Erin Endtoend",
        "email": email,
        "phone": phone,
        "preferred_contact": preferred_contact,
        "kind": "phone",
        "brand": "Fairphone",
        "model": "5",
        "serial_number": "",
        "condition_on_intake": "Small scratch on the back",
        "accessories": "",
        "problem_description": "The screen flickers and goes black after a minute.",
    }


def book(
    stack: ComposeStack, email: str, phone: str = "", preferred_contact: str = "email"
) -> tuple[str, str]:
    """Book through the real /book/ form; returns (reference, tracking token)."""
    with customer_client(stack) as client:
        answer = client.post(
            "/book/",
            data={"csrfmiddlewaretoken": CSRF_SECRET, **booking_form(email, phone, preferred_contact)},
        )
        assert answer.status_code == 302, f"booking refused ({answer.status_code}):\n{answer.text[:3000]}"
        token = re.fullmatch(r"/track/([^/]+)/", answer.headers["location"])[1]
        page = client.get(f"/track/{token}/")
        assert page.status_code == 200
        reference = re.search(r'data-reference="([^"]+)"', page.text)[1]
    return reference, token


def api(stack: ComposeStack, token: str) -> httpx.Client:
    return httpx.Client(base_url=stack.url, headers={"Authorization": f"Token {token}"}, timeout=30)


def ws_url(stack: ComposeStack, reference: str, tracking_token: str) -> str:
    return f"ws://127.0.0.1:{stack.port}/ws/repairs/{reference}/?token={tracking_token}"


def receive_until(socket, predicate, *, timeout: float) -> dict:
    """Frames from a (sync) websocket until one matches; fails with what arrived instead."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no matching frame within {timeout} s; got {seen}")
        try:
            frame = json.loads(socket.recv(timeout=left))
        except TimeoutError:
            continue
        seen.append(frame)
        if predicate(frame):
            return frame
