"""``{% feature "ready_by" customer_id=ticket.customer_id as ready_by_on %}`` in templates."""

from __future__ import annotations

from django import template

from revivatech import flags

register = template.Library()


@register.simple_tag(takes_context=True)
def feature(context, name: str, customer_id=None) -> bool:
    return flags.is_active(name, request=context.get("request"), customer_id=customer_id)
