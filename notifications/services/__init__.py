"""Every write of the notifications app, split by concern:

* :mod:`.dispatch`: notify a customer (outbox rows per channel, fallback order);
* :mod:`.delivery`: the worker (claim, send with failover and rate limits, retry, dead letters,
  the sweeper, re-queueing);
* :mod:`.automation`: domain events → rules → dispatches; campaigns;
* :mod:`.preferences`: customers' choices, quiet hours, one-click unsubscribe;
* :mod:`.templates`: rendering, versions, previews;
* :mod:`.tracking`: opens, clicks and provider webhooks (forward-only statuses);
* :mod:`.push_devices`, :mod:`.ratelimit`, :mod:`.privacy`, :mod:`.context`.
"""
