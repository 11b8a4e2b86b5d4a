"""Push devices: browsers and apps register their FCM token through the API; tokens FCM reports
as unregistered are deactivated (never deleted, so the timeline can still say where a push went)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from repairs.models import Customer

from ..models import PushDevice, PushPlatform, PushTokenKind

MAX_DEVICES_PER_CUSTOMER = 20


@transaction.atomic
def register_device(
    customer: Customer,
    *,
    token: str,
    platform: str = PushPlatform.WEB,
    token_kind: str = PushTokenKind.REGISTRATION_TOKEN,
    label: str = "",
) -> tuple[PushDevice, bool]:
    """Register (or refresh) a device; returns it and whether it is new. A token seen before for
    another customer moves to this one (the browser changed hands or logins)."""
    token = (token or "").strip()
    if not token:
        raise ValidationError({"token": "The push token is empty."})
    if len(token) > 512 or any(ch.isspace() for ch in token):
        raise ValidationError({"token": "This is not an FCM token (at most 512 characters, no spaces)."})
    if platform not in PushPlatform.values:
        raise ValidationError({"platform": f"Choose one of: {', '.join(PushPlatform.values)}."})
    if token_kind not in PushTokenKind.values:
        raise ValidationError({"token_kind": f"Choose one of: {', '.join(PushTokenKind.values)}."})
    now = timezone.now()
    device = PushDevice.objects.select_for_update().filter(token=token).first()
    created = device is None
    if created:
        active = PushDevice.objects.filter(customer=customer, active=True).count()
        if active >= MAX_DEVICES_PER_CUSTOMER:
            raise ValidationError(
                {"token": f"You have {active} devices registered; remove one before adding another."}
            )
        try:
            with transaction.atomic():
                device = PushDevice.objects.create(
                    customer=customer,
                    token=token,
                    platform=platform,
                    token_kind=token_kind,
                    label=label[:100],
                )
        except IntegrityError:  # registered by a concurrent request
            device = PushDevice.objects.select_for_update().get(token=token)
            created = False
    if not created:
        device.customer = customer
        device.platform = platform
        device.token_kind = token_kind
        device.label = label[:100] or device.label
        device.active = True
        device.deactivated_at = None
        device.deactivation_reason = ""
        device.last_seen_at = now
        device.save()
    return device, created


def deactivate_device(device_id: int, *, reason: str) -> bool:
    """Stop sending to a device (FCM said unregistered, or the customer removed it)."""
    return bool(
        PushDevice.objects.filter(pk=device_id, active=True).update(
            active=False, deactivated_at=timezone.now(), deactivation_reason=reason[:200]
        )
    )


def remove_device(customer: Customer, device_id: int) -> bool:
    """The customer removes one of their devices (other customers' devices are not found)."""
    device = PushDevice.objects.filter(pk=device_id, customer=customer).first()
    if device is None:
        return False
    deactivate_device(device.pk, reason="removed by the customer")
    return True
