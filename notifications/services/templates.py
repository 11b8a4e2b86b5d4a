"""Message templates: rendering (Django's template language, sandboxed), versions and previews.

Templates are edited by staff in the admin. They render with a dedicated engine that has no
template loaders and no tag libraries beyond the built-ins, over plain data (dicts of strings
and numbers, never model instances), so a template can show the context but reach nothing
else. Email gets a plain-text and an HTML body; the HTML is wrapped in the shop's layout and,
for tracking, its links go through signed redirects and a 1×1 open pixel is added.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template import Context, Engine, TemplateSyntaxError
from django.template.loader import render_to_string
from django.utils.html import linebreaks
from django.utils.safestring import mark_safe

from revivatech.roles import acting_user

from ..models import CONTENT_FIELDS, Channel, MessageKind, MessageTemplate, TemplateVersion
from . import tracking
from .preferences import is_required


def preferences_required(kind: str) -> bool:
    """Emails of this kind cannot be switched off (so they carry no unsubscribe link)."""
    return is_required(kind, Channel.EMAIL)


_TEXT_ENGINE = Engine(loaders=[], libraries={}, autoescape=False, string_if_invalid="")
_HTML_ENGINE = Engine(loaders=[], libraries={}, autoescape=True, string_if_invalid="")
_HREF = re.compile(r'href="(https?://[^"]+)"', re.IGNORECASE)
MAX_SUBJECT_LENGTH = 200
MAX_PUSH_TITLE_LENGTH = 120


class TemplateRenderError(Exception):
    """A template that does not render (bad syntax, unknown tag, missing include)."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body_text: str
    body_html: str = ""


def _render(engine: Engine, source: str, context: dict[str, Any]) -> str:
    try:
        return engine.from_string(source).render(Context(context, autoescape=engine.autoescape))
    except Exception as exc:  # syntax errors, unknown tags, includes: all are the template's fault
        raise TemplateRenderError(f"{exc.__class__.__name__}: {exc}") from exc


def render_text(source: str, context: dict[str, Any]) -> str:
    return _render(_TEXT_ENGINE, source, context)


def render_html(source: str, context: dict[str, Any]) -> str:
    return _render(_HTML_ENGINE, source, context)


def one_line(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _track_links(body_html: str, message_token: str, skip: set[str]) -> str:
    def replace(match: re.Match) -> str:
        url = html.unescape(match.group(1))
        if url in skip:
            return match.group(0)
        return f'href="{html.escape(tracking.click_url(message_token, url))}"'

    return _HREF.sub(replace, body_html)


def render_email(
    template: MessageTemplate | TemplateVersion,
    context: dict[str, Any],
    *,
    kind: str,
    message_token: str,
    unsubscribe_url: str = "",
    track: bool = True,
    confirm_contact_url: str = "",
) -> Rendered:
    """Subject, plain text and HTML of one email; marketing carries a one-click unsubscribe."""
    subject = one_line(render_text(template.subject, context), MAX_SUBJECT_LENGTH)
    text = render_text(template.body_text, context).strip()
    inner_html = (
        render_html(template.body_html, context)
        if template.body_html.strip()
        else linebreaks(text, autoescape=True)
    )
    preferences_url = context.get("preferences_url", "")
    # Previews (track=False) carry no open pixel and no click redirects: staff opening one is not a read.
    open_pixel = (
        tracking.open_pixel_url(message_token) if track and settings.NOTIFICATIONS_TRACK_OPENS else ""
    )
    body_html = render_to_string(
        "notifications/email/layout.html",
        {
            "subject": subject,
            "content": mark_safe(inner_html),  # noqa: S308 - rendered above with autoescape on
            "shop_name": context.get("shop_name", settings.SHOP_NAME),
            "shop": context.get("shop") or {},
            "kind_label": MessageKind(kind).label if kind in MessageKind.values else "",
            "site_url": settings.SITE_URL,
            "preferences_url": preferences_url,
            "unsubscribe_url": unsubscribe_url,
            "confirm_contact_url": confirm_contact_url,
            "open_pixel_url": open_pixel,
            "is_marketing": kind == MessageKind.MARKETING,
        },
    )
    if track and settings.NOTIFICATIONS_TRACK_CLICKS:
        body_html = _track_links(
            body_html, message_token, skip={preferences_url, unsubscribe_url, confirm_contact_url}
        )
    footer = [f"-- \n{context.get('shop_name', settings.SHOP_NAME)}", *_shop_lines(context.get("shop") or {})]
    if confirm_contact_url:
        footer.insert(
            0,
            "Did you book this repair? Confirm your details to get texts about it too "
            f"(if it was not you, ignore this email): {confirm_contact_url}\n",
        )
    if preferences_url:
        footer.append(f"Choose which messages you get (no login needed): {preferences_url}")
    if unsubscribe_url:
        what = (
            "offers and news"
            if kind == MessageKind.MARKETING
            else f"{MessageKind(kind).label.lower()} by email"
        )
        footer.append(f"Unsubscribe from {what}: {unsubscribe_url}")
    return Rendered(subject, f"{text}\n\n" + "\n".join(footer) + "\n", body_html)


def _shop_lines(shop: dict[str, Any]) -> list[str]:
    """The shop's address, phone, hours and closed days for the plain-text footer."""
    lines = [shop[key] for key in ("address", "phone", "email") if shop.get(key)]
    lines += [f"{day['day']}: {day['text']}" for day in shop.get("hours") or []]
    if shop.get("closures"):
        lines.append("Closed: " + "; ".join(shop["closures"]))
    if shop.get("vat_number"):
        lines.append(f"VAT number {shop['vat_number']}")
    return lines


def render_sms(template: MessageTemplate | TemplateVersion, context: dict[str, Any]) -> Rendered:
    return Rendered("", " ".join(render_text(template.sms_body, context).split()))


def render_push(template: MessageTemplate | TemplateVersion, context: dict[str, Any]) -> Rendered:
    title = one_line(render_text(template.push_title, context), MAX_PUSH_TITLE_LENGTH)
    body = " ".join(render_text(template.push_body, context).split())
    return Rendered(title or context.get("shop_name", settings.SHOP_NAME), body)


def template_supports(template: MessageTemplate | TemplateVersion, channel: str) -> bool:
    if channel == Channel.SMS:
        return bool(template.sms_body.strip())
    if channel == Channel.PUSH:
        return bool(template.push_body.strip())
    return bool(template.subject.strip() and template.body_text.strip())


# --- versions ------------------------------------------------------------------------------------


def validate_template(template: MessageTemplate) -> None:
    """Every content field must compile; a ValidationError names the fields that do not."""
    errors = {}
    for field in CONTENT_FIELDS:
        engine = _HTML_ENGINE if field == "body_html" else _TEXT_ENGINE
        try:
            engine.from_string(getattr(template, field) or "")
        except TemplateSyntaxError as exc:
            errors[field] = f"This template does not compile: {exc}"
    if not template.subject.strip():
        errors.setdefault("subject", "An email subject is required.")
    if not template.body_text.strip():
        errors.setdefault("body_text", "A plain-text email body is required.")
    if errors:
        raise ValidationError(errors)


def _snapshot(template: MessageTemplate, by=None) -> TemplateVersion:
    return TemplateVersion.objects.create(
        template=template,
        version=template.version,
        created_by=acting_user(by),
        **{field: getattr(template, field) for field in CONTENT_FIELDS},
    )


@transaction.atomic
def save_template(template: MessageTemplate, *, by=None) -> MessageTemplate:
    """Save a template; a change of wording becomes the next version (old ones are kept)."""
    validate_template(template)
    actor = acting_user(by)
    if template.pk is None:
        template.version = 1
        template.updated_by = actor
        template.save()
        _snapshot(template, actor)
        return template
    previous = MessageTemplate.objects.select_for_update().get(pk=template.pk)
    changed = any(getattr(previous, field) != getattr(template, field) for field in CONTENT_FIELDS)
    template.version = previous.version + 1 if changed else previous.version
    template.updated_by = actor
    template.save()
    if changed or not template.versions.filter(version=template.version).exists():
        _snapshot(template, actor)
    return template


@transaction.atomic
def restore_version(version: TemplateVersion, *, by=None) -> MessageTemplate:
    """Make an old version's wording current again (as a new version)."""
    template = MessageTemplate.objects.select_for_update().get(pk=version.template_id)
    for field in CONTENT_FIELDS:
        setattr(template, field, getattr(version, field))
    return save_template(template, by=by)


# --- previews ------------------------------------------------------------------------------------


def preview(template: MessageTemplate, context: dict[str, Any]) -> dict[str, Rendered | str]:
    """How the template renders on each channel with ``context`` (an error text per channel that
    fails, so staff see what to fix)."""
    result: dict[str, Rendered | str] = {}
    renderers = {
        Channel.EMAIL: lambda: render_email(
            template,
            context,
            kind=template.kind,
            message_token="00000000-0000-0000-0000-000000000000",
            track=False,
            unsubscribe_url="" if preferences_required(template.kind) else context.get("unsubscribe_url", ""),
        ),
        Channel.SMS: lambda: render_sms(template, context),
        Channel.PUSH: lambda: render_push(template, context),
    }
    for channel, render in renderers.items():
        if not template_supports(template, channel):
            result[channel] = "This template has no wording for this channel, so it is never sent on it."
            continue
        try:
            result[channel] = render()
        except TemplateRenderError as exc:
            result[channel] = f"Does not render: {exc}"
    return result
