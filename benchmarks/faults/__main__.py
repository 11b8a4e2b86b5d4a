"""Run the fault suite and print one table.

    make faults
    .venv/bin/python -m benchmarks.faults                 # all four
    .venv/bin/python -m benchmarks.faults --only 2,3      # some of them
    .venv/bin/python -m benchmarks.faults --smoke         # all four on small sizes, short outages

Loopback only and bounded (a few minutes): the site (uvicorn) and Celery workers run as
subprocesses against PostgreSQL (database ``<DATABASE_URL's name>_faults`` on 127.0.0.1:5432, or
``FAULTS_DATABASE``, reached through a TCP proxy of ours on a free port when it must fail) and a
private ``redis-server`` on a free loopback port that this run starts, restarts and stops. The shared
services are never touched. Abuse limits: the site it starts raises the per-IP limits (anonymous
bookings, event batches and webhooks all come from 127.0.0.1); they are not what is measured.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback

from . import harness
from .harness import Result


def print_table(results: list[Result]) -> None:
    header = (
        f"{'fault':<38} {'attempted':>9} {'lost':>5} {'dup':>4} {'recovery s':>10}  /readyz during outage"
    )
    print()
    print(header)
    print("-" * (len(header) + 12))
    for r in results:
        recovery = f"{r.recovery_s:.2f}" if r.recovery_s is not None else "-"
        print(f"{r.fault:<38} {r.attempted:>9} {r.lost:>5} {r.duplicated:>4} {recovery:>10}  {r.readyz}")
    print()
    for r in results:
        for note in r.notes:
            print(f"  [{r.fault.split('.')[0]}] {note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="1,2,3,4", help="comma-separated scenario numbers")
    parser.add_argument("--clients", type=int, default=50, help="websocket clients in fault 2")
    parser.add_argument("--smoke", action="store_true", help="all four, small sizes, 1-2 s outages")
    args = parser.parse_args()
    chosen = {int(n) for n in args.only.split(",")}
    emails = None
    if args.smoke:
        from . import pg_outage, redis_restart, webhook_storm

        args.clients, emails = 5, 100
        redis_restart.BEFORE_SECONDS, redis_restart.OUTAGE_SECONDS = 1.5, 1.5
        redis_restart.AFTER_SECONDS = 2.5
        pg_outage.BEFORE_SECONDS, pg_outage.OUTAGE_SECONDS, pg_outage.AFTER_SECONDS = 1.5, 2.0, 3.0
        webhook_storm.INVOICES = 6

    started = time.monotonic()
    harness.ensure_database()
    redis_server = harness.PrivateRedis().start()
    from tests.fakes.smtp import FakeSMTPServer

    smtp = FakeSMTPServer().start()
    from .worker_kill import notification_env

    env = harness.site_env(harness.database_url(), redis_server.url, **notification_env(smtp.port))
    harness.setup_django(env)
    results: list[Result] = []
    try:
        scenarios = []
        if 1 in chosen:
            from . import worker_kill

            sizes = {"emails": emails} if emails else {}
            scenarios.append(("1", lambda: worker_kill.run(env, smtp, **sizes)))
        if 2 in chosen:
            from . import redis_restart

            scenarios.append(("2", lambda: redis_restart.run(env, redis_server, clients=args.clients)))
        if 3 in chosen:
            from . import pg_outage

            scenarios.append(("3", lambda: pg_outage.run(env)))
        if 4 in chosen:
            from . import webhook_storm

            scenarios.append(("4", lambda: webhook_storm.run(env)))
        for number, scenario in scenarios:
            print(f"fault {number}…", flush=True)
            try:
                result = scenario()
            except Exception as error:
                traceback.print_exc()
                result = Result(f"{number}. (crashed)", 0, 0, 0, None, "-", [repr(error)[:300]], ok=False)
            results.append(result)
            harness.terminate_backends()
    finally:
        smtp.stop()
        redis_server.stop()
    print_table(results)
    print(f"\nwhole run: {time.monotonic() - started:.0f} s")
    failed = [r.fault for r in results if not r.ok]
    if failed:
        print("FAILED: " + "; ".join(failed))
        return 1
    print("every fault: nothing lost, nothing duplicated, recovered by itself")
    return 0


if __name__ == "__main__":
    sys.exit(main())
