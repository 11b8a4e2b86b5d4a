"""Template helpers of the payments app: the tracking page's pay panel and money formatting."""

from __future__ import annotations

from typing import Any

from django import template

from repairs.models import RepairTicket
from revivatech.money import format_money

from .. import selectors

register = template.Library()


@register.filter
def money(amount: int | None, currency: str) -> str:
    """``{{ invoice.total|money:invoice.currency }}`` → ``£89.00``."""
    return format_money(amount, currency)


@register.filter
def percent(basis_points: int | None) -> str:
    """``2000`` → ``20%``; ``1750`` → ``17.5%``."""
    if basis_points is None:
        return ""
    whole, rest = divmod(int(basis_points), 100)
    return f"{whole}%" if not rest else f"{whole}.{rest:02d}".rstrip("0") + "%"


@register.inclusion_tag("payments/_pay_panel_body.html")
def pay_panel(ticket: RepairTicket) -> dict[str, Any]:
    """The tracking page's payment panel: "Pay now" when an invoice is due (or why it cannot be
    paid online here), and the invoices already paid."""
    return {"ticket": ticket, "panel": selectors.pay_panel(ticket)}
