"""Fault 1: SIGKILL a Celery worker in the middle of a batch of 500 emails.

The emails go through the project's SMTP provider (Django's SMTP backend) to an aiosmtpd sink on
loopback that counts what it receives by the message's ``X-RevivaTech-Message`` token. The first
worker (process group: the worker and its prefork pool) is killed with SIGKILL once the sink has
received a fifth of the batch; a second worker is started at once, and this process plays Celery
beat's part, calling the sweeper every second (leases shortened to 3 s so the run stays short).

Counted: delivered (sent, received once), dead-lettered "outcome unknown" (the project's policy
for a send killed mid-call: never re-sent automatically), lost (neither), duplicated (received
twice by the sink), recovery time (kill -> nothing queued or sending).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass

from .harness import Result, wait_until

EMAILS = 500
LEASE_SECONDS = 3


def notification_env(smtp_port: int) -> dict[str, str]:
    return {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_USE_TLS": "0",
        "EMAIL_USE_SSL": "0",
        "NOTIFICATIONS_EMAIL_PROVIDERS": "smtp",
        "NOTIFICATIONS_SMS_PROVIDERS": "",
        "NOTIFICATIONS_PUSH_PROVIDERS": "",
        "NOTIFICATIONS_RATE_LIMITS": "",
        "NOTIFICATIONS_QUIET_HOURS_CHANNELS": "",
        "NOTIFICATIONS_LEASE_SECONDS": str(LEASE_SECONDS),
        "NOTIFICATIONS_BATCH_SIZE": "20",
        "NOTIFICATIONS_REENQUEUE_AFTER_SECONDS": "2",
        "NOTIFICATIONS_REDIS_PREFIX": f"faults:{uuid.uuid4().hex[:8]}",
    }


def queue_emails(count: int, run: str, *, publish: bool = True) -> list[int]:
    """Outbox rows rendered by the real template service (as a campaign writes them), published
    to the workers in batches (``publish=False``: left for the sweeper to find, as when the
    broker lost the task)."""
    from django.utils import timezone

    from notifications.models import Dispatch, Message, MessageTemplate
    from notifications.services import delivery, templates
    from notifications.services.context import message_context
    from repairs.models import Customer

    customer, _ = Customer.objects.get_or_create(
        email="faults-worker@example.com", defaults={"name": "Fault", "contact_confirmed_at": timezone.now()}
    )
    template = MessageTemplate.objects.get(key="status_changed")
    context = message_context(customer)
    context["event"] = {"to_label": "In repair", "status_sentence": "A technician is repairing your device."}
    dispatch = Dispatch.objects.create(
        key=f"faults:{run}",
        customer=customer,
        template=template,
        kind="status",
        mode="chosen",
        channels=["email"],
        priority="normal",
        context=context,
    )
    now = timezone.now()
    rows = []
    for index in range(count):
        token = uuid.uuid4()
        rendered = templates.render_email(template, context, kind="status", message_token=str(token))
        rows.append(
            Message(
                token=token,
                dispatch=dispatch,
                customer=customer,
                channel="email",
                kind="status",
                priority="normal",
                recipient=customer.email,
                template_key=template.key,
                template_version=template.version,
                subject=rendered.subject,
                body_text=rendered.body_text,
                body_html=rendered.body_html,
                context=context,
                idempotency_key=f"faults:{run}:{index}",
                created_at=now,
                updated_at=now,
                not_before=now,
            )
        )
    Message.objects.bulk_create(rows, batch_size=500)
    ids = list(Message.objects.filter(dispatch=dispatch).values_list("pk", flat=True))
    if publish:
        delivery.enqueue(ids, priority="normal")
    return ids


@dataclass(frozen=True)
class Tally:
    """What became of a batch after the kill, by the outbox rows and the sink's receipts."""

    emails: int
    delivered: int  # sent, and received by the sink
    unknown: int  # dead-lettered "outcome unknown" (killed mid-send: never re-sent automatically)
    unknown_received: int  # of those, how many did reach the sink before the kill
    lost: int  # neither delivered nor dead-lettered
    duplicated: int  # received more than once

    def ok(self, max_unknown: int = 2) -> bool:
        """The policy: nothing lost, nothing twice; at most the sends in flight (one per pool
        process) end up "outcome unknown"."""
        return self.lost == 0 and self.duplicated == 0 and self.unknown <= max_unknown


def tally(ids: list[int], receipts: Counter) -> Tally:
    """Count the batch ``ids`` against the sink's receipts (message token -> times received)."""
    from notifications.models import Message, MessageStatus

    rows = Message.objects.filter(pk__in=ids)
    tokens = {str(t) for t in rows.values_list("token", flat=True)}
    receipts = Counter({t: n for t, n in receipts.items() if t in tokens})
    sent = {str(t) for t in rows.filter(status=MessageStatus.SENT).values_list("token", flat=True)}
    unknown = {
        str(t)
        for t in rows.filter(status=MessageStatus.DEAD, outcome_unknown=True).values_list("token", flat=True)
    }
    delivered = sum(1 for t in sent if receipts[t] >= 1)
    return Tally(
        emails=len(tokens),
        delivered=delivered,
        unknown=len(unknown),
        unknown_received=sum(1 for t in unknown if receipts[t]),
        lost=len(tokens) - delivered - len(unknown),
        duplicated=sum(1 for n in receipts.values() if n > 1),
    )


def run(env: dict[str, str], smtp, *, emails: int = EMAILS) -> Result:
    from notifications.models import Message, MessageStatus
    from notifications.services import delivery
    from tests.notifications.worker_process import CeleryWorker, purge_queues

    S = MessageStatus  # noqa: N806
    purge_queues(env["REDIS_URL"])
    Message.objects.filter(status__in=[S.QUEUED, S.SENDING]).update(status=S.SKIPPED)  # earlier runs
    run_id = uuid.uuid4().hex[:10]

    first = CeleryWorker(env, concurrency=2, name="faults-doomed").start()
    ids = queue_emails(emails, run_id)
    tokens = {str(t) for t in Message.objects.filter(pk__in=ids).values_list("token", flat=True)}

    def received() -> int:
        return sum(n for token, n in smtp.receipts().items() if token in tokens)

    try:
        if not wait_until(lambda: received() >= emails // 5, timeout=90, interval=0.005):
            raise RuntimeError(f"the first worker sent nothing:\n{first.output()}")
    finally:
        first.kill()  # SIGKILL, the worker and its pool at once, mid-batch
    killed_at = time.monotonic()
    at_kill = received()

    unfinished = Message.objects.filter(pk__in=ids, status__in=[S.QUEUED, S.SENDING])
    with CeleryWorker(env, concurrency=2, name="faults-survivor") as second:
        deadline = time.monotonic() + 120
        while unfinished.exists():  # beat's part: the sweeper, twice a second
            if time.monotonic() > deadline:
                raise RuntimeError(f"the queue did not drain:\n{second.output()}")
            delivery.sweep()
            time.sleep(0.5)
        recovered_at = time.monotonic()

    counted = tally(ids, smtp.receipts())
    notes = [
        f"{emails} emails, {at_kill} received before the kill; delivered {counted.delivered}, "
        f"dead-lettered (outcome unknown) {counted.unknown} "
        f"(of which the sink got {counted.unknown_received})"
    ]
    return Result(
        fault="1. SIGKILL Celery worker mid-batch",
        attempted=emails,
        lost=counted.lost,
        duplicated=counted.duplicated,
        recovery_s=recovered_at - killed_at,
        readyz="n/a (site not involved)",
        notes=notes,
        ok=counted.ok(),
    )
