"""Money arithmetic for addons: amounts are ``Decimal``, rounded half-up to the kopeck (or
the currency's digits), and a total split over lines adds up to the total exactly."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENTS = 2


def to_decimal(value) -> Decimal:
    """``value`` (Decimal, int, str, or float through its shortest text) as a ``Decimal``;
    a ``ValueError`` for anything else, booleans and non-finite numbers included."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, bool) or value is None:
        raise ValueError(f"an amount is expected, got {value!r}")
    else:
        try:
            number = Decimal(value if isinstance(value, int) else str(value).strip())
        except (InvalidOperation, TypeError):
            raise ValueError(f"an amount is expected, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"an amount is expected, got {value!r}")
    return number


def round_money(value, digits: int = CENTS) -> Decimal:
    """``value`` rounded half-up (away from zero on a tie: 0.125 → 0.13, -0.125 → -0.13)."""
    return to_decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def allocate(total, weights, digits: int = CENTS) -> list[Decimal]:
    """Split ``total`` in proportion to ``weights`` so that the parts, each rounded to
    ``digits``, add up to the rounded total exactly (largest remainders get the odd
    kopecks; ties go to the earlier line). Zero weights get zero; all-zero weights split
    evenly."""
    total = round_money(total, digits)
    weights = [to_decimal(w) for w in weights]
    if not weights:
        return []
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    if not any(weights):
        weights = [Decimal(1)] * len(weights)
    unit = Decimal(1).scaleb(-digits)
    whole = sum(weights)
    sign = -1 if total < 0 else 1
    units = int(abs(total) / unit)
    exact = [Decimal(units) * w / whole for w in weights]
    parts = [int(e) for e in exact]
    left = units - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return [sign * p * unit for p in parts]
