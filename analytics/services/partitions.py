"""Monthly partitions of the events table on PostgreSQL, and retention.

``analytics_event`` is ``PARTITION BY RANGE (occurred_at)`` with one partition per UTC month
(``analytics_event_p2026_11``) and a default partition that only catches rows when no partition
was made in time. Partitions are created ahead by the daily maintenance task and, as a safety net,
by the flush when it meets a month it has not seen. Retention drops whole partitions (instant, no
vacuum), instead of deleting rows. On other databases the table is a plain table and retention
deletes rows.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, date, datetime

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from ..models import Event

logger = logging.getLogger(__name__)

TABLE = "analytics_event"
NAME = re.compile(r"^analytics_event_p(\d{4})_(\d{2})$")
_known: set[date] = set()
_lock = threading.Lock()


def month_of(moment: datetime | date) -> date:
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return moment.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{TABLE}_p{month:%Y_%m}"


def is_partitioned() -> bool:
    return connection.vendor == "postgresql"


def ensure_partition(month: date) -> bool:
    """Create the partition of ``month`` if missing. ``False`` if it could not be made (rows of that
    month already sit in the default partition: they stay there and remain queryable)."""
    month = month_of(month)
    if not is_partitioned() or month in _known:
        return True
    start, end = month, add_months(month, 1)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF {TABLE} "
                f"FOR VALUES FROM ('{start.isoformat()} 00:00:00+00') TO ('{end.isoformat()} 00:00:00+00')"
            )
        ok = True
    except DatabaseError as exc:
        logger.warning("analytics: partition for %s not created: %s", month, exc)
        ok = False
    with _lock:
        _known.add(month)
    return ok


def ensure_for(first: datetime, last: datetime) -> None:
    """Make sure the months from ``first`` to ``last`` have partitions (no query once known)."""
    month, end = month_of(first), month_of(last)
    while month <= end:
        if month not in _known:
            ensure_partition(month)
        month = add_months(month, 1)


def ensure_ahead(now: datetime | None = None, months_ahead: int = 2) -> list[str]:
    """Partitions for last month, this month and the next ``months_ahead`` months."""
    if not is_partitioned():
        return []
    current = month_of(now or timezone.now())
    names = []
    for offset in range(-1, months_ahead + 1):
        month = add_months(current, offset)
        ensure_partition(month)
        names.append(partition_name(month))
    return names


def existing_partitions() -> list[str]:
    if not is_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s ORDER BY c.relname",
            [TABLE],
        )
        return [row[0] for row in cursor.fetchall()]


def apply_retention(now: datetime | None = None, keep_months: int | None = None) -> dict[str, object]:
    """Drop event partitions (PostgreSQL) or delete events (elsewhere) older than the retention
    (ANALYTICS_EVENT_RETENTION_MONTHS whole months before the current one; 0 keeps everything).
    Rollups and sessions are kept."""
    keep = settings.ANALYTICS_EVENT_RETENTION_MONTHS if keep_months is None else keep_months
    if keep <= 0:
        return {"dropped": [], "deleted": 0}
    cutoff = add_months(month_of(now or timezone.now()), -keep)
    if not is_partitioned():
        deleted, _ = Event.objects.filter(
            occurred_at__lt=datetime.combine(cutoff, datetime.min.time(), tzinfo=UTC)
        ).delete()
        return {"dropped": [], "deleted": deleted}
    dropped = []
    for name in existing_partitions():
        match = NAME.match(name)
        if match and date(int(match[1]), int(match[2]), 1) < cutoff:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {name}")
            dropped.append(name)
            with _lock:
                _known.discard(date(int(match[1]), int(match[2]), 1))
    return {"dropped": dropped, "deleted": 0}


def forget_known() -> None:
    with _lock:
        _known.clear()
