"""(d) Beat runs the outbox sweeper on its schedule: outbox rows whose delivery task never reached
the broker are found, published and sent by the worker."""

from __future__ import annotations

from .compose import wait_for


def test_beats_sweeper_publishes_rows_whose_task_was_lost(stack, fakes):
    queued = stack.manage("queue_emails", count=3, publish=False)  # in the outbox, never published
    tokens = set(queued["tokens"])

    wait_for(
        lambda: tokens <= {m.token for m in list(fakes.smtp.messages)},
        timeout=60,
        what="the swept rows in the SMTP sink",
        stack=stack,
    )
    rows = stack.manage("messages", ids=queued["ids"])["messages"]
    assert {r["status"] for r in rows} == {"sent"}
    assert all(r["enqueued_at"] != "None" for r in rows)  # published by the sweeper
    assert fakes.smtp.receipts().total() >= 3
    assert all(fakes.smtp.receipts()[t] == 1 for t in tokens)
    assert "notifications-sweep-outbox" in stack.processes["beat"].text()
    assert "notifications.sweep" in stack.text("worker")  # either of the two
