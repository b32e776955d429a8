"""How phones, e-mails and tax ids are normalised and checked (the functions themselves)."""

import pytest

from addons.contacts.normalize import (
    inn_problem,
    inn_with_check_digits,
    kpp_valid,
    normalize_email,
    normalize_phone,
)


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("8 (916) 123-45-67", "79161234567"),
        ("+7 916 123 45 67", "79161234567"),
        ("916-123-45-67", "79161234567"),
        ("8-800-555-35-35", "78005553535"),
        ("+7 (495) 123-45-67 доб. 123", "74951234567"),
        ("+7 495 123-45-67 ext 5", "74951234567"),
        ("+7 (495) 123-45-67, +7 (495) 765-43-21", "74951234567"),
        ("+44 20 7946 0958", "442079460958"),
        ("123-45", "12345"),
        ("нет телефона", None),
        ("", None),
        (None, None),
    ],
)
def test_phones_are_stored_as_digits_with_the_russian_country_code(typed, stored):
    assert normalize_phone(typed) == stored


@pytest.mark.parametrize(
    "typed, stored",
    [
        (" Anna@Example.RU ", "anna@example.ru"),
        ("Анна Петрова <Anna@Example.ru>", "anna@example.ru"),
        ("not an address", None),
        ("", None),
    ],
)
def test_emails_are_stored_lower_cased_without_the_name(typed, stored):
    assert normalize_email(typed) == stored


def test_inn_check_digits_are_verified_for_organisations_and_persons():
    assert inn_problem("7707083893") is None  # a real organisation's INN
    assert inn_problem("500100732259") is None  # a valid 12-digit INN
    assert "check digits" in inn_problem("7707083894")
    assert "check digits" in inn_problem("500100732250")
    assert "10 digits" in inn_problem("77070838")
    assert inn_problem(inn_with_check_digits("770708389")) is None
    assert inn_with_check_digits("770708389") == "7707083893"


def test_kpp_has_nine_characters_with_letters_allowed_in_the_middle():
    assert kpp_valid("773601001") and kpp_valid("7736AB001")
    assert not kpp_valid("77360100") and not kpp_valid("7736010011") and not kpp_valid("AB3601001")
