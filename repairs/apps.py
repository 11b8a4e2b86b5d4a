from django.apps import AppConfig


class RepairsConfig(AppConfig):
    name = "repairs"
    verbose_name = "Repairs"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .roles import ensure_role_groups

        # Groups and their permissions exist after every migrate (also in test databases).
        post_migrate.connect(ensure_role_groups, sender=self)

        from .realtime import connect_access_signals, connect_broadcaster

        # Committed ticket events fan out to the WebSocket rooms.
        connect_broadcaster()
        # Open sockets close (4403) when the right ends: reassignment, logout, new password, role.
        connect_access_signals()

        from revivatech import privacy

        from .privacy import erase_customer_data, export_customer_data

        privacy.register("repairs", export=export_customer_data, erase=erase_customer_data, erase_order=900)

        from revivatech import flags

        from .selectors import customer_id_of_user

        # New customer-facing features, rolled out gradually (admin: Waffle → Flags; docs/flags.md).
        flags.register(
            "ready_by",
            default=True,
            description="Ready-by estimates on the tracking page, in emails and over the socket",
        )
        flags.register(
            "timeline_newest_first",
            default=True,
            description="The tracking page's timeline leads with the newest event",
        )

        # A signed-in customer is the same rollout subject as their guest tracking links.
        flags.set_customer_resolver(customer_id_of_user)
