"""The alerts inbox (DESIGN §9): the alerts of the signed-in user's scope, filtered, and their
acknowledgement. Signed-in users only: a visitor is sent to the login page (alerts are steering
information, not open data; see ``alerts.selectors`` for who reads which)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from marsad.core.formatting import page_language
from marsad.territories.models import Territory

from . import selectors, services, texts
from .choices import RuleCode, Severity, State
from .forms import COMMENT_REQUIRED, AcknowledgeForm, AlertFilterForm
from .models import Alert

PAGE_SIZE = 50
MAX_ALERT_ID = 2**63 - 1
SEVERITY_BADGES = {Severity.HIGH: "badge-withdrawn", Severity.MEDIUM: "badge-late", Severity.LOW: ""}


def _rows(request, alerts: list[Alert], language: str) -> list[dict]:
    """What each row of the table shows, in the page's language (two queries for the page)."""
    codes = {code for alert in alerts for code in (alert.region_code, alert.province_code)}
    names = {t.code: t.name(language) for t in Territory.objects.filter(code__in=codes)}
    allowed = selectors.acknowledgeable(request.user, alerts)
    return [
        {
            "alert": alert,
            "severity": Severity(alert.severity).label,
            "badge": SEVERITY_BADGES.get(alert.severity, ""),
            "rule": RuleCode(alert.rule).label,
            "project": alert.project,
            "title": alert.project.title(language),
            "province": names.get(alert.province_code, alert.province_code),
            "region": names.get(alert.region_code, alert.region_code),
            "summary": texts.summary(alert.rule, alert.evidence),
            "opened_on": timezone.localdate(alert.opened_at),
            "acknowledged_on": timezone.localdate(alert.acknowledged_at) if alert.acknowledged_at else None,
            "open": alert.state == State.OPEN,
            "may_acknowledge": alert.pk in allowed,
        }
        for alert in alerts
    ]


@require_GET
def alert_list(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    language = page_language()
    form = AlertFilterForm(request.GET, language=language)
    status = 200
    if form.is_valid():
        alerts = selectors.alert_list(request.user, selectors.AlertFilters(**form.filters()))
    else:
        alerts = Alert.objects.none()
        status = 400
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.alert_counts(request.user)
    context = {
        "form": form,
        "page": page,
        "rows": _rows(request, list(page.object_list), language),
        "counts": [
            {
                "severity": severity,
                "label": label,
                "count": counts[severity],
                "badge": SEVERITY_BADGES[severity],
            }
            for severity, label in Severity.choices
        ],
        "filtered": any(value for name, value in request.GET.items() if name != "page"),
    }
    template = "alerts/alert_list.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#results"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _next_url(request) -> str:
    wanted = request.POST.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("alerts:list")


@require_POST
def alert_acknowledge(request, alert_id: int):
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("alerts:list"))
    if alert_id > MAX_ALERT_ID:  # beyond what the database stores: names nothing
        raise Http404(str(alert_id))
    try:
        alert = selectors.alert_get(request.user, alert_id)
    except Alert.DoesNotExist:
        raise Http404(str(alert_id)) from None
    if not selectors.may_acknowledge(request.user, alert):
        raise PermissionDenied
    form = AcknowledgeForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.alert_acknowledge(alert=alert, actor=request.user, comment=form.cleaned_data["comment"])
        except services.AlertClosed:
            form.add_error(None, _("Cette alerte est close : elle ne se prend plus en compte."))
            status = 409
        except services.CommentInvalid:
            form.add_error("comment", COMMENT_REQUIRED)
        else:
            messages.success(request, _("Alerte prise en compte."))
            return redirect(_next_url(request))
    language = page_language()
    context = {"form": form, "row": _rows(request, [alert], language)[0], "next": _next_url(request)}
    return render(request, "alerts/acknowledge.html", context, status=status)
