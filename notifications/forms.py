"""Forms of the notifications pages and admin. They validate; services write."""

from __future__ import annotations

from typing import Any

from django import forms

from .models import CONTENT_FIELDS, Channel, MessageKind, MessageTemplate
from .services.preferences import PreferenceCell, QuietWindow
from .services.templates import validate_template

KIND_HELP = {
    MessageKind.SERVICE: "Your device is ready, a payment did not go through, booking confirmations.",
    MessageKind.STATUS: "Each step of your repair: received, diagnosed, in repair, quality checked…",
    MessageKind.QUOTE: "When a quote is ready for you to approve.",
    MessageKind.PAYMENT: "Invoices, payments received and refunds.",
    MessageKind.MARKETING: "Occasional offers and news from the shop.",
}


def field_name(kind: str, channel: str) -> str:
    return f"{kind}__{channel}"


class PreferencesForm(forms.Form):
    """One checkbox per kind × channel (required ones disabled and ticked), plus quiet hours."""

    quiet_enabled = forms.BooleanField(label="Use quiet hours", required=False)
    quiet_start = forms.TimeField(
        label="Quiet from", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), required=False
    )
    quiet_end = forms.TimeField(
        label="Quiet until", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), required=False
    )

    def __init__(
        self, *args: Any, matrix: dict[str, dict[str, PreferenceCell]], quiet: QuietWindow, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.matrix = matrix
        for kind, cells in matrix.items():
            for channel, cell in cells.items():
                label = f"{MessageKind(kind).label} by {Channel(channel).label}"
                self.fields[field_name(kind, channel)] = forms.BooleanField(
                    label=label, required=False, initial=cell.enabled, disabled=cell.locked
                )
        self.fields["quiet_enabled"].initial = quiet.enabled
        self.fields["quiet_start"].initial = quiet.start
        self.fields["quiet_end"].initial = quiet.end

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("quiet_enabled"):
            start, end = data.get("quiet_start"), data.get("quiet_end")
            if start is None:
                self.add_error("quiet_start", "Say when your quiet hours start, e.g. 21:00.")
            if end is None:
                self.add_error("quiet_end", "Say when your quiet hours end, e.g. 08:00.")
            if start is not None and end is not None and start == end:
                self.add_error("quiet_end", "Quiet hours must end at a different time than they start.")
        return data

    def choices(self) -> dict[tuple[str, str], bool]:
        return {
            (kind, channel): bool(self.cleaned_data.get(field_name(kind, channel)))
            for kind, cells in self.matrix.items()
            for channel, cell in cells.items()
            if not cell.locked
        }

    def rows(self) -> list[dict[str, Any]]:
        """The grid for the template: one row per kind, one bound field per channel."""
        return [
            {
                "kind": kind,
                "label": MessageKind(kind).label,
                "help": KIND_HELP.get(kind, ""),
                "cells": [
                    {"channel": channel, "field": self[field_name(kind, channel)], "locked": cell.locked}
                    for channel, cell in cells.items()
                ],
            }
            for kind, cells in self.matrix.items()
        ]


class MessageTemplateForm(forms.ModelForm):
    """The admin's template form: every field must compile in Django's template language."""

    class Meta:
        model = MessageTemplate
        fields = [
            "key",
            "name",
            "kind",
            "description",
            "subject",
            "body_text",
            "body_html",
            "sms_body",
            "push_title",
            "push_body",
        ]
        widgets = {
            "body_text": forms.Textarea(attrs={"rows": 10, "cols": 90}),
            "body_html": forms.Textarea(attrs={"rows": 12, "cols": 90}),
            "sms_body": forms.Textarea(attrs={"rows": 3, "cols": 90}),
            "description": forms.Textarea(attrs={"rows": 2, "cols": 90}),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        candidate = MessageTemplate(**{name: data.get(name) or "" for name in CONTENT_FIELDS})
        try:
            validate_template(candidate)
        except forms.ValidationError as exc:
            for field, messages in exc.message_dict.items():
                if field in self.fields and field not in self.errors:
                    self.add_error(field, messages)
        return data
