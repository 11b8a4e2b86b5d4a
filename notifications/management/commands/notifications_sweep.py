"""Run the outbox sweeper (what Celery beat runs every NOTIFICATIONS_SWEEP_SECONDS), optionally
delivering due messages in this process too: on a one-machine setup without beat or a worker,
``manage.py notifications_sweep --drain --loop 15`` keeps deferred and retried messages moving."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandParser

from notifications.services import delivery


class Command(BaseCommand):
    help = "Recover expired leases, republish due messages; with --drain also send them here."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--drain", action="store_true", help="deliver due messages in this process")
        parser.add_argument(
            "--loop", type=float, metavar="SECONDS", help="repeat every SECONDS until interrupted"
        )

    def handle(self, *args, drain: bool = False, loop: float | None = None, **options) -> None:
        if loop is not None and loop <= 0:
            self.stderr.write("--loop needs a number of seconds above 0.")
            return
        while True:
            swept = delivery.sweep()
            line = f"released {swept.released}, in doubt {swept.in_doubt}, published {swept.published}"
            if drain:
                result = delivery.drain(max_seconds=loop or 60)
                line += f"; delivered {result.claimed}: {result.outcomes or 'nothing due'}"
            self.stdout.write(line)
            if loop is None:
                return
            try:
                time.sleep(loop)
            except KeyboardInterrupt:
                return
