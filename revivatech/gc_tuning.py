"""Garbage-collector settings for long-running processes (the web processes, the event flusher).

CPython's collector walks every tracked object of a generation while the process stands still. A
web process with 5,000 open sockets holds about two million such objects (each socket's consumer,
tasks, scope and protocol state), and every live event it delivers leaves new tasks waiting for the
next message, which survive the young collections. With the default thresholds (700, 10, 10) that
made a full collection every 20-30 seconds taking 0.8-1.5 s on a 2-core machine: every event
delivered in that second was that late (`make bench-realtime-processes`, docs/realtime.md).

So: the objects loaded at start (modules, settings, URL patterns, model metadata: about 190,000)
are frozen out of every collection, young collections run less often, and a full collection only
after a hundred middle ones (still several a day under load, so garbage in reference cycles is
freed). The pauses left are a few milliseconds for the young generation and tens for the middle one.
"""

from __future__ import annotations

import gc

#: (young, middle, full): a young collection per 10,000 net new container objects, a middle one
#: per 10 young ones, a full one per 100 middle ones (and only once long-lived objects grew by 25%).
THRESHOLDS = (10_000, 10, 100)


def tune_for_long_running_process() -> None:
    """Freeze what is loaded now and space the collections out; call once the application is loaded."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
