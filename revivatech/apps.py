from django.apps import AppConfig


class RevivatechConfig(AppConfig):
    """The project kernel as an app, for what must happen once every app is loaded."""

    name = "revivatech"
    label = "revivatech"
    verbose_name = "RevivaTech"

    def ready(self) -> None:
        from .celery import register_tasks

        register_tasks()
