from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from revivatech import events, privacy

        from .services.gdpr import erase_analytics_data, export_analytics_data
        from .services.subscribers import RECORDED, on_domain_event, on_user_logged_in

        # Bookings, quote decisions and payments become server-side events; bookings and logins
        # link the browser to the customer.
        for name in [*RECORDED, "ticket.quote_decided"]:
            events.subscribe(name, on_domain_event)
        user_logged_in.connect(on_user_logged_in, dispatch_uid="analytics-link-on-login")

        # Before repairs (900) anonymises the customer: analytics finds its data through the links.
        privacy.register(
            "analytics", export=export_analytics_data, erase=erase_analytics_data, erase_order=100
        )
