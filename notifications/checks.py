"""System checks: settings that would make notifications fail later are reported at start-up."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Info, Tags, register
from django.core.exceptions import ImproperlyConfigured, ValidationError

from .providers import PROVIDER_FACTORIES


@register()
def check_notification_settings(app_configs, **kwargs):
    from .services.preferences import parse_window
    from .services.ratelimit import parse_limits

    problems = []
    try:
        parse_limits(settings.NOTIFICATIONS_RATE_LIMITS_SPEC)
    except ImproperlyConfigured as exc:
        problems.append(Error(str(exc), id="notifications.E001"))
    try:
        parse_window(settings.NOTIFICATIONS_QUIET_HOURS)
    except ValidationError as exc:
        problems.append(Error(f"NOTIFICATIONS_QUIET_HOURS: {exc.messages[0]}", id="notifications.E002"))
    for channel, names in settings.NOTIFICATIONS_PROVIDERS.items():
        for name in names:
            if name not in PROVIDER_FACTORIES.get(channel, {}):
                known = ", ".join(PROVIDER_FACTORIES.get(channel, {}))
                problems.append(
                    Error(f"unknown {channel} provider {name!r} (known: {known})", id="notifications.E003")
                )
    return problems


def _placeholder_sender(address: str) -> bool:
    from email.utils import parseaddr

    _, email = parseaddr(address or "")
    domain = email.rpartition("@")[2].lower()
    return "@" not in email or domain in {"localhost", "localhost.localdomain"} or "." not in domain


@register()
def check_sender_address(app_configs, **kwargs):
    """Production mail must come from the shop's real address, not no-reply@localhost."""
    if not getattr(settings, "PRODUCTION", False) or not _placeholder_sender(settings.DEFAULT_FROM_EMAIL):
        return []
    return [
        Error(
            f"DEFAULT_FROM_EMAIL is {settings.DEFAULT_FROM_EMAIL!r}: customers' mail would come from "
            "an address nobody can answer and that spam filters reject.",
            hint='Set DEFAULT_FROM_EMAIL, e.g. "RevivaTech <repairs@your-shop.example>".',
            id="notifications.E004",
        )
    ]


@register(Tags.security, deploy=True)
def check_production_providers(app_configs, **kwargs):
    notes = []
    if set(settings.NOTIFICATIONS_PROVIDERS.get("email", [])) <= {"console", "file"}:
        notes.append(
            Info(
                "Email goes to files or the console, not to customers: configure SENDGRID_API_KEY, "
                "AMAZON_SES_REGION or EMAIL_HOST.",
                id="notifications.I001",
            )
        )
    if settings.SENDGRID_API_KEY and not settings.SENDGRID_WEBHOOK_PUBLIC_KEY:
        notes.append(
            Info(
                "SENDGRID_WEBHOOK_PUBLIC_KEY is not set: SendGrid delivery events will be refused.",
                id="notifications.I002",
            )
        )
    return notes
