from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "revivatech.security"
    label = "security"
    verbose_name = "Security"

    def ready(self) -> None:
        from revivatech import privacy

        from .privacy import erase_login_attempts, export_login_attempts

        # Early: the customer's username and email must still be known when attempts are matched.
        privacy.register(
            "login_attempts", export=export_login_attempts, erase=erase_login_attempts, erase_order=10
        )
