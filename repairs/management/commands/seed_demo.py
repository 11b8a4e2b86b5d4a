"""Demo data: logins for each role and tickets in several states, made through the services."""

from __future__ import annotations

import os
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from repairs import services
from repairs.demo import demo_photo
from repairs.models import WEEKDAY_FIELDS, Customer, Device, RepairTicket, ShopClosure, ShopProfile
from repairs.roles import STAFF_GROUP, TECHNICIANS_GROUP

DEMO_MARKER = "[demo]"


class Command(BaseCommand):
    help = "Create demo users (customer, technician, staff) and repair tickets in several states."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=os.environ.get("DEMO_PASSWORD", "revivatech-demo"),
            help="Password for every demo login (default: $DEMO_PASSWORD or 'revivatech-demo').",
        )
        parser.add_argument(
            "--force", action="store_true", help="Allow seeding when DEBUG is off (never on a real shop)."
        )

    def handle(self, *args, password: str, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates well-known logins; run it with DJANGO_DEBUG=1 or --force.")
        with transaction.atomic():
            users = self._users(password)
            self._shop_profile()
            created = self._tickets(users) if not self._already_seeded() else 0
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: logins customer / technician / staff (password {password!r}); "
                f"{created} new tickets."
            )
        )

    def _shop_profile(self) -> None:
        """A plausible shop, filled in only where staff have not filled it in already."""
        profile = ShopProfile.load()
        if profile.address:
            return
        profile.address = "12 Market Street\nBrighton\nBN1 1AA"
        profile.phone = "+44 1273 960 123"
        profile.email = "repairs@revivatech.example"
        profile.vat_number = "GB 123 4567 89"
        for name in WEEKDAY_FIELDS[:5]:
            setattr(profile, name, "09:00-17:30")
        profile.hours_sat = "10:00-16:00"
        profile.hours_sun = ""
        profile.save()
        today = timezone.localdate()
        christmas = date(today.year, 12, 25)
        if christmas < today:
            christmas = date(today.year + 1, 12, 25)
        ShopClosure.objects.get_or_create(
            profile=profile,
            first_day=christmas,
            defaults={"last_day": christmas + timedelta(days=1), "reason": "Christmas"},
        )

    def _already_seeded(self) -> bool:
        return RepairTicket.objects.filter(problem_description__startswith=DEMO_MARKER).exists()

    def _users(self, password: str) -> dict:
        user_model = get_user_model()
        specs = {
            "customer": {"first_name": "Casey", "last_name": "Customer", "groups": []},
            "customer2": {"first_name": "Robin", "last_name": "Other", "groups": []},
            "technician": {"first_name": "Taylor", "last_name": "Tech", "groups": [TECHNICIANS_GROUP]},
            "technician2": {"first_name": "Sam", "last_name": "Solder", "groups": [TECHNICIANS_GROUP]},
            "staff": {"first_name": "Alex", "last_name": "Manager", "groups": [STAFF_GROUP]},
        }
        users = {}
        for username, spec in specs.items():
            user, _ = user_model.objects.get_or_create(
                username=username,
                defaults={
                    "email": f"{username}@revivatech.test",
                    "first_name": spec["first_name"],
                    "last_name": spec["last_name"],
                },
            )
            user.is_staff = bool(spec["groups"])
            user.set_password(password)
            user.save()
            user.groups.set(Group.objects.filter(name__in=spec["groups"]))
            users[username] = user
        for username in ("customer", "customer2"):
            user = users[username]
            Customer.objects.get_or_create(
                user=user,
                defaults={
                    "name": user.get_full_name(),
                    "email": user.email,
                    "phone": "+44 7700 900" + ("123" if username == "customer" else "456"),
                    "contact_confirmed_at": timezone.now(),  # customers the shop knows
                },
            )
        return users

    def _tickets(self, users: dict) -> int:
        casey = users["customer"].customer
        robin = users["customer2"].customer
        tech, tech2, staff = users["technician"], users["technician2"], users["staff"]
        plans = [
            (
                casey,
                ("phone", "Apple", "iPhone 13", "Cracked screen, touch works"),
                "Screen cracked after a drop.",
                tech,
                [],
            ),
            (
                casey,
                ("laptop", "Dell", "XPS 13 9310", "Worn keys"),
                "Battery lasts 20 minutes; fan is loud.",
                tech,
                ["received", "diagnosing", "quote:14900", "awaiting_approval"],
            ),
            (
                casey,
                ("console", "Sony", "PlayStation 5", "Good"),
                "No HDMI output.",
                tech,
                [
                    "received",
                    "diagnosing",
                    "quote:11900",
                    "awaiting_approval",
                    "approved",
                    "in_repair",
                    "milestone:HDMI port replaced:70",
                    "photo:repair",
                    "note",
                ],
            ),
            (
                robin,
                ("tablet", "Samsung", "Galaxy Tab S7", "Dent on corner"),
                "Will not charge.",
                tech2,
                [
                    "received",
                    "diagnosing",
                    "quote:6900",
                    "awaiting_approval",
                    "approved",
                    "in_repair",
                    "quality_check",
                    "qc",
                    "ready_for_pickup",
                ],
            ),
            (
                robin,
                ("desktop", "Custom", "Ryzen tower", "Dusty"),
                "Random shutdowns under load.",
                tech2,
                ["received", "diagnosing", "unrepairable"],
            ),
        ]
        for customer, (kind, brand, model, condition), problem, technician, steps in plans:
            device = Device.objects.create(
                customer=customer,
                kind=kind,
                brand=brand,
                model=model,
                condition_on_intake=condition,
                accessories="Charger" if kind in ("laptop", "tablet") else "",
            )
            ticket = services.create_ticket(
                customer=customer,
                device=device,
                problem=f"{DEMO_MARKER} {problem}",
                by=staff,
                assigned_technician=technician,
            )
            services.add_photo(
                ticket,
                image=demo_photo(f"Intake {model}", "#345"),
                category="intake",
                caption="As received at the counter",
                by=staff,
            )
            for step in steps:
                ticket = self._step(ticket, step, technician)
        return len(plans)

    def _step(self, ticket: RepairTicket, step: str, technician) -> RepairTicket:
        kind, _, rest = step.partition(":")
        if kind == "quote":
            return services.send_quote(ticket, amount=int(rest), by=technician)
        if kind == "milestone":
            title, percent = rest.rsplit(":", 1)
            services.add_milestone(ticket, title=title, percent=int(percent), by=technician)
        elif kind == "photo":
            services.add_photo(
                ticket,
                image=demo_photo("Repair in progress", "#264"),
                category=rest,
                caption="New part fitted",
                by=technician,
            )
        elif kind == "note":
            services.add_note(
                ticket,
                text="Replacement port arrived this morning; soldering now.",
                visible_to_customer=True,
                by=technician,
            )
            services.add_note(
                ticket,
                text="Customer's controller also has stick drift (not quoted).",
                priority="high",
                by=technician,
            )
        elif kind == "qc":
            services.record_quality_check(ticket, item="Charges at full speed", passed=True, by=technician)
            services.record_quality_check(
                ticket, item="Screen has no dead pixels", passed=True, by=technician
            )
        else:
            return services.transition_ticket(ticket, kind, by=technician)
        ticket.refresh_from_db()
        return ticket
