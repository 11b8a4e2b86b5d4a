"""Observability: structured JSON logs with a request id that follows a request into Celery
tasks and socket events, optional Sentry, and Prometheus metrics at ``/metrics``.

See docs/observability.md for the settings and how the pieces fit.
"""
