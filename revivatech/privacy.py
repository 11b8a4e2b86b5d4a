"""Personal data, app by app: each app registers how to export and erase what it holds about a
customer, so GDPR export and erasure cover everything without one app reaching into another.

Apps register in ``AppConfig.ready()``::

    privacy.register("repairs", export=export_customer_data, erase=erase_customer_data)

``export(customer)`` returns JSON-serialisable data; ``erase(customer)`` removes or anonymises
it and returns a short summary (counts). Both run inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Exporter = Callable[[Any], Any]
Eraser = Callable[[Any], dict[str, int]]


@dataclass(frozen=True)
class PersonalDataProvider:
    section: str
    export: Exporter
    erase: Eraser
    #: Lower runs earlier on erase (e.g. analytics before repairs anonymises the customer).
    erase_order: int = 100


_providers: dict[str, PersonalDataProvider] = {}


def register(section: str, *, export: Exporter, erase: Eraser, erase_order: int = 100) -> None:
    _providers[section] = PersonalDataProvider(section, export, erase, erase_order)


def providers() -> list[PersonalDataProvider]:
    return sorted(_providers.values(), key=lambda p: (p.erase_order, p.section))
