"""The event log becomes the one status history (StatusChange is deprecated): make sure every old
StatusChange row is in it.

Every writer recorded a status move twice, a StatusChange row and an event, in one transaction, so
two cases are repaired here:

* events of an erased customer's repairs: erasure used to strip every event's payload down to the
  ticket snapshot, so their "from"/"to" now come back from the StatusChange row (which erasure kept,
  with its note blanked);
* a StatusChange row with no event at all (none is expected): it becomes an event at the end of the
  ticket's log, dated when the move happened, not shown to the customer (they were never told).

Backward is a no-op: the restored keys and added events are what StatusChange already said.
Running it again changes nothing.
"""

from django.db import migrations

STATUS_KINDS = ("ticket.status_changed", "ticket.quote_decided")
CHUNK = 500


def _entered(event) -> str | None:
    payload = event.payload if isinstance(event.payload, dict) else {}
    snapshot = payload.get("ticket") if isinstance(payload.get("ticket"), dict) else {}
    return payload.get("to") or snapshot.get("status")


def _pair(changes, events):
    """Match a ticket's StatusChange rows (in order) to its status events (in order): one to one when
    the counts agree (each move wrote both), else each change to the next event entering its status."""
    if len(changes) == len(events):
        return list(zip(changes, events, strict=True)), []
    pairs, missing, start = [], [], 0
    for change in changes:
        found = next((j for j in range(start, len(events)) if _entered(events[j]) == change.to_status), None)
        if found is None:
            missing.append(change)
        else:
            pairs.append((change, events[found]))
            start = found + 1
    return pairs, missing


def backfill(apps, schema_editor):
    StatusChange = apps.get_model("repairs", "StatusChange")
    TicketEvent = apps.get_model("repairs", "TicketEvent")
    RepairTicket = apps.get_model("repairs", "RepairTicket")
    ticket_ids = list(
        StatusChange.objects.order_by("ticket_id").values_list("ticket_id", flat=True).distinct()
    )
    for offset in range(0, len(ticket_ids), CHUNK):
        chunk = ticket_ids[offset : offset + CHUNK]
        changes: dict[int, list] = {}
        for change in StatusChange.objects.filter(ticket_id__in=chunk).order_by(
            "ticket_id", "created_at", "id"
        ):
            changes.setdefault(change.ticket_id, []).append(change)
        events: dict[int, list] = {}
        for event in TicketEvent.objects.filter(ticket_id__in=chunk, kind__in=STATUS_KINDS).order_by(
            "ticket_id", "seq"
        ):
            events.setdefault(event.ticket_id, []).append(event)
        restored = []
        for ticket_id, ticket_changes in changes.items():
            pairs, missing = _pair(ticket_changes, events.get(ticket_id, []))
            for change, event in pairs:
                if not isinstance(event.payload, dict) or "to" not in event.payload:
                    base = event.payload if isinstance(event.payload, dict) else {}
                    event.payload = {**base, "from": change.from_status, "to": change.to_status}
                    restored.append(event)
            if missing:
                ticket = RepairTicket.objects.select_for_update().get(pk=ticket_id)
                for change in missing:
                    ticket.last_event_seq += 1
                    event = TicketEvent.objects.create(
                        ticket_id=ticket_id,
                        seq=ticket.last_event_seq,
                        kind="ticket.status_changed",
                        payload={"from": change.from_status, "to": change.to_status, "note": change.note},
                        customer_visible=False,
                        actor_id=change.changed_by_id,
                    )
                    # created_at is auto_now_add: set the move's own time afterwards.
                    TicketEvent.objects.filter(pk=event.pk).update(created_at=change.created_at)
                RepairTicket.objects.filter(pk=ticket_id).update(last_event_seq=ticket.last_event_seq)
        TicketEvent.objects.bulk_update(restored, ["payload"], batch_size=CHUNK)


class Migration(migrations.Migration):
    dependencies = [
        ("repairs", "0007_ready_by_prediction"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
