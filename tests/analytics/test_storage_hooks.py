"""The storage's public hooks (``storage.on_stored``): the parts above the storage keep their
aggregates through them, in the storing transaction or after its commit, and the storage imports
none of those parts (tests/project/test_import_rules.py)."""

from __future__ import annotations

import pytest

from analytics.dashboard import rollups
from analytics.dashboard.services import on_events_stored
from analytics.models import DailyEventRollup, DailySessionSlice, Event, EventRollup, EventType, Session
from analytics.monitoring.services import vitals
from analytics.services import storage
from tests.analytics.factories import Visitor, now_ms

pytestmark = pytest.mark.django_db


def two_pageviews() -> list[dict]:
    t = now_ms()
    return [
        {
            "ctx": Visitor().ctx(),
            "ev": [[EventType.PAGEVIEW, t, "/", {}], [EventType.PAGEVIEW, t + 1000, "/book/", {}]],
        }
    ]


def test_the_parts_register_their_hooks_once_in_app_ready():
    assert storage.HOOKS.in_transaction.count(rollups.add_stored_chunk) == 1
    assert storage.HOOKS.in_transaction.count(vitals.add_stored_chunk) == 1
    assert storage.HOOKS.after_commit.count(on_events_stored) == 1
    storage.on_stored(rollups.add_stored_chunk)  # a second registration changes nothing
    assert storage.HOOKS.in_transaction.count(rollups.add_stored_chunk) == 1


def test_a_hook_receives_the_chunk_in_the_storing_transaction(monkeypatch):
    seen: list[storage.StoredChunk] = []
    monkeypatch.setattr(storage.HOOKS, "in_transaction", [*storage.HOOKS.in_transaction, seen.append])
    storage.store_batches(two_pageviews())
    (chunk,) = seen
    assert [row[storage.EVENT_COLUMNS.index("path")] for row in chunk.events] == ["/", "/book/"]
    assert sum(chunk.event_counts.values()) == 2
    (delta,) = chunk.session_deltas  # one new visit: hour, five dimensions, six figures
    assert len(delta) == 12 and delta[6:8] == (1, 0)  # one session, not a bounce (two pages)


def test_an_in_transaction_hook_failing_rolls_back_the_events_and_every_rollup(monkeypatch):
    def fail(chunk: storage.StoredChunk) -> None:
        raise RuntimeError("hook failed")

    # After the dashboard's own hook: its daily rows were written, and go with the rest.
    monkeypatch.setattr(storage.HOOKS, "in_transaction", [*storage.HOOKS.in_transaction, fail])
    with pytest.raises(RuntimeError, match="hook failed"):
        storage.store_batches(two_pageviews())
    for model in (Event, Session, EventRollup, DailyEventRollup, DailySessionSlice):
        assert model.objects.count() == 0, model.__name__


def test_an_after_commit_hook_runs_only_once_committed(monkeypatch, django_capture_on_commit_callbacks):
    seen: list[storage.StoredChunk] = []
    monkeypatch.setattr(storage.HOOKS, "after_commit", [seen.append])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        storage.store_batches(two_pageviews())
        assert seen == []
    assert len(callbacks) == 1 and len(seen[0].events) == 2
    assert sum(DailyEventRollup.objects.values_list("count", flat=True)) == 2  # in-transaction hooks ran
