from django.apps import AppConfig


class FlagsConfig(AppConfig):
    name = "revivatech.flags"
    label = "flags"
    verbose_name = "Feature flags"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from revivatech.roles import grant_staff_permissions

        # Staff roll features out and switch them off in the admin.
        def grant(**kwargs):
            grant_staff_permissions("flags")
            grant_staff_permissions("waffle")

        post_migrate.connect(grant, sender=self, weak=False)
