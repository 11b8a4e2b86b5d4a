"""The notifications admin: the outbox and its dead letters, a ticket's delivery timeline,
statistics, versioned templates with a preview, automation rules. Staff only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from notifications.models import AutomationRule, Message, MessageStatus, MessageTemplate, TemplateVersion
from tests.factories import DEFAULT_PASSWORD
from tests.notifications.factories import MessageTemplateFactory, drain, notify

pytestmark = pytest.mark.django_db
S = MessageStatus


@pytest.fixture
def staff_client(client, staff_user):
    client.login(username=staff_user.username, password=DEFAULT_PASSWORD)
    return client


@pytest.fixture
def dead_letter(customer, twilio_fake, settings, ticket):
    from notifications.services.preferences import update_preferences

    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 1
    update_preferences(ticket.customer, {("status", "sms"): True})
    twilio_fake.set_mode("500")
    notify(ticket.customer, ticket=ticket, channels=["sms"], mode="chosen")
    drain()
    twilio_fake.set_mode("ok")
    message = Message.objects.get(channel="sms")
    assert message.status == S.DEAD
    return message


def test_outbox_lists_dead_letters_and_requeues_them(staff_client, dead_letter, twilio_fake):
    changelist = reverse("admin:notifications_message_changelist")
    page = staff_client.get(changelist + "?attention=dead").content.decode()
    assert "Dead letters (1)" in page and "Twilio 500" in page

    response = staff_client.post(
        changelist, {"action": "requeue_selected", "_selected_action": [dead_letter.pk]}, follow=True
    )
    assert "1 message(s) are back in the queue." in response.content.decode()
    drain()
    dead_letter.refresh_from_db()
    assert dead_letter.status == S.SENT and len(twilio_fake.sent) == 1
    requeued = dead_letter.events.get(kind="requeued")
    assert requeued.source == "staff" and requeued.detail["previous_status"] == "dead"


def test_outbox_rows_cannot_be_added_edited_or_deleted(staff_client, dead_letter):
    assert staff_client.get(reverse("admin:notifications_message_add")).status_code == 403
    detail = staff_client.get(reverse("admin:notifications_message_change", args=[dead_letter.pk]))
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert (
        staff_client.get(reverse("admin:notifications_message_delete", args=[dead_letter.pk])).status_code
        == 403
    )


def test_ticket_delivery_timeline(staff_client, dead_letter, ticket):
    url = reverse("admin:notifications_message_ticket_timeline", args=[ticket.reference])
    html = staff_client.get(url).content.decode()
    assert f"Messages about {ticket.reference}" in html
    assert "Dead letter" in html and "Twilio 500" in html and "dead" in html
    assert reverse("admin:repairs_repairticket_change", args=[ticket.pk]) in html
    # linked from the outbox list
    assert url in staff_client.get(reverse("admin:notifications_message_changelist")).content.decode()


def test_statistics_page(staff_client, smtp_server, customer):
    notify(customer, channels=["email"], mode="chosen")
    drain()
    html = staff_client.get(reverse("admin:notifications_message_stats") + "?days=7").content.decode()
    assert "Delivery statistics" in html and '<th scope="row">Email</th><td>1</td><td>1</td>' in html


def test_technicians_see_no_customer_messages(client, technician, dead_letter):
    client.login(username=technician.username, password=DEFAULT_PASSWORD)
    assert client.get(reverse("admin:notifications_message_changelist")).status_code == 403
    timeline = reverse("admin:notifications_message_ticket_timeline", args=["RT-ANY"])
    assert client.get(timeline).status_code == 403


def test_editing_a_template_makes_a_new_version(staff_client):
    template = MessageTemplate.objects.get(key="status_changed")
    before = template.version  # migrations may have added versions of the seeded wording
    url = reverse("admin:notifications_messagetemplate_change", args=[template.pk])
    data = {
        "key": template.key,
        "name": template.name,
        "kind": template.kind,
        "description": template.description,
        "subject": "Repair {{ ticket.reference }}: {{ event.to_label }}",
        "body_text": template.body_text,
        "body_html": template.body_html,
        "sms_body": template.sms_body,
        "push_title": template.push_title,
        "push_body": template.push_body,
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
    }
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    template.refresh_from_db()
    assert template.version == before + 1 and template.updated_by is not None
    assert list(TemplateVersion.objects.filter(template=template).values_list("version", flat=True)) == list(
        range(before + 1, 0, -1)
    )
    # a template that does not compile is refused, field by field
    broken = staff_client.post(url, {**data, "sms_body": "{% if %}"})
    assert broken.status_code == 200 and "This template does not compile" in broken.content.decode()
    template.refresh_from_db()
    assert template.version == before + 1


def test_template_preview_with_sample_data_and_a_real_ticket(staff_client, ticket):
    template = MessageTemplate.objects.get(key="ready_for_pickup")
    url = reverse("admin:notifications_messagetemplate_preview", args=[template.pk])
    html = staff_client.get(url).content.decode()
    assert "Your Lenovo ThinkPad X1 Carbon is ready to collect" in html
    # The email renders in a sandboxed frame of its own URL (a srcdoc frame would inherit the admin
    # page's CSP, which blocks the email's inline styles), with a policy allowing just those.
    frame_url = reverse("admin:notifications_messagetemplate_preview_email", args=[template.pk])
    assert 'sandbox=""' in html and f'src="{frame_url}"' in html
    frame = staff_client.get(frame_url)
    policy = frame["Content-Security-Policy"]
    assert "style-src 'unsafe-inline'" in policy and "script-src 'none'" in policy
    assert "frame-ancestors 'self'" in policy and "sandbox" in policy
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    assert "<style>" in frame.content.decode() and "ready to collect" in frame.content.decode()
    site_policy = staff_client.get(url)["Content-Security-Policy"]
    assert "unsafe-inline" not in site_policy  # the admin page itself stays strict
    with_ticket = staff_client.get(url + f"?ticket={ticket.reference}").content.decode()
    assert ticket.reference in with_ticket
    assert "No repair RT-NOPE" in staff_client.get(url + "?ticket=RT-NOPE").content.decode()
    assert (
        url
        in staff_client.get(
            reverse("admin:notifications_messagetemplate_change", args=[template.pk])
        ).content.decode()
    )


def test_restoring_an_old_version(staff_client):
    template = MessageTemplateFactory(subject="First wording")
    from notifications.services.templates import save_template

    template.subject = "Second wording"
    save_template(template)
    old = TemplateVersion.objects.get(template=template, version=1)
    staff_client.post(
        reverse("admin:notifications_templateversion_changelist"),
        {"action": "restore", "_selected_action": [old.pk]},
    )
    template.refresh_from_db()
    assert template.subject == "First wording" and template.version == 3


def test_rules_can_be_switched_off_and_validated(staff_client):
    rule = AutomationRule.objects.get(name="Status update")
    staff_client.post(
        reverse("admin:notifications_automationrule_changelist"),
        {"action": "disable", "_selected_action": [rule.pk]},
    )
    rule.refresh_from_db()
    assert rule.enabled is False

    add = reverse("admin:notifications_automationrule_add")
    template = MessageTemplate.objects.get(key="photo_added")
    bad = staff_client.post(
        add,
        {
            "name": "x",
            "event": "ticket.photo_added",
            "to_status": "collected",
            "template": template.pk,
            "mode": "fallback",
            "priority": "normal",
        },
    )
    html = bad.content.decode()
    assert "A status only applies to the “Status changed” event." in html
    assert "Choose at least one channel for this mode." in html
    good = staff_client.post(
        add,
        {
            "name": "Photos by SMS then email",
            "event": "ticket.photo_added",
            "template": template.pk,
            "mode": "fallback",
            "channel_order": "sms, email",
            "priority": "normal",
            "enabled": "on",
        },
    )
    assert good.status_code == 302
    assert AutomationRule.objects.get(name="Photos by SMS then email").channels == ["sms", "email"]
