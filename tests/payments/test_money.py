"""Money: minor units ↔ decimal strings with the explicit exponent table, and tax splits."""

from decimal import Decimal

import pytest

from revivatech.money import (
    EXPONENTS,
    MoneyError,
    decimal_string_to_minor,
    format_money,
    minor_to_decimal_string,
    split_tax,
)


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (8950, "GBP", "89.50"),
        (5, "EUR", "0.05"),
        (0, "USD", "0.00"),
        (100_000, "USD", "1000.00"),
        (1000, "JPY", "1000"),
        (1, "JPY", "1"),
        (1500, "KWD", "1.500"),
        (7, "BHD", "0.007"),
        (123456, "BHD", "123.456"),
        (-250, "GBP", "-2.50"),
    ],
)
def test_minor_units_and_decimal_strings_round_trip(minor, currency, text):
    assert minor_to_decimal_string(minor, currency) == text
    assert decimal_string_to_minor(text, currency) == minor


def test_the_table_names_the_exponents_the_issue_requires():
    assert EXPONENTS["JPY"] == 0
    assert EXPONENTS["GBP"] == EXPONENTS["EUR"] == EXPONENTS["USD"] == 2
    assert EXPONENTS["KWD"] == EXPONENTS["BHD"] == 3


def test_the_table_agrees_with_how_amounts_are_shown_to_people():
    for currency, places in EXPONENTS.items():
        shown = format_money(10**places + 1, currency)
        assert (
            shown.rpartition(".")[2].split()[0] == ("0" * (places - 1) + "1") if places else "." not in shown
        )
    assert format_money(decimal_string_to_minor("1.500", "KWD"), "KWD") == "1.500 KWD"
    assert format_money(8900, "GBP") == "£89.00" and format_money(123456, "EUR") == "€1,234.56"
    assert format_money(1500, "JPY") == "1,500 JPY" and format_money(-250, "GBP") == "-£2.50"


def test_amounts_are_shown_exactly_however_large():
    # 2**53 + 1 is the first integer a float cannot hold: formatting never passes through one.
    assert format_money(2**53 + 1, "GBP") == "£90,071,992,547,409.93"


def test_fewer_decimals_than_the_currency_has_are_fine():
    assert decimal_string_to_minor("89.5", "GBP") == 8950
    assert decimal_string_to_minor("89", "GBP") == 8900
    assert decimal_string_to_minor("1.5", "KWD") == 1500
    assert decimal_string_to_minor(Decimal("12.30"), "EUR") == 1230


@pytest.mark.parametrize(
    ("value", "currency", "message"),
    [
        ("10.5", "JPY", "JPY have no decimals"),
        ("1.234", "GBP", "GBP have 2 decimal places"),
        ("1.2345", "KWD", "not an amount"),
        ("12,50", "GBP", "not an amount"),
        ("1e3", "GBP", "not an amount"),
        ("", "GBP", "not an amount"),
        ("NaN", "GBP", "not an amount"),
    ],
)
def test_bad_amounts_are_refused_with_a_reason(value, currency, message):
    with pytest.raises(MoneyError, match=message):
        decimal_string_to_minor(value, currency)


def test_unknown_currencies_are_refused_not_guessed():
    with pytest.raises(MoneyError, match="Unsupported currency 'XYZ'"):
        minor_to_decimal_string(100, "XYZ")
    with pytest.raises(MoneyError, match="Unsupported currency"):
        decimal_string_to_minor("1.00", "")


def test_no_division_by_one_hundred_for_three_decimal_currencies():
    # 10.000 KWD is 10000 fils; a "/ 100" conversion would say 100.00.
    assert minor_to_decimal_string(10000, "KWD") == "10.000"
    assert decimal_string_to_minor("10.000", "KWD") == 10000


@pytest.mark.parametrize(
    ("lines_total", "rate", "included", "expected"),
    [
        (8900, 2000, True, (7417, 1483, 8900)),  # £89.00 including 20 % VAT
        (12000, 2000, True, (10000, 2000, 12000)),
        (10000, 2000, False, (10000, 2000, 12000)),
        (999, 2000, False, (999, 200, 1199)),  # 199.8 rounds half up to 200
        (1000, 0, True, (1000, 0, 1000)),
        (1000, 550, False, (1000, 55, 1055)),
    ],
)
def test_tax_is_split_in_whole_minor_units(lines_total, rate, included, expected):
    net, tax, total = split_tax(lines_total, rate, prices_include_tax=included)
    assert (net, tax, total) == expected
    assert net + tax == total
