"""Batches the storage refused, set aside so that one bad batch never blocks the others.

The flusher (and direct storage) try a batch on its own, inside a savepoint; if it fails for a
reason of its own (bad text, a malformed entry), it is recorded here with the reason and the
flush moves on. Failures of the database itself (connection lost, serialisation) are not the
batch's fault: they propagate, and the batch is tried again by the next flush.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from ..models import DeadLetterBatch

logger = logging.getLogger(__name__)

try:  # psycopg's own errors escape Django's wrapper in COPY (raw cursor)
    import psycopg

    _DATABASE_DOWN: tuple[type[BaseException], ...] = (
        OperationalError,
        InterfaceError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
    )
except ImportError:  # pragma: no cover (SQLite-only installs)
    _DATABASE_DOWN = (OperationalError, InterfaceError)


def is_batch_fault(exc: BaseException) -> bool:
    """True when the error comes from the batch's content rather than from the database."""
    return not isinstance(exc, _DATABASE_DOWN)


def _storable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")


def as_text(batch: Any) -> str:
    """The batch as ASCII JSON (NUL and lone surrogates escaped), storable in any text column."""
    if isinstance(batch, bytes):  # an unreadable stream entry, kept as it came
        return _storable(batch.decode("utf-8", "backslashreplace"))
    if isinstance(batch, str):  # already JSON text, as received
        return _storable(batch)
    if isinstance(batch, dict) and isinstance(batch.get("ctx"), dict):
        # The storage adds parsed ids ("_vk", ...) to the context: keep the batch as it was sent.
        batch = {**batch, "ctx": {k: v for k, v in batch["ctx"].items() if not str(k).startswith("_")}}
    return json.dumps(batch, separators=(",", ":"), default=str)


def describe(exc: BaseException) -> str:
    return _storable(f"{type(exc).__name__}: {exc}")[:2000]


def record(batch: Any, reason: str, *, source: str, entry_id: str = "") -> DeadLetterBatch:
    """Keep a batch that could not be stored, with the reason."""
    reason = _storable(reason)[:2000]
    logger.error("analytics: batch %s set aside (dead letter): %s", entry_id or "(direct)", reason)
    return DeadLetterBatch.objects.create(
        source=source, entry_id=entry_id, payload=as_text(batch), reason=reason
    )


def replay(letter: DeadLetterBatch) -> bool:
    """Store a dead-lettered batch again (after staff fixed its payload or the code). True when it
    was stored; otherwise the letter keeps the new reason and one more attempt."""
    from .storage import store_batches

    try:
        batch = json.loads(letter.payload)
        with transaction.atomic():
            store_batches([batch])
    except Exception as exc:
        if not is_batch_fault(exc):
            raise
        DeadLetterBatch.objects.filter(pk=letter.pk).update(
            attempts=letter.attempts + 1, reason=describe(exc)
        )
        return False
    DeadLetterBatch.objects.filter(pk=letter.pk).update(
        attempts=letter.attempts + 1, replayed_at=timezone.now()
    )
    return True
