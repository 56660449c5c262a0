"""The evidence of an alert in words, in the active language (pages, API, e-mails)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from marsad.core import formatting

from .choices import RuleCode

FINDINGS = {
    "paid_exceeds_committed": lambda e, lang: (
        _("payé %(paid)s > engagé %(committed)s")
        % {"paid": _mad(e.get("paid"), lang), "committed": _mad(e.get("committed"), lang)}
    ),
    "committed_exceeds_budget": lambda e, lang: (
        _("engagé %(committed)s > budget %(budget)s")
        % {"committed": _mad(e.get("committed"), lang), "budget": _mad(e.get("budget"), lang)}
    ),
}


def _day(value: str | None, language: str) -> str:
    return formatting.format_date(date.fromisoformat(value) if value else None, language)


def _mad(value: str | None, language: str) -> str:
    return formatting.format_mad(Decimal(value) if value is not None else None, language)


def _count(value: int, language: str) -> str:
    return formatting.format_number(int(value), language)


def _percent(value: str | None, language: str) -> str:
    return formatting.format_percent(Decimal(value) if value is not None else None, language, 2)


def summary(rule: str, evidence: dict) -> str:
    """One sentence saying what triggered the alert, in the active language."""
    language = formatting.page_language()
    e = evidence or {}
    try:
        if rule == RuleCode.LATE:
            return _("Fin prévue le %(end)s : %(days)s jours de retard.") % {
                "end": _day(e["planned_end"], language),
                "days": _count(e["days_late"], language),
            }
        if rule == RuleCode.STALLED:
            return _("Avancement de %(progress)s inchangé depuis le %(since)s (%(days)s jours).") % {
                "progress": _percent(e["progress"], language),
                "since": _day(e["unchanged_since"], language),
                "days": _count(e["days_unchanged"], language),
            }
        if rule == RuleCode.FINANCIAL_ANOMALY:
            parts = [FINDINGS[code](e, language) for code in e["findings"] if code in FINDINGS]
            return _("Montants incohérents : %(findings)s.") % {"findings": " ; ".join(parts)}
        if rule == RuleCode.STALE_DATA:
            return _("Dernier rapport le %(last)s, il y a %(days)s jours.") % {
                "last": _day(e["last_report"], language),
                "days": _count(e["days_since_report"], language),
            }
        if rule == RuleCode.SCHEDULE_PERFORMANCE:
            return _(
                "Au %(on)s : avancement %(actual)s pour %(planned)s prévus (performance %(performance)s)."
            ) % {
                "on": _day(e["on"], language),
                "actual": _percent(e["actual_progress"], language),
                "planned": _percent(e["planned_progress"], language),
                "performance": formatting.format_number(Decimal(e["schedule_performance"]), language, 2),
            }
        if rule == RuleCode.PROGRESS_REGRESSION:
            return _(
                "L'avancement recule de %(before)s (version %(previous)s) à %(after)s (version %(version)s)."
            ) % {
                "before": _percent(e["previous_progress"], language),
                "previous": e["previous_version"],
                "after": _percent(e["progress"], language),
                "version": e["version"],
            }
    except (KeyError, TypeError, ValueError, ArithmeticError):
        pass
    return ""
