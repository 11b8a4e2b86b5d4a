"""Storing batches: sessions, events and rollups in one transaction.

For a whole flush (thousands of events) this makes a fixed number of queries, not one per event:
open sessions of the identities involved, device and visitor links, then the writes: new sessions
(bulk insert), changed sessions (one ``UPDATE … FROM (VALUES …)`` on PostgreSQL), events
(``COPY`` on PostgreSQL, bulk insert elsewhere), and the hourly rollups
(``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n``, :func:`.upserts.add_rows`).

This is the bottom layer of analytics: it imports no part above it (dashboard, monitoring, scoring).
Those keep their own aggregates of what is stored through :func:`on_stored` hooks, registered in
``AnalyticsConfig.ready()`` (analytics/apps.py), which receive each :class:`StoredChunk`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.conf import settings
from django.db import OperationalError, connection, transaction

from ..models import Event, EventRollup, EventType, Session, SessionRollup, TrackedDevice, VisitorLink
from . import caps, partitions, upserts

CONVERSIONS = frozenset({EventType.BOOKING_COMPLETED, EventType.QUOTE_APPROVED, EventType.PAYMENT_SUCCEEDED})
ENGAGED_MS = 10_000  # a visit with one page is a bounce unless engaged this long (or converting)
LOOKUP_CHUNK = 500
#: Serialises storing on PostgreSQL across processes (transaction-scoped advisory lock).
ADVISORY_LOCK_ID = 72_410_006
SQLITE_LOCK_RETRIES = 100
T = TypeVar("T")
_local_lock = threading.RLock()

EVENT_COLUMNS = (
    "occurred_at",
    "type",
    "session_id",
    "visitor_key",
    "device_id",
    "customer_id",
    "path",
    "device_type",
    "browser",
    "os",
    "country",
    "utm_source",
    "props",
)
SESSION_UPDATE_COLUMNS = (
    ("identity", "uuid"),
    ("visitor_key", "uuid"),
    ("device_id", "uuid"),
    ("customer_id", "bigint"),
    ("last_seen_at", "timestamptz"),
    ("exit_path", "varchar"),
    ("pageviews", "integer"),
    ("events", "integer"),
    ("engaged_ms", "bigint"),
    ("converted", "boolean"),
    ("is_bounce", "boolean"),
    ("pages", "jsonb"),
)


@dataclass(frozen=True)
class StoredChunk:
    """What one storing transaction wrote, as :func:`on_stored` hooks receive it.

    * ``events``: the event rows, tuples in :data:`EVENT_COLUMNS` order;
    * ``event_counts``: what was added to the hourly event rollup, ``(hour_index, type, path,
      device_type, browser, country, utm_source) -> n`` with ``hour_index`` in hours since the epoch;
    * ``session_deltas``: what was added to the hourly session rollup, rows of ``(hour, entry_path,
      device_type, browser, country, utm_source, sessions, bounces, conversions, pageviews,
      duration_seconds, engaged_ms)``: changes (a visit that goes on adds its difference), not totals.
    """

    events: list[tuple]
    event_counts: Counter
    session_deltas: list[tuple]


StoredHook = Callable[[StoredChunk], None]


@dataclass
class StoredHooks:
    """The registered hooks, by when they run (see :func:`on_stored`)."""

    in_transaction: list[StoredHook] = field(default_factory=list)
    after_commit: list[StoredHook] = field(default_factory=list)


HOOKS = StoredHooks()


def on_stored(hook: StoredHook, *, after_commit: bool = False) -> StoredHook:
    """Call ``hook`` with every :class:`StoredChunk` the storage writes (registering twice is a no-op).

    By default it runs inside the storing transaction, after the events and hourly rollups are
    written: what it writes commits or rolls back with the events, and its exception aborts the
    store like any storage error (the batch is retried or set aside). Aggregates that must stay
    exact (the dashboard's daily rollups, monitoring's web-vital histograms) register this way.

    With ``after_commit=True`` it runs once the transaction has committed
    (``transaction.on_commit(..., robust=True)``): for reactions outside the database (the live
    dashboard's counters and pushes), whose failure is logged and never undoes the store.
    """
    hooks = HOOKS.after_commit if after_commit else HOOKS.in_transaction
    if hook not in hooks:
        hooks.append(hook)
    return hook


def write(work: Callable[[], T]) -> T:
    """Run ``work`` in a transaction as an analytics writer.

    On SQLite (one writer at a time) the process's analytics writers take turns, and a write that
    meets another connection's lock is retried: a file database waits on its own (busy timeout),
    but a shared-cache database (the tests') refuses at once with "table is locked". PostgreSQL
    needs neither (row locks; :func:`store_batches` adds an advisory lock).
    """
    if connection.vendor == "postgresql":
        with transaction.atomic():
            return work()
    attempts = 0
    while True:
        try:
            with _local_lock, transaction.atomic():
                return work()
        except OperationalError as exc:
            attempts += 1
            if "locked" not in str(exc) or attempts >= SQLITE_LOCK_RETRIES or connection.in_atomic_block:
                raise
            time.sleep(0.02)


@dataclass
class StoreResult:
    events: int = 0
    sessions_created: int = 0
    sessions_updated: int = 0

    def __add__(self, other: StoreResult) -> StoreResult:
        return StoreResult(
            self.events + other.events,
            self.sessions_created + other.sessions_created,
            self.sessions_updated + other.sessions_updated,
        )


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _hour(ms: int) -> datetime:
    return _dt(ms - ms % 3_600_000)


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


def _chunks(items: list, size: int = LOOKUP_CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _SessionState:
    session: Session
    new: bool
    before: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)  # sessions, bounces, conversions, pv, engaged
    before_duration: int = 0
    changed: bool = False
    dims: tuple = field(default_factory=tuple)


def _rollup_values(state: _SessionState) -> tuple[int, int, int, int, int]:
    s = state.session
    return (1, int(s.is_bounce), int(s.converted), s.pageviews, s.engaged_ms)


def _session_dims(session: Session) -> tuple:
    return (
        _hour(int(session.started_at.timestamp() * 1000)),
        session.entry_path,
        session.device_type,
        session.browser,
        session.country,
        session.utm_source,
    )


def _open_sessions(keys: set[uuid.UUID], since: datetime) -> dict[uuid.UUID, Session]:
    """The latest session of each identity still open at ``since``."""
    found: dict[uuid.UUID, Session] = {}
    for chunk in _chunks(sorted(keys)):
        for session in Session.objects.filter(identity__in=chunk, last_seen_at__gte=since).order_by(
            "last_seen_at"
        ):
            found[session.identity] = session
    return found


def _customer_links(device_ids: set[uuid.UUID], visitor_keys: set[uuid.UUID]) -> dict[uuid.UUID, int]:
    links: dict[uuid.UUID, int] = {}
    for chunk in _chunks(sorted(visitor_keys)):
        links.update(
            VisitorLink.objects.filter(visitor_key__in=chunk).values_list("visitor_key", "customer_id")
        )
    for chunk in _chunks(sorted(device_ids)):
        links.update(
            TrackedDevice.objects.filter(id__in=chunk, customer__isnull=False).values_list(
                "id", "customer_id"
            )
        )
    return links


def store_batches(batches: list[dict[str, Any]]) -> StoreResult:
    """Store ingested batches (see :mod:`.ingestion` for their shape) with their sessions and rollups."""
    if not batches:
        return StoreResult()

    def locked_store() -> StoreResult:
        if connection.vendor == "postgresql":  # one sessioniser at a time, across processes
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_ID])
        return _store(batches)

    return write(locked_store)


def _store(batches: list[dict[str, Any]]) -> StoreResult:
    caps.cap_dimensions(batches)  # unknown paths and UTM values past the day's caps become "(other)"
    timeout_ms = settings.ANALYTICS_SESSION_TIMEOUT_MINUTES * 60_000
    max_ms = settings.ANALYTICS_SESSION_MAX_HOURS * 3_600_000
    max_pages = settings.ANALYTICS_JOURNEY_MAX_PAGES

    # 1. Group events by identity (the consented device, else the visitor key), in time order.
    by_identity: dict[uuid.UUID | None, list[tuple[int, int, dict, list]]] = defaultdict(list)
    order = 0
    device_ids: set[uuid.UUID] = set()
    visitor_keys: set[uuid.UUID] = set()
    previous_keys: set[uuid.UUID] = set()
    min_ms = max_ms_seen = None
    for batch in batches:
        ctx = batch["ctx"]
        did, vk, pvk = _uuid(ctx.get("did")), _uuid(ctx.get("vk")), _uuid(ctx.get("pvk"))
        ctx["_did"], ctx["_vk"], ctx["_pvk"] = did, vk, pvk
        identity = did or vk
        if did:
            device_ids.add(did)
        if vk:
            visitor_keys.add(vk)
        if pvk and not did:
            previous_keys.add(pvk)
        if did and vk:  # consent given mid-visit: the anonymous visit continues on the device
            previous_keys.add(vk)
        for event in batch["ev"]:
            order += 1
            by_identity[identity].append((event[1], order, ctx, event))
            min_ms = event[1] if min_ms is None or event[1] < min_ms else min_ms
            max_ms_seen = event[1] if max_ms_seen is None or event[1] > max_ms_seen else max_ms_seen
    if min_ms is None:
        return StoreResult()

    # 2. Three lookups for the whole flush.
    identities = {key for key in by_identity if key is not None}
    open_sessions = _open_sessions(identities | previous_keys, _dt(min_ms - timeout_ms))
    links = _customer_links(device_ids, visitor_keys)

    # 3. Assign events to sessions.
    states: dict[uuid.UUID, _SessionState] = {}
    event_rows: list[tuple] = []
    event_counts: Counter = Counter()
    device_seen: dict[uuid.UUID, tuple[int, dict, dict | None]] = {}

    def state_of(session: Session, new: bool) -> _SessionState:
        state = states.get(session.id)
        if state is None:
            state = _SessionState(session=session, new=new)
            if not new:
                state.before = _rollup_values(state)
                state.before_duration = int((session.last_seen_at - session.started_at).total_seconds())
            states[session.id] = state
        return state

    for items in by_identity.values():
        items.sort(key=lambda item: (item[0], item[1]))
    # Identities in order of their first event, so a visit that yesterday's key opened earlier in
    # this same flush is found by today's key (midnight continuity).
    for identity, items in sorted(by_identity.items(), key=lambda pair: pair[1][0][:2]):
        current = open_sessions.get(identity) if identity is not None else None
        if current is None and identity is not None and items[0][2]["_pvk"] and not items[0][2]["_did"]:
            # Shortly after midnight: yesterday's key may have an open visit; it continues under today's.
            carried = open_sessions.get(items[0][2]["_pvk"])
            if carried is not None:
                state_of(carried, new=False)  # snapshot before it changes
                carried.identity = identity
                carried.visitor_key = identity
                current = carried
        if current is None and identity is not None and items[0][2]["_did"] and items[0][2]["_vk"]:
            # The visitor consented during this visit: its anonymous visit continues on the device
            # (one visit, one visitor), instead of a second visit starting at the consent.
            anonymous = open_sessions.get(items[0][2]["_vk"])
            if anonymous is not None and anonymous.device_id is None:
                state_of(anonymous, new=False)
                anonymous.identity = identity
                anonymous.device_id = identity
                open_sessions.pop(items[0][2]["_vk"])
                current = anonymous
        if current is not None:
            state_of(current, new=False)
        for ms, _order, ctx, event in items:
            event_type, path, props = event[0], event[2], event[3]
            occurred = _dt(ms)
            customer_id = ctx.get("cid") or links.get(ctx["_did"]) or links.get(ctx["_vk"])
            session = None
            if identity is not None:
                last_ms = int(current.last_seen_at.timestamp() * 1000) if current else 0
                start_ms = int(current.started_at.timestamp() * 1000) if current else 0
                if current is None or ms - last_ms > timeout_ms or ms - start_ms > max_ms:
                    utm = (props.get("utm") or {}) if event_type == EventType.PAGEVIEW else {}
                    current = Session(
                        id=uuid.uuid4(),
                        identity=identity,
                        visitor_key=ctx["_vk"],
                        device_id=ctx["_did"],
                        customer_id=customer_id,
                        started_at=occurred,
                        last_seen_at=occurred,
                        entry_path=path,
                        exit_path=path,
                        referrer_host=props.get("ref", "") if event_type == EventType.PAGEVIEW else "",
                        utm_source=utm.get("utm_source", ""),
                        utm_medium=utm.get("utm_medium", ""),
                        utm_campaign=utm.get("utm_campaign", ""),
                        device_type=ctx["dt"],
                        browser=ctx["br"],
                        os=ctx["os"],
                        country=ctx["cc"],
                        pages=[],
                    )
                    state_of(current, new=True)
                session = current
                state = states[session.id]
                state.changed = True
                if customer_id and not session.customer_id:
                    session.customer_id = customer_id
                customer_id = customer_id or session.customer_id
                session.events += 1
                if occurred >= session.last_seen_at:
                    session.last_seen_at = occurred
                    if path and event_type == EventType.PAGEVIEW:
                        session.exit_path = path
                if event_type == EventType.PAGEVIEW:
                    session.pageviews += 1
                    if (
                        path
                        and (not session.pages or session.pages[-1] != path)
                        and len(session.pages) < max_pages
                    ):
                        session.pages = [*session.pages, path]
                elif event_type == EventType.PAGE_LEAVE:
                    session.engaged_ms += props.get("engaged_ms", 0)
                if event_type in CONVERSIONS:
                    session.converted = True
                session.is_bounce = (
                    session.pageviews <= 1 and session.engaged_ms < ENGAGED_MS and not session.converted
                )
            dims_from = session if (session is not None and not ctx["dt"]) else None
            device_type = dims_from.device_type if dims_from else ctx["dt"]
            browser = dims_from.browser if dims_from else ctx["br"]
            os_family = dims_from.os if dims_from else ctx["os"]
            country = dims_from.country if dims_from else ctx["cc"]
            utm_source = session.utm_source if session is not None else ""
            event_rows.append(
                (
                    occurred,
                    event_type,
                    session.id if session else None,
                    ctx["_vk"],
                    ctx["_did"],
                    customer_id,
                    path,
                    device_type,
                    browser,
                    os_family,
                    country,
                    utm_source,
                    props,
                )
            )
            event_counts[(ms // 3_600_000, event_type, path, device_type, browser, country, utm_source)] += 1
            if ctx["_did"]:
                seen = device_seen.get(ctx["_did"])
                if seen is None or ms > seen[0]:
                    device_seen[ctx["_did"]] = (ms, ctx, ctx.get("dev"))
        if identity is not None and current is not None:
            open_sessions[identity] = current

    # 4. Writes.
    created = [s.session for s in states.values() if s.new]
    updated = [s.session for s in states.values() if not s.new and s.changed]
    if created:
        Session.objects.bulk_create(created, batch_size=500)
    if updated:
        _update_sessions(updated)
    _insert_events(event_rows, _dt(min_ms), _dt(max_ms_seen))
    _upsert_event_rollups(event_counts)
    session_deltas = _upsert_session_rollups(states.values())
    chunk = StoredChunk(events=event_rows, event_counts=event_counts, session_deltas=session_deltas)
    for hook in HOOKS.in_transaction:  # the daily rollups, the web-vital histograms …
        hook(chunk)
    if device_seen:
        _touch_devices(device_seen)
    for hook in HOOKS.after_commit:
        transaction.on_commit(lambda hook=hook: hook(chunk), robust=True)
    return StoreResult(events=len(event_rows), sessions_created=len(created), sessions_updated=len(updated))


def _update_sessions(sessions: list[Session]) -> None:
    if connection.vendor != "postgresql":
        fields = ["customer" if name == "customer_id" else name for name, _ in SESSION_UPDATE_COLUMNS]
        Session.objects.bulk_update(sessions, fields, batch_size=200)
        return
    columns = ", ".join(name for name, _ in SESSION_UPDATE_COLUMNS)
    assignments = ", ".join(f"{name} = v.{name}" for name, _ in SESSION_UPDATE_COLUMNS)
    placeholder = "(%s::uuid, " + ", ".join(f"%s::{kind}" for _, kind in SESSION_UPDATE_COLUMNS) + ")"
    with connection.cursor() as cursor:
        for chunk in _chunks(sessions):
            params: list[Any] = []
            for s in chunk:
                params += [
                    s.id,
                    s.identity,
                    s.visitor_key,
                    s.device_id,
                    s.customer_id,
                    s.last_seen_at,
                    s.exit_path,
                    s.pageviews,
                    s.events,
                    s.engaged_ms,
                    s.converted,
                    s.is_bounce,
                    json.dumps(s.pages),
                ]
            values = ", ".join([placeholder] * len(chunk))
            cursor.execute(
                f"UPDATE analytics_session AS s SET {assignments} "  # noqa: S608 (fixed column names)
                f"FROM (VALUES {values}) AS v(id, {columns}) WHERE s.id = v.id",
                params,
            )


def _insert_events(rows: list[tuple], first: datetime, last: datetime) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        partitions.ensure_for(first, last)
        with connection.cursor() as cursor:
            copy_sql = f"COPY analytics_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN"
            encode = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps would build one a row
            with cursor.cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row((*row[:-1], encode(row[-1])))
        return
    Event.objects.bulk_create(
        [
            Event(
                occurred_at=row[0],
                type=row[1],
                session_id=row[2],
                visitor_key=row[3],
                device_id=row[4],
                customer_id=row[5],
                path=row[6],
                device_type=row[7],
                browser=row[8],
                os=row[9],
                country=row[10],
                utm_source=row[11],
                props=row[12],
            )
            for row in rows
        ],
        batch_size=500,
    )


def _upsert_event_rollups(counts: Counter) -> None:
    upserts.add_rows(
        EventRollup._meta.db_table,
        ("hour", "type", "path", "device_type", "browser", "country", "utm_source"),
        ("count",),
        [(_dt(hour * 3_600_000), *dims, count) for (hour, *dims), count in counts.items()],
    )


def _upsert_session_rollups(states) -> list[tuple]:
    """Add the sessions' changes to the hourly session rollup; return the rows added."""
    deltas: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    for state in states:
        if not state.changed and not state.new:
            continue
        s = state.session
        after = _rollup_values(state)
        duration = int((s.last_seen_at - s.started_at).total_seconds())
        total = deltas[_session_dims(s)]
        for index, (new, old) in enumerate(zip(after, state.before, strict=True)):
            total[index] += new - old
        total[5] += duration - state.before_duration
    rows = [
        (*dims, sessions, bounces, conversions, pageviews, duration, engaged)
        for dims, (sessions, bounces, conversions, pageviews, engaged, duration) in deltas.items()
        if any((sessions, bounces, conversions, pageviews, engaged, duration))
    ]
    upserts.add_rows(
        SessionRollup._meta.db_table,
        ("hour", "entry_path", "device_type", "browser", "country", "utm_source"),
        ("sessions", "bounces", "conversions", "pageviews", "duration_seconds", "engaged_ms"),
        rows,
    )
    return rows


def _touch_devices(seen: dict[uuid.UUID, tuple[int, dict, dict | None]]) -> None:
    """Consented devices: last seen, and the richer signals when the batch carried them."""
    plain, with_signals = [], []
    for device_id, (ms, ctx, signals) in seen.items():
        device = TrackedDevice(
            id=device_id,
            first_seen_at=_dt(ms),
            last_seen_at=_dt(ms),
            device_type=ctx["dt"],
            browser=ctx["br"],
            os=ctx["os"],
        )
        if signals:
            device.screen = signals.get("screen", "")
            device.time_zone = signals.get("tz", "")
            device.language = signals.get("lang", "")
            device.hardware = signals.get("hw", {})
            with_signals.append(device)
        else:
            plain.append(device)
    base = ["last_seen_at", "device_type", "browser", "os"]
    if plain:
        TrackedDevice.objects.bulk_create(
            plain, update_conflicts=True, unique_fields=["id"], update_fields=base
        )
    if with_signals:
        TrackedDevice.objects.bulk_create(
            with_signals,
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=[*base, "screen", "time_zone", "language", "hardware"],
        )
