"""An index for the status history now read from the event log (repairs.selectors.status_events):
status-move events by the status entered, then time.

On PostgreSQL it is built CONCURRENTLY, so the running release keeps writing events while it builds
(a plain CREATE INDEX would hold their inserts for as long as it takes on a big log); elsewhere
(SQLite in development and tests) plainly.
"""

import django.db.models.fields.json
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    def _ensure_not_in_transaction(self, schema_editor):
        if schema_editor.collect_sql:  # sqlmigrate (and the migration linter) only print the SQL
            return
        super()._ensure_not_in_transaction(schema_editor)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("repairs", "0008_status_history_from_events"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="ticketevent",
            index=models.Index(
                django.db.models.fields.json.KeyTransform("to", "payload"),
                models.F("created_at"),
                condition=models.Q(("kind__in", ("ticket.status_changed", "ticket.quote_decided"))),
                name="ticket_event_status_entered",
            ),
        ),
    ]
