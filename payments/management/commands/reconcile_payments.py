"""``manage.py reconcile_payments --since 2026-11-01 [--until 2026-11-27] [--provider stripe]``"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from payments import services
from payments.lifecycle import Provider


def _moment(value: str, *, end: bool = False) -> datetime:
    """A date (whole day, in the shop's time zone) or an ISO date and time."""
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").date()  # noqa: DTZ007 - a date, made aware below
            return datetime.combine(
                day + timedelta(days=1) if end else day, time.min, tzinfo=timezone.get_current_timezone()
            )
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise CommandError(
            f"{value!r} is not a date (2026-11-01) or date and time (2026-11-01T09:00)."
        ) from error
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = (
        "Compare local payments with Stripe's and PayPal's records and report mismatches (missing locally, "
        "missing at the provider, amount or status differs). The report is also kept in the admin."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="Start: a date (YYYY-MM-DD) or ISO date and time.")
        parser.add_argument("--until", help="End (exclusive for a time, inclusive for a date); default now.")
        parser.add_argument(
            "--provider",
            action="append",
            choices=[Provider.STRIPE, Provider.PAYPAL],
            help="Only this provider (repeatable); default every configured provider.",
        )

    def handle(self, *args, **options):
        since = _moment(options["since"])
        until = _moment(options["until"], end=True) if options.get("until") else None
        if until is not None and until <= since:
            raise CommandError("--until must be after --since.")
        providers = options.get("provider") or services.configured_providers()
        if not providers:
            raise CommandError("No payment provider is configured (STRIPE_SECRET_KEY, PAYPAL_CLIENT_ID).")
        run = services.reconcile_payments(since=since, until=until, providers=providers)
        issues = list(run.issues.select_related("payment").order_by("provider", "kind", "pk"))
        self.stdout.write(
            f"Reconciled {', '.join(providers)} "
            f"from {run.since:%Y-%m-%d %H:%M} to {run.until:%Y-%m-%d %H:%M}: "
            f"{run.checked_local} local and {run.checked_remote} remote payments checked, "
            f"{len(issues)} mismatch{'es' if len(issues) != 1 else ''}."
        )
        for issue in issues:
            self.stdout.write(
                f"  {issue.provider:7} {issue.get_kind_display():24} "
                f"{issue.provider_payment_id}: {issue.detail}"
            )
        for line in filter(None, run.errors.splitlines()):
            self.stderr.write(f"  could not check {line}")
        self.stdout.write(f"Report #{run.pk} is in the admin under Payments › Reconciliation runs.")
        if run.errors:
            raise CommandError("Some providers could not be checked.")
