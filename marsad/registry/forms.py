"""Forms of the registry pages.

The project form turns what a person types into the same record the exchange API receives and
hands it to the services: values are passed on as typed (amounts, dates, codes), so that one set of
rules checks every channel. The rules' issues come back next to the fields their JSON pointers name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from django import forms
from django.utils.translation import gettext_lazy as _

from marsad.accounts.choices import OrganisationKind
from marsad.accounts.models import Organisation
from marsad.territories.choices import Level
from marsad.territories.models import Territory

from . import selectors
from .models import Programme
from .rules import Issue

# Empty rows offered below the existing ones, and the most rows a form may send.
FINANCING_EXTRA = 3
OUTPUT_EXTRA = 2
MILESTONE_EXTRA = 3
MAX_ROWS = 40

DATE_WIDGET = {"type": "date", "dir": "ltr"}
NUMBER_WIDGET = {"inputmode": "decimal", "dir": "ltr", "class": "num-input"}
CODE_WIDGET = {"dir": "ltr", "spellcheck": "false", "autocomplete": "off"}


def _named_choices(objects: Iterable, language: str, *, blank: str | None = None) -> list[tuple[str, str]]:
    choices = [("", blank)] if blank is not None else []
    return choices + [(obj.code, f"{obj.name(language)} ({obj.code})") for obj in objects]


# --- The project list's filters --------------------------------------------------------------------------


class ProjectFilterForm(forms.Form):
    """The filters of the project list (GET): the same semantics as ``selectors.ProjectFilters``."""

    q = forms.CharField(label=_("Recherche"), required=False, max_length=200)
    region = forms.ChoiceField(label=_("Région"), required=False)
    province = forms.ChoiceField(label=_("Province ou préfecture"), required=False)
    commune = forms.CharField(
        label=_("Commune (code HCP)"),
        required=False,
        max_length=16,
        widget=forms.TextInput(attrs={**CODE_WIDGET, "placeholder": "06.141.01.0"}),
    )
    programme = forms.ChoiceField(label=_("Programme"), required=False)
    operator = forms.ChoiceField(label=_("Opérateur"), required=False)
    status = forms.ChoiceField(label=_("Statut"), required=False)

    def __init__(self, *args, language: str, **kwargs):
        super().__init__(*args, **kwargs)
        every = _("Toutes")
        regions = list(Territory.objects.filter(level=Level.REGION).order_by("code"))
        provinces = list(Territory.objects.filter(level=Level.PROVINCE).order_by("code"))
        region_names = {r.code: r.name(language) for r in regions}
        grouped: dict[str, list[tuple[str, str]]] = {}
        for province in provinces:
            grouped.setdefault(province.region_code, []).append((province.code, province.name(language)))
        self.fields["region"].choices = [("", every), *((r.code, region_names[r.code]) for r in regions)]
        self.fields["province"].choices = [
            ("", every),
            *((region_names.get(code, code), items) for code, items in grouped.items()),
        ]
        self.fields["programme"].choices = _named_choices(
            Programme.objects.order_by("position", "code"), language, blank=_("Tous")
        )
        self.fields["status"].choices = _named_choices(selectors.statuses(), language, blank=_("Tous"))
        operators = Organisation.objects.filter(kind=OrganisationKind.OPERATOR).order_by("code")
        self.fields["operator"].choices = [("", _("Tous"))] + [(o.code, o.name(language)) for o in operators]

    def filters(self) -> dict[str, str]:
        return {name: (self.cleaned_data.get(name) or "").strip() for name in self.fields}


# --- Entering a project ----------------------------------------------------------------------------------


class ProjectForm(forms.Form):
    operator = forms.ChoiceField(label=_("Opérateur"))
    operator_ref = forms.CharField(
        label=_("Référence de l'opérateur"),
        max_length=64,
        help_text=_("La référence du projet dans le système de l'opérateur ; elle ne change plus ensuite."),
        widget=forms.TextInput(attrs=CODE_WIDGET),
    )
    title_fr = forms.CharField(label=_("Intitulé (français)"), required=False, max_length=300)
    title_ar = forms.CharField(
        label=_("Intitulé (arabe)"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"dir": "rtl", "lang": "ar"}),
    )
    description_fr = forms.CharField(
        label=_("Description (français)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    description_ar = forms.CharField(
        label=_("Description (arabe)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "rtl", "lang": "ar"}),
    )
    programme = forms.ChoiceField(label=_("Programme"))
    status = forms.ChoiceField(label=_("Statut"))
    agreement = forms.CharField(
        label=_("Convention (référence)"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs=CODE_WIDGET),
    )
    commune = forms.CharField(
        label=_("Commune principale (code HCP)"),
        max_length=16,
        widget=forms.TextInput(attrs={**CODE_WIDGET, "placeholder": "12.391.01.01"}),
    )
    commune_share = forms.CharField(
        label=_("Part de la commune principale (%)"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs=NUMBER_WIDGET),
    )
    other_communes = forms.CharField(
        label=_("Autres communes (codes HCP)"),
        required=False,
        max_length=1000,
        help_text=_(
            "Séparés par des espaces ; une part en % après deux-points si les parts sont données "
            "(par exemple 12.391.01.05:40)."
        ),
        widget=forms.TextInput(attrs=CODE_WIDGET),
    )
    latitude = forms.CharField(
        label=_("Latitude"), required=False, max_length=20, widget=forms.TextInput(attrs=NUMBER_WIDGET)
    )
    longitude = forms.CharField(
        label=_("Longitude"), required=False, max_length=20, widget=forms.TextInput(attrs=NUMBER_WIDGET)
    )
    area_ha = forms.CharField(
        label=_("Superficie (ha)"), required=False, max_length=30, widget=forms.TextInput(attrs=NUMBER_WIDGET)
    )
    planned_start = forms.CharField(
        label=_("Début prévu"), required=False, max_length=30, widget=forms.DateInput(attrs=DATE_WIDGET)
    )
    planned_end = forms.CharField(
        label=_("Fin prévue"), required=False, max_length=30, widget=forms.DateInput(attrs=DATE_WIDGET)
    )
    actual_start = forms.CharField(
        label=_("Début effectif"), required=False, max_length=30, widget=forms.DateInput(attrs=DATE_WIDGET)
    )
    actual_end = forms.CharField(
        label=_("Fin effective"), required=False, max_length=30, widget=forms.DateInput(attrs=DATE_WIDGET)
    )
    budget = forms.CharField(
        label=_("Budget (MAD)"), max_length=30, widget=forms.TextInput(attrs=NUMBER_WIDGET)
    )
    as_of = forms.CharField(
        label=_("Situation au"), required=False, max_length=30, widget=forms.DateInput(attrs=DATE_WIDGET)
    )
    progress = forms.CharField(
        label=_("Avancement physique (%)"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs=NUMBER_WIDGET),
    )
    committed = forms.CharField(
        label=_("Engagé (MAD)"), required=False, max_length=30, widget=forms.TextInput(attrs=NUMBER_WIDGET)
    )
    paid = forms.CharField(
        label=_("Payé (MAD)"), required=False, max_length=30, widget=forms.TextInput(attrs=NUMBER_WIDGET)
    )
    base_version = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args, operators: Sequence[Organisation], language: str, editing: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["operator"].choices = [("", "—")] + [(o.code, o.name(language)) for o in operators]
        self.fields["programme"].choices = _named_choices(
            Programme.objects.order_by("position", "code"), language, blank="—"
        )
        self.fields["status"].choices = _named_choices(selectors.statuses(), language, blank="—")
        if editing:
            # The operator and its reference identify the project: they are shown, not edited.
            for name in ("operator", "operator_ref"):
                self.fields[name].disabled = True
                self.fields[name].required = False


class FinancingRow(forms.Form):
    partner = forms.ChoiceField(label=_("Partenaire"), required=False)
    amount = forms.CharField(
        label=_("Montant (MAD)"), required=False, max_length=30, widget=forms.TextInput(attrs=NUMBER_WIDGET)
    )

    def __init__(self, *args, choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].choices = choices

    def clean(self):
        data = super().clean()
        if data.get("amount", "").strip() and not data.get("partner"):
            self.add_error("partner", _("Choisissez le partenaire de ce montant."))
        return data


class OutputRow(forms.Form):
    indicator = forms.ChoiceField(label=_("Indicateur"), required=False)
    target = forms.CharField(
        label=_("Cible"), required=False, max_length=30, widget=forms.TextInput(attrs=NUMBER_WIDGET)
    )
    achieved = forms.CharField(
        label=_("Réalisé"), required=False, max_length=30, widget=forms.TextInput(attrs=NUMBER_WIDGET)
    )

    def __init__(self, *args, choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["indicator"].choices = choices

    def clean(self):
        data = super().clean()
        if (data.get("target", "").strip() or data.get("achieved", "").strip()) and not data.get("indicator"):
            self.add_error("indicator", _("Choisissez l'indicateur de ces valeurs."))
        return data


class MilestoneRow(forms.Form):
    type = forms.ChoiceField(label=_("Jalon"), required=False)
    planned = forms.CharField(
        label=_("Date prévue"), required=False, max_length=30, widget=forms.DateInput(attrs=DATE_WIDGET)
    )
    forecast = forms.CharField(
        label=_("Date prévisionnelle"),
        required=False,
        max_length=30,
        widget=forms.DateInput(attrs=DATE_WIDGET),
    )
    actual = forms.CharField(
        label=_("Date effective"), required=False, max_length=30, widget=forms.DateInput(attrs=DATE_WIDGET)
    )

    def __init__(self, *args, choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = choices

    def clean(self):
        data = super().clean()
        dated = any(data.get(name, "").strip() for name in ("planned", "forecast", "actual"))
        if dated and not data.get("type"):
            self.add_error("type", _("Choisissez le jalon de ces dates."))
        return data


class RowFormSet(forms.BaseFormSet):
    key: str = ""

    def clean(self):
        seen: set[str] = set()
        for form in self.forms:
            code = getattr(form, "cleaned_data", {}).get(self.key)
            if not code:
                continue
            if code in seen:
                form.add_error(self.key, _("Cette ligne répète une ligne précédente."))
            seen.add(code)

    def row_for(self, code: str) -> forms.Form | None:
        for form in self.forms:
            if getattr(form, "cleaned_data", {}).get(self.key) == code:
                return form
        return None


class FinancingFormSet(RowFormSet):
    key = "partner"


class OutputFormSet(RowFormSet):
    key = "indicator"


class MilestoneFormSet(RowFormSet):
    key = "type"


def _formset(base, row, *, extra: int):
    return forms.formset_factory(
        row, formset=base, extra=extra, max_num=MAX_ROWS, absolute_max=MAX_ROWS, validate_max=True
    )


def _value(value) -> str | None:
    """A typed value as the record carries it: stripped text, None when empty."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _text(value) -> str:
    """Free text from a browser (which sends CR LF line ends) as the record stores it."""
    return (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()


COMMUNE_SEPARATORS = re.compile(r"[\s,;]+")

# Where a record field is entered when it is not a field of the same name.
POINTER_FIELDS = {"location": "latitude", "description": "description_fr", "title": "title_fr"}


class ProjectEntry:
    """The project form and its three sets of rows (financing, outputs, milestones), together."""

    def __init__(
        self,
        data=None,
        *,
        operators: Sequence[Organisation],
        language: str,
        record: dict | None = None,
        base_version: int | None = None,
        editing: bool = False,
    ):
        self.editing = editing
        self.language = language
        # Issues about a section as a whole (the financing plan against the budget...).
        self.section_errors: dict[str, list[str]] = {}
        initial, financing, outputs, milestones = _initial(record) if record else ({}, [], [], [])
        if base_version is not None:
            initial["base_version"] = base_version
        self.form = ProjectForm(
            data, initial=initial, operators=operators, language=language, editing=editing
        )
        partners = [("", "—")] + [
            (o.code, f"{o.name(language)} ({o.code})") for o in Organisation.objects.order_by("code")
        ]
        indicators = _named_choices(selectors.indicators(reported=True), language, blank="—")
        types = _named_choices(selectors.milestone_types(), language, blank="—")
        self.financing = _formset(FinancingFormSet, FinancingRow, extra=FINANCING_EXTRA)(
            data, initial=financing, prefix="financing", form_kwargs={"choices": partners}
        )
        self.outputs = _formset(OutputFormSet, OutputRow, extra=OUTPUT_EXTRA)(
            data, initial=outputs, prefix="outputs", form_kwargs={"choices": indicators}
        )
        self.milestones = _formset(MilestoneFormSet, MilestoneRow, extra=MILESTONE_EXTRA)(
            data, initial=milestones, prefix="milestones", form_kwargs={"choices": types}
        )

    @property
    def formsets(self):
        return (self.financing, self.outputs, self.milestones)

    def is_valid(self) -> bool:
        return all([self.form.is_valid(), *(formset.is_valid() for formset in self.formsets)])

    @property
    def base_version(self) -> int | None:
        return self.form.cleaned_data.get("base_version")

    def record(self) -> dict:
        """The record the form describes, in the shape the exchange API receives."""
        data = self.form.cleaned_data
        communes: dict[str, dict] = {}
        primary = _value(data.get("commune"))
        if primary:
            communes[primary] = {"primary": True, "share": _value(data.get("commune_share"))}
        for entry in COMMUNE_SEPARATORS.split(data.get("other_communes") or ""):
            if not entry:
                continue
            code, _sep, share = entry.partition(":")
            if code and code not in communes:
                communes[code] = {"primary": False, "share": _value(share)}
        latitude, longitude = _value(data.get("latitude")), _value(data.get("longitude"))
        record = {
            "operator": data.get("operator"),
            "operator_ref": _value(data.get("operator_ref")),
            "title": {"fr": _text(data.get("title_fr")), "ar": _text(data.get("title_ar"))},
            "description": {"fr": _text(data.get("description_fr")), "ar": _text(data.get("description_ar"))},
            "programme": data.get("programme"),
            "status": data.get("status"),
            "agreement": _value(data.get("agreement")),
            "communes": communes,
            "location": None if latitude is None and longitude is None else _location(latitude, longitude),
            "area_ha": _value(data.get("area_ha")),
            "budget": _value(data.get("budget")),
            "financing": {
                row["partner"]: _value(row.get("amount"))
                for row in self.financing.cleaned_data
                if row.get("partner")
            },
            "outputs": {
                row["indicator"]: {
                    "target": _value(row.get("target")),
                    "achieved": _value(row.get("achieved")),
                }
                for row in self.outputs.cleaned_data
                if row.get("indicator")
            },
            "milestones": {
                row["type"]: {name: _value(row.get(name)) for name in ("planned", "forecast", "actual")}
                for row in self.milestones.cleaned_data
                if row.get("type")
            },
        }
        for name in ("planned_start", "planned_end", "actual_start", "actual_end", "as_of"):
            record[name] = _value(data.get(name))
        for name in ("progress", "committed", "paid"):
            record[name] = _value(data.get(name))
        return record

    def attach(self, issues: Iterable[Issue]) -> None:
        """Show each issue, in the page's language, next to the field its pointer names."""
        for found in issues:
            message = found.message(self.language)
            if not found.is_error:
                message = _("Avertissement : %(message)s") % {"message": message}
            self._attach(found, message)

    def _attach(self, found: Issue, message: str) -> None:
        tokens = [_unescape(token) for token in found.pointer.split("/")[1:]]
        head = tokens[0] if tokens else ""
        form = self.form
        if found.code == "version_conflict" and not self.editing:
            form.add_error("operator_ref", _("Un projet de cet opérateur porte déjà cette référence."))
            return
        if head in ("title", "description") and len(tokens) > 1 and tokens[1] in ("fr", "ar"):
            form.add_error(f"{head}_{tokens[1]}", message)
        elif head == "communes":
            primary = _value(form.cleaned_data.get("commune")) if hasattr(form, "cleaned_data") else None
            other = len(tokens) > 1 and tokens[1] != primary
            form.add_error("other_communes" if other else "commune", message)
        elif head == "location":
            form.add_error("longitude" if tokens[1:2] == ["lon"] else "latitude", message)
        elif head in ("financing", "outputs", "milestones"):
            formset = getattr(self, head)
            row = formset.row_for(tokens[1]) if len(tokens) > 1 else None
            if row is None:
                self.section_errors.setdefault(head, []).append(message)
                return
            field = tokens[2] if len(tokens) > 2 and tokens[2] in row.fields else None
            if field is None:
                field = "amount" if head == "financing" else formset.key
            row.add_error(field, message)
        elif head in POINTER_FIELDS:
            form.add_error(POINTER_FIELDS[head], message)
        elif head in form.fields and head != "base_version":
            form.add_error(head, message)
        else:
            form.add_error(None, message)


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _location(latitude: str | None, longitude: str | None) -> dict:
    location = {}
    if latitude is not None:
        location["lat"] = latitude
    if longitude is not None:
        location["lon"] = longitude
    return location


def _initial(record: dict) -> tuple[dict, list[dict], list[dict], list[dict]]:
    """A stored record as the form's initial values."""
    communes = record.get("communes") or {}
    primary = next((code for code, entry in communes.items() if entry.get("primary")), "")
    others = [
        f"{code}:{entry['share']}" if entry.get("share") else code
        for code, entry in sorted(communes.items())
        if code != primary
    ]
    location = record.get("location") or {}
    title = record.get("title") or {}
    description = record.get("description") or {}
    initial = {
        "operator": record.get("operator"),
        "operator_ref": record.get("operator_ref"),
        "title_fr": title.get("fr", ""),
        "title_ar": title.get("ar", ""),
        "description_fr": description.get("fr", ""),
        "description_ar": description.get("ar", ""),
        "programme": record.get("programme"),
        "status": record.get("status"),
        "agreement": record.get("agreement") or "",
        "commune": primary,
        "commune_share": (communes.get(primary) or {}).get("share") or "",
        "other_communes": " ".join(others),
        "latitude": location.get("lat") or "",
        "longitude": location.get("lon") or "",
    }
    for name in (
        "area_ha",
        "planned_start",
        "planned_end",
        "actual_start",
        "actual_end",
        "budget",
        "as_of",
        "progress",
        "committed",
        "paid",
    ):
        initial[name] = record.get(name) or ""
    financing = [
        {"partner": partner, "amount": amount} for partner, amount in (record.get("financing") or {}).items()
    ]
    outputs = [
        {"indicator": code, "target": values.get("target") or "", "achieved": values.get("achieved") or ""}
        for code, values in (record.get("outputs") or {}).items()
    ]
    milestones = [
        {"type": code, **{name: dates.get(name) or "" for name in ("planned", "forecast", "actual")}}
        for code, dates in (record.get("milestones") or {}).items()
    ]
    return initial, financing, outputs, milestones


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif du retrait"),
        max_length=300,
        help_text=_("Par exemple : saisie en double, projet saisi par erreur."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class OrganisationFilterForm(forms.Form):
    q = forms.CharField(label=_("Recherche"), required=False, max_length=200)
    kind = forms.ChoiceField(
        label=_("Type"), required=False, choices=[("", _("Tous")), *OrganisationKind.choices]
    )


class AgreementFilterForm(forms.Form):
    q = forms.CharField(label=_("Recherche"), required=False, max_length=200)
