from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data only: the simulated shop behind `make run`'s dashboard, scores and ready-by
    model, and the benchmarks' histories. No models, URLs or tasks; nothing in the product imports it."""

    name = "demo"
    verbose_name = "Demo data"
