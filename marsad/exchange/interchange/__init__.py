"""Interchange formats: OC4IDS project packages (export and import), IATI 2.03 activities and the
open-data tables (CSV, XLSX, GeoJSON).

Every export reads projects through the registry's selectors and walks them with
``QuerySet.iterator(chunk_size=CHUNK_SIZE)``: the rows arrive chunk by chunk and the related rows
(communes, financing, outputs, milestones, agreement parties) are fetched once per chunk, so that
memory stays bounded and the number of queries grows with the number of chunks, never with the
number of projects.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from marsad.registry import selectors
from marsad.registry.models import (
    AgreementParty,
    Financing,
    Milestone,
    Project,
    ProjectCommune,
    ProjectOutput,
)
from marsad.territories.choices import Level
from marsad.territories.models import Territory

CHUNK_SIZE = 200
_ID_PLACEHOLDER = "MRS-0000000000"


def public_projects(filters: selectors.ProjectFilters | None = None) -> QuerySet[Project]:
    """Published, non-withdrawn projects, filtered like the project list. The principal is the
    public (``None``) whoever asks: open data never carries what only a role may read."""
    return selectors.project_list(None, filters)


def with_relations(projects: QuerySet[Project]) -> QuerySet[Project]:
    """The projects with everything the OC4IDS and IATI documents carry, fetched per chunk."""
    return projects.select_related("agreement").prefetch_related(
        Prefetch(
            "communes",
            ProjectCommune.objects.select_related("territory").order_by("-is_primary", "territory__code"),
        ),
        Prefetch(
            "financing", Financing.objects.select_related("partner").order_by("-amount", "partner__code")
        ),
        Prefetch(
            "outputs",
            ProjectOutput.objects.select_related("indicator").order_by(
                "indicator__position", "indicator__code"
            ),
        ),
        Prefetch(
            "milestones", Milestone.objects.select_related("type").order_by("type__position", "type__code")
        ),
        Prefetch("agreement__parties", AgreementParty.objects.select_related("organisation").order_by("id")),
    )


def chunked(projects: QuerySet[Project], chunk_size: int = CHUNK_SIZE) -> Iterator[Project]:
    """The projects a chunk at a time. Each one is released once the caller has asked for the next:
    prefetching leaves reference cycles (a commune row points back at its project, an agreement
    party at its agreement) that only the garbage collector would free, so that memory would grow
    chunk after chunk until a collection; breaking them frees each chunk as soon as it is written."""
    previous = None
    for project in projects.iterator(chunk_size=chunk_size):
        if previous is not None:
            release(previous)
        yield project
        previous = project
    if previous is not None:
        release(previous)


def release(project: Project) -> None:
    """Drop a project's prefetched rows (and its agreement's), which point back at it."""
    project.__dict__.pop("_prefetched_objects_cache", None)
    agreement = project._state.fields_cache.get("agreement")
    if agreement is not None:
        agreement.__dict__.pop("_prefetched_objects_cache", None)


def region_names() -> dict[str, tuple[str, str]]:
    """Names (French, Arabic) of the regions by HCP code: one query for a whole export."""
    return {
        code: (name_fr, name_ar)
        for code, name_fr, name_ar in Territory.objects.filter(level=Level.REGION).values_list(
            "code", "name_fr", "name_ar"
        )
    }


class ProjectUrls:
    """Absolute URLs of project pages (French pages), reversed once per export."""

    def __init__(self, base_url: str = ""):
        self.base_url = base_url.rstrip("/")
        try:
            with translation.override("fr"):
                self._template = reverse("registry:project", kwargs={"public_id": _ID_PLACEHOLDER})
        except NoReverseMatch:
            self._template = ""

    def __call__(self, public_id: str) -> str:
        if not self.base_url or not self._template:
            return ""
        return self.base_url + self._template.replace(_ID_PLACEHOLDER, public_id)


def as_date_time(value: Any) -> str | None:
    """An OC4IDS date-time: a date at midnight UTC, a datetime in UTC with a Z."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None).isoformat() + "Z"
    return f"{value.isoformat()}T00:00:00Z"
