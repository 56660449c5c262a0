"""Several groups of figures read as one (a holding and its subsidiaries, a city and its arrondissements).

Counts and amounts add up, and the rates over the budget (TX_ENG, TX_PAI) follow from the summed
amounts with the engine's own formula (``measures.rate``), exactly as ``selectors.figures`` computes
them for a group. TX_PHYS, a budget-weighted mean over the projects that report a progress, cannot be
rebuilt from the rounded rates of the parts: it is carried over when there is one part and is
undefined (None) otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from .measures import rate
from .selectors import Figures


def combined(key: str, parts: Sequence[Figures]) -> Figures:
    """One group made of ``parts`` (at least one)."""
    if not parts:
        raise ValueError("nothing to combine")
    if len(parts) == 1:
        only = parts[0]
        return Figures(
            key=key,
            projects=only.projects,
            reported=only.reported,
            completed=only.completed,
            budget=only.budget,
            committed=only.committed,
            paid=only.paid,
            tx_phys=only.tx_phys,
            tx_eng=only.tx_eng,
            tx_pai=only.tx_pai,
        )
    budget = sum((part.budget for part in parts), Decimal("0.00"))
    committed = sum((part.committed for part in parts), Decimal("0.00"))
    paid = sum((part.paid for part in parts), Decimal("0.00"))
    return Figures(
        key=key,
        projects=sum(part.projects for part in parts),
        reported=sum(part.reported for part in parts),
        completed=sum(part.completed for part in parts),
        budget=budget,
        committed=committed,
        paid=paid,
        tx_phys=None,
        tx_eng=rate(committed, budget),
        tx_pai=rate(paid, budget),
    )
