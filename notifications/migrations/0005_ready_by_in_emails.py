"""The booking confirmation and status update emails say when the repair should be ready
(``ticket.ready_by``, from repairs.readyby). Only templates staff have not edited change (their
current version was written by a migration: no author); each change is a new version, as an edit in
the admin would be."""

from django.db import migrations

TEXT = (
    "{% if ticket.ready_by %}\n\n{{ ticket.ready_by.headline }}. {{ ticket.ready_by.detail }}"
    "{% if ticket.ready_by.note %} {{ ticket.ready_by.note }}{% endif %}{% endif %}"
)
HTML = (
    "{% if ticket.ready_by %}<p><strong>{{ ticket.ready_by.headline }}</strong>. {{ ticket.ready_by.detail }}"
    "{% if ticket.ready_by.note %} {{ ticket.ready_by.note }}{% endif %}</p>\n{% endif %}"
)
#: key -> (anchor in body_text, anchor in body_html): the ready-by goes just before each.
ANCHORS = {
    "booking_confirmed": ("\n\nFollow every step", '<p><a class="button"'),
    "status_changed": ("\n\nProgress:", "<p>Progress:"),
}
CONTENT = ("subject", "body_text", "body_html", "sms_body", "push_title", "push_body")


def add_ready_by(apps, schema_editor):
    MessageTemplate = apps.get_model("notifications", "MessageTemplate")
    TemplateVersion = apps.get_model("notifications", "TemplateVersion")
    for key, (text_anchor, html_anchor) in ANCHORS.items():
        template = MessageTemplate.objects.filter(key=key).first()
        if template is None or text_anchor not in template.body_text or html_anchor not in template.body_html:
            continue
        current = TemplateVersion.objects.filter(template=template, version=template.version).first()
        if current is not None and current.created_by_id is not None:  # staff edited it: leave it
            continue
        template.body_text = template.body_text.replace(text_anchor, TEXT + text_anchor, 1)
        template.body_html = template.body_html.replace(html_anchor, HTML + html_anchor, 1)
        template.version += 1
        template.save()
        TemplateVersion.objects.create(
            template=template, version=template.version, **{f: getattr(template, f) for f in CONTENT}
        )


def remove_ready_by(apps, schema_editor):
    MessageTemplate = apps.get_model("notifications", "MessageTemplate")
    TemplateVersion = apps.get_model("notifications", "TemplateVersion")
    for key in ANCHORS:
        template = MessageTemplate.objects.filter(key=key).first()
        if template is None or TEXT not in template.body_text:
            continue
        TemplateVersion.objects.filter(template=template, version=template.version).delete()
        template.body_text = template.body_text.replace(TEXT, "", 1)
        template.body_html = template.body_html.replace(HTML, "", 1)
        template.version -= 1
        template.save()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0004_booking_confirmed_shop_details")]

    operations = [migrations.RunPython(add_ready_by, remove_ready_by)]
