"""The repair domain: customers, devices, tickets and their append-only history."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.fields.json import KeyTransform
from django.urls import reverse

# The event names live in the project kernel (every app uses them); re-exported for repairs' callers.
from revivatech.events import EventKind  # noqa: F401

from .lifecycle import STATUS_PROGRESS, Status, allowed_transitions, is_open
from .shop import validate_hours

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: easy to read aloud


def new_reference() -> str:
    """A human reference such as ``RT-7K3Q9X``: random, so it reveals nothing about volume."""
    return "RT-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def new_tracking_token() -> str:
    """A secret for the tracking link: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


class ContactChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PHONE = "phone", "Phone call"


class Customer(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customer",
        help_text="Optional login of the customer.",
    )
    name = models.CharField(max_length=120)
    email = models.EmailField()
    phone = models.CharField(max_length=32, blank=True)
    preferred_contact = models.CharField(
        max_length=10, choices=ContactChannel.choices, default=ContactChannel.EMAIL
    )
    time_zone = models.CharField(max_length=64, default="Europe/London")
    is_demo = models.BooleanField(
        default=False,
        db_default=False,  # the previous release inserts customers without it (rolling deploy)
        editable=False,
        help_text="The staff realtime demo's made-up customer: never notified, never matched to a booking.",
    )
    #: When these contact details were shown to belong to the customer: staff took them at the
    #: counter, the customer signed in, confirmed them from the booking email, or brought the
    #: device in. Until then (a stranger could have typed anyone's), no texts and few emails.
    contact_confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["email"])]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    @property
    def contact_confirmed(self) -> bool:
        return self.contact_confirmed_at is not None


class DeviceKind(models.TextChoices):
    LAPTOP = "laptop", "Laptop"
    DESKTOP = "desktop", "Desktop"
    PHONE = "phone", "Phone"
    TABLET = "tablet", "Tablet"
    CONSOLE = "console", "Games console"
    OTHER = "other", "Other"


class Device(models.Model):
    """A customer's device. Passcodes are deliberately never stored."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="devices")
    kind = models.CharField(max_length=10, choices=DeviceKind.choices)
    brand = models.CharField(max_length=60)
    model = models.CharField(max_length=80)
    serial_number = models.CharField("serial number or IMEI", max_length=64, blank=True)
    condition_on_intake = models.TextField(blank=True)
    accessories = models.CharField(max_length=255, blank=True, help_text="Accessories left with the device.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.brand} {self.model} ({self.get_kind_display()})"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class QuoteDecision(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class RepairTicket(models.Model):
    reference = models.CharField(max_length=12, unique=True, default=new_reference, editable=False)
    tracking_token = models.CharField(max_length=64, unique=True, default=new_tracking_token, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="tickets")
    problem_description = models.TextField("reported problem")
    assigned_technician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
        limit_choices_to={"groups__name": "Technicians"},
    )
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    due_date = models.DateField(null=True, blank=True)
    #: A technician's promise to the customer; shown instead of the predicted ready-by time.
    promised_ready_at = models.DateTimeField("promised ready by", null=True, blank=True, editable=False)
    quote_amount = models.PositiveIntegerField(
        null=True, blank=True, help_text="In minor units of the currency (pence, cents)."
    )
    quote_currency = models.CharField(max_length=3, default="GBP")
    quote_decision = models.CharField(
        max_length=10, choices=QuoteDecision.choices, default=QuoteDecision.PENDING
    )
    quote_decided_at = models.DateTimeField(null=True, blank=True)
    progress_percent = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BOOKED, editable=False)
    last_event_seq = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status"]),
            models.Index(fields=["assigned_technician", "status"]),
        ]
        permissions = [("transition_repairticket", "Can move a repair ticket through its lifecycle")]

    def __str__(self) -> str:
        return self.reference

    def get_absolute_url(self) -> str:
        return reverse("track", args=[self.tracking_token])

    @property
    def tracking_url(self) -> str:
        """The link customers get in messages (SITE_URL); pages use revivatech.links.absolute_url."""
        return settings.SITE_URL + self.get_absolute_url()

    @property
    def is_open(self) -> bool:
        return is_open(self.status)

    @property
    def next_statuses(self) -> list[str]:
        return allowed_transitions(self.status)

    @property
    def status_progress(self) -> int:
        return STATUS_PROGRESS.get(self.status, self.progress_percent)


class StatusChange(models.Model):
    """DEPRECATED, nothing writes or reads it: the status history is the event log (``TicketEvent``
    of kind ``ticket.status_changed`` / ``ticket.quote_decided``, read through
    ``repairs.selectors.status_history``). The table stays for one release, because the previous
    release still reads and writes it during a rolling deploy; the next release drops it (a
    contracting migration, see tests/project/test_migration_safety.py). Until then the model stays
    so that deleting a ticket cascades to its old rows and erasure can scrub their notes."""

    ticket = models.ForeignKey(RepairTicket, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=Status.choices)
    to_status = models.CharField(max_length=20, choices=Status.choices)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket}: {self.from_status} → {self.to_status}"


class Milestone(models.Model):
    ticket = models.ForeignKey(RepairTicket, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(max_length=120)
    percent = models.PositiveSmallIntegerField(validators=[MinValueValidator(0), MaxValueValidator(100)])
    reached_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["reached_at", "id"]

    def __str__(self) -> str:
        return f"{self.title} ({self.percent}%)"


class PhotoCategory(models.TextChoices):
    INTAKE = "intake", "Intake"
    DIAGNOSIS = "diagnosis", "Diagnosis"
    REPAIR = "repair", "Repair"
    QUALITY = "quality", "Quality check"
    COMPLETION = "completion", "Completion"


def photo_upload_to(instance: Photo, filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return f"repair-photos/{instance.ticket.reference}/{secrets.token_hex(8)}.{suffix}"


class Photo(models.Model):
    """A photo of the device. Files are private: served only through an access-checked view."""

    ticket = models.ForeignKey(RepairTicket, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to=photo_upload_to, help_text="The original upload, for staff only.")
    #: Size of the normalised photo (upright, bounded), which the variants are cut from.
    width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    #: Rendered AVIF/WebP variants: [{"format", "width", "height", "name", "bytes"}].
    variants = models.JSONField(default=list, blank=True, editable=False)
    category = models.CharField(max_length=12, choices=PhotoCategory.choices)
    caption = models.CharField(max_length=200, blank=True)
    visible_to_customer = models.BooleanField(default=True)
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_category_display()} photo of {self.ticket}"


class QualityCheck(models.Model):
    ticket = models.ForeignKey(RepairTicket, on_delete=models.CASCADE, related_name="quality_checks")
    item = models.CharField("checklist item", max_length=120)
    passed = models.BooleanField()
    notes = models.TextField(blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.item}: {'passed' if self.passed else 'failed'}"


#: Notes use the same scale as tickets.
NotePriority = Priority


class Note(models.Model):
    ticket = models.ForeignKey(RepairTicket, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField()
    priority = models.CharField(max_length=10, choices=NotePriority.choices, default=NotePriority.NORMAL)
    visible_to_customer = models.BooleanField(default=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text[:60]


#: Event kinds that move a ticket's status; their payload holds "from", "to" and "note". A quote
#: decision moves it too (approved, or cancelled when declined). These events are the status history.
STATUS_EVENT_KINDS = (EventKind.STATUS_CHANGED, EventKind.QUOTE_DECIDED)


class TicketEvent(models.Model):
    """Append-only log of everything that happened to a ticket, numbered per ticket.

    The tracking timeline, live snapshots and ``since=<seq>`` replays all read this table.
    """

    ticket = models.ForeignKey(RepairTicket, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=40, choices=EventKind.choices)
    payload = models.JSONField(default=dict)
    customer_visible = models.BooleanField(default=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ticket_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["ticket", "seq"], name="unique_event_seq_per_ticket")]
        indexes = [
            # The status history by the status entered (ready-by's "checked in" / "finished"
            # lookups, newest first): only status moves, a small part of the log.
            models.Index(
                KeyTransform("to", "payload"),
                "created_at",
                name="ticket_event_status_entered",
                condition=models.Q(kind__in=STATUS_EVENT_KINDS),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}#{self.seq} {self.kind}"


# --- the shop's own details (one profile, edited by staff in the admin) ----------------------------

#: Weekday field names of the opening hours, Monday first (date.weekday() order).
WEEKDAY_FIELDS = ("hours_mon", "hours_tue", "hours_wed", "hours_thu", "hours_fri", "hours_sat", "hours_sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HOURS_HELP = "For example 09:00-17:30, or 09:00-12:30, 13:30-17:30. Leave empty when closed all day."


def default_shop_name() -> str:
    return settings.SHOP_NAME


def _hours_field(day: str) -> models.CharField:
    return models.CharField(day, max_length=40, blank=True, validators=[validate_hours], help_text=HOURS_HELP)


class ShopProfile(models.Model):
    """The shop's one profile (a singleton: always pk 1), shown on receipts, the tracking page,
    every email and the site footer. Read it through :func:`repairs.shop.current_shop`."""

    SINGLETON_PK = 1

    name = models.CharField(max_length=120, default=default_shop_name)
    address = models.TextField(
        blank=True, help_text="As it should appear on receipts and emails, one line per line."
    )
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True, help_text="Where customers can write to the shop (reply-to).")
    vat_number = models.CharField("VAT number", max_length=32, blank=True)
    hours_mon = _hours_field("Monday")
    hours_tue = _hours_field("Tuesday")
    hours_wed = _hours_field("Wednesday")
    hours_thu = _hours_field("Thursday")
    hours_fri = _hours_field("Friday")
    hours_sat = _hours_field("Saturday")
    hours_sun = _hours_field("Sunday")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "shop profile"
        verbose_name_plural = "shop profile"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.pk = self.SINGLETON_PK  # there is only ever one
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> ShopProfile:
        profile, _ = cls.objects.get_or_create(pk=cls.SINGLETON_PK)
        return profile


class ShopClosure(models.Model):
    """A day (or run of days) the shop is closed although its weekly hours say open: holidays."""

    profile = models.ForeignKey(ShopProfile, on_delete=models.CASCADE, related_name="closures")
    first_day = models.DateField()
    last_day = models.DateField(null=True, blank=True, help_text="Leave empty for a single day.")
    reason = models.CharField(max_length=120, blank=True, help_text="For example: Christmas.")

    class Meta:
        ordering = ["first_day"]
        verbose_name = "closed day"

    def __str__(self) -> str:
        return f"{self.first_day}–{self.last_day or self.first_day} {self.reason}".strip()

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.last_day and self.first_day and self.last_day < self.first_day:
            raise ValidationError({"last_day": "The last day cannot be before the first day."})


from .readyby.models import ReadyByEstimate, ReadyByMethod, ReadyByModel  # noqa: E402, F401
