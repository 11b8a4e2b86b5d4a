"""Where ingested batches wait before they are stored.

* ``direct`` (the embedded default): the request stores its batch at once.
* ``redis``: the request appends one entry to a Redis stream (one ``XADD``, well under a
  millisecond); :func:`flush_events` (a Celery beat task every few seconds, or a test) reads the
  stream from the position saved in :class:`IngestCursor`, stores thousands of events per
  transaction, and saves the new position *in the same transaction*, so a crash at any point
  neither loses nor duplicates a batch. Flushers serialise on the cursor row.

A batch the storage refuses for a reason of its own (see :mod:`.deadletters`) is set aside as a
:class:`~analytics.models.DeadLetterBatch` with the reason, and the others are stored: a chunk that
fails is split in halves until the bad batch stands alone, each try in its own savepoint.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import transaction

from revivatech import redis_clients

from ..models import IngestCursor
from . import deadletters
from .storage import StoreResult, store_batches

logger = logging.getLogger(__name__)

CURSOR_NAME = "events"
#: Upper bound of the stream when no flusher runs (about 5 M events); older entries are dropped.
STREAM_MAX_ENTRIES = 100_000


def mode() -> str:
    configured = settings.ANALYTICS_BUFFER
    if configured == "auto":
        return "redis" if settings.ANALYTICS_REDIS_URL else "direct"
    if configured not in ("redis", "direct"):
        raise ValueError(f"ANALYTICS_BUFFER must be auto, redis or direct, not {configured!r}")
    return configured


def redis_client():
    return redis_clients.sync_client(settings.ANALYTICS_REDIS_URL, redis_clients.BUFFER)


def store_isolating(items: list[tuple[str, Any, str]], *, source: str) -> StoreResult:
    """Store ``(entry id, batch, batch as received)`` items; a batch that fails on its own is
    dead-lettered (as received: storing annotates the batch) with the reason, and the others are
    stored. Each attempt runs in its own savepoint (``write``), so a failed one leaves nothing
    behind. Database outages propagate (the batches stay buffered)."""
    if not items:
        return StoreResult()
    try:
        return store_batches([batch for _entry_id, batch, _received in items])
    except Exception as exc:
        if not deadletters.is_batch_fault(exc):
            raise
        if len(items) == 1:
            entry_id, _batch, received = items[0]
            deadletters.record(received, deadletters.describe(exc), source=source, entry_id=entry_id)
            return StoreResult()
    middle = len(items) // 2
    return store_isolating(items[:middle], source=source) + store_isolating(items[middle:], source=source)


def enqueue(batch: dict[str, Any]) -> None:
    """Hand one batch over for storage. If Redis cannot take it, it is stored at once instead."""
    if mode() == "direct":
        store_isolating([("", batch, deadletters.as_text(batch))], source="direct")
        return
    import redis

    try:
        redis_client().xadd(
            settings.ANALYTICS_STREAM_KEY,
            {"b": json.dumps(batch, separators=(",", ":"))},
            maxlen=STREAM_MAX_ENTRIES,
            approximate=True,
        )
    except redis.RedisError as exc:
        logger.warning("analytics: Redis unavailable (%s); storing the batch directly", exc)
        store_isolating([("", batch, deadletters.as_text(batch))], source="direct")


def wait_for_events(timeout: float) -> None:
    """Return as soon as the stream holds a batch past the stored position, or after ``timeout``
    seconds: an idle flusher starts on new events at once instead of after a fixed sleep."""
    if mode() != "redis":
        time.sleep(timeout)
        return
    import redis

    position = IngestCursor.objects.filter(name=CURSOR_NAME).values_list("position", flat=True).first()
    block_ms = max(1, int(min(timeout, 4.0) * 1000))  # under the client's 5 s socket timeout
    try:
        redis_client().xread({settings.ANALYTICS_STREAM_KEY: position or "0-0"}, count=1, block=block_ms)
    except redis.RedisError:  # the next flush reports it; do not spin meanwhile
        time.sleep(timeout)


def pending_batches() -> int:
    """Batches waiting in the stream (0 in direct mode)."""
    if mode() != "redis":
        return 0
    return int(redis_client().xlen(settings.ANALYTICS_STREAM_KEY))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a chunk is decoded and stored.

    A chunk allocates a few hundred thousand short-lived objects (decoded batches, rows, UUIDs),
    which triggers collections that each walk the whole process heap (Django, the ORM, the models):
    profiled, a third to a half of the flusher's CPU. Nearly all of those objects are freed by
    reference counting anyway; whatever cycles a chunk leaves are collected once it is re-enabled.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def flush_events(*, max_seconds: float | None = None) -> StoreResult:
    """Store what waits in the Redis stream, in transactions of about ANALYTICS_FLUSH_MAX_EVENTS
    events, until it is empty or ``max_seconds`` have passed. A no-op in direct mode."""
    total = StoreResult()
    if mode() != "redis":
        return total
    client = redis_client()
    key = settings.ANALYTICS_STREAM_KEY
    entries_per_chunk = max(1, settings.ANALYTICS_FLUSH_MAX_EVENTS // 40)
    deadline = time.monotonic() + max_seconds if max_seconds else None
    IngestCursor.objects.get_or_create(name=CURSOR_NAME)
    while True:
        with _collector_paused(), transaction.atomic():
            cursor = IngestCursor.objects.select_for_update().get(name=CURSOR_NAME)
            entries = client.xrange(key, min=f"({cursor.position}", count=entries_per_chunk)
            if not entries:
                break
            batches = []
            for entry_id, fields in entries:
                raw = fields.get(b"b")
                try:
                    batches.append((entry_id.decode(), json.loads(raw), raw.decode()))
                except (TypeError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
                    deadletters.record(
                        raw if raw is not None else repr(fields).encode(),
                        f"Unreadable stream entry (not a JSON batch): {deadletters.describe(exc)}",
                        source="stream",
                        entry_id=entry_id.decode(),
                    )
            total += store_isolating(batches, source="stream")
            cursor.position = entries[-1][0].decode()
            cursor.save(update_fields=["position", "updated_at"])
            # Once committed for real, drop what precedes the cursor (the entry at it is skipped by
            # "("); if the transaction rolls back, the stream keeps everything for the next flush.
            transaction.on_commit(lambda position=cursor.position: client.xtrim(key, minid=position))
        if len(entries) < entries_per_chunk or (deadline and time.monotonic() > deadline):
            break
    return total
