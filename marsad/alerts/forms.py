"""Forms of the alerts inbox: its filters (GET) and the acknowledgement (POST)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from marsad.accounts.choices import OrganisationKind
from marsad.accounts.models import Organisation
from marsad.registry.models import Programme
from marsad.territories.choices import Level
from marsad.territories.models import Territory

from .choices import RuleCode, Severity, State
from .services import MAX_COMMENT

ALL = "all"
COMMENT_REQUIRED = _("Le commentaire est obligatoire : dites ce qui est fait au sujet de l'alerte.")


class AlertFilterForm(forms.Form):
    """The inbox's filters: the same semantics as ``selectors.AlertFilters`` (open alerts by default)."""

    state = forms.ChoiceField(label=_("État"), required=False)
    severity = forms.ChoiceField(label=_("Gravité"), required=False)
    rule = forms.ChoiceField(label=_("Règle"), required=False)
    region = forms.ChoiceField(label=_("Région"), required=False)
    province = forms.ChoiceField(label=_("Province ou préfecture"), required=False)
    programme = forms.ChoiceField(label=_("Programme"), required=False)
    operator = forms.ChoiceField(label=_("Opérateur"), required=False)

    def __init__(self, *args, language: str, **kwargs):
        super().__init__(*args, **kwargs)
        every, all_masculine = _("Toutes"), _("Tous")
        self.fields["state"].choices = [
            ("", State.OPEN.label),
            (State.CLOSED, State.CLOSED.label),
            (ALL, every),
        ]
        self.fields["severity"].choices = [("", every), *Severity.choices]
        self.fields["rule"].choices = [("", every), *RuleCode.choices]
        regions = list(Territory.objects.filter(level=Level.REGION).order_by("code"))
        names = {region.code: region.name(language) for region in regions}
        grouped: dict[str, list[tuple[str, str]]] = {}
        for province in Territory.objects.filter(level=Level.PROVINCE).order_by("code"):
            grouped.setdefault(province.region_code, []).append((province.code, province.name(language)))
        self.fields["region"].choices = [("", every), *((code, name) for code, name in names.items())]
        self.fields["province"].choices = [
            ("", every),
            *((names.get(code, code), items) for code, items in grouped.items()),
        ]
        self.fields["programme"].choices = [("", all_masculine)] + [
            (p.code, f"{p.name(language)} ({p.code})") for p in Programme.objects.order_by("position", "code")
        ]
        operators = Organisation.objects.filter(kind=OrganisationKind.OPERATOR).order_by("code")
        self.fields["operator"].choices = [("", all_masculine)] + [
            (o.code, o.name(language)) for o in operators
        ]

    def filters(self) -> dict[str, str]:
        values = {name: (self.cleaned_data.get(name) or "").strip() for name in self.fields}
        state = values.pop("state")
        values["state"] = "" if state == ALL else state or State.OPEN
        return values


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(
        label=_("Commentaire"),
        max_length=MAX_COMMENT,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Ce qui est fait au sujet de l'alerte (obligatoire)."),
        error_messages={"required": COMMENT_REQUIRED},
    )
