"""Pages of the exchange: uploading a CSV or XLSX file and reading its report, the file templates,
and the sync-health block of an operator's page. Thin: the pipeline is ``services.upload_process``."""

from __future__ import annotations

import uuid

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from marsad.accounts import selectors as accounts_selectors
from marsad.accounts.models import Organisation
from marsad.accounts.scoping import organisation_family_ids, principal_scope
from marsad.core import formatting

from . import selectors, services, uploads
from .forms import UploadForm

OUTCOMES = ("created", "updated", "unchanged", "withdrawn", "rejected")


_language = formatting.page_language


def _localised(rows: list[dict], language: str) -> list[dict]:
    """Each problem's message in the page's language (the report keeps both)."""
    for row in rows:
        for problem in row["problems"]:
            problem["message"] = problem.get(f"message_{language}") or problem.get("message_fr", "")
    return rows


@require_http_methods(["GET", "POST"])
def upload(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not principal_scope(request.user).may_create():
        raise PermissionDenied
    language = _language()
    context = {"form": UploadForm(), "outcome": None}
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        context["form"] = form
        if form.is_valid():
            file = form.cleaned_data["file"]
            outcome = services.upload_process(
                user=request.user,
                file_name=file.name,
                data=file.read(),
                dry_run=form.cleaned_data["dry_run"],
                request_id=uuid.uuid4().hex,
            )
            if outcome.submission_id:
                return redirect("exchange:submission", outcome.submission_id)
            context["outcome"] = outcome
            context["file_problems"] = _localised([{"problems": outcome.file_problems}], language)[0][
                "problems"
            ]
            context["rows"] = _localised(outcome.rows, language)
            context["counts"] = (outcome.receipt or {}).get("counts")
    return render(request, "exchange/upload.html", context, status=200)


@require_GET
def submission(request, public_id: str):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    found = selectors.submission_get(request.user, public_id)
    if found is None or found.receipt is None:
        raise Http404(public_id)
    language = _language()
    report = found.upload_report or {}
    rows = report.get("rows")
    if rows is None:  # an API submission: one line per record, without spreadsheet rows
        rows = [{**result, "row": None} for result in found.receipt["results"]]
    return render(
        request,
        "exchange/submission.html",
        {
            "submission": found,
            "receipt": found.receipt,
            "counts": found.receipt["counts"],
            "rows": _localised(rows, language),
            "problem_rows": [r for r in rows if r["problems"]],
            "report": report,
        },
    )


@require_GET
def template_file(request, kind: str):
    if kind == "xlsx":
        data = uploads.template_xlsx()
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        data = uploads.template_csv()
        content_type = "text/csv; charset=utf-8"
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="marsad-modele-projets.{kind}"'
    return response


@require_GET
def organisation_health(request, code: str):
    """The sync-health block of an operator's page (loaded by htmx); empty for those who may not see
    the operator's clients."""
    try:
        organisation = accounts_selectors.organisation_get(code)
    except Organisation.DoesNotExist:
        raise Http404(code) from None
    clients = selectors.sync_health(request.user, operators=organisation_family_ids([organisation.pk]))
    return render(request, "exchange/_health.html", {"clients": clients, "organisation": organisation})
