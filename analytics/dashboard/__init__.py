"""The live staff dashboard (``/dashboard/``, ``/api/v1/analytics/dashboard/``, ``ws/dashboard/``).

* :mod:`.models` – the daily rollups and slices (models of the ``analytics`` app);
* :mod:`.rollups` – keeps them, in the storing transaction (a storage ``on_stored`` hook);
* :mod:`.filters` – the date range and segment every panel applies;
* :mod:`.selectors` – reads of the rollups (hourly and daily), never of the raw events for ranges;
* :mod:`.live` – live counters (Redis HyperLogLog and counters, or the database without Redis);
* :mod:`.services` – the dashboard as one document, activity items, reactions to stored events
  and domain events;
* :mod:`.realtime` – the channel-layer group and the debounced "tick" pushed to open dashboards.
"""
