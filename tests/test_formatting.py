"""Numbers, money and dates formatted for Russian and English users."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from core.formatting import (
    currency_digits,
    format_date,
    format_datetime,
    format_money,
    format_number,
)


def plain(text: str) -> str:
    """Babel separates groups with no-break spaces; compare them as ordinary spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def test_russian_money_has_space_groups_comma_decimals_and_rouble_sign_after():
    assert plain(format_money(Decimal("1234.56"), "RUB", "ru")) == "1 234,56 ₽"
    assert plain(format_money(Decimal("-1234567.5"), "RUB", "ru_RU")) == "-1 234 567,50 ₽"


def test_english_money_puts_the_code_before_the_amount_with_a_space():
    assert plain(format_money(Decimal("1234.56"), "RUB", "en")) == "RUB 1,234.56"
    assert format_money(Decimal("1234.5"), "USD", "en") == "$1,234.50"
    assert format_money(Decimal("-1234.5"), "usd", "en") == "-$1,234.50"


def test_money_is_rounded_half_up_to_the_currency_places():
    assert plain(format_money(Decimal("0.005"), "RUB", "ru")) == "0,01 ₽"
    assert plain(format_money(Decimal("2.675"), "RUB", "en")) == "RUB 2.68"
    assert currency_digits("JPY") == 0
    assert format_money(Decimal("1234.5"), "JPY", "en") == "¥1,235"


def test_numbers_keep_their_own_places_unless_digits_are_given():
    assert plain(format_number(1234567, "ru")) == "1 234 567"
    assert plain(format_number(Decimal("1234.50"), "ru")) == "1 234,50"
    assert format_number(Decimal("1234.50"), "en") == "1,234.50"
    assert format_number(0.1 + 0.2, "en") == "0.3"
    assert format_number(2.5, "en") == "2.5"
    assert plain(format_number(Decimal("2.345"), "ru", digits=2)) == "2,35"
    assert format_number(-7, "en", digits=1) == "-7.0"


def test_empty_values_give_empty_text():
    assert format_number(None, "ru") == ""
    assert format_money(None, "RUB", "ru") == ""
    assert format_date(None, "ru") == ""
    assert format_datetime(None, "ru") == ""


def test_dates_follow_the_locale_with_four_digit_years():
    day = datetime.date(2026, 3, 1)
    assert format_date(day, "ru") == "01.03.2026"
    assert format_date(day, "en") == "3/1/2026"
    assert format_date("2026-12-31", "ru") == "31.12.2026"


def test_datetimes_are_stored_utc_and_shown_in_the_users_time_zone():
    moment = datetime.datetime(2026, 3, 1, 22, 5)
    assert format_datetime(moment, "ru") == "01.03.2026 22:05"
    assert format_datetime(moment, "ru", tz="Europe/Moscow") == "02.03.2026 01:05"
    assert format_datetime(moment, "en", tz="Europe/Moscow") == "3/2/2026 1:05 AM"


def test_unknown_or_missing_language_falls_back_to_english():
    assert format_number(1234.5, "xx") == "1,234.5"
    assert format_number(1234.5, None) == "1,234.5"
    assert format_date(datetime.date(2026, 3, 1), "") == "3/1/2026"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: format_number("abc", "en"), "not a number"),
        (lambda: format_number(float("nan"), "en"), "not a finite number"),
        (lambda: format_number(True, "en"), "a number is expected"),
        (lambda: format_number(1, "en", digits=-1), "digits"),
        (lambda: format_money(1, "roubles", "ru"), "not a currency code"),
        (lambda: format_date("31.12.2026", "ru"), "not a date"),
        (lambda: format_datetime(datetime.datetime(2026, 1, 1), "ru", tz="Mars/Base"), "time zone"),
    ],
)
def test_bad_input_is_a_clear_error(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


SAMPLES = [
    Decimal("0"),
    Decimal("-0.001"),
    Decimal("0.5"),
    Decimal("-7.25"),
    Decimal("999.995"),
    Decimal("1234.56"),
    Decimal("-1234567.891"),
    Decimal("98765432109876.54"),
    12,
    -1000000,
]


@pytest.mark.parametrize("lang", ["ru", "en", "de", "fr", "en_IN", "xx"])
def test_fast_number_and_money_formatting_equals_babels(lang):
    """The formatter groups digits itself for speed; Babel's pattern engine is the judge."""
    from babel import numbers as babel_numbers

    from core.formatting import _babel_money, _locale, _quantize

    for value in SAMPLES:
        for places in (0, 2, 3):
            number = _quantize(Decimal(value), places)
            number = number or abs(number)  # Babel would print "-0"; we do not
            pattern = "#,##0" + ("." + "0" * places if places else "")
            expected = babel_numbers.format_decimal(
                number, format=pattern, locale=_locale(lang), decimal_quantization=False
            )
            assert format_number(value, lang, digits=places) == expected, (value, places)
        for code in ("RUB", "USD", "EUR", "JPY"):
            number = _quantize(Decimal(value), currency_digits(code))
            number = number or abs(number)  # Babel would print "-0"; we do not
            assert format_money(value, code, lang) == _babel_money(number, code, lang), (
                value,
                code,
            )
