"""Factories and small helpers for the notifications tests."""

from __future__ import annotations

import secrets
from typing import Any

import factory

from notifications.models import (
    CONTENT_FIELDS,
    AutomationRule,
    DispatchMode,
    MessageTemplate,
    Priority,
    PushDevice,
    TemplateVersion,
)
from notifications.services import delivery, dispatch
from notifications.services.context import message_context


class MessageTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MessageTemplate
        skip_postgeneration_save = True

    key = factory.Sequence(lambda n: f"test_template_{n}")
    name = factory.Sequence(lambda n: f"Test template {n}")
    kind = "status"
    subject = "Update on {{ ticket.reference }}"
    body_text = "Hello {{ customer.first_name }}, your repair is {{ ticket.status_label }}."
    body_html = (
        "<p>Hello {{ customer.first_name }},</p>"
        "<p>Your repair is <strong>{{ ticket.status_label }}</strong>.</p>"
        '<p><a href="{{ ticket.tracking_url }}">Follow your repair</a></p>'
    )
    sms_body = "{{ shop_name }}: {{ ticket.reference }} is {{ ticket.status_label }}"
    push_title = "{{ ticket.status_label }}"
    push_body = "Your repair {{ ticket.reference }}"
    version = 1

    @factory.post_generation
    def snapshot(obj, create, extracted, **kwargs):
        if create:
            TemplateVersion.objects.create(
                template=obj, version=obj.version, **{f: getattr(obj, f) for f in CONTENT_FIELDS}
            )


class AutomationRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AutomationRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    event = "ticket.status_changed"
    template = factory.SubFactory(MessageTemplateFactory)
    mode = DispatchMode.ALL
    channels = factory.LazyFunction(list)
    priority = Priority.NORMAL
    enabled = True


class PushDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PushDevice

    token = factory.LazyFunction(lambda: "fcm-" + secrets.token_urlsafe(40))
    platform = "web"


def notify(customer, *, template=None, ticket=None, key=None, **options: Any):
    """Notify ``customer`` with a fresh test template (or ``template``) through the real service."""
    template = template or MessageTemplateFactory()
    return dispatch.notify(
        customer=customer,
        template=template,
        key=key or f"test:{secrets.token_hex(8)}",
        context=message_context(customer, ticket=ticket),
        ticket=ticket,
        **options,
    )


def drain() -> delivery.BatchResult:
    """Send everything that is due, whatever the Celery mode (eager, or a broker without a worker)."""
    return delivery.drain(max_seconds=20)
