"""Seed the default message templates (v1) and the automation rules that use them.

The wording lives here (not imported from the app) so this migration means the same thing
forever; staff change templates in the admin afterwards, each change a new version.
"""

from django.db import migrations

TEMPLATES = [
    {
        "key": "booking_confirmed",
        "name": "Booking confirmed",
        "kind": "service",
        "description": "Right after a repair is booked (online or at the counter).",
        "subject": "Your repair {{ ticket.reference }} is booked",
        "body_text": (
            "Hello {{ customer.first_name }},\n\n"
            "Thank you for booking your {{ ticket.device }} in with {{ shop_name }}. "
            "Your reference is {{ ticket.reference }}.\n\n"
            "Follow every step of the repair here:\n{{ ticket.tracking_url }}\n\n"
            "Bring the device to the shop when it suits you. Please back up your data first. "
            "We never ask for your passcode."
        ),
        "body_html": (
            "<p>Hello {{ customer.first_name }},</p>\n"
            "<p>Thank you for booking your <strong>{{ ticket.device }}</strong> in with {{ shop_name }}. "
            "Your reference is <strong>{{ ticket.reference }}</strong>.</p>\n"
            '<p><a class="button" href="{{ ticket.tracking_url }}">Follow your repair</a></p>\n'
            "<p>Bring the device to the shop when it suits you. Please back up your data first. "
            "We never ask for your passcode.</p>"
        ),
        "sms_body": "{{ shop_name }}: repair {{ ticket.reference }} is booked. Follow it here: {{ ticket.tracking_url }}",
        "push_title": "Repair booked",
        "push_body": "{{ ticket.device }} · {{ ticket.reference }}",
    },
    {
        "key": "status_changed",
        "name": "Status update",
        "kind": "status",
        "description": "Each time the repair moves to a new status (unless a rule for that status says otherwise).",
        "subject": "{{ ticket.reference }}: {{ event.to_label }}",
        "body_text": (
            "Hello {{ customer.first_name }},\n\n"
            "{{ event.status_sentence }}"
            "{% if event.note %}\n\nFrom the workshop: {{ event.note }}{% endif %}\n\n"
            "Progress: {{ ticket.progress_percent }}%\n\n"
            "All the details: {{ ticket.tracking_url }}"
        ),
        "body_html": (
            "<p>Hello {{ customer.first_name }},</p>\n"
            "<p><strong>{{ event.to_label }}</strong>: {{ event.status_sentence }}</p>\n"
            "{% if event.note %}<p>From the workshop: {{ event.note }}</p>{% endif %}\n"
            "<p>Progress: {{ ticket.progress_percent }}%</p>\n"
            '<p><a class="button" href="{{ ticket.tracking_url }}">See your repair</a></p>'
        ),
        "sms_body": "{{ shop_name }}: {{ ticket.reference }} is now \u201c{{ event.to_label }}\u201d. {{ ticket.tracking_url }}",
        "push_title": "{{ event.to_label }}",
        "push_body": "{{ ticket.device }}: {{ event.status_sentence }}",
    },
    {
        "key": "ready_for_pickup",
        "name": "Ready for pickup",
        "kind": "service",
        "description": "The repair is finished and the device can be collected (urgent: ignores quiet hours).",
        "subject": "Your {{ ticket.device }} is ready to collect",
        "body_text": (
            "Hello {{ customer.first_name }},\n\n"
            "Good news: your {{ ticket.device }} is repaired and ready to collect "
            "(reference {{ ticket.reference }})."
            "{% if event.note %}\n\n{{ event.note }}{% endif %}"
            "{% if ticket.quote %}\n\nThe agreed price is {{ ticket.quote }}.{% endif %}\n\n"
            "Bring your reference or the intake receipt with you.\n\n{{ ticket.tracking_url }}"
        ),
        "body_html": (
            "<p>Hello {{ customer.first_name }},</p>\n"
            "<p>Good news: your <strong>{{ ticket.device }}</strong> is repaired and ready to collect "
            "(reference <strong>{{ ticket.reference }}</strong>).</p>\n"
            "{% if event.note %}<p>{{ event.note }}</p>{% endif %}\n"
            "{% if ticket.quote %}<p>The agreed price is {{ ticket.quote }}.</p>{% endif %}\n"
            "<p>Bring your reference or the intake receipt with you.</p>\n"
            '<p><a class="button" href="{{ ticket.tracking_url }}">Your repair</a></p>'
        ),
        "sms_body": (
            "{{ shop_name }}: your {{ ticket.device }} ({{ ticket.reference }}) is ready to collect. "
            "{{ ticket.tracking_url }}"
        ),
        "push_title": "Ready to collect",
        "push_body": "Your {{ ticket.device }} is ready at {{ shop_name }}.",
    },
    {
        "key": "quote_ready",
        "name": "Quote ready",
        "kind": "quote",
        "description": "A quote was sent; the customer approves or declines it on the tracking page.",
        "subject": "Your quote for {{ ticket.reference }}: {{ event.money }}",
        "body_text": (
            "Hello {{ customer.first_name }},\n\n"
            "We have diagnosed your {{ ticket.device }}. The repair will cost {{ event.money }}.\n\n"
            "Please approve or decline the quote here:\n{{ ticket.tracking_url }}\n\n"
            "We will not start the work until you approve it."
        ),
        "body_html": (
            "<p>Hello {{ customer.first_name }},</p>\n"
            "<p>We have diagnosed your <strong>{{ ticket.device }}</strong>. "
            "The repair will cost <strong>{{ event.money }}</strong>.</p>\n"
            '<p><a class="button" href="{{ ticket.tracking_url }}">Approve or decline the quote</a></p>\n'
            "<p>We will not start the work until you approve it.</p>"
        ),
        "sms_body": (
            "{{ shop_name }}: the quote for {{ ticket.reference }} is {{ event.money }}. "
            "Approve or decline: {{ ticket.tracking_url }}"
        ),
        "push_title": "Quote ready: {{ event.money }}",
        "push_body": "Approve or decline the repair of your {{ ticket.device }}.",
    },
    {
        "key": "photo_added",
        "name": "New photo",
        "kind": "status",
        "description": "A technician added a photo the customer may see.",
        "subject": "A new photo of your {{ ticket.device }}",
        "body_text": (
            "Hello {{ customer.first_name }},\n\n"
            "A technician added a photo ({{ event.category_label }})"
            "{% if event.caption %}: {{ event.caption }}{% endif %}.\n\n"
            "See it on your repair page: {{ ticket.tracking_url }}"
        ),
        "body_html": (
            "<p>Hello {{ customer.first_name }},</p>\n"
            "<p>A technician added a photo ({{ event.category_label }})"
            "{% if event.caption %}: {{ event.caption }}{% endif %}.</p>\n"
            '<p><a class="button" href="{{ ticket.tracking_url }}">See the photo</a></p>'
        ),
        "sms_body": "",
        "push_title": "New photo: {{ event.category_label }}",
        "push_body": "{% if event.caption %}{{ event.caption }}{% else %}{{ ticket.device }}{% endif %}",
    },
    {
        "key": "note_added",
        "name": "Message from the workshop",
        "kind": "status",
        "description": "A technician wrote a note marked visible to the customer.",
        "subject": "A message about your repair {{ ticket.reference }}",
        "body_text": "Hello {{ customer.first_name }},\n\n{{ event.text }}\n\n{{ ticket.tracking_url }}",
        "body_html": (
            "<p>Hello {{ customer.first_name }},</p>\n<p>{{ event.text|linebreaksbr }}</p>\n"
            '<p><a href="{{ ticket.tracking_url }}">Your repair</a></p>'
        ),
        "sms_body": "",
        "push_title": "Message from the workshop",
        "push_body": "{{ event.text|truncatechars:120 }}",
    },
    {
        "key": "invoice_issued",
        "name": "Invoice issued",
        "kind": "payment",
        "description": "An invoice is ready to pay.",
        "subject": "Your invoice for {{ ticket.reference }}: {{ event.money }}",
        "body_text": (
            "Hello {{ customer.first_name }},\n\n"
            "Your invoice of {{ event.money }} for the repair of your {{ ticket.device }} is ready. "
            "You can pay online from your repair page or at the shop:\n{{ ticket.tracking_url }}"
        ),
        "body_html": (
            "<p>Hello {{ customer.first_name }},</p>\n"
            "<p>Your invoice of <strong>{{ event.money }}</strong> for the repair of your {{ ticket.device }} "
            "is ready. You can pay online or at the shop.</p>\n"
            '<p><a class="button" href="{{ ticket.tracking_url }}">Pay online</a></p>'
        ),
        "sms_body": "",
        "push_title": "Invoice ready: {{ event.money }}",
        "push_body": "Pay online or at the shop.",
    },
    {
        "key": "payment_received",
        "name": "Payment received",
        "kind": "payment",
        "description": "A payment went through.",
        "subject": "Payment received: {{ event.money }}",
        "body_text": (
            "Hello {{ customer.first_name }},\n\n"
            "We received your payment of {{ event.money }} for repair {{ ticket.reference }}. Thank you!\n\n"
            "{{ ticket.tracking_url }}"
        ),
        "body_html": (
            "<p>Hello {{ customer.first_name }},</p>\n"
            "<p>We received your payment of <strong>{{ event.money }}</strong> for repair "
            "{{ ticket.reference }}. Thank you!</p>"
        ),
        "sms_body": "",
        "push_title": "Payment received",
        "push_body": "{{ event.money }} for {{ ticket.reference }}. Thank you!",
    },
    {
        "key": "payment_failed",
        "name": "Payment failed",
        "kind": "service",
        "description": "A payment did not go through (urgent: ignores quiet hours).",
        "subject": "Your payment of {{ event.money }} did not go through",
        "body_text": (
            "Hello {{ customer.first_name }},\n\n"
            "Your payment of {{ event.money }} for repair {{ ticket.reference }} did not go through, "
            "and nothing was charged. You can try again from your repair page or pay at the shop:\n"
            "{{ ticket.tracking_url }}"
        ),
        "body_html": (
            "<p>Hello {{ customer.first_name }},</p>\n"
            "<p>Your payment of <strong>{{ event.money }}</strong> for repair {{ ticket.reference }} did not go "
            "through, and nothing was charged.</p>\n"
            '<p><a class="button" href="{{ ticket.tracking_url }}">Try again</a></p>'
        ),
        "sms_body": (
            "{{ shop_name }}: your payment of {{ event.money }} for {{ ticket.reference }} did not go through. "
            "Nothing was charged. Try again: {{ ticket.tracking_url }}"
        ),
        "push_title": "Payment did not go through",
        "push_body": "Nothing was charged. Tap to try again.",
    },
    {
        "key": "payment_refunded",
        "name": "Refund issued",
        "kind": "payment",
        "description": "A payment was refunded.",
        "subject": "Refund issued: {{ event.money }}",
        "body_text": (
            "Hello {{ customer.first_name }},\n\n"
            "We refunded {{ event.money }} for repair {{ ticket.reference }}"
            "{% if event.reason %} ({{ event.reason }}){% endif %}. "
            "It can take 5 to 10 working days to show on your statement."
        ),
        "body_html": (
            "<p>Hello {{ customer.first_name }},</p>\n"
            "<p>We refunded <strong>{{ event.money }}</strong> for repair {{ ticket.reference }}"
            "{% if event.reason %} ({{ event.reason }}){% endif %}. "
            "It can take 5 to 10 working days to show on your statement.</p>"
        ),
        "sms_body": "",
        "push_title": "",
        "push_body": "",
    },
    {
        "key": "seasonal_offer",
        "name": "Offer: battery replacements",
        "kind": "marketing",
        "description": "An example marketing email (sent only to customers who opted in; carries an unsubscribe link).",
        "subject": "{{ shop_name }}: 15% off battery replacements this month",
        "body_text": (
            "Hello {{ customer.first_name }},\n\n"
            "Does your phone or laptop run out of battery by lunchtime? This month we replace batteries "
            "for 15% less, usually the same day.\n\nBook online: {{ site_url }}/book/"
        ),
        "body_html": (
            "<p>Hello {{ customer.first_name }},</p>\n"
            "<p>Does your phone or laptop run out of battery by lunchtime? This month we replace batteries "
            "for <strong>15% less</strong>, usually the same day.</p>\n"
            '<p><a class="button" href="{{ site_url }}/book/">Book a repair</a></p>'
        ),
        "sms_body": "",
        "push_title": "",
        "push_body": "",
    },
]

RULES = [
    ("Booking confirmed", "ticket.booked", "", "booking_confirmed", "all", [], "normal"),
    ("Status update", "ticket.status_changed", "", "status_changed", "all", [], "normal"),
    ("Ready for pickup", "ticket.status_changed", "ready_for_pickup", "ready_for_pickup", "all", [], "urgent"),
    ("Quote ready", "ticket.quote_sent", "", "quote_ready", "all", [], "normal"),
    ("New photo (push, else email)", "ticket.photo_added", "", "photo_added", "fallback", ["push", "email"], "normal"),
    ("Message from the workshop", "ticket.note_added", "", "note_added", "chosen", ["email", "push"], "normal"),
    ("Invoice issued", "ticket.invoice_issued", "", "invoice_issued", "chosen", ["email", "push"], "normal"),
    ("Payment received", "ticket.payment_received", "", "payment_received", "chosen", ["email", "push"], "normal"),
    ("Payment failed", "ticket.payment_failed", "", "payment_failed", "all", [], "urgent"),
    ("Refund issued", "ticket.payment_refunded", "", "payment_refunded", "chosen", ["email"], "normal"),
]

CONTENT = ("subject", "body_text", "body_html", "sms_body", "push_title", "push_body")


def seed(apps, schema_editor):
    MessageTemplate = apps.get_model("notifications", "MessageTemplate")
    TemplateVersion = apps.get_model("notifications", "TemplateVersion")
    AutomationRule = apps.get_model("notifications", "AutomationRule")
    by_key = {}
    for data in TEMPLATES:
        template, created = MessageTemplate.objects.get_or_create(key=data["key"], defaults={**data, "version": 1})
        if created:
            TemplateVersion.objects.create(template=template, version=1, **{f: data[f] for f in CONTENT})
        by_key[data["key"]] = template
    for name, event, to_status, key, mode, channels, priority in RULES:
        AutomationRule.objects.get_or_create(
            name=name,
            event=event,
            defaults={
                "to_status": to_status,
                "template": by_key[key],
                "mode": mode,
                "channels": channels,
                "priority": priority,
                "enabled": True,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("notifications", "AutomationRule").objects.filter(name__in=[r[0] for r in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
