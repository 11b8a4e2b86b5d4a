"""An ASGI wrapper that bounds the request body: Django's ASGI handler spools the whole body before
the view runs, so without this a chunked upload (no Content-Length) could be arbitrarily large."""

from __future__ import annotations

from typing import Any

from django.conf import settings


class BodySizeLimit:
    def __init__(self, app: Any, limit: int | None = None) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        limit = self.limit if self.limit is not None else settings.REQUEST_MAX_BODY_BYTES
        if scope["type"] != "http" or not limit:
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _refuse(send, limit)
                return
        received = 0
        response_started = False

        async def counting_receive() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: dict) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await _refuse(send, limit)


class BodyTooLarge(Exception):
    pass


async def _refuse(send: Any, limit: int) -> None:
    body = (
        b'{"detail": "The request is too large: the limit is '
        + f"{limit / (1024 * 1024):.1f}".encode()
        + b' MB.", "errors": {}}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
