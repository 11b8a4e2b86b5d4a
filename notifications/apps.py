from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from django.core.signals import setting_changed
        from django.db.models.signals import post_migrate

        from revivatech import privacy

        from . import checks, providers  # noqa: F401 - registers the system checks
        from .roles import grant_staff_permissions
        from .services import automation
        from .services.privacy import erase_customer_data, export_customer_data

        # Domain events (after commit) → automation rules → outbox rows.
        automation.connect()
        # Staff manage templates, rules and the outbox in the admin.
        post_migrate.connect(grant_staff_permissions, sender=self)
        # Provider clients are rebuilt when settings change (tests).
        setting_changed.connect(providers.reset)
        # Before repairs anonymises the customer (erase_order 900).
        privacy.register(
            "notifications", export=export_customer_data, erase=erase_customer_data, erase_order=200
        )
