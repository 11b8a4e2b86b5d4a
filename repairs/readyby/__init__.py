"""Ready-by prediction: when a repair will be ready, with an 80% interval, in shop working hours.

* ``calendar``: the shop's working-hours clock (opening hours per weekday, holidays, time zone);
* ``faults``: keyword categories of the reported problem;
* ``features``: snapshots of tickets (training rows from the event log, one row for a live ticket);
* ``training``: quantile gradient boosting, conformalised, evaluated on a time holdout;
* ``services``: compute and store a ticket's estimate, record it on the timeline, promises;
* ``selectors``: the current estimate (customer wording), due-soon / at-risk, accuracy over time.

It reads only repairs data: other apps read it through ``repairs.readyby.selectors``.
"""
