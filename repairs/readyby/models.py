"""Rows of the ready-by prediction. Imported at the bottom of ``repairs/models.py`` so they belong to
the repairs app (one migration history)."""

from __future__ import annotations

from django.db import models


class ReadyByMethod(models.TextChoices):
    MODEL = "model", "Model (quantile gradient boosting)"
    MEDIAN_BY_KIND = "median_by_kind", "Median of past repairs of this kind of device"
    MEDIAN_ALL = "median_all", "Median of all past repairs"
    DEFAULT = "default", "Typical times (no history yet)"


class ReadyByModel(models.Model):
    """One trained model with its holdout metrics. Every training run adds a row; the newest is used."""

    version = models.PositiveIntegerField(unique=True)
    algorithm = models.CharField(max_length=200)
    library = models.CharField(max_length=60)
    trained_at = models.DateTimeField()
    #: Check-ins before it trained the model; from it to ``settled_before`` measured it.
    test_from = models.DateTimeField()
    settled_before = models.DateTimeField()
    train_rows = models.PositiveIntegerField(help_text="Snapshots (a repair at check-in and at each change).")
    train_tickets = models.PositiveIntegerField()
    test_tickets = models.PositiveIntegerField()
    #: {"mae_hours", "baseline_mae_hours", "coverage", "median_width_hours", …} on the holdout.
    metrics = models.JSONField(default=dict)
    #: Feature names and category vocabularies, to encode a live ticket the same way.
    features = models.JSONField(default=dict)
    #: Fallback table refreshed with the model: {"kind": {"p10", "p50", "p90", "n"}, "*": …}.
    medians = models.JSONField(default=dict)
    blob = models.BinaryField(editable=False)

    class Meta:
        ordering = ["-version"]
        verbose_name = "ready-by model"

    def __str__(self) -> str:
        return f"Ready-by model v{self.version} ({self.trained_at:%Y-%m-%d})"


class ReadyByEstimate(models.Model):
    """An estimate of when a repair will be ready, computed after a change of the ticket.

    Hours are the shop's working hours still needed (time waiting for the customer's approval is not
    the shop's and is never counted). The newest row of a ticket is ``current``.
    """

    ticket = models.ForeignKey(
        "repairs.RepairTicket", on_delete=models.CASCADE, related_name="ready_by_estimates"
    )
    computed_at = models.DateTimeField()
    seq = models.PositiveIntegerField(help_text="The ticket's last event when it was computed.")
    status = models.CharField(max_length=20)
    method = models.CharField(max_length=20, choices=ReadyByMethod.choices)
    model = models.ForeignKey(
        ReadyByModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: Working hours from check-in already spent by the shop, and still needed (10th, 50th, 90th percentile).
    elapsed_hours = models.FloatField(default=0)
    hours_p10 = models.FloatField()
    hours_p50 = models.FloatField()
    hours_p90 = models.FloatField()
    #: The same as instants (from when the shop's clock runs: now, or the next opening).
    earliest = models.DateTimeField()
    likely = models.DateTimeField()
    latest = models.DateTimeField()
    waiting_on_customer = models.BooleanField(default=False)
    current = models.BooleanField(default=True)
    features = models.JSONField(default=dict)

    class Meta:
        ordering = ["ticket_id", "-computed_at", "-pk"]
        indexes = [
            models.Index(fields=["current", "likely"], name="repairs_readyby_current"),
            models.Index(fields=["ticket", "status"], name="repairs_readyby_ticket_status"),
        ]
        verbose_name = "ready-by estimate"

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.likely:%Y-%m-%d %H:%M} ({self.method})"
