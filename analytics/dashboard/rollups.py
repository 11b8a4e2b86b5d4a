# ruff: noqa: S608  (SQL built from fixed table and column names only)
"""The dashboard's daily aggregates, kept exact in the transaction that stores events.

* :class:`~analytics.models.DailyEventRollup` / :class:`~analytics.models.DailySessionRollup`: the
  hourly rollups summed per UTC day, every segment dimension kept (the page for page views only);
* :class:`~analytics.models.DailyEventSlice` / :class:`~analytics.models.DailySessionSlice`: the
  same per day for the whole site and for each one-dimension segment, sessions also broken down
  by each dimension. A dashboard view with no segment or a one-dimension segment (the usual ones)
  reads a few hundred slice rows whatever the traffic; two or more dimensions read the daily cube.

:func:`add_stored_chunk` is registered on the storage (``storage.on_stored``, in the storing
transaction; see analytics/apps.py) and hands :func:`add_event_counts` and :func:`add_session_deltas`
the hourly increments the storage has just applied. :func:`backfill_sql` is the same arithmetic in SQL,
from the hourly rollups (the migration and the benchmark use it).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime

from ..models import DailyEventRollup, DailyEventSlice, DailySessionRollup, DailySessionSlice, EventType
from ..services.storage import StoredChunk
from ..services.upserts import add_rows

SEGMENT_DIMENSIONS = ("device_type", "browser", "country", "utm_source")
SESSION_METRICS = ("sessions", "bounces", "conversions", "pageviews", "duration_seconds", "engaged_ms")


def segment_key(dimension: str, value: str) -> str:
    """The slice key of a one-dimension segment (``""`` for the whole site)."""
    return f"{dimension}={value}" if dimension else ""


def _segments(dims: tuple[str, ...]) -> list[str]:
    """The slices a row with these dimension values (in SEGMENT_DIMENSIONS order) adds to."""
    return [""] + [
        segment_key(name, value) for name, value in zip(SEGMENT_DIMENSIONS, dims, strict=True) if value
    ]


def add_stored_chunk(chunk: StoredChunk) -> None:
    """The storage's in-transaction hook: the daily rollups and slices grow with the hourly ones."""
    add_event_counts(chunk.event_counts)
    add_session_deltas(chunk.session_deltas)


def add_event_counts(counts: Counter) -> None:
    """``counts`` as the storage keeps them: ``(hour_index, type, path, device_type, browser, country,
    utm_source) -> n`` where ``hour_index`` is hours since the epoch."""
    cube: Counter = Counter()
    slices: Counter = Counter()
    for (hour_index, event_type, path, *dims), count in counts.items():
        day = datetime.fromtimestamp(hour_index * 3600, tz=UTC).date()
        page = path if event_type == EventType.PAGEVIEW else ""
        cube[(day, event_type, page, *dims)] += count
        for segment in _segments(tuple(dims)):
            slices[(segment, day, event_type, page)] += count
    add_rows(
        DailyEventRollup._meta.db_table,
        ("day", "type", "path", *SEGMENT_DIMENSIONS),
        ("count",),
        [(*key, n) for key, n in cube.items()],
    )
    add_rows(
        DailyEventSlice._meta.db_table,
        ("segment", "day", "type", "path"),
        ("count",),
        [(*key, n) for key, n in slices.items()],
    )


def add_session_deltas(rows: list[tuple]) -> None:
    """``rows`` as the storage upserts them into the hourly session rollup: ``(hour, entry_path,
    device_type, browser, country, utm_source, *SESSION_METRICS)`` with changes, not totals."""
    cube: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(SESSION_METRICS))
    slices: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(SESSION_METRICS))
    for hour, _entry_path, *rest in rows:
        dims, values = tuple(rest[:4]), rest[4:]
        day = hour.date()
        targets = [cube[(day, *dims)]]
        for segment in _segments(dims):
            targets.append(slices[(segment, "", day, "")])
            for name, value in zip(SEGMENT_DIMENSIONS, dims, strict=True):
                targets.append(slices[(segment, name, day, value)])
        for total in targets:
            for index, value in enumerate(values):
                total[index] += value
    add_rows(
        DailySessionRollup._meta.db_table,
        ("day", *SEGMENT_DIMENSIONS),
        SESSION_METRICS,
        [(*key, *values) for key, values in cube.items() if any(values)],
    )
    add_rows(
        DailySessionSlice._meta.db_table,
        ("segment", "dimension", "day", "value"),
        SESSION_METRICS,
        [(*key, *values) for key, values in slices.items() if any(values)],
    )


# --- the same in SQL, from the hourly rollups -------------------------------------------------------------


def _segment_union(table: str, columns: str) -> str:
    parts = [f"SELECT hour, '' AS segment, {columns} FROM {table}"]
    for name in SEGMENT_DIMENSIONS:
        parts.append(
            f"SELECT hour, '{name}=' || {name} AS segment, {columns} FROM {table} WHERE {name} <> ''"
        )
    return " UNION ALL ".join(parts)


def backfill_sql(day: str) -> list[str]:
    """INSERT … SELECT statements that fill the four daily tables from the hourly rollups; ``day``
    is the SQL expression of an hour's UTC date (``CAST(hour AS date)`` on PostgreSQL with the
    session in UTC, ``date(hour)`` on SQLite)."""
    dims = ", ".join(SEGMENT_DIMENSIONS)
    page = "CASE WHEN type = 1 THEN path ELSE '' END"
    metrics = ", ".join(SESSION_METRICS)
    sums = ", ".join(f"SUM({m})" for m in SESSION_METRICS)
    sessions_by_dimension = " UNION ALL ".join(
        [f"SELECT hour, segment, '' AS dimension, '' AS value, {metrics} FROM segs"]
        + [f"SELECT hour, segment, '{name}', {name}, {metrics} FROM segs" for name in SEGMENT_DIMENSIONS]
    )
    return [
        f"INSERT INTO analytics_dailyeventrollup (day, type, path, {dims}, count) "
        f"SELECT {day}, type, {page}, {dims}, SUM(count) FROM analytics_eventrollup "
        f"GROUP BY {day}, type, {page}, {dims}",
        f"INSERT INTO analytics_dailysessionrollup (day, {dims}, {metrics}) "
        f"SELECT {day}, {dims}, {sums} FROM analytics_sessionrollup GROUP BY {day}, {dims}",
        f"INSERT INTO analytics_dailyeventslice (segment, day, type, path, count) "
        f"SELECT segment, {day}, type, {page}, SUM(count) "
        f"FROM ({_segment_union('analytics_eventrollup', 'type, path, count')}) AS segs "
        f"GROUP BY segment, {day}, type, {page}",
        f"INSERT INTO analytics_dailysessionslice (segment, dimension, day, value, {metrics}) "
        f"WITH segs AS ({_segment_union('analytics_sessionrollup', f'{dims}, {metrics}')}) "
        f"SELECT segment, dimension, {day}, value, {sums} FROM ({sessions_by_dimension}) AS rows "
        f"GROUP BY segment, dimension, {day}, value",
    ]
