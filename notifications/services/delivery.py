"""The delivery worker's logic: claim outbox rows, send each through its channel's providers
(failover, rate limits, quiet hours), record the result, retry with backoff, dead-letter.

Crash safety, step by step:

1. **Claim** a batch: ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite serialises writers
   and gets a plain claim) flips due ``queued`` rows to ``sending`` with a fresh ``claim_token``
   and a lease. Two workers never hold the same row.
2. **In flight**: right before each provider call, one conditional UPDATE (still our claim token)
   stamps ``send_started_at``. If the claim was lost (lease expired, row taken back), the row is
   skipped.
3. **Result**: right after the call the provider's message id (or the error) is recorded.
4. **Recovery** (the sweeper, run by beat): a row whose lease expired before it was in flight goes
   back to the queue; a row whose lease expired *while in flight* may or may not have reached
   the provider, so it becomes a dead letter marked ``outcome_unknown`` (staff decide) — a
   message is never sent twice. Due rows whose task got lost are published again.

Delays (backoff, quiet hours, rate limits) live in the row's ``not_before``; a Celery countdown is
only added for short ones, far below the Redis visibility timeout.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from .. import providers
from ..models import (
    SUPERSEDING_STATUSES,
    Channel,
    DeliveryEvent,
    Message,
    MessageKind,
    MessageStatus,
    Priority,
)
from ..providers import Outgoing, ProviderUnavailable, RateLimited, RecipientRejected
from . import preferences, ratelimit

logger = logging.getLogger(__name__)
S = MessageStatus
DELIVER_TASK = "notifications.deliver"
#: Celery queues (declared in revivatech/celery.py; workers read the urgent one first).
URGENT_QUEUE = "notifications.urgent"
BULK_QUEUE = "notifications.bulk"


def queue_for(priority: str) -> str:
    return URGENT_QUEUE if priority == Priority.URGENT else BULK_QUEUE


# --- publishing worker tasks ------------------------------------------------------------------------


def _chunks(ids: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def enqueue(message_ids: list[int], *, priority: str, countdown: float | None = None) -> None:
    """Publish delivery tasks for these rows on their priority's queue (by task name: no task
    module is imported here). With ``CELERY_TASK_ALWAYS_EAGER`` (the embedded default) the rows
    are delivered right here instead, through the very claim/send code the task runs. A broker
    failure is logged, not raised: the rows are in the database and the sweeper publishes them
    again."""
    if not message_ids:
        return
    from revivatech.celery import app

    eager = settings.CELERY_TASK_ALWAYS_EAGER
    now = timezone.now()
    stamp = now + timedelta(seconds=countdown) if countdown else now
    for chunk in _chunks(list(message_ids), max(1, settings.NOTIFICATIONS_BATCH_SIZE)):
        try:
            if eager:
                deliver_batch(chunk)
                continue
            Message.objects.filter(pk__in=chunk, status=S.QUEUED).update(enqueued_at=stamp)
            app.send_task(DELIVER_TASK, args=[chunk], queue=queue_for(priority), countdown=countdown)
        except Exception:
            logger.warning(
                "could not deliver or publish %d messages; the sweeper will", len(chunk), exc_info=True
            )
            if not eager:
                _unmark_enqueued(chunk, stamp)


def _unmark_enqueued(message_ids: list[int], stamp: datetime) -> None:
    """The broker refused the task (Redis down): the sweeper's next run publishes these rows again
    rather than waiting NOTIFICATIONS_REENQUEUE_AFTER_SECONDS for a task that never left."""
    try:
        Message.objects.filter(pk__in=message_ids, status=S.QUEUED, enqueued_at=stamp).update(
            enqueued_at=None
        )
    except Exception:
        logger.warning("could not clear the publish stamp of %d messages", len(message_ids), exc_info=True)


# --- claiming ---------------------------------------------------------------------------------------


def _urgent_first():
    return Case(When(priority=Priority.URGENT, then=Value(0)), default=Value(1), output_field=IntegerField())


def _claim(*, ids: list[int] | None, priority: str | None, limit: int) -> tuple[uuid.UUID, list[Message]]:
    now = timezone.now()
    claim_token = uuid.uuid4()
    with transaction.atomic():
        due = Message.objects.filter(status=S.QUEUED, not_before__lte=now)
        if ids is not None:
            due = due.filter(pk__in=ids)
        if priority:
            due = due.filter(priority=priority)
        due = due.annotate(urgency=_urgent_first()).order_by("urgency", "not_before", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        picked = list(due.values_list("pk", flat=True)[:limit])
        if not picked:
            return claim_token, []
        Message.objects.filter(pk__in=picked, status=S.QUEUED).update(
            status=S.SENDING,
            claim_token=claim_token,
            lease_expires_at=now + timedelta(seconds=settings.NOTIFICATIONS_LEASE_SECONDS),
            send_started_at=None,
            updated_at=now,
        )
    claimed = (
        Message.objects.filter(claim_token=claim_token, status=S.SENDING)
        .select_related("customer", "push_device")
        .annotate(urgency=_urgent_first())
        .order_by("urgency", "not_before", "id")
    )
    return claim_token, list(claimed)


# --- results ---------------------------------------------------------------------------------------


def _ours(message: Message, claim_token: uuid.UUID):
    return Message.objects.filter(pk=message.pk, claim_token=claim_token, status=S.SENDING)


def _event(message: Message, kind: str, **detail) -> None:
    DeliveryEvent.objects.create(message_id=message.pk, source="worker", kind=kind, detail=detail)


def _param(field: str, value):
    """A value as the database stores this Message field (UUIDs are text on SQLite)."""
    return Message._meta.get_field(field).get_db_prep_value(value, connection)


# The two statements every message runs are plain SQL (PostgreSQL and SQLite alike): building
# them through the ORM cost more than running them.
_MARK_IN_FLIGHT_SQL = (
    "UPDATE {table} SET send_started_at = %s, provider = %s, lease_expires_at = %s, updated_at = %s "
    "WHERE id = %s AND claim_token = %s AND status = %s"
)
_RECORD_SENT_SQL = (
    "UPDATE {table} SET status = CASE WHEN status IN (%s, %s) THEN %s ELSE status END, provider = %s, "
    "provider_message_id = %s, sent_at = COALESCE(sent_at, %s), attempts = attempts + 1, claim_token = NULL, "
    "lease_expires_at = NULL, send_started_at = NULL, outcome_unknown = %s, last_error = '', updated_at = %s "
    "WHERE id = %s AND (claim_token = %s OR (status = %s AND outcome_unknown = %s))"
)


def _mark_in_flight(message: Message, claim_token: uuid.UUID, provider: str) -> bool:
    now = timezone.now()
    lease = now + timedelta(seconds=settings.NOTIFICATIONS_LEASE_SECONDS)
    stamp = _param("updated_at", now)
    with connection.cursor() as cursor:
        cursor.execute(
            _MARK_IN_FLIGHT_SQL.format(table=Message._meta.db_table),
            [stamp, provider, _param("lease_expires_at", lease), stamp, message.pk,
             _param("claim_token", claim_token), S.SENDING],
        )  # fmt: skip
        return cursor.rowcount == 1


def _not_in_flight(message: Message, claim_token: uuid.UUID) -> None:
    """The provider call definitely failed: a crash from here on must not look like "maybe sent"."""
    _ours(message, claim_token).update(send_started_at=None)


def _record_sent(message: Message, claim_token: uuid.UUID, provider: str, provider_message_id: str) -> None:
    """Record the provider's message id right after the send. A webhook may already have reported
    it delivered (kept); the sweeper may have given up on a very slow send (dead, outcome
    unknown): the provider has it, so it is sent."""
    stamp = _param("updated_at", timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORD_SENT_SQL.format(table=Message._meta.db_table),
            [S.SENDING, S.DEAD, S.SENT, provider, provider_message_id[:255], stamp, False, stamp, message.pk,
             _param("claim_token", claim_token), S.DEAD, True],
        )  # fmt: skip


def _after_failure(message_id: int) -> None:
    """A message failed for good: in fallback mode the next channel gets its turn (same
    transaction, so the failure and the next message are written together)."""
    from .dispatch import advance_fallback_safely

    advance_fallback_safely(message_id)


def _reject(message: Message, claim_token: uuid.UUID, provider: str, error: RecipientRejected) -> None:
    now = timezone.now()
    with transaction.atomic():
        updated = _ours(message, claim_token).update(
            status=S.FAILED,
            provider=provider,
            attempts=F("attempts") + 1,
            last_error=str(error)[:2000],
            failed_at=now,
            claim_token=None,
            lease_expires_at=None,
            send_started_at=None,
            updated_at=now,
        )
        if not updated:
            return
        _event(message, "rejected", provider=provider, error=str(error)[:500])
        if error.deactivate_device and message.push_device_id:
            from .push_devices import deactivate_device

            deactivate_device(message.push_device_id, reason=str(error)[:200])
        _after_failure(message.pk)


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter for the ``attempt``-th failure (1-based): half of
    ``base * 2**(attempt-1)`` (capped) plus a random share of the other half."""
    ceiling = min(
        settings.NOTIFICATIONS_RETRY_MAX_SECONDS,
        settings.NOTIFICATIONS_RETRY_BASE_SECONDS * (2 ** max(0, attempt - 1)),
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _retry_or_dead(message: Message, claim_token: uuid.UUID, reason: str) -> None:
    now = timezone.now()
    attempt = message.attempts + 1
    with transaction.atomic():
        if attempt >= message.max_attempts:
            updated = _ours(message, claim_token).update(
                status=S.DEAD,
                attempts=F("attempts") + 1,
                last_error=reason[:2000],
                failed_at=now,
                claim_token=None,
                lease_expires_at=None,
                send_started_at=None,
                updated_at=now,
            )
            if updated:
                _event(message, "dead", attempt=attempt, error=reason[:500])
                _after_failure(message.pk)
            return
        delay = backoff_seconds(attempt)
        due = now + timedelta(seconds=delay)
        updated = _ours(message, claim_token).update(
            status=S.QUEUED,
            attempts=F("attempts") + 1,
            last_error=reason[:2000],
            not_before=due,
            enqueued_at=None,
            claim_token=None,
            lease_expires_at=None,
            send_started_at=None,
            updated_at=now,
        )
        if updated:
            _event(message, "retry", attempt=attempt, retry_at=due.isoformat(), error=reason[:500])
            _schedule_short(message, delay)


def _defer(message: Message, claim_token: uuid.UUID, until: datetime, reason: str) -> None:
    """Put the message back for later without counting an attempt (quiet hours, rate limits)."""
    now = timezone.now()
    with transaction.atomic():
        updated = _ours(message, claim_token).update(
            status=S.QUEUED,
            not_before=until,
            enqueued_at=None,
            claim_token=None,
            lease_expires_at=None,
            send_started_at=None,
            updated_at=now,
        )
        if updated:
            _event(message, "deferred", until=until.isoformat(), reason=reason)
            _schedule_short(message, (until - now).total_seconds())


def _newer_status_update(message: Message) -> int | None:
    """The id of a newer status update to the same recipient about the same ticket on the same
    channel that is (or will be) sent, if any: the customer only needs the current state, once
    (after quiet hours, seven held updates would otherwise all arrive at 08:00)."""
    if message.kind != MessageKind.STATUS or message.ticket_id is None:
        return None
    return (
        Message.objects.filter(
            ticket_id=message.ticket_id,
            channel=message.channel,
            recipient=message.recipient,
            kind=MessageKind.STATUS,
            status__in=SUPERSEDING_STATUSES,
            created_at__gte=message.created_at,
            pk__gt=message.pk,
        )
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )


def _supersede(message: Message, claim_token: uuid.UUID, newer_id: int) -> None:
    """Never sent, kept for audit; not a failure (no retry, no fallback to another channel)."""
    now = timezone.now()
    with transaction.atomic():
        updated = _ours(message, claim_token).update(
            status=S.SUPERSEDED,
            last_error=f"superseded by the newer status update #{newer_id}",
            claim_token=None,
            lease_expires_at=None,
            send_started_at=None,
            updated_at=now,
        )
        if updated:
            _event(message, "superseded", by=newer_id)


def _schedule_short(message: Message, delay: float) -> None:
    """A countdown task for short waits (long ones are left to the sweeper)."""
    if 0 < delay <= settings.NOTIFICATIONS_MAX_COUNTDOWN_SECONDS and not settings.CELERY_TASK_ALWAYS_EAGER:
        transaction.on_commit(lambda: enqueue([message.pk], priority=message.priority, countdown=delay))


# --- providers: failover and throttling marks (shared through the cache: Redis in production) ------


#: Marks are read for every message; each process remembers what it read for a moment, so a
#: busy worker asks the cache once a second per provider instead of twice per message.
MARK_MEMO_SECONDS = 1.0
_mark_memo: dict[str, tuple[float, object]] = {}


def _mark_key(kind: str, channel: str, provider: str) -> str:
    return f"{settings.NOTIFICATIONS_REDIS_PREFIX}:{kind}:{channel}:{provider}"


def _read_mark(key: str):
    now = time.monotonic()
    memo = _mark_memo.get(key)
    if memo is not None and memo[0] > now:
        return memo[1]
    value = cache.get(key)
    _mark_memo[key] = (now + MARK_MEMO_SECONDS, value)
    return value


def _write_mark(key: str, value, seconds: float) -> None:
    cache.set(key, value, max(1, int(seconds) + 1))
    _mark_memo[key] = (time.monotonic() + min(MARK_MEMO_SECONDS, seconds), value)


def mark_down(channel: str, provider: str) -> None:
    _write_mark(_mark_key("down", channel, provider), True, settings.NOTIFICATIONS_PROVIDER_COOLDOWN_SECONDS)


def is_down(channel: str, provider: str) -> bool:
    return bool(_read_mark(_mark_key("down", channel, provider)))


def _throttle(channel: str, provider: str, seconds: float) -> None:
    _write_mark(_mark_key("throttled", channel, provider), time.time() + seconds, seconds)


def _throttled_for(channel: str, provider: str) -> float:
    until = _read_mark(_mark_key("throttled", channel, provider))
    return max(0.0, float(until) - time.time()) if until else 0.0


def _failover_order(channel: str, candidates: list) -> list:
    """Providers that are up first (in configured order), those recently down last."""
    up = [p for p in candidates if not is_down(channel, p.name)]
    return up + [p for p in candidates if p not in up]


@dataclass(frozen=True)
class Wait:
    """The provider's rate limit frees up in ``seconds``: send other messages meanwhile."""

    seconds: float


def _capacity(channel: str, provider: str) -> float:
    """Take one send from the provider's limits now (0.0), or say how long until one is free."""
    return _throttled_for(channel, provider) or ratelimit.acquire(channel, provider)


# --- one message ------------------------------------------------------------------------------------


def status_callback_url(message: Message) -> str:
    return settings.NOTIFICATIONS_PUBLIC_URL + reverse("notifications-twilio-status") + f"?m={message.token}"


def outgoing(message: Message) -> Outgoing:
    """What a provider receives for this row (content was rendered when the row was written)."""
    headers = {"X-RevivaTech-Message": str(message.token)}
    if message.channel == Channel.EMAIL:
        from .dispatch import email_unsubscribe_url

        # Every optional kind (status updates, quotes, offers…) unsubscribes in one click (RFC 8058).
        url = email_unsubscribe_url(message.customer, message.kind)
        if url:
            headers |= {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    link = str((message.context.get("ticket") or {}).get("tracking_url") or settings.SITE_URL)
    return Outgoing(
        token=str(message.token),
        channel=message.channel,
        recipient=message.recipient,
        kind=message.kind,
        subject=message.subject,
        body_text=message.body_text,
        body_html=message.body_html,
        headers=headers,
        data={"message_token": str(message.token), "kind": message.kind, "ticket": message.ticket_reference},
        link=link,
        push_token_kind=message.push_device.token_kind if message.push_device else "registration_token",
        status_callback_url=status_callback_url(message) if message.channel == Channel.SMS else "",
    )


def _send_one(
    message: Message, claim_token: uuid.UUID, *, waited: float = 0.0, quiet: dict | None = None
) -> str | Wait:
    """Send one claimed row; returns what became of it (sent, deferred, retry, failed, lost), or a
    :class:`Wait` when its provider's limit frees up soon (``waited``: how long it waited so far)."""
    now = timezone.now()
    held = preferences.hold_until(message.customer, message.channel, message.priority, now, windows=quiet)
    if held is not None:
        _defer(message, claim_token, held, "quiet hours")
        return "deferred"
    newer = _newer_status_update(message)
    if newer is not None:
        _supersede(message, claim_token, newer)
        return "superseded"
    candidates, problems = providers.channel_providers(message.channel)
    if not candidates:
        _retry_or_dead(
            message, claim_token, "; ".join(problems) or f"no {message.channel} provider is configured"
        )
        return "retry"
    payload = outgoing(message)
    errors: list[str] = []
    for provider in _failover_order(message.channel, candidates):
        wait = _capacity(message.channel, provider.name)
        if wait > 0:
            if waited + wait <= settings.NOTIFICATIONS_MAX_INLINE_WAIT_SECONDS:
                return Wait(wait)
            _defer(
                message,
                claim_token,
                now + timedelta(seconds=wait),
                f"rate limit of {message.channel}:{provider.name}",
            )
            return "deferred"
        if not _mark_in_flight(message, claim_token, provider.name):
            return "lost"
        try:
            result = provider.send(payload)
        except RateLimited as exc:
            _throttle(message.channel, provider.name, exc.retry_after)
            _not_in_flight(message, claim_token)
            _defer(
                message, claim_token, timezone.now() + timedelta(seconds=max(exc.retry_after, 0.5)), str(exc)
            )
            return "deferred"
        except RecipientRejected as exc:
            _reject(message, claim_token, provider.name, exc)
            return "failed"
        except ProviderUnavailable as exc:
            mark_down(message.channel, provider.name)
            _not_in_flight(message, claim_token)
            errors.append(f"{provider.name}: {exc}")
            continue
        except Exception as exc:  # a fault in an adapter: log it, and treat the provider as failed
            logger.exception("%s provider %s raised", message.channel, provider.name)
            _not_in_flight(message, claim_token)
            errors.append(f"{provider.name}: {exc.__class__.__name__}: {exc}")
            continue
        _record_sent(message, claim_token, provider.name, result.provider_message_id)
        return "sent"
    _retry_or_dead(message, claim_token, "; ".join(errors))
    return "retry"


# --- batches, the sweeper, re-queueing --------------------------------------------------------------


@dataclass
class BatchResult:
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def deliver_batch(
    message_ids: list[int] | None = None, *, priority: str | None = None, limit: int | None = None
) -> BatchResult:
    """Claim up to ``limit`` due rows (the given ones, or any, urgent first) and send them.

    A message whose provider is at its rate limit for a moment steps aside while the others of
    the batch go (no head-of-line blocking); it is deferred if it would wait longer than
    ``NOTIFICATIONS_MAX_INLINE_WAIT_SECONDS``."""
    limit = limit or settings.NOTIFICATIONS_BATCH_SIZE
    claim_token, batch = _claim(ids=message_ids, priority=priority, limit=limit)
    result = BatchResult(claimed=len(batch))
    ready: deque[tuple[Message, float]] = deque((message, 0.0) for message in batch)
    waiting: list[tuple[float, int, Message, float]] = []  # (ready at, order, message, waited)
    order = itertools.count()
    quiet: dict = {}  # customers' quiet hours, read once per batch
    while ready or waiting:
        now = time.monotonic()
        while waiting and waiting[0][0] <= now:
            _, _, message, waited = heapq.heappop(waiting)
            ready.append((message, waited))
        if not ready:
            time.sleep(waiting[0][0] - now)
            continue
        message, waited = ready.popleft()
        try:
            outcome = _send_one(message, claim_token, waited=waited, quiet=quiet)
        except Exception as exc:  # the row must not stay claimed because of our own bug
            logger.exception("delivering message %s failed", message.pk)
            _retry_or_dead(message, claim_token, f"internal error: {exc.__class__.__name__}: {exc}")
            outcome = "retry"
        if isinstance(outcome, Wait):
            heapq.heappush(waiting, (now + outcome.seconds, next(order), message, waited + outcome.seconds))
        else:
            result.count(outcome)
    return result


def drain(*, max_seconds: float = 60.0, priority: str | None = None) -> BatchResult:
    """Deliver due rows batch after batch until none is left or time is up (command, benchmark)."""
    total = BatchResult()
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        batch = deliver_batch(priority=priority)
        if not batch.claimed:
            break
        total.claimed += batch.claimed
        for outcome, count in batch.outcomes.items():
            total.outcomes[outcome] = total.outcomes.get(outcome, 0) + count
    return total


@dataclass
class SweepResult:
    released: int = 0
    in_doubt: int = 0
    published: int = 0


IN_DOUBT_REASON = (
    "The worker stopped while this message was being handed to {provider}: it may or may not have "
    "been sent. It was not sent again automatically; re-queue it to send it (once more)."
)


def sweep(*, now: datetime | None = None) -> SweepResult:
    """Recover what a lost broker message or a killed worker left behind, and publish due rows."""
    now = now or timezone.now()
    result = SweepResult()
    expired = Message.objects.filter(status=S.SENDING, lease_expires_at__lt=now)
    result.released = expired.filter(send_started_at__isnull=True).update(
        status=S.QUEUED, claim_token=None, lease_expires_at=None, enqueued_at=None, updated_at=now
    )
    for message in expired.filter(send_started_at__isnull=False):
        with transaction.atomic():
            updated = Message.objects.filter(
                pk=message.pk, status=S.SENDING, claim_token=message.claim_token, lease_expires_at__lt=now
            ).update(
                status=S.DEAD,
                outcome_unknown=True,
                last_error=IN_DOUBT_REASON.format(provider=message.provider or "the provider"),
                failed_at=now,
                claim_token=None,
                lease_expires_at=None,
                updated_at=now,
            )
            if updated:
                result.in_doubt += 1
                _event(message, "in_doubt", provider=message.provider)
                _after_failure(message.pk)
    stale = now - timedelta(seconds=settings.NOTIFICATIONS_REENQUEUE_AFTER_SECONDS)
    limit = settings.NOTIFICATIONS_BATCH_SIZE * 100
    for priority in (Priority.URGENT, Priority.NORMAL):
        ids = list(
            Message.objects.filter(status=S.QUEUED, priority=priority, not_before__lte=now)
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
            .order_by("not_before", "id")
            .values_list("pk", flat=True)[:limit]
        )
        enqueue(ids, priority=priority)
        result.published += len(ids)
    return result


@transaction.atomic
def requeue(message_ids: list[int], *, by=None) -> int:
    """Staff put dead letters (and failed or bounced messages) back in the queue, attempts reset."""
    from ..models import REQUEUEABLE_STATUSES

    now = timezone.now()
    rows = list(
        Message.objects.select_for_update().filter(pk__in=message_ids, status__in=REQUEUEABLE_STATUSES)
    )
    for message in rows:
        DeliveryEvent.objects.create(
            message=message,
            source="staff",
            kind="requeued",
            detail={
                "by": by.get_username() if by is not None else "",
                "previous_status": message.status,
                "previous_error": message.last_error[:500],
            },
        )
    ids = [m.pk for m in rows]
    Message.objects.filter(pk__in=ids).update(
        status=S.QUEUED,
        attempts=0,
        not_before=now,
        enqueued_at=None,
        claim_token=None,
        lease_expires_at=None,
        send_started_at=None,
        outcome_unknown=False,
        updated_at=now,
    )
    for priority in (Priority.URGENT, Priority.NORMAL):
        chosen = [m.pk for m in rows if m.priority == priority]
        if chosen:
            transaction.on_commit(lambda chosen=chosen, priority=priority: enqueue(chosen, priority=priority))
    return len(ids)
