"""Send a message (usually marketing) to every customer who opted in to its kind by email, once
per customer and campaign name: running it again with the same name sends nothing twice."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifications.models import MessageKind, MessageTemplate, NotificationPreference
from notifications.services.automation import send_campaign
from repairs.models import Customer


class Command(BaseCommand):
    help = "Queue a template for every customer who opted in to its kind of message by email."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("template", help="the template key, e.g. seasonal_offer")
        parser.add_argument("--campaign", required=True, help="a name for this send, e.g. 2026-11-batteries")
        parser.add_argument("--dry-run", action="store_true", help="only count the recipients")

    def handle(self, *args, template: str, campaign: str, dry_run: bool = False, **options) -> None:
        chosen = MessageTemplate.objects.filter(key=template).first()
        if chosen is None:
            keys = ", ".join(MessageTemplate.objects.values_list("key", flat=True))
            raise CommandError(f"No template {template!r}. Templates: {keys}.")
        prefs = NotificationPreference.objects.filter(kind=chosen.kind, channel="email")
        if chosen.kind == MessageKind.MARKETING:  # off unless the customer opted in
            customers = Customer.objects.filter(pk__in=prefs.filter(enabled=True).values("customer"))
        else:  # on by email unless the customer switched it off
            customers = Customer.objects.exclude(pk__in=prefs.filter(enabled=False).values("customer"))
        customers = list(customers)
        if dry_run:
            self.stdout.write(f"{len(customers)} customer(s) would get {chosen.key!r}.")
            return
        dispatches = send_campaign(chosen, customers, campaign=campaign)
        self.stdout.write(f"Queued {chosen.key!r} for {len(dispatches)} customer(s) (campaign {campaign!r}).")
