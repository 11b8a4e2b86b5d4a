"""The booking confirmation says where to bring the device (the shop's profile), instead of
"bring the device to the shop when it suits you" with no address anywhere.

Only a template still at its seeded wording (version 1, unchanged) is updated, as version 2;
one that staff already edited is left alone. Every email's footer carries the shop's address,
phone and opening hours anyway (the email layout)."""

from django.db import migrations

OLD_TEXT = "Bring the device to the shop when it suits you. Please back up your data first. "
NEW_TEXT = (
    "Bring the device to {{ shop.name|default:shop_name }}{% if shop.address %}, {{ shop.address }}{% endif %}, "
    "during our opening hours (at the bottom of this email). Please back up your data first. "
)
CONTENT = ("subject", "body_text", "body_html", "sms_body", "push_title", "push_body")


def update(apps, schema_editor):
    MessageTemplate = apps.get_model("notifications", "MessageTemplate")
    TemplateVersion = apps.get_model("notifications", "TemplateVersion")
    template = MessageTemplate.objects.filter(key="booking_confirmed", version=1).first()
    if template is None or OLD_TEXT not in template.body_text or OLD_TEXT not in template.body_html:
        return
    template.body_text = template.body_text.replace(OLD_TEXT, NEW_TEXT)
    template.body_html = template.body_html.replace(OLD_TEXT, NEW_TEXT)
    template.version = 2
    template.save()
    TemplateVersion.objects.get_or_create(
        template=template, version=2, defaults={field: getattr(template, field) for field in CONTENT}
    )


class Migration(migrations.Migration):
    dependencies = [("notifications", "0003_message_status_superseded")]

    operations = [migrations.RunPython(update, migrations.RunPython.noop)]
