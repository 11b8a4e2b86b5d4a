"""A synthetic shop history for training and demonstrating the scoring models.

``simulate_shop(customers=N, months=M, seed=S)`` writes customers, devices, tickets (with their
ticket events, status changes among them, and quality checks), invoices and payments, site sessions
and events, and notification messages with opens and marketing opt-outs, for the M months before ``end``.

Every customer has hidden traits that the models never see but that drive what they do:

* ``loyalty`` (normal): how long they stay (their *lifetime* before they stop coming), how often they
  need a repair, how often they approve a quote and pay;
* ``engagement`` (derived from loyalty plus noise): site visits per month and email open rate;
* ``spend``: a multiplier on quote amounts.

Repairs follow a Poisson process with seasonality (more in January, after Christmas drops, and in
September), only while the customer is still "alive"; after their lifetime they stop coming, their
visits almost stop and their email opens fall away (some unsubscribe). So the observable history has
real signal about churn, value and the next repair.

For speed the history is written directly with ``bulk_create`` (the services' per-event side effects:
domain events, outbox rows, live updates, are not triggered), with ``auto_now`` fields switched off
for the duration so the rows carry their simulated dates. Rows stay internally consistent: ticket
statuses follow the lifecycle, the status-change events end at the ticket's status and number up to
``last_event_seq``, invoices exist for repaired tickets with payments for the paid ones.

Idempotency: simulated customers have e-mail addresses ``c<i>@<namespace>.sim.example``; running
again with the same namespace is refused (pass another ``namespace`` to add a second cohort).
"""

from __future__ import annotations

import contextlib
import math
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.utils import timezone

from analytics.models import Event, EventType, Session, TrackedDevice
from analytics.scoring.devices import CATALOGUE
from analytics.services import partitions
from notifications.models import Dispatch, Message, MessageKind, NotificationPreference
from payments.lifecycle import InvoiceKind, InvoiceStatus, LineKind, PaymentStatus, Provider
from payments.models import Invoice, InvoiceLine, Payment
from repairs.lifecycle import Status
from repairs.models import (
    REFERENCE_ALPHABET,
    Customer,
    Device,
    QualityCheck,
    QuoteDecision,
    RepairTicket,
    TicketEvent,
)
from repairs.readyby.calendar import shop_calendar
from revivatech.events import EventKind

EMAIL_DOMAIN = "{namespace}.sim.example"

#: Relative repair demand per calendar month (1 = average).
SEASONALITY = {
    1: 1.35,
    2: 1.0,
    3: 0.9,
    4: 0.9,
    5: 0.85,
    6: 0.9,
    7: 1.0,
    8: 1.05,
    9: 1.25,
    10: 1.0,
    11: 0.9,
    12: 0.9,
}
BASE_QUOTE = {"phone": 8_500, "laptop": 14_500, "tablet": 10_000, "console": 9_000, "desktop": 12_000}
FIRST_NAMES = ["Alex", "Sam", "Priya", "Tom", "Chloe", "Omar", "Lena", "Ravi", "Maya", "Jon", "Aisha", "Ben"]
LAST_NAMES = ["Smith", "Patel", "Jones", "Khan", "Brown", "Taylor", "Wilson", "Evans", "Ng", "Murphy"]
#: Repairs: the fault mix per device kind, what customers write, and how long each takes (working hours).
FAULT_MIX: dict[str, dict[str, float]] = {
    "phone": {
        "screen": 0.36,
        "battery": 0.24,
        "water": 0.07,
        "audio": 0.06,
        "camera": 0.05,
        "software": 0.08,
        "motherboard": 0.05,
        "data": 0.03,
        "other": 0.06,
    },
    "tablet": {
        "screen": 0.4,
        "battery": 0.25,
        "water": 0.05,
        "software": 0.12,
        "motherboard": 0.06,
        "other": 0.12,
    },
    "laptop": {
        "screen": 0.18,
        "battery": 0.14,
        "keyboard": 0.16,
        "water": 0.08,
        "software": 0.14,
        "motherboard": 0.1,
        "cooling": 0.08,
        "storage": 0.06,
        "data": 0.03,
        "other": 0.03,
    },
    "desktop": {"software": 0.25, "storage": 0.25, "cooling": 0.2, "motherboard": 0.2, "other": 0.1},
    "console": {"drift": 0.35, "cooling": 0.25, "storage": 0.1, "motherboard": 0.2, "other": 0.1},
}
PROBLEMS: dict[str, tuple[str, ...]] = {
    "screen": (
        "Cracked screen after a drop",
        "Display shows lines and flickers",
        "Touch screen not responding",
    ),
    "battery": ("Battery drains within hours", "Will not charge, charging port loose", "Swollen battery"),
    "water": ("Dropped in water, now dead", "Spilled coffee on it", "Liquid damage, screen flickers"),
    "audio": ("No sound from the speaker", "Microphone not working on calls"),
    "camera": ("Rear camera blurry", "Camera app shows a black screen"),
    "software": ("Very slow, needs a software reinstall", "Stuck on boot loop after update", "Virus pop-ups"),
    "motherboard": ("No power at all, motherboard fault?", "Dead, won't turn on"),
    "data": ("Need data recovered from a failing device", "Recover deleted photos"),
    "keyboard": ("Keyboard keys not working", "Broken hinge", "Trackpad does not click"),
    "cooling": ("Fan very noisy and it overheats", "Overheats and shuts down"),
    "storage": ("SSD upgrade and RAM upgrade", "Hard drive clicking"),
    "drift": ("Joystick drift on the controller", "Disc drive will not read"),
    "other": ("Something is wrong with it", "Needs looking at"),
}
VAGUE = ("Not working properly", "Please have a look", "Stopped working")
DIAGNOSIS_HOURS = {"water": 5.0, "motherboard": 5.0, "data": 4.0, "other": 4.0}
REPAIR_HOURS = {
    "screen": 5.0,
    "battery": 3.5,
    "water": 18.0,
    "audio": 4.0,
    "camera": 4.0,
    "software": 4.0,
    "motherboard": 22.0,
    "data": 14.0,
    "keyboard": 7.0,
    "cooling": 4.0,
    "storage": 3.5,
    "drift": 3.0,
    "other": 9.0,
}
KIND_FACTOR = {"phone": 0.85, "tablet": 1.0, "laptop": 1.3, "desktop": 1.15, "console": 1.1}
PARTS_PROBABILITY = {
    "screen": 0.4,
    "battery": 0.35,
    "water": 0.3,
    "motherboard": 0.45,
    "keyboard": 0.4,
    "camera": 0.4,
    "audio": 0.25,
    "storage": 0.3,
    "drift": 0.3,
    "cooling": 0.15,
}
PAGES = ["/", "/book/", "/account/repairs/", "/track/{token}/", "/track/{token}/receipt/", "/account/login/"]


_ENDS = frozenset({Status.READY_FOR_PICKUP, Status.CANCELLED, Status.UNREPAIRABLE})


class SimulationRefused(Exception):
    pass


@dataclass
class SimulationResult:
    namespace: str
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@contextlib.contextmanager
def _dates_as_given(*model_classes: type[models.Model]) -> Iterator[None]:
    """Switch ``auto_now``/``auto_now_add`` off so bulk-created rows keep their simulated dates."""
    saved = []
    for model in model_classes:
        for f in model._meta.concrete_fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                saved.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _fast_insert(model: type[models.Model], objs: list[_Row], batch_size: int = 5000) -> None:
    """Insert rows whose ids are not needed afterwards, without Django's per-object machinery
    (about 3× faster than ``bulk_create`` for the big tables). Values go through each field's
    ``get_db_prep_save``, so SQLite and PostgreSQL both get their native formats."""
    if not objs:
        return
    fields = [
        f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))
    ]
    # Defaults the simulator did not set (e.g. random tokens) are filled per object by the model's
    # __init__ already; read the attribute values directly.
    conn = connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread-local proxy
    table = conn.ops.quote_name(model._meta.db_table)
    columns = ", ".join(conn.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # Table and column names come from the model (quoted by the backend); values are parameters.
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
    converted = {"DateTimeField", "DateField", "UUIDField", "JSONField", "BinaryField", "DecimalField"}
    preps = [
        (
            f.attname,
            f.get_db_prep_save
            if (f.target_field if f.is_relation else f).get_internal_type() in converted
            else None,
            f,
        )
        for f in fields
    ]
    with conn.cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            rows = []
            for obj in objs[start : start + batch_size]:
                row = []
                for attname, prep, f in preps:
                    value = obj[attname] if attname in obj else f.get_default()
                    row.append(value if prep is None else prep(value, conn))
                rows.append(row)
            cursor.executemany(sql, rows)


class _Row(dict):
    """A row for :func:`_fast_insert`: attribute access like a model instance, without the cost of
    ``Model.__init__`` (a quarter of the simulator's time); missing fields get their defaults there."""

    __getattr__ = dict.__getitem__
    __setattr__ = dict.__setitem__

    @classmethod
    def of(cls, model: type[models.Model], **values) -> _Row:
        return cls(values)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class _Shop:
    """Accumulates rows in memory; ``save()`` writes them with bulk_create in dependency order."""

    def __init__(
        self, rng: np.random.Generator, namespace: str, start: datetime, end: datetime, seed: int = 0
    ):
        self.rng, self.ns, self.start, self.end = rng, namespace, start, end
        # Repair paths draw from their own stream, so the customers' lives stay those of earlier versions.
        self.repair_rng = np.random.default_rng([seed, 19])
        self.calendar = shop_calendar()
        self.customers: list[Customer] = []
        self.devices: list[tuple[int, Device]] = []  # (customer index, device)
        self.tickets: list[dict] = []
        self.sessions: list[dict] = []
        self.newsletters: list[dict] = []
        self.opt_outs: list[tuple[int, datetime]] = []
        self.references: set[str] = set()

    # --- helpers ------------------------------------------------------------------------------------------

    def rand_time(self, a: datetime, b: datetime) -> datetime:
        span = max(0.0, (b - a).total_seconds())
        return a + timedelta(seconds=float(self.rng.uniform(0, span)))

    def reference(self) -> str:
        while True:
            ref = "RT-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
            if ref not in self.references:
                self.references.add(ref)
                return ref

    # --- one customer's life ----------------------------------------------------------------------------

    def customer(self, index: int) -> None:
        rng = self.rng
        loyalty = float(rng.normal())
        engagement = _sigmoid(0.9 * loyalty + float(rng.normal(0, 0.7)))
        spend = float(rng.lognormal(0, 0.45))
        one_off = rng.random() < 0.12 + 0.1 * (1 - _sigmoid(loyalty))
        # A third of the customers were already on the books when the history starts.
        if rng.random() < 0.33:
            signup = self.rand_time(self.start, self.start + timedelta(days=60))
        else:
            signup = self.rand_time(self.start, self.end - timedelta(days=3))
        lifetime_days = 30.0 if one_off else float(rng.exponential(420 * math.exp(0.7 * loyalty)))
        leaves = signup + timedelta(days=lifetime_days)
        active_until = min(leaves, self.end)
        name = f"{FIRST_NAMES[index % len(FIRST_NAMES)]} {LAST_NAMES[(index * 7) % len(LAST_NAMES)]}"
        c = Customer(
            name=f"{name} {index}",
            email=f"c{index}@{EMAIL_DOMAIN.format(namespace=self.ns)}",
            phone=f"+4477009{index:05d}"[:16],
            created_at=signup,
        )
        self.customers.append(c)
        ci = len(self.customers) - 1

        # Devices owned at sign-up (1–3), more may come in later.
        owned: list[int] = []
        for _ in range(1 + int(rng.random() < 0.45) + int(rng.random() < 0.15)):
            owned.append(self._device(ci, signup))

        # Repairs: first one at sign-up, then a seasonal Poisson process while they stay.
        rate_per_day = 1.1 * math.exp(0.45 * loyalty + float(rng.normal(0, 0.25))) / 365.0
        approve_p = 0.5 + 0.42 * _sigmoid(1.2 * loyalty)
        unpaid_p = 0.02 + 0.1 * (1 - _sigmoid(loyalty))
        times = [signup]
        t = signup
        peak = max(SEASONALITY.values())
        while True:
            t = t + timedelta(days=float(rng.exponential(1 / (rate_per_day * peak))))
            if t >= active_until:
                break
            if rng.random() < SEASONALITY[t.month] / peak:
                times.append(t)
        for booked_at in times:
            if rng.random() < 0.2:
                owned.append(self._device(ci, booked_at))
            device_index = owned[int(rng.integers(len(owned)))]
            self.tickets.append(
                {
                    "ci": ci,
                    "di": device_index,
                    "booked_at": booked_at,
                    "approve": rng.random() < approve_p,
                    "unpaid": rng.random() < unpaid_p,
                    "spend": spend,
                    "qc_fail": rng.random() < 0.07,
                    "unrepairable": rng.random() < 0.04,
                }
            )
            # The booking visit.
            self.sessions.append({"ci": ci, "at": booked_at - timedelta(minutes=20), "converted": True})

        # Site visits: engaged customers browse while they stay, almost never after.
        months = (self.end - signup).days / 30.44
        alive_months = (active_until - signup).days / 30.44
        for _ in range(int(rng.poisson(max(0.0, alive_months) * (0.15 + 2.2 * engagement)))):
            self.sessions.append({"ci": ci, "at": self.rand_time(signup, active_until), "converted": False})
        for _ in range(int(rng.poisson(max(0.0, months - alive_months) * 0.05))):
            self.sessions.append({"ci": ci, "at": self.rand_time(active_until, self.end), "converted": False})

        # Monthly newsletter to those who accept marketing (70 %); opens fall away after they leave.
        if rng.random() < 0.7:
            opt_out_at = None
            if leaves < self.end and rng.random() < 0.35:
                opt_out_at = self.rand_time(leaves, min(self.end, leaves + timedelta(days=120)))
                self.opt_outs.append((ci, opt_out_at))
            month_start = datetime(signup.year, signup.month, 1, 10, tzinfo=signup.tzinfo)
            sent = month_start + timedelta(days=32)
            while sent < self.end:
                sent = sent.replace(day=5)
                if opt_out_at is not None and sent >= opt_out_at:
                    break
                alive = sent < leaves
                open_p = (0.08 + 0.7 * engagement) if alive else 0.04
                self.newsletters.append({"ci": ci, "at": sent, "open": rng.random() < open_p})
                sent = sent + timedelta(days=31)

    def _device(self, ci: int, seen_at: datetime) -> int:
        kind, brand, model, _year = CATALOGUE[int(self.rng.integers(len(CATALOGUE)))]
        d = Device(kind=kind, brand=brand, model=model, serial_number="", created_at=seen_at)
        self.devices.append((ci, d))
        return len(self.devices) - 1

    # --- writing ------------------------------------------------------------------------------------------

    def save(self) -> dict[str, int]:
        rng = self.rng
        Customer.objects.bulk_create(self.customers, batch_size=1000)
        for ci, d in self.devices:
            d.customer_id = self.customers[ci].pk
        Device.objects.bulk_create([d for _, d in self.devices], batch_size=1000)

        technicians = self._technicians()
        paths = self._paths(technicians)
        tickets: list[RepairTicket] = []
        plans: list[tuple[dict, list[tuple[str, datetime]]]] = []
        for spec, path in zip(self.tickets, paths, strict=True):
            device = self.devices[spec["di"]][1]
            reached = [(status, at) for status, at in path if at <= self.end]
            status = reached[-1][0]
            quote = int(BASE_QUOTE[device.kind] * spec["spend"] * float(rng.lognormal(0, 0.35)) / 100) * 100
            quote = max(2_000, quote)
            decided = next((at for s, at in reached if s in (Status.APPROVED, Status.CANCELLED)), None)
            decision = QuoteDecision.PENDING
            if decided is not None and not spec["unrepairable"]:
                decision = QuoteDecision.APPROVED if spec["approve"] else QuoteDecision.DECLINED
            t = RepairTicket(
                reference=self.reference(),
                customer_id=self.customers[spec["ci"]].pk,
                device_id=device.pk,
                problem_description=spec["problem"],
                assigned_technician_id=spec["technician_id"],
                quote_amount=quote if any(s == Status.AWAITING_APPROVAL for s, _ in reached) else None,
                quote_currency="GBP",
                quote_decision=decision,
                quote_decided_at=decided if decision != QuoteDecision.PENDING else None,
                status=status,
                progress_percent=0,
                last_event_seq=len(reached),
                created_at=spec["booked_at"],
                updated_at=reached[-1][1],
            )
            tickets.append(t)
            plans.append((spec, reached))
        RepairTicket.objects.bulk_create(tickets, batch_size=1000)

        moves, events, checks = 0, [], []  # status moves are events (the one status history)
        invoices: list[Invoice] = []
        invoice_meta: list[tuple[int, datetime | None]] = []
        for t, (spec, reached) in zip(tickets, plans, strict=True):
            events.append(
                _Row.of(
                    TicketEvent,
                    ticket_id=t.pk,
                    seq=1,
                    kind=EventKind.BOOKED,
                    payload={"ticket": {"reference": t.reference}},
                    customer_visible=True,
                    created_at=reached[0][1],
                )
            )
            for seq, ((before, _), (after, at)) in enumerate(
                zip(reached, reached[1:], strict=False), start=2
            ):
                moves += 1
                events.append(
                    _Row.of(
                        TicketEvent,
                        ticket_id=t.pk,
                        seq=seq,
                        kind=EventKind.STATUS_CHANGED,
                        payload={"from": before, "to": after},
                        customer_visible=True,
                        created_at=at,
                    )
                )
                if after in (Status.IN_REPAIR, Status.READY_FOR_PICKUP) and before == Status.QUALITY_CHECK:
                    checks.append(
                        _Row.of(
                            QualityCheck,
                            ticket_id=t.pk,
                            item="Device powers on and passes tests",
                            passed=after == Status.READY_FOR_PICKUP,
                            created_at=at,
                        )
                    )
                if after == Status.READY_FOR_PICKUP:
                    paid_at = next((a for s, a in reached if s == Status.COLLECTED), None)
                    invoices.append(self._invoice(t, at, paid_at))
                    invoice_meta.append((spec["ci"], paid_at))
        _fast_insert(TicketEvent, events)
        _fast_insert(QualityCheck, checks)
        Invoice.objects.bulk_create(invoices, batch_size=1000)
        lines, payments = [], []
        for inv in invoices:
            lines.append(
                _Row.of(
                    InvoiceLine,
                    invoice_id=inv.pk,
                    position=0,
                    kind=LineKind.LABOUR,
                    description="Repair",
                    quantity=1,
                    unit_amount=inv.total,
                    amount=inv.total,
                )
            )
            if inv.paid_at is not None:
                provider = [Provider.STRIPE, Provider.COUNTER, Provider.PAYPAL][
                    int(rng.choice(3, p=[0.6, 0.3, 0.1]))
                ]
                payments.append(
                    _Row.of(
                        Payment,
                        invoice_id=inv.pk,
                        provider=provider,
                        idempotency_key=f"sim:{self.ns}:{inv.public_id}",
                        provider_payment_id=None if provider == Provider.COUNTER else f"sim_{inv.public_id}",
                        amount=inv.total,
                        currency=inv.currency,
                        status=PaymentStatus.SUCCEEDED,
                        amount_received=inv.total,
                        created_at=inv.paid_at - timedelta(minutes=3),
                        succeeded_at=inv.paid_at,
                        updated_at=inv.paid_at,
                    )
                )
        _fast_insert(InvoiceLine, lines)
        _fast_insert(Payment, payments)

        analytics_counts = self._save_visits(tickets, plans, invoices, invoice_meta)
        notification_counts = self._save_notifications()
        return {
            "customers": len(self.customers),
            "technicians": len(technicians),
            "devices": len(self.devices),
            "tickets": len(tickets),
            "status_changes": moves,
            "ticket_events": len(events),
            "quality_checks": len(checks),
            "invoices": len(invoices),
            "payments": len(payments),
            **analytics_counts,
            **notification_counts,
        }

    def _technicians(self) -> list[int]:
        """A bench of technicians (about one per 150 customers), created for this namespace."""
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from repairs.roles import TECHNICIANS_GROUP

        group, _ = Group.objects.get_or_create(name=TECHNICIANS_GROUP)
        users = []
        for k in range(max(2, len(self.customers) // 150)):
            user = get_user_model()(username=f"sim-{self.ns}-tech{k + 1}", first_name=f"Tech {k + 1}")
            user.set_unusable_password()
            user.save()
            user.groups.add(group)
            users.append(user.pk)
        return users

    def _paths(self, technicians: list[int]) -> list[list[tuple[str, datetime]]]:
        """Every ticket's path, in booking order, so each technician's queue is known at check-in."""
        rng = self.repair_rng
        busy: dict[int, list[datetime]] = {pk: [] for pk in technicians}  # ready times of open repairs
        paths: list[list[tuple[str, datetime]] | None] = [None] * len(self.tickets)
        for index in sorted(range(len(self.tickets)), key=lambda i: self.tickets[i]["booked_at"]):
            spec = self.tickets[index]
            kind = self.devices[spec["di"]][1].kind
            mix = FAULT_MIX.get(kind, FAULT_MIX["laptop"])
            fault = str(rng.choice(list(mix), p=np.array(list(mix.values())) / sum(mix.values())))
            texts = VAGUE if rng.random() < 0.12 else PROBLEMS[fault]
            spec["problem"] = texts[int(rng.integers(len(texts)))]
            technician = technicians[int(rng.integers(len(technicians)))]
            spec["technician_id"] = technician
            check_in = self._check_in(spec["booked_at"])
            queue = sum(1 for ready in busy[technician] if ready > check_in)
            path = self._path(spec, kind, fault, queue, check_in)
            done = next(
                (at for status, at in path if status not in (Status.BOOKED,) and status in _ENDS), None
            )
            busy[technician] = [r for r in busy[technician] if r > check_in] + [done or self.end]
            paths[index] = path
        return paths

    def _check_in(self, booked_at: datetime) -> datetime:
        rng, cal = self.repair_rng, self.calendar
        arrives = booked_at + timedelta(days=float(rng.uniform(0.05, 2)))
        return cal.add_hours(cal.next_opening(arrives), float(rng.uniform(0, 1.5)))

    def _path(
        self, spec: dict, kind: str, fault: str, queue: int, check_in: datetime
    ) -> list[tuple[str, datetime]]:
        """The statuses a ticket goes through, with when (some may lie after ``end``: not reached).

        The shop works in opening hours: each stage takes working hours that depend on the device, the
        fault, parts and the technician's queue; customers answer quotes and collect in calendar time."""
        rng, cal = self.repair_rng, self.calendar
        at = check_in
        path = [(Status.BOOKED, spec["booked_at"]), (Status.RECEIVED, at)]

        def work(status: str, hours: float) -> None:
            nonlocal at
            at = cal.add_hours(at, max(0.05, hours))
            path.append((status, at))

        def wait(status: str, days_low: float, days_high: float) -> None:
            nonlocal at
            at = at + timedelta(days=float(rng.uniform(days_low, days_high)))
            path.append((status, at))

        load = 1.0 + 0.2 * max(0, queue - 1)  # a busy bench starts each job later
        work(Status.DIAGNOSING, float(rng.uniform(0.1, 1.0)) * load)
        diagnosis = DIAGNOSIS_HOURS.get(fault, 2.0) * float(rng.lognormal(0, 0.4))
        if spec["unrepairable"]:
            work(Status.UNREPAIRABLE, diagnosis)
            wait(Status.COLLECTED, 0.5, 4)
            return path
        work(Status.AWAITING_APPROVAL, diagnosis)
        if not spec["approve"]:
            wait(Status.CANCELLED, 0.2, 4)
            return path
        wait(Status.APPROVED, 0.05, 1.5)  # the customer's time: the shop's clock stops
        if rng.random() < PARTS_PROBABILITY.get(fault, 0.1):
            work(Status.AWAITING_PARTS, float(rng.uniform(0.1, 0.5)))
            work(Status.IN_REPAIR, 14.0 * float(rng.lognormal(0, 0.45)))  # supplier: about two working days
        else:
            work(Status.IN_REPAIR, float(rng.uniform(0.2, 1.5)) * load)
        repair = REPAIR_HOURS[fault] * KIND_FACTOR.get(kind, 1.0) * load * float(rng.lognormal(0, 0.3))
        work(Status.QUALITY_CHECK, repair)
        if spec["qc_fail"]:
            work(Status.IN_REPAIR, float(rng.uniform(0.1, 0.5)))
            work(Status.QUALITY_CHECK, float(rng.uniform(1, 4)))
        work(Status.READY_FOR_PICKUP, float(rng.uniform(0.2, 1.0)))
        if not spec["unpaid"]:
            wait(Status.COLLECTED, 0.1, 6)
        return path

    def _invoice(self, ticket: RepairTicket, issued_at: datetime, paid_at: datetime | None) -> Invoice:
        total = ticket.quote_amount or 0
        subtotal = round(total * 10_000 / 12_000)
        return Invoice(
            ticket_id=ticket.pk,
            number=f"S-{self.ns}-{secrets.token_hex(4).upper()}",
            kind=InvoiceKind.FINAL,
            status=InvoiceStatus.PAID if paid_at else InvoiceStatus.ISSUED,
            currency="GBP",
            tax_rate_basis_points=2000,
            prices_include_tax=True,
            subtotal=subtotal,
            tax_amount=total - subtotal,
            total=total,
            created_at=issued_at,
            issued_at=issued_at,
            paid_at=paid_at,
            updated_at=paid_at or issued_at,
        )

    def _save_visits(self, tickets, plans, invoices, invoice_meta) -> dict[str, int]:
        rng = self.rng
        devices = [
            _Row.of(
                TrackedDevice,
                id=uuid.uuid4(),
                customer_id=c.pk,
                first_seen_at=c.created_at,
                last_seen_at=c.created_at,
                linked_at=c.created_at,
                device_type="mobile" if i % 3 else "desktop",
                browser="Chrome" if i % 2 else "Safari",
                os="Android" if i % 2 else "iOS",
            )
            for i, c in enumerate(self.customers)
        ]
        sessions, events = [], []
        for spec in self.sessions:
            tracked = devices[spec["ci"]]
            start = spec["at"]
            if start > self.end or start < self.start:
                continue
            pageviews = int(rng.integers(2, 7)) if spec["converted"] else int(rng.geometric(0.45))
            pages = (
                ["/book/", "/book/done/"]
                if spec["converted"]
                else [PAGES[int(i)] for i in rng.integers(len(PAGES), size=min(pageviews, 5))]
            )
            duration = timedelta(seconds=float(rng.uniform(20, 90)) * pageviews)
            s = _Row.of(
                Session,
                id=uuid.uuid4(),
                identity=tracked.id,
                device_id=tracked.id,
                customer_id=tracked.customer_id,
                started_at=start,
                last_seen_at=start + duration,
                entry_path=pages[0],
                exit_path=pages[-1],
                pageviews=pageviews,
                events=pageviews + int(spec["converted"]),
                engaged_ms=int(duration.total_seconds() * 600),
                converted=spec["converted"],
                is_bounce=pageviews == 1 and not spec["converted"],
                pages=pages,
                device_type=tracked.device_type,
                browser=tracked.browser,
                os=tracked.os,
                country="GB",
            )
            sessions.append(s)
            tracked.last_seen_at = max(tracked.last_seen_at, s.last_seen_at)
            events.append(self._event(s, EventType.PAGEVIEW, start, pages[0]))
            if spec["converted"]:
                events.append(self._event(s, EventType.BOOKING_COMPLETED, start + duration, "/book/done/"))
        for t in tickets:
            if t.quote_decided_at is not None:
                kind = (
                    EventType.QUOTE_APPROVED
                    if t.quote_decision == QuoteDecision.APPROVED
                    else EventType.QUOTE_DECLINED
                )
                events.append(
                    _Row.of(
                        Event,
                        occurred_at=t.quote_decided_at,
                        type=kind,
                        customer_id=t.customer_id,
                        path="",
                        props={},
                    )
                )
        customer_of_ticket = {t.pk: t.customer_id for t in tickets}
        for inv in invoices:
            if inv.paid_at is not None:
                events.append(
                    _Row.of(
                        Event,
                        occurred_at=inv.paid_at,
                        type=EventType.PAYMENT_SUCCEEDED,
                        customer_id=customer_of_ticket[inv.ticket_id],
                        path="",
                        props={"amount": inv.total, "currency": inv.currency},
                    )
                )
        _fast_insert(TrackedDevice, devices)
        _fast_insert(Session, sessions)
        partitions.ensure_for(self.start, self.end)  # monthly partitions on PostgreSQL
        _fast_insert(Event, events)
        return {"tracked_devices": len(devices), "sessions": len(sessions), "events": len(events)}

    @staticmethod
    def _event(session: Session, type_: int, at: datetime, path: str) -> Event:
        return _Row.of(
            Event,
            occurred_at=at,
            type=type_,
            session_id=session.id,
            device_id=session.device_id,
            customer_id=session.customer_id,
            path=path,
            device_type=session.device_type,
            browser=session.browser,
            os=session.os,
            country=session.country,
            props={},
        )

    def _save_notifications(self) -> dict[str, int]:
        rng = self.rng
        dispatches, messages = [], []
        for n, item in enumerate(self.newsletters):
            customer = self.customers[item["ci"]]
            at = item["at"]
            key = f"sim:{self.ns}:newsletter:{n}"
            dispatches.append(
                Dispatch(
                    key=key,
                    customer_id=customer.pk,
                    kind=MessageKind.MARKETING,
                    mode="all",
                    channels=["email"],
                    priority="normal",
                    event_name="newsletter",
                    created_at=at,
                )
            )
            opened_at = at + timedelta(hours=float(rng.exponential(20))) if item["open"] else None
            clicked = opened_at is not None and rng.random() < 0.3
            messages.append(
                _Row.of(
                    Message,
                    customer_id=customer.pk,
                    channel="email",
                    kind=MessageKind.MARKETING,
                    recipient=customer.email,
                    template_key="newsletter",
                    subject="News from RevivaTech",
                    status="clicked" if clicked else ("opened" if opened_at else "delivered"),
                    attempts=1,
                    not_before=at,
                    provider="smtp",
                    idempotency_key=key,
                    created_at=at,
                    updated_at=opened_at or at,
                    sent_at=at,
                    delivered_at=at + timedelta(seconds=30),
                    opened_at=opened_at,
                    clicked_at=opened_at + timedelta(minutes=1) if clicked else None,
                )
            )
        Dispatch.objects.bulk_create(dispatches, batch_size=2000)
        for d, m in zip(dispatches, messages, strict=True):
            m.dispatch_id = d.pk
        _fast_insert(Message, messages)
        prefs = [
            _Row.of(
                NotificationPreference,
                customer_id=self.customers[ci].pk,
                channel="email",
                kind=MessageKind.MARKETING,
                enabled=False,
                updated_at=at,
            )
            for ci, at in self.opt_outs
        ]
        _fast_insert(NotificationPreference, prefs)
        return {"messages": len(messages), "marketing_opt_outs": len(prefs)}


def namespace_exists(namespace: str) -> bool:
    return Customer.objects.filter(email__endswith="@" + EMAIL_DOMAIN.format(namespace=namespace)).exists()


def simulate_shop(
    *, customers: int, months: int, seed: int = 7, namespace: str = "sim", end: datetime | None = None
) -> SimulationResult:
    """Generate and store a synthetic history (see the module docstring). Refuses a used namespace."""
    if customers < 1 or months < 1:
        raise SimulationRefused("customers and months must be at least 1.")
    if not namespace.isalnum() or len(namespace) > 8:
        raise SimulationRefused("namespace: 1 to 8 letters or digits.")
    if namespace_exists(namespace):
        raise SimulationRefused(
            f"A simulation with namespace {namespace!r} is already in the database; "
            "pass --namespace with another name to add a second cohort."
        )
    began = time.monotonic()
    end = end or timezone.now()
    start = end - timedelta(days=round(months * 30.44))
    shop = _Shop(np.random.default_rng(seed), namespace, start, end, seed=seed)
    for index in range(customers):
        shop.customer(index)
    with (
        transaction.atomic(),
        _dates_as_given(
            Customer,
            Device,
            RepairTicket,
            TicketEvent,
            QualityCheck,
            Invoice,
            Payment,
            NotificationPreference,
        ),
    ):
        counts = shop.save()
    return SimulationResult(namespace=namespace, counts=counts, seconds=time.monotonic() - began)
