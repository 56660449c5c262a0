"""The formulas of the indicator engine (DESIGN §7, reference/domain.md), as pure functions.

No database and no models here: the functions take plain values (Decimal, int, date) and return a
Decimal rounded half-up to a stated number of places, or None when the figure is undefined (a
missing input or a zero denominator). Rates, progress and shares are computed exactly with
fractions and rounded once, so a figure never depends on the order of the inputs or on a float.
Logarithms and square roots (Theil index, coefficient of variation) are evaluated in a 40-digit
decimal context and rounded to 4 places.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from django.utils.translation import gettext_lazy as _

from marsad.registry.rules import RECORD_FIELDS

TWO_PLACES = 2
FOUR_PLACES = 4
HUNDRED = Fraction(100)

Number = Decimal | int | float | Fraction


def _exact(value: Number) -> Fraction:
    """A number as an exact fraction (a float is taken at its exact binary value)."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (Decimal, int, float)):
        return Fraction(value)
    raise TypeError(f"not a number: {value!r}")


def _round(value: Fraction, places: int) -> Decimal:
    """An exact value rounded half-up (ties away from zero, as ROUND_HALF_UP) to ``places`` decimals."""
    units = math.floor(abs(value) * 10**places + Fraction(1, 2))
    if value < 0:
        units = -units
    return Decimal(f"{units}E-{places}")


def _quantize(value: Decimal, places: int) -> Decimal:
    with localcontext() as context:
        context.prec = 40
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _decimal(value: Fraction) -> Decimal:
    """A fraction as a decimal in the current context (called inside a 40-digit context)."""
    return Decimal(value.numerator) / Decimal(value.denominator)


# --- rates and progress ------------------------------------------------------------------------


def rate(numerator: Decimal | None, denominator: Decimal | None) -> Decimal | None:
    """numerator / denominator × 100 to 0.01 (TX_ENG, TX_PAI, TX_TRT, TX_REAL, CONTRIB)."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return _round(_exact(numerator) / _exact(denominator) * HUNDRED, TWO_PLACES)


def weighted_progress(items: Iterable[tuple[Decimal, Decimal]]) -> Decimal | None:
    """TX_PHYS: the budget-weighted mean of physical progress, from (budget, progress %) pairs.

    When every budget is zero the plain mean of progress stands in; without items: None."""
    pairs = [(_exact(budget), _exact(progress)) for budget, progress in items]
    if not pairs:
        return None
    total = sum((budget for budget, _progress in pairs), Fraction(0))
    if total == 0:
        mean = sum((progress for _budget, progress in pairs), Fraction(0)) / len(pairs)
    else:
        mean = sum((budget * progress for budget, progress in pairs), Fraction(0)) / total
    return _round(mean, TWO_PLACES)


# --- schedule ----------------------------------------------------------------------------------

PLANNED_CURVE = _(
    "Courbe en S : 100 × (3t² − 2t³), t = part écoulée du délai prévu (début prévu → fin prévue)"
)


def planned_progress(start: date | None, end: date | None, on: date) -> Decimal | None:
    """The planned physical progress on a date, on the S-curve stated by PLANNED_CURVE, to 0.01."""
    if start is None or end is None or end <= start:
        return None
    elapsed = Fraction((on - start).days, (end - start).days)
    t = min(max(elapsed, Fraction(0)), Fraction(1))
    return _round(HUNDRED * (3 * t**2 - 2 * t**3), TWO_PLACES)


def schedule_performance(actual: Decimal | None, planned: Decimal | None) -> Decimal | None:
    """Actual / planned progress, to 0.01 (1.00 = on schedule)."""
    if actual is None or planned is None or planned == 0:
        return None
    return _round(_exact(actual) / _exact(planned), TWO_PLACES)


def delay_days(
    planned_end: date | None,
    *,
    today: date,
    actual_end: date | None = None,
    forecast_end: date | None = None,
) -> int | None:
    """Days late against the planned end (0 when not late).

    The reference is the actual end when there is one, else the later of today and the forecast end."""
    if planned_end is None:
        return None
    reference = actual_end if actual_end is not None else max(today, forecast_end or today)
    return max(0, (reference - planned_end).days)


def gliss_days(
    initial_planned_end: date | None,
    *,
    actual_end: date | None = None,
    forecast_end: date | None = None,
) -> int | None:
    """GLISS: (actual end, else forecast end) − the planned end of the first version, in days.

    Negative when the project ends early; None when a needed date is missing."""
    end = actual_end if actual_end is not None else forecast_end
    if initial_planned_end is None or end is None:
        return None
    return (end - initial_planned_end).days


FORECAST_REPORTS = 6
FORECAST_WINDOW_DAYS = 365

FORECAST_METHODS = {
    "linear_trend": _(
        "Tendance linéaire (moindres carrés) de l'avancement physique sur les 6 derniers rapports de "
        "l'année écoulée, prolongée jusqu'à 100 %"
    ),
    "achieved": _("Avancement physique de 100 % atteint : date du premier rapport à 100 %"),
    "no_trend": _(
        "Pas de prévision : moins de deux rapports dans l'année écoulée ou avancement sans progression"
    ),
}


@dataclass(frozen=True)
class Forecast:
    """A forecast completion date and how it was obtained (a code of FORECAST_METHODS)."""

    date: date | None
    method: str
    slope_per_day: Decimal | None
    points: int


def _one_per_date(reports: Iterable[tuple[date, Decimal]]) -> list[tuple[date, Fraction]]:
    """Reports sorted by date, one per date: the last given for a date wins."""
    by_date: dict[date, Fraction] = {}
    for on, progress in reports:
        by_date[on] = _exact(progress)
    return sorted(by_date.items())


def forecast_completion(reports: Sequence[tuple[date, Decimal]], *, today: date) -> Forecast:
    """The date physical progress reaches 100 %, from (report date, progress %) pairs.

    Reports dated after ``today`` are not known yet and are left out. A project that already
    reported 100 % (or more) is "achieved" on the first such date. Otherwise the progress of the
    last 6 reports dated in the 365 days up to ``today`` (inclusive) is fitted by least squares,
    y = a + b·x with x in days since the first of them, and the line extended to 100: the date is
    never earlier than the last report. Fewer than two reports, a slope <= 0, or a date beyond the
    calendar give no date ("no_trend"). ``points`` is the number of reports the method used."""
    known = _one_per_date(report for report in reports if report[0] <= today)
    for on, progress in known:
        if progress >= HUNDRED:
            return Forecast(date=on, method="achieved", slope_per_day=None, points=1)
    since = today - timedelta(days=FORECAST_WINDOW_DAYS)
    used = [(on, progress) for on, progress in known if on >= since][-FORECAST_REPORTS:]
    if len(used) < 2:
        return Forecast(date=None, method="no_trend", slope_per_day=None, points=len(used))
    first, last = used[0][0], used[-1][0]
    xs = [Fraction((on - first).days) for on, _progress in used]
    ys = [progress for _on, progress in used]
    n = len(used)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx  # distinct dates: sxx > 0
    slope_per_day = _round(slope, FOUR_PLACES)
    if slope <= 0:
        return Forecast(date=None, method="no_trend", slope_per_day=slope_per_day, points=n)
    intercept = mean_y - slope * mean_x
    reach = math.ceil((HUNDRED - intercept) / slope)
    try:
        forecast = first + timedelta(days=reach)
    except OverflowError:
        return Forecast(date=None, method="no_trend", slope_per_day=slope_per_day, points=n)
    return Forecast(date=max(forecast, last), method="linear_trend", slope_per_day=slope_per_day, points=n)


# --- disparity across territories --------------------------------------------------------------


def _weighted(
    values: Iterable[Number], weights: Iterable[Number]
) -> tuple[list[tuple[Fraction, Fraction]], Fraction, Fraction] | None:
    """(value, weight) pairs with a positive weight, the total weight and the weighted mean.

    None when no weight is positive or the mean is zero."""
    pairs = []
    for value, weight in zip(values, weights, strict=True):
        w = _exact(weight)
        if w < 0:
            raise ValueError(f"negative weight: {weight!r}")
        if w > 0:
            pairs.append((_exact(value), w))
    total = sum((w for _x, w in pairs), Fraction(0))
    if total == 0:
        return None
    mean = sum((x * w for x, w in pairs), Fraction(0)) / total
    if mean == 0:
        return None
    return pairs, total, mean


def gini(values: Iterable[Number], weights: Iterable[Number]) -> Decimal | None:
    """Weighted Gini index: Σi Σj wi wj |xi − xj| / (2 W² μ), to 0.0001.

    Computed exactly in O(n log n): after sorting by value, the double sum is
    2 Σi wi xi (2 W<i + wi − W), W<i being the weight of the values before i."""
    weighted = _weighted(values, weights)
    if weighted is None:
        return None
    pairs, total, mean = weighted
    pairs.sort(key=lambda pair: pair[0])
    before = Fraction(0)
    half_sum = Fraction(0)
    for x, w in pairs:
        half_sum += w * x * (2 * before + w - total)
        before += w
    return _round(half_sum / (total**2 * mean), FOUR_PLACES)


def theil(values: Iterable[Number], weights: Iterable[Number]) -> Decimal | None:
    """Weighted Theil T index: (1/W) Σ wi (xi/μ) ln(xi/μ), a zero value counting 0, to 0.0001."""
    weighted = _weighted(values, weights)
    if weighted is None:
        return None
    pairs, total, mean = weighted
    if any(x < 0 for x, _w in pairs):
        raise ValueError("the Theil index is defined for values >= 0")
    with localcontext() as context:
        context.prec = 40
        index = Decimal(0)
        for x, w in pairs:
            if x == 0:
                continue
            ratio = x / mean
            index += _decimal(w * ratio) * _decimal(ratio).ln()
        return _quantize(index / _decimal(total), FOUR_PLACES)


def coefficient_of_variation(values: Iterable[Number], weights: Iterable[Number]) -> Decimal | None:
    """Weighted population standard deviation / weighted mean, to 0.0001."""
    weighted = _weighted(values, weights)
    if weighted is None:
        return None
    pairs, total, mean = weighted
    variance = sum((w * (x - mean) ** 2 for x, w in pairs), Fraction(0)) / total
    with localcontext() as context:
        context.prec = 40
        return _quantize(_decimal(variance).sqrt() / _decimal(mean), FOUR_PLACES)


# --- data quality ------------------------------------------------------------------------------

# Every field of a record (the top-level keys of a stored, non-withdrawn project document) but those
# always present: the operator and its reference.
COMPLETENESS_FIELDS = tuple(sorted(RECORD_FIELDS - {"operator", "operator_ref"}))
BILINGUAL_FIELDS = ("title", "description")
LANGUAGES = ("ar", "fr")
_SINGLE_FIELDS = tuple(key for key in COMPLETENESS_FIELDS if key not in BILINGUAL_FIELDS)
_BILINGUAL_PRESENT = tuple(key for key in COMPLETENESS_FIELDS if key in BILINGUAL_FIELDS)


def _filled(value) -> bool:
    if isinstance(value, str):
        return value.strip() != ""
    return value is not None and value != {} and value != []


def completeness(document: dict) -> Decimal:
    """The share of COMPLETENESS_FIELDS filled in a stored project document, × 100, to 0.01.

    Filled: not None, not a blank string, not an empty map or list. A title or description counts
    half for each of its two languages that is not blank. A withdrawn document has no fields to
    fill: ValueError. Counted in halves, in integers: halves / (2 × fields) × 100, rounded half-up
    exactly as ``_round`` does (it runs for every version on each refresh of the facts)."""
    if document.get("withdrawn"):
        raise ValueError("a withdrawn project has no completeness")
    halves = 0
    get = document.get
    for key in _SINGLE_FIELDS:
        value = get(key)
        if value is None:
            continue
        if isinstance(value, str):
            if value.strip():
                halves += 2
        elif value != {} and value != []:
            halves += 2
    for key in _BILINGUAL_PRESENT:
        texts = get(key)
        if isinstance(texts, dict):
            halves += sum(1 for language in LANGUAGES if _filled(texts.get(language)))
    # round(halves / (2n) × 10,000) half-up in hundredths: floor(a / b + 1/2) = (2a + b) // 2b.
    scaled, denominator = halves * 10_000, 2 * len(COMPLETENESS_FIELDS)
    units = (2 * scaled + denominator) // (2 * denominator)
    return Decimal(f"{units}E-{TWO_PLACES}")


def mean(total: Number, count: int) -> Decimal | None:
    """total / count to 0.01 (the mean completeness of an operator's projects); None when count is 0."""
    if count == 0:
        return None
    return _round(_exact(total) / count, TWO_PLACES)


def share(part: int, whole: int) -> Decimal | None:
    """part / whole × 100 to 0.01 (timeliness, validity); None when whole is 0."""
    if whole == 0:
        return None
    return _round(Fraction(part, whole) * HUNDRED, TWO_PLACES)


def quality_score(
    completeness: Decimal | None, timeliness: Decimal | None, validity: Decimal | None
) -> Decimal | None:
    """The data-quality score: the mean of the parts that are known, to 0.01; None if none is."""
    parts = [_exact(part) for part in (completeness, timeliness, validity) if part is not None]
    if not parts:
        return None
    return _round(sum(parts, Fraction(0)) / len(parts), TWO_PLACES)
