"""manage.py analytics_maintenance: rotate salts, create event partitions ahead, apply retention."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from analytics.services import identity, partitions


class Command(BaseCommand):
    help = "What the daily beat tasks do: salts, partitions (PostgreSQL) and retention."

    def handle(self, *args, **options):
        result = {
            "salts": identity.rotate_salts(),
            "partitions_created": partitions.ensure_ahead(),
            "retention": partitions.apply_retention(),
        }
        self.stdout.write(json.dumps(result, indent=2, default=str))
