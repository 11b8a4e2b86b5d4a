"""The WebSocket consumer base every app's sockets share: JSON text frames in and out, one error
frame shape, a size limit on client frames, hostile-JSON refusal and the "accept, then close 4403"
refusal of a socket that may not join. Apps add their rooms, rights and message types."""

from __future__ import annotations

import json
from typing import Any

from channels.auth import AuthMiddleware
from channels.generic.websocket import AsyncWebsocketConsumer

from revivatech import jsonsafe

#: Close code for a socket that may not join (or may no longer see) its room.
FORBIDDEN = 4403
#: The largest client frame read; clients only send small commands (ping, resume, filters).
MAX_CLIENT_FRAME = 4096


class SessionAuthMiddleware(AuthMiddleware):
    """Channels' ``AuthMiddleware``, without its trip through the database thread for a socket
    that brings no login session (a tracking link, an anonymous page): most sockets, and in a
    restart's reconnect storm every such trip queued behind the others and the views."""

    async def resolve_scope(self, scope):
        if scope["session"].session_key is None:
            from django.contrib.auth.models import AnonymousUser

            scope["user"]._wrapped = AnonymousUser()
            return
        await super().resolve_scope(scope)


def encode(content: dict[str, Any]) -> str:
    """A message as the text of one frame (compact JSON). Encode once, send to many."""
    return json.dumps(content, separators=(",", ":"), default=str)


class JsonSocket(AsyncWebsocketConsumer):
    """JSON frames, error frames for bad input, and a refusal that closes before any data."""

    #: Sent when a frame is JSON but not an object with a string ``type``.
    not_a_message_error = 'Each frame must be a JSON object with a "type", e.g. {"type": "ping"}.'

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=encode(content))

    async def send_error(self, message: str) -> None:
        await self.send_json({"type": "error", "message": message})

    async def refuse(self) -> None:
        # Accepted first so the browser sees the 4403 code (a refused handshake has none).
        await self.accept()
        await self.close(code=FORBIDDEN)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None or len(text_data) > MAX_CLIENT_FRAME:
            await self.send_error("Send JSON text frames of at most 4 KB.")
            return
        try:
            content = jsonsafe.loads(text_data)
        except jsonsafe.TooDeep as exc:
            # A hostile frame, not a slip: say why and close with "invalid frame payload data".
            await self.send_error(f"That frame is not valid JSON: {exc}.")
            await self.close(code=jsonsafe.INVALID_FRAME)
            return
        except ValueError:
            await self.send_error("That frame is not valid JSON.")
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_error(self.not_a_message_error)
            return
        await self.handle_client_message(content)

    async def handle_client_message(self, content: dict[str, Any]) -> None:
        """A client's message (a dict with a string ``type``); the base answers ``ping`` only."""
        if content["type"] == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_error(f"Unknown message type {content['type'][:40]!r}.")
