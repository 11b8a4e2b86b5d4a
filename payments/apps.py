from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from revivatech import privacy

        from .privacy import erase_customer_data, export_customer_data

        # Before repairs (900), which deletes the customer's login.
        privacy.register("payments", export=export_customer_data, erase=erase_customer_data, erase_order=500)
