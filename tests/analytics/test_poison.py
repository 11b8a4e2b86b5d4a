"""One bad event never blocks the others (issue #15, item 2): text a database cannot store (a lone
surrogate, a NUL byte) is refused at validation with a per-event error, and if such an entry
reaches the buffer anyway, the flusher stores the good batches, dead-letters the bad one with its
reason, and moves the cursor on. Runs on SQLite (direct mode) and on PostgreSQL + Redis."""

from __future__ import annotations

import copy
import json

import pytest
from django.conf import settings

from analytics.models import DeadLetterBatch, Event, EventType, IngestCursor
from analytics.services import buffer
from tests.analytics.factories import Visitor, batch, event, now_ms, post_events

pytestmark = pytest.mark.django_db

POISONS = ["\ud800", "\x00", "a\udfffb"]


def _raw(body: dict) -> bytes:
    # json.dumps escapes the lone surrogate as \ud800 and NUL as \u0000, as an attacker would send them.
    return json.dumps(body).encode()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize("poison", POISONS)
@pytest.mark.parametrize("field", ["path", "text", "utm", "props", "message"])
def test_unstorable_text_is_refused_per_event_and_the_good_events_are_stored(client, flushed, poison, field):
    bad = {
        "path": event("pageview", "/book/" + poison),
        "text": event("click", "/", sel="a", x=1, y=1, text="Book" + poison),
        "utm": event("pageview", "/", utm={"utm_source": "news" + poison}),
        "props": event("custom", "/", name="promo", props={"code": "X" + poison}),
        "message": event("js_error", "/", message="boom" + poison),
    }[field]
    response = post_events(client, None, raw=_raw(batch(event("pageview", "/faq/"), bad)))
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["accepted"] == 1 and body["rejected"] == 1
    (key,) = body["errors"]
    assert key.startswith("events[1].")
    assert "cannot be stored" in body["errors"][key][0]
    flushed()
    assert list(Event.objects.values_list("path", flat=True)) == ["/faq/"]


@pytest.mark.postgres
@pytest.mark.redis
def test_a_batch_of_only_unstorable_events_is_a_400(client):
    response = post_events(client, None, raw=_raw(batch(event("pageview", "/\x00"))))
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "events[0].path": ["Contains characters that cannot be stored (NUL bytes or lone surrogates)."]
    }


def _poisoned_batches() -> tuple[dict, dict, dict]:
    good1, good2 = Visitor(), Visitor()
    t = now_ms()
    first = {"ctx": good1.ctx(), "ev": [[int(EventType.PAGEVIEW), t, "/", {}]]}
    poison = {
        "ctx": Visitor().ctx(),
        "ev": [[int(EventType.PAGEVIEW), t, "/\ud800\x00", {"ref": "x\x00\ud800"}]],
    }
    last = {"ctx": good2.ctx(), "ev": [[int(EventType.PAGEVIEW), t, "/faq/", {}]]}
    return first, poison, last


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.skipif(buffer.mode() != "redis", reason="needs REDIS_URL (the Redis buffer)")
def test_poison_in_the_stream_is_dead_lettered_and_the_flush_moves_on():
    first, poison, last = _poisoned_batches()
    client = buffer.redis_client()
    for item in (first, poison, last):
        client.xadd(settings.ANALYTICS_STREAM_KEY, {"b": json.dumps(item)})
    client.xadd(settings.ANALYTICS_STREAM_KEY, {"b": b"\xff not json"})
    last_id = client.xadd(settings.ANALYTICS_STREAM_KEY, {"b": json.dumps(last)}).decode()
    result = buffer.flush_events()
    assert result.events == 3
    assert sorted(Event.objects.values_list("path", flat=True)) == ["/", "/faq/", "/faq/"]
    assert IngestCursor.objects.get(name="events").position == last_id
    letters = sorted(DeadLetterBatch.objects.all(), key=lambda letter: "nreadable" in letter.reason)
    assert len(letters) == 2
    assert letters[0].source == "stream" and letters[0].entry_id
    assert json.loads(letters[0].payload) == poison and letters[0].reason
    assert "not json" in letters[1].payload and "unreadable" in letters[1].reason.lower()
    assert buffer.flush_events().events == 0  # nothing is retried for ever


def test_poison_stored_directly_is_dead_lettered_and_the_others_are_stored(settings):
    settings.ANALYTICS_BUFFER = "direct"
    first, poison, last = _poisoned_batches()
    for item in (first, poison, last):
        buffer.enqueue(copy.deepcopy(item))  # the storage annotates the batch it is given
    assert sorted(Event.objects.values_list("path", flat=True)) == ["/", "/faq/"]
    letter = DeadLetterBatch.objects.get()
    assert letter.source == "direct" and json.loads(letter.payload) == poison and letter.reason


def test_staff_replay_a_dead_letter_once_it_is_fixed(settings, admin_client):
    from analytics.services.deadletters import replay

    settings.ANALYTICS_BUFFER = "direct"
    _first, poison, _last = _poisoned_batches()
    buffer.enqueue(copy.deepcopy(poison))
    letter = DeadLetterBatch.objects.get()
    assert admin_client.get("/admin/analytics/deadletterbatch/").status_code == 200
    assert admin_client.get(f"/admin/analytics/deadletterbatch/{letter.pk}/change/").status_code == 200
    assert replay(letter) is False  # still unstorable: kept, with the reason
    letter.refresh_from_db()
    assert letter.replayed_at is None and letter.attempts == 2
    fixed = json.loads(letter.payload)
    fixed["ev"][0][2] = "/"
    fixed["ev"][0][3] = {}
    letter.payload = json.dumps(fixed)
    letter.save()
    assert replay(letter) is True
    letter.refresh_from_db()
    assert letter.replayed_at is not None and Event.objects.filter(path="/").count() == 1
