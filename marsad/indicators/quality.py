"""Data quality per operator and month (DESIGN §7), with its parts, each 0–100:

- completeness: the mean, over the operator's projects with facts in the month, of the share of the
  record's fields filled in the version in force (``measures.completeness``: required and optional
  fields alike, a bilingual text counting half per language);
- timeliness: the share of those projects whose report is dated within the month;
- validity: the share of the records received in the month that carried neither an error nor a
  warning. Records come from every channel: submissions and uploads (their receipts, which also hold
  the rejected records the registry never stored) through the sources the exchange registers here,
  and versions written in the interface, by commands or the demo (their stored warnings);
- score: the mean of the parts that are known (``measures.quality_score``).

Completeness and timeliness follow the principal's scope (a territorial officer sees the operators'
projects in their territory); validity counts an operator's records wherever they fall, since a
rejected record may have no valid territory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from django.db.models import Count, Q, Sum

from marsad.accounts.models import Organisation
from marsad.accounts.scoping import Scope
from marsad.registry.choices import SourceKind
from marsad.registry.models import Project, ProjectVersion
from marsad.registry.selectors import project_scope_q

from . import measures
from .facts import CASABLANCA, next_month
from .models import ProjectMonth, Rollup

# A source of records: (first instant, end instant) → {operator code: (records, records without
# error or warning)}. The exchange registers the one that reads its receipts.
RecordSource = Callable[[datetime, datetime], dict[str, tuple[int, int]]]
_sources: list[RecordSource] = []
SOURCED_KINDS = (SourceKind.SUBMISSION, SourceKind.UPLOAD)  # counted by the registered sources


def register_record_source(source: RecordSource) -> RecordSource:
    if source not in _sources:
        _sources.append(source)
    return source


def unregister_record_source(source: RecordSource) -> None:
    if source in _sources:
        _sources.remove(source)


@dataclass(frozen=True)
class Quality:
    operator: str
    month: date
    projects: int
    reported: int
    records: int
    records_clean: int
    completeness: Decimal | None
    timeliness: Decimal | None
    validity: Decimal | None
    score: Decimal | None


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The instants the month begins and ends in Casablanca."""
    return (
        datetime.combine(month, time(0), tzinfo=CASABLANCA),
        datetime.combine(next_month(month), time(0), tzinfo=CASABLANCA),
    )


def record_counts(month: date) -> dict[str, tuple[int, int]]:
    """Records received in the month per operator code, and those without error or warning."""
    start, end = month_bounds(month)
    totals: dict[str, list[int]] = {}

    def add(counts: dict[str, tuple[int, int]]) -> None:
        for code, (records, clean) in counts.items():
            entry = totals.setdefault(code, [0, 0])
            entry[0] += records
            entry[1] += clean

    for source in _sources:
        add(source(start, end))
    local = (
        ProjectVersion.objects.filter(received_at__gte=start, received_at__lt=end)
        .exclude(source_kind__in=SOURCED_KINDS)
        .values("project__operator__code")
        .annotate(records=Count("id"), clean=Count("id", filter=Q(warnings=[])))
        .order_by()
    )
    add({row["project__operator__code"]: (row["records"], row["clean"]) for row in local})
    return {code: (records, clean) for code, (records, clean) in totals.items()}


def quality(scope: Scope, *, month: date, operators: Iterable[str] = ()) -> list[Quality]:
    """Each operator's data quality in ``month`` (its first day), sorted by operator code; only the
    operators in ``operators`` when given. Operators with neither facts nor records are left out."""
    wanted = set(operators)
    condition = project_scope_q(scope)
    if scope.is_national:
        facts = (
            Rollup.objects.filter(month=month)
            .values("operator__code")
            .annotate(n=Sum("projects"), n_reported=Sum("reported"), s_completeness=Sum("completeness"))
        )
    else:
        source = ProjectMonth.objects.filter(month=month)
        if condition is not None:
            source = source.filter(project__in=Project.objects.filter(condition).values("pk"))
        facts = source.values("operator__code").annotate(
            n=Count("id"), n_reported=Count("id", filter=Q(reported=True)), s_completeness=Sum("completeness")
        )
    by_operator = {row["operator__code"]: row for row in facts.order_by()}
    records = record_counts(month)
    if scope.is_national:
        # A rejected record may name an operator that does not exist: only known operators are shown.
        known = set(Organisation.objects.filter(code__in=list(records)).values_list("code", flat=True))
        records = {code: counts for code, counts in records.items() if code in known}
    else:
        # Records are an operator's own: shown for the operators whose projects the scope reads.
        readable = set(by_operator) | set(
            Organisation.objects.filter(pk__in=scope.operator_ids).values_list("code", flat=True)
        )
        records = {code: counts for code, counts in records.items() if code in readable}
    found = []
    for code in sorted(set(by_operator) | set(records)):
        if wanted and code not in wanted:
            continue
        row = by_operator.get(code, {"n": 0, "n_reported": 0, "s_completeness": None})
        projects, reported = row["n"] or 0, row["n_reported"] or 0
        received, clean = records.get(code, (0, 0))
        completeness = measures.mean(Decimal(row["s_completeness"] or 0), projects)
        timeliness = measures.share(reported, projects)
        validity = measures.share(clean, received)
        found.append(
            Quality(
                operator=code,
                month=month,
                projects=projects,
                reported=reported,
                records=received,
                records_clean=clean,
                completeness=completeness,
                timeliness=timeliness,
                validity=validity,
                score=measures.quality_score(completeness, timeliness, validity),
            )
        )
    return found
