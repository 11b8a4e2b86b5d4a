"""Migrations follow expand-then-contract: during a rolling deploy the previous release's code runs
against the new schema, so a migration must not break it (no NOT NULL column without a database
default, no dropped or renamed column or table still read by the old code, …).

django-migration-linter reads the SQL each migration produces on PostgreSQL (what production runs)
and flags what the previous release could not live with. Initial migrations create tables nobody
reads yet and are not linted. A contracting migration (dropping what a previous release used) is
shipped one release after the code stopped using it, and listed in CONTRACTING with that release.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout

import pytest
from django.db import connection

#: Migrations the linter flags that are known and deliberate: (app, name) -> why it is safe.
CONTRACTING: dict[tuple[str, str], str] = {
    # Shipped before the rolling-deploy rule: adds NOT NULL `variants` without a database default.
    # Old code never inserted photos while it ran (the column came with the code that writes it).
    ("repairs", "0003_photo_variants"): "historic, before rolling deploys",
}
OUR_APPS = ["repairs", "notifications", "payments", "analytics"]


def lint() -> tuple[set[tuple[str, str]], str]:
    from django_migration_linter import MigrationLinter

    erroneous: set[tuple[str, str]] = set()
    linter = MigrationLinter(
        no_cache=True, include_apps=OUR_APPS, ignore_initial_migrations=True, analyser_string="postgresql"
    )
    original = linter.lint_migration

    def record(migration):
        before = linter.nb_erroneous
        original(migration)
        if linter.nb_erroneous > before:
            erroneous.add((migration.app_label, migration.name))

    linter.lint_migration = record
    out = io.StringIO()
    with redirect_stdout(out):
        linter.lint_all_migrations()
    return erroneous, out.getvalue()


@pytest.mark.postgres
@pytest.mark.django_db
def test_no_migration_breaks_the_running_previous_release():
    if connection.vendor != "postgresql":
        pytest.skip("the SQL checked is PostgreSQL's (what production runs); CI sets DATABASE_URL")
    erroneous, report = lint()
    unexpected = erroneous - set(CONTRACTING)
    assert not unexpected, (
        "These migrations would break the previous release during a rolling deploy "
        "(add a db_default, make the column nullable, or split into expand and contract):\n" + report
    )
    # The known one is still flagged: the linter is really looking.
    assert set(CONTRACTING) <= erroneous, report
