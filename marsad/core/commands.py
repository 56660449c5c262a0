"""What the project's management commands share: the ``--today`` option and a progress bar."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date

from django.core.management.base import CommandError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

TODAY_HELP = "date du jour à utiliser (AAAA-MM-JJ), par défaut aujourd'hui à Casablanca"


def add_today_argument(parser) -> None:
    parser.add_argument("--today", help=TODAY_HELP)


def parse_today(text: str | None) -> date | None:
    """The ``--today`` option as a date (None when not given); a bilingual error otherwise."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"Date invalide « {text} » : attendu AAAA-MM-JJ. / تاريخ غير صالح: الصيغة المنتظرة AAAA-MM-JJ."
        ) from None


@contextmanager
def progress_bar(label: str, *, shown: bool) -> Iterator[Callable[[int, int], None]]:
    """A bar of ``done / total`` (drawn only when ``shown``, i.e. on a terminal); yields the callback
    the services call as they advance."""
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, disable=not shown) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance
