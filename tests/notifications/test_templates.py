"""Templates: Django's template language over plain data, sandboxed (no loaders, no libraries),
versioned; every seeded default renders on each channel it has wording for."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from notifications.models import Channel, MessageTemplate, TemplateVersion
from notifications.services import templates
from notifications.services.context import sample_context
from tests.notifications.factories import MessageTemplateFactory, notify

pytestmark = pytest.mark.django_db


def test_every_seeded_template_renders_with_real_wording():
    context = sample_context()
    seeded = MessageTemplate.objects.all()
    assert seeded.count() >= 11
    for template in seeded:
        rendered = templates.preview(template, context)
        email = rendered[Channel.EMAIL]
        assert isinstance(email, templates.Rendered), (template.key, email)
        assert email.subject and "{{" not in email.subject and "{%" not in email.body_text
        assert "<html" in email.body_html and "Casey" in email.body_text
        assert TemplateVersion.objects.filter(template=template, version=1).exists()
        for channel in (Channel.SMS, Channel.PUSH):
            result = rendered[channel]
            assert isinstance(result, templates.Rendered) or "no wording" in result, (template.key, channel)


def test_html_is_escaped_and_text_is_not():
    context = {"customer": {"first_name": "<Bob & Co>"}}
    assert templates.render_html("<p>{{ customer.first_name }}</p>", context) == "<p>&lt;Bob &amp; Co&gt;</p>"
    assert templates.render_text("Hi {{ customer.first_name }}", context) == "Hi <Bob & Co>"


@pytest.mark.parametrize(
    "source",
    [
        "{% include 'base.html' %}",  # no template loaders: nothing on disk is reachable
        "{% extends 'base.html' %}",
        "{% load static %}{% static 'x' %}",  # no tag libraries beyond the built-ins
        "{% debug %}{% if %}",
    ],
)
def test_templates_cannot_reach_outside_their_context(source):
    with pytest.raises(templates.TemplateRenderError):
        templates.render_text(source, {"customer": {"name": "x"}})


def test_saving_changed_wording_makes_a_new_version_and_messages_keep_theirs(customer):
    template = MessageTemplateFactory(subject="Old subject")
    notify(customer, template=template, channels=["email"], mode="chosen")
    template.subject = "New subject"
    templates.save_template(template)
    template.name = "Renamed only"
    templates.save_template(template)  # no wording change: same version

    assert template.version == 2
    assert list(template.versions.values_list("version", "subject")) == [
        (2, "New subject"),
        (1, "Old subject"),
    ]
    message = template.dispatch_set.get().messages.get()
    assert message.template_version == 1 and message.subject == "Old subject"


def test_a_template_that_does_not_compile_is_refused():
    template = MessageTemplateFactory()
    template.body_html = "{% for x in %}"
    with pytest.raises(ValidationError) as caught:
        templates.save_template(template)
    assert "body_html" in caught.value.message_dict
