from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "revivatech.observability"
    label = "observability"
    verbose_name = "Observability"

    def ready(self) -> None:
        from . import celery_hooks, middleware, sentry

        middleware.connect_log_signals()
        celery_hooks.connect()
        sentry.init_from_settings()
