"""The analytics app's business logic, one module per concern:

* :mod:`.request_info` – client IP, user agent, bots, country;
* :mod:`.identity` – daily salts, visitor keys, consent, linking visitors to customers;
* :mod:`.validation` – tracker batches and events;
* :mod:`.ingestion` – the hot path of ``POST /api/v1/events/`` and server-side events;
* :mod:`.buffer` – direct storage or the Redis stream and its flush;
* :mod:`.storage` – sessions, events (COPY) and rollups in one transaction, and the ``on_stored``
  hooks through which the parts above it (dashboard, monitoring) keep their own aggregates;
* :mod:`.upserts` – ``add_rows``, the ``INSERT … ON CONFLICT`` that adds to every counter table;
* :mod:`.partitions` – monthly partitions and retention (PostgreSQL);
* :mod:`.reports` – funnels and journeys;
* :mod:`.gdpr` – export and erasure of a customer across every app;
* :mod:`.subscribers` – domain events and logins.

This package is the bottom of analytics: it imports nothing from ``analytics.dashboard``,
``analytics.monitoring`` or ``analytics.scoring`` (checked by tests/project/test_import_rules.py).
"""
