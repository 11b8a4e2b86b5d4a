"""What staff (or an operator with ``docker compose exec web python …``) would do next to the
running set, for the end-to-end suite: one operation per call, in the web service's environment
(so against the set's own database), answering one JSON line on stdout.

    python -m tests.e2e.ops <operation> '<json arguments>'

Everything goes through the project's services (the same code the admin and API call); the
suite's test process itself never opens the set's database.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid


def settings_facts() -> dict:
    """How the set is configured: production, not eager (the workers send), SMTP to the sink."""
    from django.conf import settings

    return {
        "production": settings.PRODUCTION,
        "debug": settings.DEBUG,
        "eager": settings.CELERY_TASK_ALWAYS_EAGER,
        "broker": settings.CELERY_BROKER_URL.split("://")[0],
        "email_backend": settings.EMAIL_BACKEND,
        "providers": settings.NOTIFICATIONS_PROVIDERS,
        "database": settings.DATABASES["default"]["NAME"],
    }


def _staff():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from repairs.roles import STAFF_GROUP

    user, _ = get_user_model().objects.get_or_create(username="e2e-staff", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name=STAFF_GROUP))
    return user


def create_staff_user(username: str, password: str) -> dict:
    """A member of staff who signs in with a password (the session tests)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from repairs.roles import STAFF_GROUP

    user = get_user_model().objects.create_user(username=username, password=password, is_staff=True)
    user.groups.add(Group.objects.get(name=STAFF_GROUP))
    return {"username": username}


def assign_technician(reference: str, also: list[str] = ()) -> dict:
    """A technician with an API token, assigned to the repair (and to those in ``also``) by staff."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from repairs import services
    from repairs.models import RepairTicket
    from repairs.roles import TECHNICIANS_GROUP

    technician = get_user_model().objects.create_user(
        username=f"e2e-tech-{uuid.uuid4().hex[:8]}", password=None, is_staff=True
    )
    technician.groups.add(Group.objects.get(name=TECHNICIANS_GROUP))
    for each in [reference, *also]:
        ticket = RepairTicket.objects.get(reference=each)
        services.update_ticket(ticket, assigned_technician=technician, by=_staff())
    return {"username": technician.username, "token": Token.objects.create(user=technician).key}


def issue_invoice(reference: str, amount: int = 8900) -> dict:
    """The repair taken through its quote to ready-for-pickup, and its final invoice issued."""
    from payments import services as payments
    from repairs import services
    from repairs.models import RepairTicket

    staff = _staff()
    ticket = RepairTicket.objects.get(reference=reference)
    for status in ("received", "diagnosing"):
        ticket = services.transition_ticket(ticket, status, by=staff)
    ticket = services.send_quote(ticket, amount=amount, by=staff)
    ticket = services.transition_ticket(ticket, "awaiting_approval", by=staff)
    ticket = services.decide_quote(ticket, approved=True, by=staff)
    for status in ("in_repair", "quality_check", "ready_for_pickup"):
        ticket = services.transition_ticket(ticket, status, by=staff)
    invoice = payments.issue_invoice(payments.create_invoice(ticket, kind="final", by=staff), by=staff)
    return {"number": invoice.number, "public_id": str(invoice.public_id), "total": invoice.total}


def invoice_state(number: str) -> dict:
    from payments.models import Invoice

    invoice = Invoice.objects.get(number=number)
    return {"status": invoice.status, "paid_at": invoice.paid_at.isoformat() if invoice.paid_at else None}


def queue_emails(count: int, publish: bool = True) -> dict:
    """``count`` outbox emails, as the fault suite queues them (published, or left for the sweeper)."""
    from benchmarks.faults.worker_kill import queue_emails as queue
    from notifications.models import Message

    ids = queue(count, uuid.uuid4().hex[:10], publish=publish)
    tokens = [str(t) for t in Message.objects.filter(pk__in=ids).values_list("token", flat=True)]
    return {"ids": ids, "tokens": tokens}


def messages(ids: list[int] | None = None, reference: str | None = None) -> dict:
    from notifications.models import Message

    rows = Message.objects.all()
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    if reference is not None:
        rows = rows.filter(ticket_reference=reference)
    fields = (
        "id",
        "token",
        "channel",
        "kind",
        "template_key",
        "status",
        "attempts",
        "recipient",
        "enqueued_at",
    )
    return {
        "messages": [
            {k: str(v) if k in ("token", "enqueued_at") else v for k, v in row.items()}
            for row in rows.order_by("pk").values(*fields)
        ]
    }


def wait_drained(ids: list[int], timeout: float = 120) -> dict:
    """Wait until none of ``ids`` is queued or sending (the worker and beat's sweeper at work)."""
    from notifications.models import Message, MessageStatus

    unfinished = Message.objects.filter(pk__in=ids, status__in=[MessageStatus.QUEUED, MessageStatus.SENDING])
    started = time.monotonic()
    while unfinished.exists():
        if time.monotonic() - started > timeout:
            return {"drained": False, "left": unfinished.count(), "seconds": time.monotonic() - started}
        time.sleep(0.25)
    return {"drained": True, "left": 0, "seconds": time.monotonic() - started}


def tally(ids: list[int], receipts: dict[str, int], max_unknown: int) -> dict:
    """The fault suite's verdict on a killed batch (benchmarks/faults/worker_kill.py)."""
    from collections import Counter
    from dataclasses import asdict

    from benchmarks.faults.worker_kill import tally as count

    result = count(ids, Counter(receipts))
    return {**asdict(result), "ok": result.ok(max_unknown)}


OPERATIONS = {
    "settings": settings_facts,
    "create_staff_user": create_staff_user,
    "assign_technician": assign_technician,
    "issue_invoice": issue_invoice,
    "invoice_state": invoice_state,
    "queue_emails": queue_emails,
    "messages": messages,
    "wait_drained": wait_drained,
    "tally": tally,
}


def main(argv: list[str]) -> None:
    operation, arguments = argv[1], json.loads(argv[2] if len(argv) > 2 else "{}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revivatech.settings")
    import django

    django.setup()
    answer = OPERATIONS[operation](**arguments)
    sys.stdout.write("\n" + json.dumps(answer, default=str) + "\n")


if __name__ == "__main__":
    main(sys.argv)
