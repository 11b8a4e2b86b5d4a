"""What waffle's flag does not hold: the named customers of a flag, and the history of every change
made to one. The flag itself is waffle's (``waffle.Flag``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from waffle.models import Flag


class FlagCustomers(models.Model):
    """Customers (by customer number) who always get a flag's feature, whatever its percentage."""

    flag = models.OneToOneField(Flag, on_delete=models.CASCADE, related_name="named_customers")
    customer_numbers = models.TextField(
        blank=True, default="", help_text="Customer numbers that always get this feature, comma-separated."
    )

    class Meta:
        verbose_name = "named customers"
        verbose_name_plural = "named customers"

    def __str__(self) -> str:
        return f"named customers of {self.flag.name}"

    def ids(self) -> set[str]:
        return {part.strip() for part in self.customer_numbers.split(",") if part.strip()}


class FlagChange(models.Model):
    """Who changed which flag, when, and from what to what (append-only)."""

    flag_name = models.CharField(max_length=100, db_index=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    changes = models.JSONField(help_text="field -> [before, after]")

    class Meta:
        ordering = ["-changed_at", "-pk"]
        verbose_name = "feature flag change"

    def __str__(self) -> str:
        return (
            f"{self.flag_name} changed by {self.changed_by or 'someone'} at {self.changed_at:%Y-%m-%d %H:%M}"
        )
