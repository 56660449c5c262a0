"""Numbers, money and dates as Moroccan readers expect them, in French and in Arabic.

Both languages use Latin digits, a no-break space between groups of thousands and a decimal comma:
``1 234 567,89 MAD`` in French, ``1 234 567,89 درهم`` in Arabic. Large amounts read in millions
(``12,5 MDH`` / ``12,5 مليون درهم``) or billions (``3,2 MMDH`` / ``3,2 مليار درهم``) of dirhams.
Arabic dates use the month names of the Maghreb (يناير … دجنبر).
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

NBSP = "\u00a0"

MONTHS = {
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "ar": (
        "يناير",
        "فبراير",
        "مارس",
        "أبريل",
        "ماي",
        "يونيو",
        "يوليوز",
        "غشت",
        "شتنبر",
        "أكتوبر",
        "نونبر",
        "دجنبر",
    ),
}

MONEY_UNITS = {
    "fr": {"unit": "MAD", "million": "MDH", "billion": "MMDH"},
    "ar": {"unit": "درهم", "million": f"مليون{NBSP}درهم", "billion": f"مليار{NBSP}درهم"},
}
SCALES = {"unit": Decimal(1), "million": Decimal(1_000_000), "billion": Decimal(1_000_000_000)}


def page_language() -> str:
    """The language of the page being served: "ar" or "fr"."""
    from django.utils.translation import get_language

    return "ar" if (get_language() or "").startswith("ar") else "fr"


def _language(language: str | None) -> str:
    code = (language or "fr").split("-")[0].lower()
    return code if code in MONTHS else "fr"


def to_decimal(value) -> Decimal | None:
    """A Decimal from an int, a Decimal or a numeric string; None stays None. Floats are refused."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        raise TypeError("amounts are Decimal, never float")
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as error:
        raise ValueError(f"not a number: {value!r}") from error


def format_number(value, language: str | None = "fr", decimals: int = 0) -> str:
    """``1234567.891`` → ``1 234 567,89`` (decimals=2). None → ``—``."""
    number = to_decimal(value) if not isinstance(value, float) else Decimal(repr(value))
    if number is None:
        return "—"
    quantum = Decimal(1).scaleb(-decimals)
    number = number.quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    whole, _, fraction = f"{abs(number):f}".partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = NBSP.join(groups)
    if decimals:
        text = f"{text},{fraction}"
    return sign + text


def format_percent(value, language: str | None = "fr", decimals: int = 1) -> str:
    """``12.5`` → ``12,5 %``. None → ``—`` (not applicable is never shown as 0)."""
    if value is None:
        return "—"
    return f"{format_number(value, language, decimals)}{NBSP}%"


def format_mad(amount, language: str | None = "fr", scale: str = "auto") -> str:
    """An amount in dirhams. ``scale`` is unit, million, billion or auto (billions from one billion,
    millions from one million, the whole amount below)."""
    value = to_decimal(amount)
    if value is None:
        return "—"
    lang = _language(language)
    if scale == "auto":
        size = abs(value)
        scale = "billion" if size >= SCALES["billion"] else "million" if size >= SCALES["million"] else "unit"
    if scale not in SCALES:
        raise ValueError(f"scale is one of auto, unit, million, billion, not {scale!r}")
    decimals = 2 if scale == "unit" else 1
    return f"{format_number(value / SCALES[scale], lang, decimals)}{NBSP}{MONEY_UNITS[lang][scale]}"


def format_date(value: datetime.date | None, language: str | None = "fr") -> str:
    """``2026-03-05`` → ``5 mars 2026`` / ``5 مارس 2026``."""
    if value is None:
        return "—"
    lang = _language(language)
    return f"{value.day} {MONTHS[lang][value.month - 1]} {value.year}"


def format_month(value: datetime.date | None, language: str | None = "fr") -> str:
    """``2026-08-01`` → ``août 2026`` / ``غشت 2026``."""
    if value is None:
        return "—"
    return f"{MONTHS[_language(language)][value.month - 1]} {value.year}"


_ISO_DATES: dict[datetime.date, str] = {}


def iso_date(value: datetime.date) -> str:
    """``value.isoformat()`` of a date, kept: a batch of records repeats a few hundred dates, and
    ``isoformat`` is slow next to a dict lookup."""
    text = _ISO_DATES.get(value)
    if text is None:
        if len(_ISO_DATES) >= 4096:
            _ISO_DATES.clear()
        text = _ISO_DATES[value] = value.isoformat()
    return text
