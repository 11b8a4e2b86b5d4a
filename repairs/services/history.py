"""History items on a ticket: milestones, photos, quality checks, notes, other apps' events."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from .. import photos
from ..lifecycle import Status
from ..models import (
    EventKind,
    Milestone,
    Note,
    NotePriority,
    Photo,
    PhotoCategory,
    QualityCheck,
    RepairTicket,
    TicketEvent,
)
from ._common import _actor, _enqueue_after_commit, _lock, _record_event, _require_text

CLOSED_STATES = {Status.COLLECTED, Status.CANCELLED, Status.UNREPAIRABLE}


# --- history items -----------------------------------------------------------------------------


@transaction.atomic
def add_milestone(ticket: RepairTicket, *, title: str, percent: int, by=None) -> Milestone:
    title = _require_text(title, "title", 120)
    if not isinstance(percent, int) or isinstance(percent, bool) or not 0 <= percent <= 100:
        raise ValidationError({"percent": "Progress must be a whole number from 0 to 100."})
    locked = _lock(ticket)
    if locked.status in CLOSED_STATES:
        raise ValidationError({"title": "This repair is closed; no more milestones can be added."})
    milestone = Milestone.objects.create(
        ticket=locked, title=title, percent=percent, reached_at=timezone.now(), created_by=_actor(by)
    )
    locked.progress_percent = percent
    locked.save(update_fields=["progress_percent", "updated_at"])
    _record_event(
        locked,
        EventKind.MILESTONE_REACHED,
        {"milestone_id": milestone.pk, "title": title, "percent": percent},
        customer_visible=True,
        actor=_actor(by),
    )
    return milestone


@transaction.atomic
def add_photo(
    ticket: RepairTicket,
    *,
    image: UploadedFile,
    category: str,
    caption: str = "",
    visible_to_customer: bool = True,
    by=None,
) -> Photo:
    if category not in PhotoCategory.values:
        raise ValidationError({"category": f"Choose one of: {', '.join(PhotoCategory.values)}."})
    checked = photos.check_upload(image, image.size)
    image.name = f"photo.{checked.suffix}"  # the uploaded name is never trusted
    locked = _lock(ticket)
    photo = Photo.objects.create(
        ticket=locked,
        image=image,
        width=checked.width,
        height=checked.height,
        category=category,
        caption=(caption or "").strip()[:200],
        visible_to_customer=visible_to_customer,
        taken_by=_actor(by),
    )
    _record_event(
        locked,
        EventKind.PHOTO_ADDED,
        {
            "photo_id": photo.pk,
            "category": category,
            "category_label": PhotoCategory(category).label,
            "caption": photo.caption,
            "width": photo.width,
            "height": photo.height,
        },
        customer_visible=visible_to_customer,
        actor=_actor(by),
    )
    _enqueue_after_commit("repairs.render_photo_variants", photo.pk)
    return photo


#: How long a queued render is trusted before a page asking for the photo queues it again (a
#: broker outage at upload time loses the first one; the database still knows it is missing).
VARIANTS_REQUEUE_SECONDS = 120


def variants_render_in_worker() -> bool:
    """Do Celery workers render variants? Not in eager mode (no broker: tasks run in-process)."""
    from revivatech.celery import app

    return not app.conf.task_always_eager


def request_photo_variants(photo: Photo) -> None:
    """A page needs variants that do not exist yet: make sure a worker renders them, at most once
    per ``VARIANTS_REQUEUE_SECONDS`` however many requests ask (never in the request itself)."""
    # The stored name is random per upload, so a key never outlives its photo's identity.
    key = f"repairs:photo-variants-queued:{photo.pk}:{photo.image.name}"
    if cache.add(key, 1, timeout=VARIANTS_REQUEUE_SECONDS):
        _enqueue_after_commit("repairs.render_photo_variants", photo.pk)


def render_photo_variants(photo: Photo) -> Photo:
    """Render the photo's AVIF/WebP variants once (a Celery worker does it after upload; without
    a broker, the eager task does it in-process). The encoding runs outside any transaction; if two callers
    race, the first to save wins and the other's files are removed."""
    current = Photo.objects.get(pk=photo.pk)
    if current.variants:
        return current
    base_name = current.image.name.rsplit(".", 1)[0] + "-v"
    with current.image.open("rb") as original:
        variants = photos.render_variant_files(original, base_name)
    with transaction.atomic():
        locked = Photo.objects.select_for_update().get(pk=photo.pk)
        if locked.variants:
            photos.delete_variant_files(variants)
            return locked
        locked.variants = variants
        locked.save(update_fields=["variants"])
    return locked


@transaction.atomic
def record_quality_check(
    ticket: RepairTicket, *, item: str, passed: bool, notes: str = "", by=None
) -> QualityCheck:
    item = _require_text(item, "item", 120)
    if not isinstance(passed, bool):
        raise ValidationError({"passed": "Say whether the check passed (true or false)."})
    locked = _lock(ticket)
    check = QualityCheck.objects.create(
        ticket=locked, item=item, passed=passed, notes=(notes or "").strip(), checked_by=_actor(by)
    )
    _record_event(
        locked,
        EventKind.QUALITY_CHECKED,
        {"check_id": check.pk, "item": item, "passed": passed, "notes": check.notes},
        customer_visible=True,
        actor=_actor(by),
    )
    return check


@transaction.atomic
def add_note(
    ticket: RepairTicket,
    *,
    text: str,
    priority: str = NotePriority.NORMAL,
    visible_to_customer: bool = False,
    by=None,
) -> Note:
    """A note on the ticket; internal by default, shown to the customer only when marked so."""
    text = _require_text(text, "text", 5000)
    if priority not in NotePriority.values:
        raise ValidationError({"priority": f"Choose one of: {', '.join(NotePriority.values)}."})
    locked = _lock(ticket)
    note = Note.objects.create(
        ticket=locked,
        text=text,
        priority=priority,
        visible_to_customer=visible_to_customer,
        author=_actor(by),
    )
    _record_event(
        locked,
        EventKind.NOTE_ADDED,
        {"note_id": note.pk, "text": text, "priority": priority, "visible_to_customer": visible_to_customer},
        customer_visible=visible_to_customer,
        actor=_actor(by),
    )
    return note


#: Timeline entries other apps may add to a ticket (they own the facts; repairs owns the log).
EXTERNAL_EVENT_KINDS = frozenset(
    {
        EventKind.INVOICE_ISSUED,
        EventKind.PAYMENT_RECEIVED,
        EventKind.PAYMENT_FAILED,
        EventKind.PAYMENT_REFUNDED,
    }
)


@transaction.atomic
def record_ticket_event(
    ticket: RepairTicket,
    *,
    kind: str,
    payload: dict[str, Any],
    customer_visible: bool = True,
    by=None,
) -> TicketEvent:
    """Append an event another app owns (e.g. a payment) to the ticket's log, with the next
    sequence number, published after commit like every other ticket event."""
    if kind not in EXTERNAL_EVENT_KINDS:
        raise ValidationError(
            {"kind": f"Other apps may record only: {', '.join(sorted(EXTERNAL_EVENT_KINDS))}."}
        )
    locked = _lock(ticket)
    locked.save(update_fields=["updated_at"])
    return _record_event(locked, kind, payload, customer_visible=customer_visible, actor=_actor(by))
