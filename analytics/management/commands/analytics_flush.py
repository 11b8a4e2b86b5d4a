"""manage.py analytics_flush [--follow]: store the events waiting in the Redis stream now."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from analytics.services import buffer
from revivatech import gc_tuning


class Command(BaseCommand):
    help = "Store buffered analytics events (Redis mode). --follow keeps flushing, as a dedicated worker."

    def add_arguments(self, parser):
        parser.add_argument("--follow", action="store_true", help="Keep flushing until interrupted.")
        parser.add_argument(
            "--idle",
            type=float,
            default=0.5,
            help="Longest wait (seconds) on an empty stream; a new batch ends it at once.",
        )

    def handle(self, *args, follow: bool = False, idle: float = 0.5, **options):
        if buffer.mode() != "redis":
            self.stdout.write("Direct mode (no Redis buffer): events are stored as they arrive.")
            return
        if follow:
            # A long-lived worker: the loaded application stays for good (revivatech/gc_tuning.py).
            gc_tuning.tune_for_long_running_process()
        total = 0
        while True:
            result = buffer.flush_events(max_seconds=5)
            total += result.events
            if not follow:
                break
            if not result.events:
                buffer.wait_for_events(idle)
        self.stdout.write(f"Stored {total} events.")
