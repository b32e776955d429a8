"""Numbers, money, dates and datetimes formatted for the user's language (Babel)."""

from __future__ import annotations

import datetime
import functools
from decimal import Decimal, InvalidOperation

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers

from core.money import round_money

DEFAULT_LANG = "en"
# Floats carry binary noise (0.1 + 0.2); without explicit digits they are shown to 6 places.
FLOAT_PLACES = 6
NBSP = "\u00a0"


@functools.lru_cache(maxsize=64)
def _locale(lang) -> Locale:
    """A Babel locale for ``ru``, ``ru_RU``, ``ru-RU`` ...; unknown or empty → English."""
    text = str(lang or DEFAULT_LANG).replace("-", "_").strip()
    try:
        return Locale.parse(text)
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(DEFAULT_LANG)


def _decimal(value) -> Decimal:
    if isinstance(value, bool):
        raise TypeError(f"a number is expected, got {value!r}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise TypeError(f"a number is expected, got {type(value).__name__}")
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _places(value, number: Decimal) -> int:
    if isinstance(value, int):
        return 0
    if isinstance(value, float):
        # Binary noise (0.30000000000000004) is cut at 6 places, then trailing zeros go.
        rounded = _quantize(number, FLOAT_PLACES).normalize()
        return max(-rounded.as_tuple().exponent, 0)
    return max(-number.as_tuple().exponent, 0)


def _quantize(number: Decimal, places: int) -> Decimal:
    return round_money(number, places)


def format_number(value, lang=None, digits=None) -> str:
    """``1234.5`` → ``1 234,5`` (ru) / ``1,234.5`` (en); ``digits`` fixes the decimal places.

    ``None`` gives an empty string (an empty cell). Without ``digits``, integers have no
    decimals and a ``Decimal`` keeps its own places."""
    if value is None:
        return ""
    number = _decimal(value)
    places = digits if digits is not None else _places(value, number)
    if not isinstance(places, int) or isinstance(places, bool) or places < 0:
        raise ValueError(f"digits must be a whole number >= 0, got {digits!r}")
    return _grouped(_quantize(number, places), places, lang)


@functools.lru_cache(maxsize=64)
def _symbols(lang) -> tuple[dict, str] | None:
    """The locale's group and decimal separators as a translation table and its minus, or
    None for locales that do not group digits by three (Indian lakhs: Babel does those)."""
    locale = _locale(lang)
    if locale.decimal_formats[None].grouping != (3, 3):
        return None
    table = str.maketrans(
        {
            ",": babel_numbers.get_group_symbol(locale),
            ".": babel_numbers.get_decimal_symbol(locale),
        }
    )
    return table, babel_numbers.get_minus_sign_symbol(locale)


def _grouped(number: Decimal, places: int, lang) -> str:
    """Digits in groups of three with the locale's symbols. Python's own formatting does
    the grouping (Babel's pattern engine costs ~10 µs a number; pivot pages show
    thousands); tests hold it equal to Babel's output."""
    if not number:
        number = abs(number)  # no "-0,00"
    symbols = _symbols(lang)
    if symbols is None:
        pattern = "#,##0" + ("." + "0" * places if places else "")
        return babel_numbers.format_decimal(
            number, format=pattern, locale=_locale(lang), decimal_quantization=False
        )
    table, minus = symbols
    text = f"{number:,.{places}f}".translate(table)
    return minus + text[1:] if text.startswith("-") else text


def currency_digits(currency_code) -> int:
    """Decimal places of a currency (RUB 2, JPY 0)."""
    return babel_numbers.get_currency_precision(str(currency_code).upper())


def format_money(value, currency_code, lang=None) -> str:
    """``1234.56 RUB`` → ``1 234,56 ₽`` (ru) / ``RUB 1,234.56`` (en), rounded half-up to the
    currency's places. ``None`` gives an empty string."""
    if value is None:
        return ""
    code = str(currency_code or "").upper()
    if not code.isalpha() or len(code) != 3:
        raise ValueError(f"not a currency code: {currency_code!r}")
    template = _money_template(code, str(lang or ""))
    number = _quantize(_decimal(value), currency_digits(code))
    number = number or abs(number)  # no "-0,00"
    if template is None:
        return _babel_money(number, code, lang)
    places, positive, negative = template
    prefix, suffix = negative if number < 0 else positive
    return prefix + _grouped(abs(number), places, lang) + suffix


@functools.lru_cache(maxsize=256)
def _money_template(code: str, lang: str):
    """``(places, (prefix, suffix), (negative prefix, suffix))`` read once per currency and
    language off Babel's own formatting of 1 and -1 (None: let Babel format each amount)."""
    if _locale(lang).currency_formats["standard"].grouping != (3, 3):
        return None  # lakh grouping: Babel formats those
    places = currency_digits(code)
    one = _grouped(Decimal(1), places, lang)
    result = [places]
    for sample in (Decimal(1), Decimal(-1)):
        text = _babel_money(sample, code, lang)
        index = text.rfind(one)
        result.append((text[:index], text[index + len(one) :]))
    return tuple(result)


def _babel_money(number: Decimal, code: str, lang) -> str:
    locale = _locale(lang)
    text = babel_numbers.format_currency(
        number, code, locale=locale, currency_digits=True, decimal_quantization=True
    )
    symbol = babel_numbers.get_currency_symbol(code, locale=locale)
    if symbol.isalpha():
        # A symbol made of letters ("RUB") glued to the digits ("RUB1,234.56") reads badly:
        # CLDR asks for a space there, which Babel does not insert.
        index = text.find(symbol)
        end = index + len(symbol)
        if index >= 0 and end < len(text) and (text[end].isdigit() or text[end] == "-"):
            text = text[:end] + NBSP + text[end:]
        if index > 0 and text[index - 1].isdigit():
            text = text[:index] + NBSP + text[index:]
    return text


@functools.lru_cache(maxsize=64)
def _date_pattern(lang) -> str:
    """The locale's short date pattern with a four-digit year (``dd.MM.y``, ``M/d/y``)."""
    pattern = str(_locale(lang).date_formats["short"].pattern)
    if "yyyy" not in pattern:
        pattern = pattern.replace("yy", "y")
    return pattern


@functools.lru_cache(maxsize=64)
def _time_pattern(lang) -> str:
    return str(_locale(lang).time_formats["short"].pattern)


def format_date(value, lang=None) -> str:
    """A date as ``01.03.2026`` (ru) or ``3/1/2026`` (en); ``None`` gives ``""``."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value[:10])
        except ValueError:
            raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from None
    if isinstance(value, datetime.datetime):
        value = value.date()
    if not isinstance(value, datetime.date):
        raise TypeError(f"a date is expected, got {type(value).__name__}")
    return babel_dates.format_date(value, _date_pattern(lang), locale=_locale(lang))


def format_datetime(value, lang=None, tz=None) -> str:
    """A moment as ``01.03.2026 13:05`` (ru) or ``3/1/2026 1:05 PM`` (en).

    Naive values are UTC (as stored); ``tz`` (``"Europe/Moscow"``) gives the user's local
    time. An unknown time zone name is a ``ValueError``."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not a date and time: {value!r}") from None
    if not isinstance(value, datetime.datetime):
        raise TypeError(f"a date and time is expected, got {type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    if tz:
        try:
            zone = babel_dates.get_timezone(tz)
        except LookupError:
            raise ValueError(f"unknown time zone: {tz!r}") from None
        value = value.astimezone(zone)
    locale = _locale(lang)
    text = babel_dates.format_datetime(
        value, f"{_date_pattern(lang)} {_time_pattern(lang)}", locale=locale
    )
    return text.replace("\u202f", " ")


__all__ = ["currency_digits", "format_date", "format_datetime", "format_money", "format_number"]
