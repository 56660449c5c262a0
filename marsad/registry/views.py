"""Pages of the registry: projects, agreements and organisations. Views stay thin: reads go through
the selectors (which apply the reader's scope), writes through the services (which check the
rules and write versions and audit events), permissions through the reader's ``Scope``."""

from __future__ import annotations

import json
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from marsad.accounts import selectors as accounts_selectors
from marsad.accounts.choices import OrganisationKind
from marsad.accounts.models import Organisation
from marsad.accounts.scoping import Scope, principal_scope
from marsad.core import formatting

from . import panels, selectors, services
from .choices import IndicatorUnit, Outcome
from .forms import AgreementFilterForm, OrganisationFilterForm, ProjectEntry, ProjectFilterForm, WithdrawForm
from .models import Agreement, Financing, Project

PAGE_SIZE = 50
HUNDRED = Decimal(100)


_language = formatting.page_language


def _project_or_404(request, public_id: str) -> Project:
    try:
        return selectors.project_get(request.user, public_id)
    except Project.DoesNotExist:
        raise Http404(public_id) from None


def _ratio(part, whole) -> Decimal | None:
    if part is None or not whole:
        return None
    return Decimal(part) * HUNDRED / Decimal(whole)


def _quantity(value) -> str:
    """A measure with decimals only when it has some: 275 ha, 12,5 ha."""
    if value is None:
        return "—"
    value = Decimal(value)
    return formatting.format_number(value, _language(), 0 if value == value.to_integral_value() else 2)


def _label_projects(projects, language: str) -> list[Project]:
    """Names in the page's language, set on each project for its row."""
    rows = list(projects)
    for project in rows:
        project.label = project.title(language)
        project.programme_name = project.programme.name(language)
        project.status_name = project.status.name(language)
        project.operator_name = project.operator.name(language)
        project.commune_name = project.primary_commune.name(language)
    return rows


def _write_scope(request) -> Scope | None:
    """The scope of a signed-in user; None for a visitor, who is sent to the login page."""
    if not request.user.is_authenticated:
        return None
    return principal_scope(request.user)


# --- Projects -----------------------------------------------------------------------------------------------


@require_GET
def project_list(request):
    language = _language()
    form = ProjectFilterForm(request.GET, language=language)
    status = 200
    if form.is_valid():
        projects = selectors.project_list(request.user, selectors.ProjectFilters(**form.filters()))
    else:
        projects = Project.objects.none()
        status = 400
    page = Paginator(projects, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "projects": _label_projects(page.object_list, language),
        "may_create": request.user.is_authenticated and principal_scope(request.user).may_create(),
        "filtered": any(form.cleaned_data.values()) if form.is_valid() else True,
    }
    template = "registry/project_list.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#results"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _late(milestone) -> bool:
    """Done, or expected, after the planned date."""
    latest = milestone.actual or milestone.forecast
    return bool(milestone.planned and latest and latest > milestone.planned)


def _version_rows(history, language: str) -> list[dict]:
    rows = []
    for view in history:
        version = view.version
        rows.append(
            {
                "number": version.number,
                "received_at": version.received_at,
                "source": version.get_source_kind_display(),
                "source_id": version.source_id,
                "actor": version.actor_label,
                "sha256": version.sha256,
                "is_tombstone": version.is_tombstone,
                "changes": [
                    {"pointer": c["pointer"], "before": _shown(c["before"]), "after": _shown(c["after"])}
                    for c in view.changes
                ],
                "warnings": [_warning_message(w, language) for w in version.warnings],
            }
        )
    return rows


def _shown(value) -> str | None:
    """A value of a stored document as JSON writes it (true, false, {}); None stays None."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _warning_message(warning: dict, language: str) -> str:
    return warning.get(f"message_{language}") or warning.get("message_fr") or warning.get("code", "")


@require_GET
def project_detail(request, public_id: str):
    project = _project_or_404(request, public_id)
    language = _language()
    scope = principal_scope(request.user)
    history = selectors.version_history(project)
    versions = _version_rows(history, language)
    financing = [
        {
            "partner": line.partner,
            "name": line.partner.name(language),
            "amount": line.amount,
            "share": _ratio(line.amount, project.budget),
        }
        for line in project.financing.all()
    ]
    financing_total = sum((line["amount"] for line in financing), Decimal(0))
    outputs = [
        {
            "code": output.indicator_id,
            "name": output.indicator.name(language),
            "unit": IndicatorUnit(output.indicator.unit).label
            if output.indicator.unit in IndicatorUnit.values
            else output.indicator.unit,
            "target": _quantity(output.target),
            "achieved": _quantity(output.achieved),
            "rate": _ratio(output.achieved, output.target),
        }
        for output in project.outputs.all()
    ]
    milestones = [
        {
            "name": milestone.type.name(language),
            "code": milestone.type_id,
            "planned": milestone.planned,
            "forecast": milestone.forecast,
            "actual": milestone.actual,
            "late": _late(milestone),
        }
        for milestone in project.milestones.all()
    ]
    communes = [
        {
            "code": link.territory.code,
            "name": link.territory.name(language),
            "primary": link.is_primary,
            "share": link.share,
        }
        for link in project.communes.all()
    ]
    slip = None
    if (
        project.planned_end
        and project.initial_planned_end
        and project.planned_end != project.initial_planned_end
    ):
        slip = (project.planned_end - project.initial_planned_end).days
    may_write = scope.may_write_for(project.operator_id) and not project.withdrawn
    context = {
        "project": project,
        "title": project.title(language),
        "other_title": project.title_fr if language == "ar" else project.title_ar,
        "description": (project.description_ar or project.description_fr)
        if language == "ar"
        else (project.description_fr or project.description_ar),
        "programme_name": project.programme.name(language),
        "status_name": project.status.name(language),
        "operator_name": project.operator.name(language),
        "agreement_title": project.agreement.title(language) if project.agreement else "",
        "communes": communes,
        "location": None
        if project.latitude is None
        else f"{project.latitude.normalize():f}, {project.longitude.normalize():f}",
        "area": _quantity(project.area_ha) if project.area_ha is not None else None,
        "slip_days": slip,
        "financing": financing,
        "financing_total": financing_total,
        "financing_gap": financing_total - project.budget if financing else None,
        "committed_rate": _ratio(project.committed, project.budget),
        "paid_rate": _ratio(project.paid, project.budget),
        "outputs": outputs,
        "milestones": milestones,
        "warnings": versions[0]["warnings"] if versions else [],
        "versions": versions,
        "show_publication": not scope.is_public,
        # Who wrote a version is not shown to the public (no personal data in the public view).
        "show_provenance": not scope.is_public,
        "may_edit": may_write,
        "may_withdraw": may_write,
        "may_publish": scope.may_publish_for(project.operator_id) and not project.withdrawn,
        # What the apps above the registry add (the indicator engine's schedule and monthly facts).
        "panels": panels.render(panels.PROJECT, request, project),
    }
    return render(request, "registry/project_detail.html", context)


def _writable_project(request, public_id: str, scope: Scope) -> Project:
    """A project the user reads (404 otherwise) and may change (403 otherwise)."""
    project = _project_or_404(request, public_id)
    if not scope.may_write_for(project.operator_id):
        raise PermissionDenied
    return project


def _operators_for(scope: Scope) -> list[Organisation]:
    """The organisations the user may enter projects for."""
    if scope.is_administrator:
        return list(Organisation.objects.filter(kind=OrganisationKind.OPERATOR).order_by("code"))
    return list(Organisation.objects.filter(id__in=scope.operator_ids).order_by("code"))


def _saved_message(request, result) -> None:
    language = _language()
    if result.outcome == Outcome.UNCHANGED:
        messages.info(
            request,
            _("Aucun changement : la version %(number)s est identique.") % {"number": result.version},
        )
    elif result.outcome == Outcome.WITHDRAWN:
        messages.success(
            request, _("Projet retiré : version %(number)s enregistrée.") % {"number": result.version}
        )
    else:
        messages.success(request, _("Version %(number)s enregistrée.") % {"number": result.version})
    for warning in result.warnings:
        messages.warning(request, warning.message(language))


@require_http_methods(["GET", "POST"])
def project_create(request):
    scope = _write_scope(request)
    if scope is None:
        return redirect_to_login(request.get_full_path())
    if not scope.may_create():
        raise PermissionDenied
    language = _language()
    operators = _operators_for(scope)
    status = 200
    if request.method == "POST":
        entry = ProjectEntry(request.POST, operators=operators, language=language)
        status = 400
        if entry.is_valid():
            result = services.project_create(actor=request.user, record=entry.record())
            if result.outcome != Outcome.REJECTED:
                _saved_message(request, result)
                return redirect("registry:project", public_id=result.public_id)
            entry.attach(result.issues)
    else:
        initial = {"operator": operators[0].code} if len(operators) == 1 else {}
        entry = ProjectEntry(operators=operators, language=language, record=initial or None)
    context = {"entry": entry, "project": None, "title": _("Nouveau projet")}
    return render(request, "registry/project_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
def project_edit(request, public_id: str):
    scope = _write_scope(request)
    if scope is None:
        return redirect_to_login(request.get_full_path())
    project = _writable_project(request, public_id, scope)
    if project.withdrawn:
        messages.error(request, _("Ce projet a été retiré ; il ne peut plus être modifié."))
        return redirect("registry:project", public_id=project.public_id)
    language = _language()
    operators = [project.operator]
    status = 200
    if request.method == "POST":
        entry = ProjectEntry(request.POST, operators=operators, language=language, editing=True)
        status = 400
        if entry.is_valid():
            base = entry.base_version
            result = services.project_update(
                actor=request.user,
                project=project,
                record=entry.record(),
                base_version=project.version if base is None else base,
            )
            if result.outcome != Outcome.REJECTED:
                _saved_message(request, result)
                return redirect("registry:project", public_id=project.public_id)
            entry.attach(result.issues)
    else:
        entry = ProjectEntry(
            operators=operators,
            language=language,
            record=services.project_record(project),
            base_version=project.version,
            editing=True,
        )
    context = {"entry": entry, "project": project, "title": project.title(language)}
    return render(request, "registry/project_form.html", context, status=status)


@require_POST
def project_publish(request, public_id: str):
    scope = _write_scope(request)
    if scope is None:
        return redirect_to_login(reverse("registry:project", args=[public_id]))
    project = _project_or_404(request, public_id)
    wanted = request.POST.get("published")
    if wanted not in ("0", "1"):
        return HttpResponseBadRequest(_("Valeur de publication invalide."))
    if not scope.may_publish_for(project.operator_id):
        raise PermissionDenied
    if project.withdrawn:
        messages.error(request, _("Ce projet a été retiré ; il ne peut pas être publié."))
        return redirect("registry:project", public_id=project.public_id)
    try:
        services.project_publish(actor=request.user, project=project, published=wanted == "1")
    except services.NotPermitted:
        raise PermissionDenied from None
    if wanted == "1":
        messages.success(request, _("Projet publié : il est visible du public."))
    else:
        messages.success(request, _("Publication retirée : le projet n'est plus visible du public."))
    return redirect("registry:project", public_id=project.public_id)


@require_http_methods(["GET", "POST"])
def project_withdraw(request, public_id: str):
    scope = _write_scope(request)
    if scope is None:
        return redirect_to_login(request.get_full_path())
    project = _writable_project(request, public_id, scope)
    if project.withdrawn:
        messages.error(request, _("Ce projet est déjà retiré."))
        return redirect("registry:project", public_id=project.public_id)
    language = _language()
    status = 200
    form = WithdrawForm(request.POST or None)
    if request.method == "POST":
        status = 400
        if form.is_valid():
            result = services.project_withdraw(
                actor=request.user, project=project, reason=form.cleaned_data["reason"]
            )
            if result.outcome == Outcome.WITHDRAWN:
                _saved_message(request, result)
                return redirect("registry:project", public_id=project.public_id)
            for found in result.issues:
                form.add_error("reason" if found.pointer == "/reason" else None, found.message(language))
    context = {"project": project, "title": project.title(language), "form": form}
    return render(request, "registry/project_withdraw.html", context, status=status)


# --- Agreements ---------------------------------------------------------------------------------------------


def _party_rows(agreement: Agreement, language: str) -> list[dict]:
    return [
        {
            "organisation": party.organisation,
            "name": party.organisation.name(language),
            "role": party.get_role_display(),
            "amount": party.commitment_amount,
            "in_kind": party.commitment_in_kind,
        }
        for party in agreement.parties.all()
    ]


@require_GET
def agreement_list(request):
    language = _language()
    form = AgreementFilterForm(request.GET)
    q = form.cleaned_data["q"] if form.is_valid() else ""
    agreements = selectors.agreement_list(request.user, q=q)
    page = Paginator(agreements, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    counts = dict(
        selectors.visible_projects(request.user)
        .filter(agreement_id__in=[a.pk for a in rows])
        .values("agreement_id")
        .annotate(n=Count("id"))
        .values_list("agreement_id", "n")
        .order_by()
    )
    items = [
        {
            "agreement": agreement,
            "title": agreement.title(language),
            "parties": _party_rows(agreement, language),
            "projects": counts.get(agreement.pk, 0),
        }
        for agreement in rows
    ]
    context = {"form": form, "page": page, "items": items}
    return render(request, "registry/agreement_list.html", context, status=200 if form.is_valid() else 400)


@require_GET
def agreement_detail(request, reference: str):
    try:
        agreement = selectors.agreement_get(request.user, reference)
    except Agreement.DoesNotExist:
        raise Http404(reference) from None
    language = _language()
    parties = _party_rows(agreement, language)
    projects = _label_projects(
        selectors.project_list(request.user, selectors.ProjectFilters(agreement=agreement.reference)),
        language,
    )
    context = {
        "agreement": agreement,
        "title": agreement.title(language),
        "other_title": agreement.title_fr if language == "ar" else agreement.title_ar,
        "parties": parties,
        "committed_total": sum((p["amount"] for p in parties if p["amount"] is not None), Decimal(0)),
        "projects": projects,
        "projects_budget": sum((p.budget for p in projects if not p.withdrawn), Decimal(0)),
    }
    return render(request, "registry/agreement_detail.html", context)


# --- Organisations ------------------------------------------------------------------------------------------


def _family_counts(direct: dict[int, int]) -> dict[int, int]:
    """Counts per organisation including its subsidiaries at any depth (a holding's projects are
    those of its subsidiaries), from the direct counts."""
    parents = dict(Organisation.objects.values_list("id", "parent_id"))
    totals: dict[int, int] = {}
    for organisation_id, count in direct.items():
        seen: set[int] = set()
        current: int | None = organisation_id
        while current is not None and current not in seen:
            seen.add(current)
            totals[current] = totals.get(current, 0) + count
            current = parents.get(current)
    return totals


@require_GET
def organisation_list(request):
    language = _language()
    form = OrganisationFilterForm(request.GET)
    valid = form.is_valid()
    organisations = accounts_selectors.organisation_list(
        kind=form.cleaned_data["kind"] or None if valid else None, q=form.cleaned_data["q"] if valid else ""
    )
    if not valid:
        organisations = organisations.none()
    counts = _family_counts(selectors.project_counts_by(request.user, "operator_id"))
    items = [
        {
            "organisation": organisation,
            "name": organisation.name(language),
            "parent_name": organisation.parent.name(language) if organisation.parent else "",
            "territory_name": organisation.territory.name(language) if organisation.territory else "",
            "projects": counts.get(organisation.pk, 0),
        }
        for organisation in organisations
    ]
    context = {"form": form, "items": items}
    return render(request, "registry/organisation_list.html", context, status=200 if valid else 400)


@require_GET
def organisation_detail(request, code: str):
    try:
        organisation = accounts_selectors.organisation_get(code)
    except Organisation.DoesNotExist:
        raise Http404(code) from None
    language = _language()
    operated = selectors.project_list(
        request.user, selectors.ProjectFilters(operator=organisation.code, withdrawn=False)
    )
    operated_count = operated.count()
    operated_rows = _label_projects(operated[:PAGE_SIZE], language)
    financed = (
        Financing.objects.filter(
            partner=organisation,
            project__in=selectors.visible_projects(request.user),
            project__withdrawn=False,
            project__status__is_cancelled=False,
        )
        .select_related("project", "project__status", "project__programme")
        .order_by("-amount", "project__public_id")
    )
    totals = financed.aggregate(n=Count("id"), amount=Sum("amount"))
    financed_rows = []
    for line in financed[:PAGE_SIZE]:
        financed_rows.append(
            {
                "project": line.project,
                "title": line.project.title(language),
                "status": line.project.status.name(language),
                "programme": line.project.programme.name(language),
                "amount": line.amount,
                "share": _ratio(line.amount, line.project.budget),
            }
        )
    subsidiaries = [
        {"organisation": child, "name": child.name(language)}
        for child in organisation.subsidiaries.order_by("code")
    ]
    context = {
        "organisation": organisation,
        "name": organisation.name(language),
        "other_name": organisation.name_fr if language == "ar" else organisation.name_ar,
        "parent_name": organisation.parent.name(language) if organisation.parent else "",
        "territory_name": organisation.territory.name(language) if organisation.territory else "",
        "subsidiaries": subsidiaries,
        "operated": operated_rows,
        "operated_count": operated_count,
        "financed": financed_rows,
        "financed_count": totals["n"],
        "financed_amount": totals["amount"],
        "page_size": PAGE_SIZE,
        # What the apps above the registry add (an operator's figures, its data quality...).
        "panels": panels.render(panels.ORGANISATION, request, organisation),
    }
    return render(request, "registry/organisation_detail.html", context)
