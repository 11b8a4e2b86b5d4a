"""Notification throughput: queue 10,000 messages (email through SendGrid, SMS through Twilio, push
through FCM, each the real SDK against its loopback fake), drain them with a real Celery worker
on the Redis broker, and print messages/s, each provider's achieved rate against its configured
limit (mean, and the most sent in any one-second window), how long urgent messages injected
mid-run waited next to the bulk, and the ratio to a naive baseline measured in the same run
(one Celery task per message, one worker process, no batching, no limits).

Needs PostgreSQL and Redis on 127.0.0.1 (loopback only; bounded in count and time):

    make bench-notifications
    .venv/bin/python benchmarks/notifications_throughput.py --messages 2000 --baseline 300
    .venv/bin/python benchmarks/notifications_throughput.py --smoke   # 60 messages, seconds

Its own PostgreSQL database (``<DATABASE_URL's name>_bench_notifications``, or
``BENCH_NOTIFICATIONS_DATABASE_URL``) and a private ``redis-server`` on a free loopback port (or
``BENCH_NOTIFICATIONS_REDIS_URL``). Exit status 1 when a message was not sent, was lost or arrived twice.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import Checks, own_database_url  # noqa: E402

BENCH_DB = os.environ.get("BENCH_NOTIFICATIONS_DATABASE_URL") or own_database_url("bench_notifications")
REDIS_URL = os.environ.get("BENCH_NOTIFICATIONS_REDIS_URL", "")  # empty: a private redis-server
DEFAULT_LIMITS = "email:sendgrid=200/s;sms:twilio=100/s;push:fcm=100/s"
#: Share of each channel in the queued messages (interleaved, as automation writes them).
SPLIT = {"email": 2, "sms": 1, "push": 1}
PROVIDER_OF = {"email": "sendgrid", "sms": "twilio", "push": "fcm"}
PHONE = "+447700900999"
DEVICE_TOKEN = "bench-fcm-device-token"


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def per_second_limits(spec: str) -> dict[str, float]:
    result = {}
    for entry in filter(None, spec.split(";")):
        key, _, values = entry.partition("=")
        for value in values.split(","):
            count, _, unit = value.strip().partition("/")
            if unit == "s":
                result[key.strip()] = float(count)
    return result


def max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best = start = 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        from tests.fakes.fcm import FakeFCM
        from tests.fakes.sendgrid import FakeSendGrid
        from tests.fakes.twilio import FakeTwilio

        self.args = args
        self.fakes = {"email": FakeSendGrid().start(), "sms": FakeTwilio().start(), "push": FakeFCM().start()}
        self.secret = secrets.token_urlsafe(50)
        self.prefix = f"bench-notifications:{uuid.uuid4().hex}"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of this process and of the workers: providers point at the fakes."""
        from tests.fakes import sendgrid, twilio

        return {
            "DATABASE_URL": BENCH_DB,
            "DATABASE_CONN_MAX_AGE": "60",
            "REDIS_URL": REDIS_URL,
            "DJANGO_SECRET_KEY": self.secret,
            "DJANGO_DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "SENDGRID_API_KEY": sendgrid.API_KEY,
            "SENDGRID_API_BASE_URL": self.fakes["email"].url,
            "TWILIO_ACCOUNT_SID": twilio.ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": twilio.AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": twilio.FROM_NUMBER,
            "TWILIO_API_BASE_URL": self.fakes["sms"].url,
            "FCM_SERVICE_ACCOUNT_JSON": json.dumps(self.fakes["push"].service_account()),
            "FCM_API_BASE_URL": self.fakes["push"].url,
            "NOTIFICATIONS_EMAIL_PROVIDERS": "sendgrid",
            "NOTIFICATIONS_SMS_PROVIDERS": "twilio",
            "NOTIFICATIONS_PUSH_PROVIDERS": "fcm",
            "NOTIFICATIONS_REDIS_PREFIX": self.prefix,
            **extra,
        }

    # --- set-up ---------------------------------------------------------------------------------

    def setup_django(self) -> None:
        ensure_database(BENCH_DB)
        os.environ.update(self.env(NOTIFICATIONS_RATE_LIMITS=self.args.limits))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revivatech.settings")
        import django

        django.setup()
        from django.core.management import call_command

        from notifications.models import Message
        from tests.notifications.worker_process import purge_queues

        call_command("migrate", verbosity=0)
        purge_queues(REDIS_URL)
        # rows an interrupted earlier run left behind must not be counted in this one
        Message.objects.filter(status__in=["queued", "sending"]).update(status="skipped")
        self.customer = self._customer()

    def _customer(self):
        from django.utils import timezone

        from notifications.models import NotificationPreference, PushDevice, QuietHours
        from repairs.models import Customer

        customer, _ = Customer.objects.get_or_create(
            email="bench-notifications@example.com",
            defaults={"name": "Bench Customer", "phone": PHONE, "preferred_contact": "sms"},
        )
        if customer.contact_confirmed_at is None:  # texts go only to confirmed numbers
            customer.contact_confirmed_at = timezone.now()
            customer.save(update_fields=["contact_confirmed_at"])
        QuietHours.objects.update_or_create(
            customer=customer, defaults={"enabled": False, "start": "21:00", "end": "08:00"}
        )
        for channel in ("email", "sms", "push"):
            NotificationPreference.objects.update_or_create(
                customer=customer, kind="status", channel=channel, defaults={"enabled": True}
            )
        PushDevice.objects.get_or_create(customer=customer, token=DEVICE_TOKEN)
        return customer

    def queue(self, count: int, *, priority: str = "normal", publish: bool = True) -> list[int]:
        """Write ``count`` outbox rows (rendered by the real template service), as a campaign or a
        burst of automation would, and publish their tasks in batches."""
        from django.utils import timezone

        from notifications.models import Dispatch, Message, MessageTemplate, PushDevice
        from notifications.services import delivery, templates
        from notifications.services.context import message_context

        template = MessageTemplate.objects.get(key="status_changed")
        context = message_context(self.customer)
        context["event"] = {
            "to_label": "In repair",
            "status_sentence": "A technician is repairing your device.",
        }
        device = PushDevice.objects.get(token=DEVICE_TOKEN)
        recipients = {"email": self.customer.email, "sms": PHONE, "push": device.token}
        run = uuid.uuid4().hex[:10]
        dispatches = {
            channel: Dispatch.objects.create(
                key=f"bench:{run}:{channel}",
                customer=self.customer,
                template=template,
                kind="status",
                mode="chosen",
                channels=[channel],
                priority=priority,
                context=context,
            )
            for channel in SPLIT
        }
        order = [channel for channel, share in SPLIT.items() for _ in range(share)]
        now = timezone.now()
        rows = []
        for index in range(count):
            channel = order[index % len(order)]
            token = uuid.uuid4()
            if channel == "email":
                rendered = templates.render_email(template, context, kind="status", message_token=str(token))
            elif channel == "sms":
                rendered = templates.render_sms(template, context)
            else:
                rendered = templates.render_push(template, context)
            rows.append(
                Message(
                    token=token,
                    dispatch=dispatches[channel],
                    customer=self.customer,
                    channel=channel,
                    kind="status",
                    priority=priority,
                    recipient=recipients[channel],
                    push_device=device if channel == "push" else None,
                    template_key=template.key,
                    template_version=template.version,
                    subject=rendered.subject,
                    body_text=rendered.body_text,
                    body_html=rendered.body_html,
                    context=context,
                    idempotency_key=f"bench:{run}:{index}",
                    created_at=now,
                    updated_at=now,
                    not_before=now,
                )
            )
        Message.objects.bulk_create(rows, batch_size=1000)
        ids = list(
            Message.objects.filter(idempotency_key__startswith=f"bench:{run}:").values_list("pk", flat=True)
        )
        if publish:
            delivery.enqueue(ids, priority=priority)
        return ids

    # --- phases ---------------------------------------------------------------------------------

    def wait_done(self, ids: list[int], *, timeout: float, workers=()) -> float:
        """Wait until nothing is queued or sending (rows of earlier runs were closed at set-up;
        a cheap indexed query, so polling does not slow the workers down)."""
        from notifications.models import Message

        deadline = time.monotonic() + timeout
        while Message.objects.filter(status__in=["queued", "sending"]).exists():
            if time.monotonic() > deadline:
                logs = "\n".join(worker.output() for worker in workers)
                raise TimeoutError(f"the workers did not finish within {timeout} s; their output:\n{logs}")
            time.sleep(0.05)
        return time.monotonic()

    def start_workers(self, env: dict[str, str], concurrency: int) -> list:
        from tests.notifications.worker_process import CeleryWorker

        workers = [
            CeleryWorker(env, concurrency=concurrency, name=f"bench{i}").start()
            for i in range(self.args.workers)
        ]
        self.wait_done(self.queue(30), timeout=120, workers=workers)  # warm: imports, connections, tokens
        return workers

    def baseline(self) -> float:
        """The naive design: one Celery task per message, one worker process, no limits."""
        from django.conf import settings

        settings.NOTIFICATIONS_BATCH_SIZE = 1  # enqueue publishes one task per message
        env = self.env(NOTIFICATIONS_RATE_LIMITS="", NOTIFICATIONS_BATCH_SIZE="1")
        from notifications.services import delivery
        from tests.notifications.worker_process import CeleryWorker

        with CeleryWorker(env, concurrency=1, name="baseline") as worker:
            self.wait_done(self.queue(30), timeout=120, workers=[worker])
            ids = self.queue(self.args.baseline, publish=False)
            started = time.monotonic()
            delivery.enqueue(ids, priority="normal")
            finished = self.wait_done(ids, timeout=self.args.timeout, workers=[worker])
        settings.NOTIFICATIONS_BATCH_SIZE = self.args.batch
        return len(ids) / (finished - started)

    def run(self) -> dict:
        from django.conf import settings
        from django.db.models import Count

        from notifications.models import Message
        from notifications.services import delivery

        settings.NOTIFICATIONS_BATCH_SIZE = self.args.batch
        env = self.env(
            NOTIFICATIONS_RATE_LIMITS=self.args.limits, NOTIFICATIONS_BATCH_SIZE=str(self.args.batch)
        )
        workers = self.start_workers(env, self.args.concurrency)
        try:
            for fake in self.fakes.values():
                with fake.lock:
                    fake.sent.clear()
            ids = self.queue(self.args.messages, publish=False)
            started = time.monotonic()
            delivery.enqueue(ids, priority="normal")
            time.sleep(min(3.0, self.args.messages / 2000))  # the backlog is there: now something urgent
            urgent = self.queue(self.args.urgent, priority="urgent")
            finished = self.wait_done(ids + urgent, timeout=self.args.timeout, workers=workers)
        finally:
            for worker in workers:
                worker.stop()
        rows = Message.objects.filter(pk__in=ids + urgent)
        latency = {
            priority: [
                (sent - created).total_seconds()
                for created, sent in rows.filter(priority=priority).values_list("created_at", "sent_at")
                if sent is not None
            ]
            for priority in ("normal", "urgent")
        }
        return {
            "elapsed": finished - started,
            "count": len(ids) + len(urgent),
            "statuses": dict(rows.values_list("status").annotate(n=Count("id")).values_list("status", "n")),
            "latency": latency,
        }

    def report(self, result: dict, baseline_rate: float) -> bool:
        limits = per_second_limits(self.args.limits)
        rate = result["count"] / result["elapsed"]
        args = self.args
        elapsed, statuses = result["elapsed"], result["statuses"]
        print(
            f"\n{result['count']} messages ({args.urgent} urgent) drained by {args.workers} worker(s) x "
            f"{args.concurrency} pool processes in {elapsed:.1f} s; statuses {statuses}"
        )
        print(f"throughput: {rate:.0f} messages/s (goal: 300)")
        print(
            f"naive baseline (one task per message, one process, no limits): {baseline_rate:.0f} messages/s"
        )
        print(f"ratio to the baseline: {rate / baseline_rate:.1f}x\n")
        print(
            f"{'provider':<16}{'sent':>7}{'limit/s':>9}{'mean/s':>9}{'busiest 1 s':>13}{'busiest/limit':>15}"
        )
        held = True
        for channel, fake in self.fakes.items():
            times = [item.received_at for item in fake.sent]
            key = f"{channel}:{PROVIDER_OF[channel]}"
            limit = limits.get(key)
            if len(times) < 2:
                continue
            mean = (len(times) - 1) / (max(times) - min(times))
            busiest = max_in_window(times)
            share = busiest / limit if limit else float("nan")
            held = held and (not limit or share <= 1.05)
            print(f"{key:<16}{len(times):>7}{limit or '-':>9}{mean:>9.1f}{busiest:>13}{share:>15.3f}")
        print(f"\nlimits held within 5%: {'yes' if held else 'NO'}")
        bulk, urgent = result["latency"]["normal"], result["latency"]["urgent"]
        if urgent:
            bulk_p50, bulk_p95 = percentile(bulk, 0.5), percentile(bulk, 0.95)
            urgent_p50, urgent_max = percentile(urgent, 0.5), max(urgent)
            print(
                f"queued -> sent: bulk p50 {bulk_p50:.2f} s, p95 {bulk_p95:.2f} s; "
                f"urgent (queued mid-run) p50 {urgent_p50:.2f} s, max {urgent_max:.2f} s"
            )
        met = held and rate >= 300
        print(f"goal (>= 300 messages/s, limits held within 5 %): {'met' if met else 'NOT met'}")
        return met

    def close(self) -> None:
        for fake in self.fakes.values():
            fake.stop()


def verify(bench: Bench, result: dict, checks: Checks) -> None:
    """Every queued message was sent, and each arrived at its provider's fake exactly once."""
    statuses = result["statuses"]
    checks.require(
        statuses.get("sent", 0) == result["count"],
        f"{result['count']} messages queued, statuses after the run: {statuses}",
    )
    arrived = 0
    for channel, fake in bench.fakes.items():
        receipts = fake.receipts()
        arrived += sum(receipts.values())
        twice = sum(1 for n in receipts.values() if n > 1)
        checks.require(twice == 0, f"{channel}: {twice} messages arrived more than once")
    checks.require(arrived == result["count"], f"{result['count']} messages queued, {arrived} arrived")


def main() -> int:
    global REDIS_URL
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=10_000, help="bulk messages (at most 20,000)")
    parser.add_argument("--urgent", type=int, default=20, help="urgent emails queued while the bulk drains")
    parser.add_argument("--baseline", type=int, default=1_000, help="messages for the naive baseline")
    parser.add_argument("--workers", type=int, default=1, help="celery worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="pool processes per worker")
    parser.add_argument("--batch", type=int, default=50, help="NOTIFICATIONS_BATCH_SIZE")
    parser.add_argument("--limits", default=DEFAULT_LIMITS, help="NOTIFICATIONS_RATE_LIMITS of the run")
    parser.add_argument("--timeout", type=float, default=240.0, help="give up after this many seconds")
    parser.add_argument("--smoke", action="store_true", help="seconds: 60 messages, 3 urgent, baseline 20")
    args = parser.parse_args()
    if args.smoke:
        args.messages, args.urgent, args.baseline, args.concurrency, args.timeout = 60, 3, 20, 2, 120.0
    args.messages = min(args.messages, 20_000)
    args.baseline = min(args.baseline, args.messages)
    checks = Checks("bench-notifications" + (" --smoke" if args.smoke else ""))
    private_redis = None
    if not REDIS_URL:
        from benchmarks.faults.harness import PrivateRedis

        private_redis = PrivateRedis().start()
        REDIS_URL = private_redis.url
    bench = Bench(args)
    try:
        bench.setup_django()
        print(f"limits {args.limits}; PostgreSQL {BENCH_DB}; Redis {REDIS_URL}; fakes on 127.0.0.1")
        baseline_rate = bench.baseline()
        result = bench.run()
        bench.report(result, baseline_rate)
        print(f"(load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
        verify(bench, result, checks)
    finally:
        bench.close()
        if private_redis is not None:
            private_redis.stop()
    return checks.exit_status()


if __name__ == "__main__":
    sys.exit(main())
