import datetime
from decimal import Decimal

import pytest

from marsad.core import formatting
from marsad.core.formatting import (
    format_date,
    format_mad,
    format_month,
    format_number,
    format_percent,
    iso_date,
)

NBSP = "\u00a0"


def spaced(text: str) -> str:
    """Tests write plain spaces; the helpers put no-break spaces so amounts never wrap."""
    return text.replace(" ", NBSP)


@pytest.mark.parametrize(
    ("amount", "language", "scale", "expected"),
    [
        (Decimal("1234567.89"), "fr", "unit", "1 234 567,89 MAD"),
        (Decimal("1234567.89"), "ar", "unit", "1 234 567,89 درهم"),
        (Decimal("12500000"), "fr", "auto", "12,5 MDH"),
        (Decimal("12500000"), "ar", "auto", "12,5 مليون درهم"),
        (Decimal("3200000000"), "fr", "auto", "3,2 MMDH"),
        (Decimal("3200000000"), "ar", "auto", "3,2 مليار درهم"),
        (Decimal("999999.99"), "fr", "auto", "999 999,99 MAD"),
        (Decimal("500000000"), "fr", "billion", "0,5 MMDH"),
        (7_000_000_000, "fr", "auto", "7,0 MMDH"),
        ("-1500.5", "fr", "unit", "-1 500,50 MAD"),
        (Decimal("0.005"), "fr", "unit", "0,01 MAD"),
    ],
)
def test_format_mad(amount, language, scale, expected):
    assert format_mad(amount, language, scale) == spaced(expected)


def test_format_mad_refuses_floats_and_unknown_scales():
    with pytest.raises(TypeError):
        format_mad(12.5, "fr")
    with pytest.raises(ValueError, match="scale"):
        format_mad(Decimal(1), "fr", "thousand")


def test_format_mad_none_is_a_dash():
    assert format_mad(None, "ar") == "—"


def test_numbers_use_latin_digits_in_arabic():
    assert format_number(4030222, "ar") == spaced("4 030 222")
    assert format_percent(Decimal("12.46"), "ar") == spaced("12,5 %")
    assert format_percent(None, "fr") == "—"


@pytest.mark.parametrize(
    ("month", "french", "arabic"),
    [
        (1, "janvier", "يناير"),
        (2, "février", "فبراير"),
        (3, "mars", "مارس"),
        (4, "avril", "أبريل"),
        (5, "mai", "ماي"),
        (6, "juin", "يونيو"),
        (7, "juillet", "يوليوز"),
        (8, "août", "غشت"),
        (9, "septembre", "شتنبر"),
        (10, "octobre", "أكتوبر"),
        (11, "novembre", "نونبر"),
        (12, "décembre", "دجنبر"),
    ],
)
def test_dates_use_maghreb_month_names(month, french, arabic):
    day = datetime.date(2026, month, 5)
    assert format_date(day, "fr") == f"5 {french} 2026"
    assert format_date(day, "ar") == f"5 {arabic} 2026"
    assert format_month(day, "ar-MA") == f"{arabic} 2026"


def test_iso_date_is_isoformat_kept_for_a_few_thousand_dates():
    first = datetime.date(2024, 2, 29)
    assert iso_date(first) == "2024-02-29"
    assert formatting._ISO_DATES[first] == "2024-02-29"
    days = [first + datetime.timedelta(days=n) for n in range(1, 5000)]
    assert [iso_date(day) for day in days] == [day.isoformat() for day in days]
    assert len(formatting._ISO_DATES) <= 4096
    assert iso_date(datetime.date(1, 1, 1)) == "0001-01-01"
