"""Money as integers in minor units plus an ISO 4217 currency: the one module for exponents,
parsing, conversion and formatting (quotes, invoices, the admin, pages and messages all use it).

Amounts never pass through floats. PayPal (and the admin's inputs) use decimal strings
("89.50"); they are converted with the explicit exponent table below, never by dividing by 100.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

#: ISO 4217 minor-unit exponent of every currency invoices may use. Explicit on purpose: an
#: unknown currency is refused rather than guessed. The one table of exponents in the project
#: (repairs.presenters formats amounts for people from it).
EXPONENTS: dict[str, int] = {
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "NOK": 2,
    "NZD": 2,
    "PLN": 2,
    "SEK": 2,
    "SGD": 2,
    "USD": 2,
    "JPY": 0,
    "KRW": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "ISK": 0,
}

#: Symbols shown before an amount for the currencies a shop is likely to use; others show the code.
SYMBOLS: dict[str, str] = {"GBP": "£", "EUR": "€", "USD": "$", "AUD": "A$", "CAD": "C$"}

#: The largest amount accepted anywhere (a million major units of a 3-decimal currency).
MAX_MINOR_UNITS = 1_000_000_000

_DECIMAL_STRING = re.compile(r"^-?\d{1,12}(\.\d{1,3})?$")


class MoneyError(ValueError):
    """An amount or currency that cannot be represented; the message says why."""


def normalise_currency(currency: str) -> str:
    code = (currency or "").strip().upper()
    if code not in EXPONENTS:
        supported = ", ".join(sorted(EXPONENTS))
        raise MoneyError(f"Unsupported currency {currency!r}; use one of: {supported}.")
    return code


def exponent(currency: str) -> int:
    return EXPONENTS[normalise_currency(currency)]


def minor_to_decimal_string(amount: int, currency: str) -> str:
    """``8950, "GBP"`` → ``"89.50"``; ``1000, "JPY"`` → ``"1000"``; ``1500, "KWD"`` → ``"1.500"``."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise MoneyError("Amounts are whole numbers of minor units.")
    places = exponent(currency)
    sign = "-" if amount < 0 else ""
    digits = str(abs(amount)).rjust(places + 1, "0")
    if places == 0:
        return f"{sign}{digits}"
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def decimal_string_to_minor(value: str | Decimal, currency: str) -> int:
    """``"89.50", "GBP"`` → ``8950``. Refuses more decimals than the currency has, and junk."""
    places = exponent(currency)
    if isinstance(value, Decimal):
        number = value
    else:
        text = str(value).strip()
        if not _DECIMAL_STRING.match(text):
            raise MoneyError(f"{value!r} is not an amount (digits with an optional decimal point).")
        try:
            number = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - the pattern already checked
            raise MoneyError(f"{value!r} is not an amount.") from exc
    if not number.is_finite():
        raise MoneyError(f"{value!r} is not an amount.")
    minor = number.scaleb(places)
    if minor != minor.to_integral_value():
        decimals = f"{places} decimal place{'s' if places != 1 else ''}" if places else "no decimals"
        raise MoneyError(f"Amounts in {normalise_currency(currency)} have {decimals}.")
    result = int(minor)
    if abs(result) > MAX_MINOR_UNITS:
        raise MoneyError("The amount is too large.")
    return result


def minor_to_decimal(amount: int | None, currency: str) -> Decimal | None:
    """``8950, "GBP"`` → ``Decimal("89.50")`` (exact; for form fields); ``None`` stays ``None``."""
    if amount is None:
        return None
    return Decimal(amount).scaleb(-exponent(currency))


def format_money(amount_minor: int | None, currency: str) -> str:
    """For people: ``8900, "GBP"`` → ``"£89.00"``; ``123456, "EUR"`` → ``"€1,234.56"``;
    ``1500, "KWD"`` → ``"1.500 KWD"``. Integer arithmetic only. An amount stored in a currency
    this table does not know (never accepted since quotes are checked) shows its minor units."""
    if amount_minor is None:
        return ""
    code = (currency or "").strip().upper()
    if code not in EXPONENTS:
        return f"{amount_minor} {code} (minor units)".strip()
    text = minor_to_decimal_string(amount_minor, code)
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, fraction = text.partition(".")
    number = f"{int(whole):,}" + (f".{fraction}" if fraction else "")
    symbol = SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {code}"


def half_up_div(numerator: int, denominator: int) -> int:
    """Integer division rounding halves away from zero (for non-negative inputs: half up)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))


def split_tax(lines_total: int, rate_basis_points: int, *, prices_include_tax: bool) -> tuple[int, int, int]:
    """(net, tax, total) of an invoice from the sum of its lines.

    Prices including tax (UK consumer prices): the total is the lines' sum and the tax is the
    part of it at ``rate``. Otherwise tax is added on top. Rounded half up, in minor units.
    """
    if rate_basis_points < 0:
        raise MoneyError("The tax rate cannot be negative.")
    if prices_include_tax:
        total = lines_total
        net = half_up_div(total * 10_000, 10_000 + rate_basis_points)
        return net, total - net, total
    net = lines_total
    tax = half_up_div(net * rate_basis_points, 10_000)
    return net, tax, net + tax
