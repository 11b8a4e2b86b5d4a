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
        for name in [*RECORDED, events.EventKind.QUOTE_DECIDED]:
            events.subscribe(name, on_domain_event)
        user_logged_in.connect(on_user_logged_in, dispatch_uid="analytics-link-on-login")

        # The parts above the storage keep their aggregates through its hooks (the storage imports
        # none of them): in the storing transaction, the dashboard's daily rollups and monitoring's
        # web-vital histograms; after the commit, the live dashboard's counters and pushes.
        from .dashboard import rollups as dashboard_rollups
        from .dashboard.services import on_domain_event as dashboard_on_domain_event
        from .dashboard.services import on_events_stored, push_alerts
        from .monitoring.services import alerts as monitoring_alerts
        from .monitoring.services import vitals as monitoring_vitals
        from .services import storage

        storage.on_stored(dashboard_rollups.add_stored_chunk)
        storage.on_stored(monitoring_vitals.add_stored_chunk)
        storage.on_stored(on_events_stored, after_commit=True)
        # A tick on domain events; alerts raised, updated or resolved go to open dashboards.
        events.subscribe(events.ALL_EVENTS, dashboard_on_domain_event)
        monitoring_alerts.on_alerts_changed(push_alerts)

        # Before repairs (900) anonymises the customer: analytics finds its data through the links.
        privacy.register(
            "analytics", export=export_analytics_data, erase=erase_analytics_data, erase_order=100
        )
        # Customer scoring: the score rows go with the customer (analytics.scoring).
        from .scoring.services import erase_scoring_data, export_scoring_data

        privacy.register(
            "analytics_scoring", export=export_scoring_data, erase=erase_scoring_data, erase_order=110
        )
