"""Adding to counter tables: the one write every rollup and histogram of analytics makes.

:func:`add_rows` is ``INSERT … ON CONFLICT (keys) DO UPDATE SET col = col + excluded.col`` on
PostgreSQL and SQLite. The storage uses it for the hourly rollups, and the parts above it (the
dashboard's daily rollups, monitoring's web-vital histograms) for theirs, in the transaction that
stores the events (see :func:`analytics.services.storage.on_stored`).
"""

from __future__ import annotations

import functools
from datetime import datetime

from django.apps import apps
from django.db import connection

#: Rows per statement on SQLite (a multi-row VALUES list; its parameter limit is far above this).
SQLITE_CHUNK = 200


def add_rows(
    table: str, key_columns: tuple[str, ...], add_columns: tuple[str, ...], rows: list[tuple]
) -> None:
    """Add ``rows`` (``(*keys, *amounts)``, in ``key_columns + add_columns`` order) to ``table``: a
    missing row is inserted, an existing one (same keys, which need a unique constraint) has each
    of ``add_columns`` increased by the row's amount. One statement on PostgreSQL."""
    if not rows:
        return
    columns = key_columns + add_columns
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in add_columns)
    conflict = f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {updates}"
    if connection.vendor == "postgresql":
        # One statement whatever the number of rows: one array per column, unnested server-side
        # (a multi-row VALUES list costs a round trip per 200 rows and is quoted parameter by
        # parameter). Varchar columns travel as text[] so that a too-long value fails as in VALUES
        # instead of being cut by the cast.
        arrays = ", ".join(f"%s::{kind}[]" for kind in _array_types(table, columns))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({arrays}) {conflict}",  # noqa: S608
                [list(column) for column in zip(*rows, strict=True)],
            )
        return
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        for start in range(0, len(rows), SQLITE_CHUNK):
            chunk = rows[start : start + SQLITE_CHUNK]
            params = [adapt(v) if isinstance(v, datetime) else v for row in chunk for v in row]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([placeholder] * len(chunk))} "  # noqa: S608
                f"{conflict}",
                params,
            )


@functools.cache
def _array_types(table: str, columns: tuple[str, ...]) -> tuple[str, ...]:
    """PostgreSQL types of ``table``'s ``columns`` (from its model), varchar as text."""
    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    by_column = {f.column: f for f in model._meta.concrete_fields}
    kinds = []
    for column in columns:
        kind = by_column[column].db_type(connection)
        kinds.append("text" if kind.startswith("varchar") else kind)
    return tuple(kinds)
