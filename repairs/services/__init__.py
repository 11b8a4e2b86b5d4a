"""Every write to the repair domain.

Each service validates, saves in one transaction, appends one :class:`TicketEvent` with the
ticket's next sequence number, and publishes one domain event after commit. Nothing else
changes a ticket's state: the admin, the API, pages and commands all call these functions.
"""

from ._common import TransitionError
from .contact import confirm_contact
from .history import (
    CLOSED_STATES,
    EXTERNAL_EVENT_KINDS,
    add_milestone,
    add_note,
    add_photo,
    record_quality_check,
    record_ticket_event,
    render_photo_variants,
    request_photo_variants,
    variants_render_in_worker,
)
from .lifecycle import (
    MAX_QUOTE_MINOR_UNITS,
    QUOTABLE_STATUSES,
    decide_quote,
    reopen_declined_quote,
    send_quote,
    transition_ticket,
)
from .tickets import CustomerDetails, DeviceDetails, book_repair, create_ticket, update_ticket

__all__ = [
    "confirm_contact",
    "CLOSED_STATES",
    "EXTERNAL_EVENT_KINDS",
    "MAX_QUOTE_MINOR_UNITS",
    "QUOTABLE_STATUSES",
    "CustomerDetails",
    "DeviceDetails",
    "TransitionError",
    "add_milestone",
    "add_note",
    "add_photo",
    "book_repair",
    "create_ticket",
    "decide_quote",
    "record_quality_check",
    "record_ticket_event",
    "reopen_declined_quote",
    "render_photo_variants",
    "request_photo_variants",
    "variants_render_in_worker",
    "send_quote",
    "transition_ticket",
    "update_ticket",
]
