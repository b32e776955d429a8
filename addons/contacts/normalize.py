"""Normalising phones and e-mails, checking Russian tax ids."""

from __future__ import annotations

import re
from email.utils import parseaddr

# What comes after one of these is an extension, not a part of the number.
_EXTENSION = re.compile(r"(доб|ext|вн|x|#)", re.IGNORECASE)
# Several numbers in one field: the first one counts.
_SEPARATOR = re.compile(r"[,;/]|\s(?:или|or)\s")
_NOT_DIGIT = re.compile(r"\D+")


def normalize_phone(phone) -> str | None:
    """Digits only, Russian numbers as 7XXXXXXXXXX: ``8 (916) 123-45-67`` -> ``79161234567``.

    A leading 8 of an 11-digit number is the Russian trunk prefix, and a 10-digit number is
    a Russian number written without its country code; other lengths are kept as digits.
    """
    if not phone or not isinstance(phone, str):
        return None
    first = _SEPARATOR.split(phone, maxsplit=1)[0]
    digits = _NOT_DIGIT.sub("", _EXTENSION.split(first, maxsplit=1)[0])
    if len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    elif len(digits) == 10:
        digits = "7" + digits
    return digits or None


def normalize_email(email) -> str | None:
    """The address part, lower-cased: ``Anna <Anna@Example.RU>`` -> ``anna@example.ru``."""
    if not email or not isinstance(email, str):
        return None
    address = email.strip()
    if "<" in address or " " in address or '"' in address:  # "Name <address>" forms
        address = parseaddr(address)[1] or address
    address = address.strip().lower()
    return address if "@" in address else None


def normalize_vat(vat) -> str | None:
    """A tax id without spaces; None when empty."""
    if vat is None or vat is False:
        return None
    text = re.sub(r"\s+", "", str(vat))
    return text or None


_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_1 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_2 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _check_digit(digits, weights) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def inn_problem(inn: str) -> str | None:
    """Why ``inn`` is not a valid Russian INN (English, for translation), or None."""
    if not inn.isdigit() or len(inn) not in (10, 12):
        return "An INN has 10 digits (organisations) or 12 digits (persons)"
    if len(inn) == 10:
        ok = _check_digit(inn, _INN10) == int(inn[9])
    else:
        ok = _check_digit(inn, _INN12_1) == int(inn[10]) and _check_digit(inn, _INN12_2) == int(
            inn[11]
        )
    return None if ok else "The INN's check digits do not match: check for a typo"


def inn_with_check_digits(prefix: str) -> str:
    """A valid INN from its first 9 (organisation) or 10 (person) digits."""
    if len(prefix) == 9:
        return prefix + str(_check_digit(prefix, _INN10))
    first = prefix + str(_check_digit(prefix, _INN12_1))
    return first + str(_check_digit(first, _INN12_2))


_KPP = re.compile(r"^\d{4}[\dA-Z]{2}\d{3}$")


def kpp_valid(kpp: str) -> bool:
    return bool(_KPP.match(kpp))
