import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from marsad.indicators.measures import (
    COMPLETENESS_FIELDS,
    FORECAST_METHODS,
    PLANNED_CURVE,
    Forecast,
    coefficient_of_variation,
    completeness,
    delay_days,
    forecast_completion,
    gini,
    gliss_days,
    planned_progress,
    quality_score,
    rate,
    schedule_performance,
    share,
    theil,
    weighted_progress,
)
from marsad.registry.canonical import record_document
from marsad.registry.rules import Record

D = Decimal

# --- rate --------------------------------------------------------------------------------------


def test_rate_is_a_percentage_to_two_places():
    assert rate(D("250"), D("1000")) == D("25.00")  # 250 / 1000 × 100
    assert rate(D("1200"), D("1000")) == D("120.00")  # paid above budget is shown, not capped
    assert rate(D(1), D(3)) == D("33.33")  # 33.333…
    assert rate(D(2), D(3)) == D("66.67")  # 66.666…
    assert rate(D(0), D(5)) == D("0.00")
    assert str(rate(D("300000000.00"), D("1500000000.00"))) == "20.00"  # TX_ENG of the base record


def test_rate_rounds_half_up_away_from_zero():
    assert rate(D(1), D(800)) == D("0.13")  # 0.125 exactly: half-up, where banker's rounding gives 0.12
    assert rate(D(-1), D(800)) == D("-0.13")  # -0.125: the tie goes away from zero


def test_rate_is_undefined_without_both_terms_or_with_a_zero_denominator():
    assert rate(None, D(10)) is None
    assert rate(D(10), None) is None
    assert rate(D(10), D(0)) is None
    assert rate(D(0), D("0.00")) is None


# --- weighted progress (TX_PHYS) ---------------------------------------------------------------


def test_weighted_progress_weights_by_budget():
    # (100 × 50 + 300 × 10) / (100 + 300) = 8000 / 400 = 20
    assert weighted_progress([(D(100), D(50)), (D(300), D(10))]) == D("20.00")
    # (1 000 000 × 33.33 + 2 000 000 × 66.67) / 3 000 000 = 166 670 000 / 3 000 000 = 55.5566…
    assert weighted_progress([(D("1000000"), D("33.33")), (D("2000000"), D("66.67"))]) == D("55.56")
    # a zero budget weighs nothing while another budget is positive: 200 × 30 / 200 = 30
    assert weighted_progress(iter([(D(0), D(90)), (D(200), D(30))])) == D("30.00")


def test_weighted_progress_falls_back_to_the_plain_mean_when_budgets_are_zero():
    assert weighted_progress([(D(0), D(40)), (D(0), D(71))]) == D("55.50")  # (40 + 71) / 2
    assert weighted_progress([]) is None


# --- planned progress (S-curve) ----------------------------------------------------------------

START, END = date(2024, 1, 1), date(2024, 1, 11)  # a 10-day planned duration


def test_planned_progress_follows_the_smoothstep_curve():
    # t = 2/10: 100 × (3 × 0.04 − 2 × 0.008) = 100 × (0.12 − 0.016) = 10.4
    assert planned_progress(START, END, date(2024, 1, 3)) == D("10.40")
    # t = 0.5: 100 × (0.75 − 0.25) = 50
    assert planned_progress(START, END, date(2024, 1, 6)) == D("50.00")
    # t = 0.8: 100 × (1.92 − 1.024) = 89.6
    assert planned_progress(START, END, date(2024, 1, 9)) == D("89.60")
    # t = 1/3 on a 3-day duration: 100 × (3/9 − 2/27) = 100 × 7/27 = 25.925…
    assert planned_progress(date(2024, 1, 1), date(2024, 1, 4), date(2024, 1, 2)) == D("25.93")


def test_planned_progress_is_clamped_to_the_planned_period():
    assert planned_progress(START, END, date(2023, 12, 1)) == D("0.00")  # before the start: t = 0
    assert planned_progress(START, END, START) == D("0.00")
    assert planned_progress(START, END, END) == D("100.00")
    assert planned_progress(START, END, date(2025, 1, 1)) == D("100.00")  # after the end: t = 1


def test_planned_progress_needs_a_start_before_the_end():
    assert planned_progress(None, END, START) is None
    assert planned_progress(START, None, START) is None
    assert planned_progress(START, START, START) is None
    assert planned_progress(END, START, START) is None


def test_the_planned_curve_is_stated():
    assert "3t² − 2t³" in str(PLANNED_CURVE)


# --- schedule performance ----------------------------------------------------------------------


def test_schedule_performance_is_actual_over_planned():
    assert schedule_performance(D(30), D(40)) == D("0.75")
    assert schedule_performance(D(50), D(30)) == D("1.67")  # 1.666…
    assert schedule_performance(D(10), D(80)) == D("0.13")  # 0.125: half-up
    assert schedule_performance(D(0), D(25)) == D("0.00")


def test_schedule_performance_is_undefined_without_a_planned_progress():
    assert schedule_performance(None, D(40)) is None
    assert schedule_performance(D(30), None) is None
    assert schedule_performance(D(30), D(0)) is None  # before the planned start


# --- delay and GLISS ---------------------------------------------------------------------------

PLANNED_END = date(2024, 6, 30)


def test_delay_counts_from_the_planned_end_to_today():
    assert delay_days(PLANNED_END, today=date(2024, 7, 10)) == 10
    assert delay_days(PLANNED_END, today=date(2024, 6, 1)) == 0  # not late yet
    assert delay_days(PLANNED_END, today=PLANNED_END) == 0


def test_delay_of_a_finished_project_counts_to_its_actual_end():
    assert delay_days(PLANNED_END, today=date(2025, 1, 1), actual_end=date(2024, 7, 5)) == 5
    assert delay_days(PLANNED_END, today=date(2025, 1, 1), actual_end=date(2024, 6, 20)) == 0  # early
    # the actual end wins over a forecast
    assert (
        delay_days(
            PLANNED_END, today=date(2025, 1, 1), actual_end=date(2024, 7, 5), forecast_end=date(2025, 6, 1)
        )
        == 5
    )


def test_delay_uses_the_later_of_today_and_the_forecast_end():
    # Jun 30 → Aug 30: 31 (July) + 30 = 61
    assert delay_days(PLANNED_END, today=date(2024, 7, 10), forecast_end=date(2024, 8, 30)) == 61
    # a forecast already past: today counts
    assert delay_days(PLANNED_END, today=date(2024, 7, 10), forecast_end=date(2024, 7, 1)) == 10
    # not late today, but forecast late: Jun 30 → Jul 15 = 15
    assert delay_days(PLANNED_END, today=date(2024, 6, 1), forecast_end=date(2024, 7, 15)) == 15


def test_delay_needs_a_planned_end():
    assert delay_days(None, today=date(2024, 7, 10), actual_end=date(2024, 7, 5)) is None


def test_gliss_is_the_end_minus_the_initial_planned_end():
    # Jun 30 → Sep 30: 31 + 31 + 30 = 92
    assert gliss_days(PLANNED_END, actual_end=date(2024, 9, 30)) == 92
    assert gliss_days(PLANNED_END, forecast_end=date(2024, 6, 20)) == -10  # early
    assert gliss_days(PLANNED_END, actual_end=date(2024, 7, 1), forecast_end=date(2024, 12, 31)) == 1


def test_gliss_needs_its_dates():
    assert gliss_days(None, actual_end=date(2024, 9, 30)) is None
    assert gliss_days(PLANNED_END) is None


# --- forecast completion -----------------------------------------------------------------------


def test_forecast_extends_an_exact_linear_trend_to_100():
    # x = 0, 30, 60 days (2024 is leap: Jan 31 + 29 = Feb 29, + 1 = Mar 1); y = 10, 20, 30
    # b = 1/3 per day, a = 10; x* = 90 / (1/3) = 270; Jan 1 (day 1) + 270 = day 271 = Sep 27
    reports = [(date(2024, 3, 1), D(30)), (date(2024, 1, 1), D(10)), (date(2024, 1, 31), D(20))]
    assert forecast_completion(reports, today=date(2024, 6, 30)) == Forecast(
        date=date(2024, 9, 27), method="linear_trend", slope_per_day=D("0.3333"), points=3
    )


MARCH = [(date(2024, 3, 1), D(0)), (date(2024, 3, 11), D(10)), (date(2024, 3, 21), D(30))]
# x = 0, 10, 20; y = 0, 10, 30: x̄ = 10, ȳ = 40/3; Sxx = 100 + 0 + 100 = 200;
# Sxy = (−10)(−40/3) + 0 + 10 × 50/3 = 900/3 = 300; b = 1.5; a = 40/3 − 15 = −5/3;
# x* = (100 + 5/3) / 1.5 = 610/9 = 67.78 → 68 days;
# Mar 1 + 68 = May 8 (Mar 1 + 30 = Mar 31, + 31 = May 1, + 7)
MARCH_FORECAST = Forecast(date=date(2024, 5, 8), method="linear_trend", slope_per_day=D("1.5000"), points=3)


def test_forecast_fits_by_least_squares_and_rounds_the_days_up():
    assert forecast_completion(MARCH, today=date(2024, 4, 1)) == MARCH_FORECAST


def test_forecast_keeps_the_last_report_of_a_date():
    corrected = [MARCH[0], MARCH[1], (date(2024, 3, 21), D(25)), MARCH[2]]  # 25 then 30 on Mar 21: 30 wins
    assert forecast_completion(corrected, today=date(2024, 4, 1)) == MARCH_FORECAST
    reversed_correction = [MARCH[0], MARCH[1], MARCH[2], (date(2024, 3, 21), D(20))]  # 20 wins
    # y = 0, 10, 20: b = 1, a = 0; x* = 100 → Mar 1 + 100 = Jun 9
    assert forecast_completion(reversed_correction, today=date(2024, 4, 1)) == Forecast(
        date=date(2024, 6, 9), method="linear_trend", slope_per_day=D("1.0000"), points=3
    )


def test_forecast_uses_the_last_six_reports():
    # 8 reports every 10 days from Jan 1; the first two (0, 0) are left out; the last six lie on
    # y = 10 + 0.5 x from Jan 21: x* = 90 / 0.5 = 180; Jan 21 (day 21) + 180 = day 201 = Jul 19
    values = [0, 0, 10, 15, 20, 25, 30, 35]
    reports = [(date(2024, 1, 1) + timedelta(days=10 * k), D(v)) for k, v in enumerate(values)]
    assert reports[-1][0] == date(2024, 3, 11)  # Jan 21 + 50 days: + 10 = Jan 31, + 29 = Feb 29, + 11
    assert forecast_completion(reports, today=date(2024, 4, 1)) == Forecast(
        date=date(2024, 7, 19), method="linear_trend", slope_per_day=D("0.5000"), points=6
    )


def test_forecast_uses_the_year_before_today_only():
    today = date(2025, 6, 30)  # 365 days before: 2024-06-30, included
    reports = [
        (date(2024, 6, 29), D(50)),  # 366 days before: left out (with it the slope would be negative)
        (date(2024, 6, 30), D(20)),
        (date(2024, 7, 10), D(21)),
        (date(2025, 7, 1), D(99)),  # after today: not known yet
    ]
    # b = 1 / 10 = 0.1, a = 20; x* = 80 / 0.1 = 800; 2024-06-30 + 730 = 2026-06-30, + 70 = 2026-09-08
    assert forecast_completion(reports, today=today) == Forecast(
        date=date(2026, 9, 8), method="linear_trend", slope_per_day=D("0.1000"), points=2
    )


def test_forecast_is_never_before_the_last_report():
    reports = [(date(2024, 3, 1), D(0)), (date(2024, 3, 11), D(99)), (date(2024, 3, 21), D(99))]
    # x̄ = 10, ȳ = 66; Sxx = 200; Sxy = (−10)(−66) + 0 + 10 × 33 = 990; b = 4.95; a = 66 − 49.5 = 16.5;
    # x* = 83.5 / 4.95 = 16.87 → 17 days = Mar 18, before the last report (Mar 21): Mar 21
    assert forecast_completion(reports, today=date(2024, 4, 1)) == Forecast(
        date=date(2024, 3, 21), method="linear_trend", slope_per_day=D("4.9500"), points=3
    )


def test_forecast_of_a_completed_project_is_the_first_report_at_100():
    reports = [(date(2024, 1, 1), D(80)), (date(2024, 3, 1), D(100)), (date(2024, 2, 1), D("100.00"))]
    assert forecast_completion(reports, today=date(2024, 6, 30)) == Forecast(
        date=date(2024, 2, 1), method="achieved", slope_per_day=None, points=1
    )
    # reached more than a year before today: still achieved
    assert forecast_completion(reports, today=date(2026, 1, 1)).date == date(2024, 2, 1)
    # a correction of the same date below 100 takes it back: Mar 1 is then the first at 100
    corrected = [*reports, (date(2024, 2, 1), D(95))]
    assert forecast_completion(corrected, today=date(2024, 6, 30)).date == date(2024, 3, 1)


def test_no_forecast_without_an_upward_trend():
    flat = [(date(2024, 3, 1), D(40)), (date(2024, 3, 11), D(40))]
    assert forecast_completion(flat, today=date(2024, 4, 1)) == Forecast(
        date=None, method="no_trend", slope_per_day=D("0.0000"), points=2
    )
    falling = [(date(2024, 3, 1), D(40)), (date(2024, 3, 11), D(30))]  # −10 / 10 days
    assert forecast_completion(falling, today=date(2024, 4, 1)) == Forecast(
        date=None, method="no_trend", slope_per_day=D("-1.0000"), points=2
    )


def test_no_forecast_with_fewer_than_two_report_dates():
    one = [(date(2024, 3, 1), D(40)), (date(2024, 3, 1), D(45))]  # one date
    assert forecast_completion(one, today=date(2024, 4, 1)) == Forecast(
        date=None, method="no_trend", slope_per_day=None, points=1
    )
    assert forecast_completion([], today=date(2024, 4, 1)) == Forecast(
        date=None, method="no_trend", slope_per_day=None, points=0
    )


def test_no_forecast_beyond_the_calendar():
    # 0.01 point in 365 days: x* = 100 / (0.01 / 365) = 3 650 000 days, past the year 9999
    reports = [(date(2024, 1, 1), D(0)), (date(2024, 12, 31), D("0.01"))]
    assert forecast_completion(reports, today=date(2024, 12, 31)) == Forecast(
        date=None, method="no_trend", slope_per_day=D("0.0000"), points=2
    )


def test_every_forecast_method_is_described():
    assert set(FORECAST_METHODS) == {"linear_trend", "achieved", "no_trend"}
    with translation.override("fr"):
        assert "moindres carrés" in str(FORECAST_METHODS["linear_trend"])
    with translation.override("ar"):
        assert "المربعات الصغرى" in str(FORECAST_METHODS["linear_trend"])


# --- disparity ---------------------------------------------------------------------------------


def test_disparity_of_one_two_three():
    values, weights = [D(1), D(2), D(3)], [1, 1, 1]
    # μ = 2, W = 3; Σ|xi − xj| over ordered pairs = 2 × (1 + 2 + 1) = 8; 8 / (2 × 9 × 2) = 0.2222
    assert gini(values, weights) == D("0.2222")
    # (1/3)[0.5 ln 0.5 + 1 ln 1 + 1.5 ln 1.5] = (1/3)[−0.3465736 + 0 + 0.6081977] = 0.0872080
    assert theil(values, weights) == D("0.0872")
    # variance = (1 + 0 + 1) / 3 = 2/3; √(2/3) = 0.8164966; / 2 = 0.4082483
    assert coefficient_of_variation(values, weights) == D("0.4082")


def test_disparity_weighted_by_population():
    values, weights = [D(10), D(20), D(40)], [2, 1, 1]
    # W = 4, μ = (20 + 20 + 40) / 4 = 20
    # Σ wi wj |xi − xj| ordered = 2 × (2·1·10 + 2·1·30 + 1·1·20) = 200; 200 / (2 × 16 × 20) = 0.3125
    assert gini(values, weights) == D("0.3125")
    # (1/4)[2 × 0.5 ln 0.5 + 1 × ln 1 + 1 × 2 ln 2] = (1/4)(−ln 2 + 2 ln 2) = ln 2 / 4 = 0.1732868
    assert theil(values, weights) == D("0.1733")
    # variance = (2 × 100 + 0 + 400) / 4 = 150; √150 = 12.2474487; / 20 = 0.6123724
    assert coefficient_of_variation(values, weights) == D("0.6124")
    # a weight is a repetition: the same as four territories of weight 1
    replicated = ([D(10), D(10), D(20), D(40)], [1, 1, 1, 1])
    assert gini(*replicated) == D("0.3125")
    assert theil(*replicated) == D("0.1733")
    assert coefficient_of_variation(*replicated) == D("0.6124")


def test_disparity_with_a_zero_value():
    values, weights = [0.0, 2.0], [1, 1]  # floats are accepted
    # μ = 1; Gini: 2 × 2 / (2 × 4 × 1) = 0.5; Theil: (1/2)[0 + 2 ln 2] = ln 2 = 0.693147;
    # CV: variance = (1 + 1) / 2 = 1 → 1 / 1
    assert gini(values, weights) == D("0.5000")
    assert theil(values, weights) == D("0.6931")
    assert coefficient_of_variation(values, weights) == D("1.0000")
    # one territory holds everything among four: Gini = 3 × 2 / (2 × 16 × 0.25) = 0.75 = (n − 1) / n
    assert gini([0, 0, 0, 1], [1, 1, 1, 1]) == D("0.7500")


def test_perfect_equality_has_no_disparity():
    values, weights = [D(5), D(5), D(5)], [3, 1, 7]
    assert gini(values, weights) == D("0.0000")
    assert theil(values, weights) == D("0.0000")
    assert coefficient_of_variation(values, weights) == D("0.0000")


def test_zero_weights_are_ignored():
    values, weights = [D(1), D(2), D(3), D(1000), D(-5)], [1, 1, 1, 0, 0]
    assert gini(values, weights) == D("0.2222")  # as 1, 2, 3 alone
    assert theil(values, weights) == D("0.0872")  # the negative value has no weight: no error
    assert coefficient_of_variation(values, weights) == D("0.4082")


def test_disparity_is_undefined_without_weight_or_mean():
    for index in (gini, theil, coefficient_of_variation):
        assert index([], []) is None
        assert index([D(1), D(2)], [0, 0]) is None
        assert index([D(0), D(0)], [10, 20]) is None  # μ = 0


def test_disparity_rejects_bad_input():
    with pytest.raises(ValueError, match="Theil"):
        theil([D(-1), D(3)], [1, 1])
    with pytest.raises(ValueError, match="negative weight"):
        gini([D(1), D(3)], [1, -1])
    with pytest.raises(ValueError):
        coefficient_of_variation([D(1), D(3)], [1])  # lengths differ


# --- data quality ------------------------------------------------------------------------------

FULL_DOCUMENT = {
    "schema": "marsad.project/1",
    "id": "P-1",
    "operator": "MA-ALOMRANE-DOE",
    "operator_ref": "DOE-PU-001",
    "title": {"ar": "القطب الحضري للداخلة", "fr": "Pôle urbain de Dakhla"},
    "description": {"ar": "وصف", "fr": "Description"},
    "programme": "PU",
    "status": "ENCO",
    "agreement": "CONV-2023-01",
    "communes": {"12.391.01.01": {"primary": True, "share": None}},
    "location": {"lat": "23.7", "lon": "-15.93"},
    "area_ha": "275",
    "planned_start": "2024-01-01",
    "planned_end": "2030-12-31",
    "actual_start": "2024-03-01",
    "actual_end": "2030-06-30",
    "budget": "1500000000.00",
    "financing": {"MA-ALOMRANE-DOE": "1500000000.00"},
    "outputs": {"SUP": {"target": "275", "achieved": "40"}},
    "milestones": {"SIGN_CONV": {"planned": None, "forecast": None, "actual": "2023-11-10"}},
    "as_of": "2026-09-30",
    "progress": "0.00",
    "committed": "300000000.00",
    "paid": "150000000.00",
}


def test_completeness_fields_are_the_document_keys_but_the_identity():
    document = record_document(Record(operator="MA-ALOMRANE-DOE", operator_ref="DOE-PU-001"), "P-1")
    assert set(COMPLETENESS_FIELDS) == set(document) - {"schema", "id", "operator", "operator_ref"}
    assert len(COMPLETENESS_FIELDS) == 20
    assert set(FULL_DOCUMENT) == set(document)


def test_a_full_document_is_complete():
    assert completeness(FULL_DOCUMENT) == D("100.00")  # a progress of "0.00" is filled


def test_completeness_counts_empty_fields_and_half_titles():
    document = {
        **FULL_DOCUMENT,
        "title": {"ar": "", "fr": "Pôle urbain de Dakhla"},  # 0.5
        "description": {"ar": "", "fr": "  "},  # 0 (blank)
        "agreement": None,
        "communes": {},
        "location": None,
        "actual_end": None,
        "financing": {},
        "milestones": {},
    }
    del document["area_ha"]  # a missing key is not filled
    # filled = 20 − 0.5 − 1 − 7 = 11.5; 11.5 / 20 × 100 = 57.5
    assert completeness(document) == D("57.50")
    # only the identity: nothing filled
    identity = {key: FULL_DOCUMENT[key] for key in ("schema", "id", "operator", "operator_ref")}
    assert completeness(identity) == D("0.00")


def test_a_withdrawn_document_has_no_completeness():
    withdrawn = {"schema": "marsad.project/1", "id": "P-1", "operator": "X", "operator_ref": "Y"}
    with pytest.raises(ValueError, match="withdrawn"):
        completeness({**withdrawn, "withdrawn": True, "reason": "doublon"})


def test_share():
    assert share(3, 4) == D("75.00")
    assert share(1, 3) == D("33.33")
    assert share(1, 800) == D("0.13")  # 0.125: half-up
    assert share(0, 5) == D("0.00")
    assert share(0, 0) is None


def test_quality_score_is_the_mean_of_the_known_parts():
    assert quality_score(D(80), D(90), D(100)) == D("90.00")
    assert quality_score(D("80.00"), None, D("65.55")) == D("72.78")  # 145.55 / 2 = 72.775: half-up
    assert quality_score(D("33.33"), D("33.33"), D("33.34")) == D("33.33")  # 100 / 3
    assert quality_score(None, None, D("12.5")) == D("12.50")
    assert quality_score(None, None, None) is None


# --- properties --------------------------------------------------------------------------------

amounts = st.decimals(min_value=0, max_value=10**9, places=2)
percentages = st.decimals(min_value=0, max_value=100, places=2)
populations = st.integers(min_value=0, max_value=5_000_000)


def gini_by_definition(values, weights) -> Fraction:
    """Σi Σj wi wj |xi − xj| / (2 W² μ), term by term."""
    pairs = [(Fraction(x), Fraction(w)) for x, w in zip(values, weights, strict=True) if w > 0]
    total = sum(w for _x, w in pairs)
    mean = sum(x * w for x, w in pairs) / total
    double_sum = sum(wi * wj * abs(xi - xj) for xi, wi in pairs for xj, wj in pairs)
    return double_sum / (2 * total**2 * mean)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(amounts, populations), min_size=1, max_size=12),
    st.decimals(min_value=D("0.01"), max_value=1000, places=2),
)
def test_gini_is_below_one_matches_its_definition_and_ignores_the_scale(territories, factor):
    values = [value for value, _population in territories]
    weights = [population for _value, population in territories]
    index = gini(values, weights)
    if not any(weights) or sum(v * w for v, w in territories if w) == 0:
        assert index is None
        return
    exact = gini_by_definition(values, weights)
    assert 0 <= exact < 1  # rounded to 4 places it may reach 1.0000 (0.99995 and above)
    # the index is the definition rounded half-up to 4 places (exact: the index is >= 0)
    assert index == D(math.floor(exact * 10_000 + Fraction(1, 2))) / 10_000
    assert D(0) <= index <= D(1)
    assert gini([value * factor for value in values], weights) == index


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(amounts, percentages), min_size=1, max_size=12))
def test_weighted_progress_lies_between_the_lowest_and_highest_progress(items):
    progress = weighted_progress(items)
    assert min(p for _budget, p in items) <= progress <= max(p for _budget, p in items)
