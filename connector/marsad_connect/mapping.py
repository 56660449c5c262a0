"""The declarative mapping from a source row to a Marsad record.

A mapping is YAML, written by the operator once for its information system::

    operator: {column: filiale, codes: {DAKHLA: MA-ALOMRANE-DOE}}   # or a constant: MA-ALOMRANE-DOE
    status: {column: etat, codes: {EC: ENCO, AC: ACHV}}
    communes: {column: commune, codes: {"Dakhla": "12.391.01.01"}}
    programmes: [PU, VSB]                  # optional: programme codes the source may use
    watermark: date_maj                    # the column that says when a row last changed
    withdrawal: {when: {column: supprime, values: [1]}, reason: "Supprimée ({code_operation})"}
    fields:
      operator_ref: code_operation
      title.fr: intitule
      budget: cout_global                  # money: a decimal string with 2 places
      planned_start: {column: date_debut, format: "%d/%m/%Y"}
      description.fr: {template: "Opération {code_operation}"}
      outputs.SUP.target: superficie_ha
      financing.{operator}: {column: part_operateur}

Code tables and lookups match their keys ignoring case, accents and spacing ("Casablanca - Sidi
Moumen" = "casablanca-sidi moumen"). A value missing from a table is a *problem* of that record (it is
kept locally and reported, not sent); it never stops the run. The output has exactly the shape of the
platform's record: every field present, amounts and measures as decimal strings, dates as ISO strings.
"""

from __future__ import annotations

import copy
import re
import string
import unicodedata
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from .validate import CODE, COMMUNE, ORGANISATION, Known, Problem, pointer

SKELETON: dict[str, Any] = {
    "operator": None,
    "operator_ref": None,
    "title": {"fr": "", "ar": ""},
    "description": {"fr": "", "ar": ""},
    "programme": None,
    "status": None,
    "agreement": None,
    "communes": {},
    "location": None,
    "area_ha": None,
    "planned_start": None,
    "planned_end": None,
    "actual_start": None,
    "actual_end": None,
    "budget": None,
    "financing": {},
    "outputs": {},
    "milestones": {},
    "as_of": None,
    "progress": None,
    "committed": None,
    "paid": None,
}
SCALAR_TARGETS = {
    "operator_ref": ("text", None),
    "programme": ("text", None),
    "agreement": ("text", None),
    "area_ha": ("decimal", None),
    "planned_start": ("date", None),
    "planned_end": ("date", None),
    "actual_start": ("date", None),
    "actual_end": ("date", None),
    "budget": ("decimal", 2),
    "as_of": ("date", None),
    "progress": ("decimal", 2),
    "committed": ("decimal", 2),
    "paid": ("decimal", 2),
}
NESTED_TARGETS = {
    "title": ({"fr", "ar"}, ("text", None)),
    "description": ({"fr", "ar"}, ("text", None)),
    "location": ({"lat", "lon"}, ("decimal", 5)),
}
OUTPUT_PARTS = ("target", "achieved")
MILESTONE_PARTS = ("planned", "forecast", "actual")
KINDS = ("text", "decimal", "date")
FIELD_OPTIONS = {"column", "constant", "template", "type", "places", "format", "lookup", "default"}


class MappingError(ValueError):
    """The mapping file itself is wrong (a configuration error, reported before anything runs)."""


def normalize_key(value: Any) -> str:
    """The form in which table keys and source values are compared: no case, accents or extra spaces."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, Decimal):
        value = format(value.normalize(), "f") if value.is_finite() else str(value)
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(char for char in text if not unicodedata.combining(char)).casefold()
    text = re.sub(r"\s*[-‐‑–—]\s*", "-", text)
    return re.sub(r"\s+", " ", text).strip()


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def as_text(value: Any) -> str:
    """A source value as text: spreadsheet numbers without a spurious ``.0``, dates in ISO form."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def parse_decimal(value: Any) -> Decimal:
    """A decimal from a database number, a spreadsheet float or French-formatted text ("1 500,50")."""
    if isinstance(value, bool):
        raise InvalidOperation(value)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = re.sub(r"[\s\u00a0\u202f']", "", value).removesuffix("%").removeprefix("+")
        if "," in text and "." in text:
            decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
            text = text.replace("." if decimal_mark == "," else ",", "").replace(",", ".")
        elif text.count(",") == 1:
            text = text.replace(",", ".")
        elif text.count(",") > 1 or text.count(".") > 1:
            text = text.replace(",", "").replace(".", "")
        if not re.fullmatch(r"-?(\d+(\.\d*)?|\.\d+)", text):
            raise InvalidOperation(value)
        number = Decimal(text)
    else:
        raise InvalidOperation(value)
    if not number.is_finite():
        raise InvalidOperation(value)
    return number


def format_decimal(number: Decimal, places: int | None) -> str:
    if places is not None:
        return format(number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def parse_date(value: Any, formats: list[str]) -> date:
    """A date from a date or datetime object, or text in one of ``formats`` (ISO when none is given)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(value)
    text = value.strip()
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time zone
        except ValueError:
            continue
    if not formats:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ][\d:.]+([+-]\d{2}:?\d{2}|Z)?", text):
            return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    raise ValueError(value)


class Row:
    """A source row; columns are found by exact name first, then ignoring case and spacing."""

    def __init__(self, data: MappingABC[str, Any]):
        self.data = data
        self._loose = {normalize_key(name): name for name in data}

    def has(self, column: str) -> bool:
        return column in self.data or normalize_key(column) in self._loose

    def get(self, column: str) -> Any:
        if column in self.data:
            return self.data[column]
        return self.data[self._loose[normalize_key(column)]]


class _Values(dict):
    """Template values: missing columns raise so that a typo in a template is reported, not blank."""

    def __init__(self, row: Row, extra: dict[str, Any]):
        super().__init__()
        self.row, self.extra = row, extra

    def __missing__(self, key: str) -> Any:
        if key in self.extra:
            return self.extra[key]
        if not self.row.has(key):
            raise KeyError(key)
        value = self.row.get(key)
        if value is None:
            return ""
        # Whole numbers stay numbers so that "{numero:05d}" works; everything else is text.
        return value if isinstance(value, int) and not isinstance(value, bool) else as_text(value)


def _template_names(template: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name]
    except ValueError as error:
        raise MappingError(f"Modèle invalide « {template} » : {error}") from error


def _table(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, MappingABC):
        raise MappingError(f"{where} : une table « valeur source: code » est attendue.")
    table: dict[str, Any] = {}
    for key, value in raw.items():
        normalized = normalize_key(key)
        if normalized in table and table[normalized] != value:
            raise MappingError(f"{where} : les clés « {key} » et une autre se confondent.")
        table[normalized] = value
    return table


def _expect_keys(raw: MappingABC, allowed: set[str], where: str) -> None:
    unknown = sorted(set(map(str, raw)) - allowed)
    if unknown:
        raise MappingError(
            f"{where} : clé(s) inconnue(s) {', '.join(unknown)} (permises : {sorted(allowed)})."
        )


@dataclass
class CodeTable:
    """A column whose values are translated through a table into Marsad codes."""

    name: str
    column: str
    codes: dict[str, str]
    pattern: re.Pattern
    accept_codes: bool = False
    separator: str | None = None

    @classmethod
    def parse(cls, name: str, raw: Any, pattern: re.Pattern, *, multiple: bool = False) -> CodeTable:
        if not isinstance(raw, MappingABC):
            raise MappingError(f"{name} : « column » et « codes » sont attendus.")
        allowed = {"column", "codes", "accept_codes"} | ({"separator"} if multiple else set())
        _expect_keys(raw, allowed, name)
        if not isinstance(raw.get("column"), str):
            raise MappingError(f"{name} : « column » (la colonne source) est obligatoire.")
        codes = _table(raw.get("codes") or {}, f"{name}.codes")
        for key, code in codes.items():
            if not isinstance(code, str) or not pattern.fullmatch(code):
                raise MappingError(f"{name}.codes : « {key} » donne un code mal formé : {code!r}.")
        if not codes and not raw.get("accept_codes"):
            raise MappingError(f"{name} : une table « codes » ou « accept_codes: true » est attendue.")
        return cls(
            name=name,
            column=raw["column"],
            codes=codes,
            pattern=pattern,
            accept_codes=bool(raw.get("accept_codes", False)),
            separator=raw.get("separator"),
        )

    def translate(self, value: Any) -> str | None:
        code = self.codes.get(normalize_key(value))
        if code is None and self.accept_codes and self.pattern.fullmatch(as_text(value)):
            code = as_text(value)
        return code

    def known(self) -> set[str]:
        # With pass-through codes any well-formed code may come out: the platform alone can tell.
        return set() if self.accept_codes else set(self.codes.values())


@dataclass
class FieldSpec:
    """One record field: where its value comes from and how it is converted."""

    target: str
    path: tuple[str, ...]
    column: str | None = None
    constant: Any = None
    template: str | None = None
    kind: str = "text"
    places: int | None = None
    formats: list[str] = field(default_factory=list)
    lookup: dict[str, Any] | None = None
    default: Any = None

    @classmethod
    def parse(cls, target: str, raw: Any) -> FieldSpec:
        path, (kind, places) = _target(target)
        if isinstance(raw, str):
            raw = {"column": raw}
        if not isinstance(raw, MappingABC):
            raise MappingError(f"fields.{target} : un nom de colonne ou une définition est attendu.")
        _expect_keys(raw, FIELD_OPTIONS, f"fields.{target}")
        sources = [name for name in ("column", "constant", "template") if name in raw]
        if len(sources) != 1:
            raise MappingError(f"fields.{target} : une seule source parmi column, constant, template.")
        kind = raw.get("type", kind)
        if kind not in KINDS:
            raise MappingError(f"fields.{target} : type « {kind} » inconnu (permis : {', '.join(KINDS)}).")
        places = raw.get("places", places if kind == "decimal" else None)
        if places is not None and (not isinstance(places, int) or isinstance(places, bool) or places < 0):
            raise MappingError(f"fields.{target} : « places » doit être un entier positif.")
        formats = raw.get("format", [])
        formats = [formats] if isinstance(formats, str) else list(formats)
        if "template" in raw:
            if not isinstance(raw["template"], str):
                raise MappingError(f"fields.{target} : le modèle doit être une chaîne.")
            _template_names(raw["template"])
        lookup = raw.get("lookup")
        return cls(
            target=target,
            path=path,
            column=raw.get("column"),
            constant=raw.get("constant"),
            template=raw.get("template"),
            kind=kind,
            places=places,
            formats=formats,
            lookup=_table(lookup, f"fields.{target}.lookup") if lookup is not None else None,
            default=raw.get("default"),
        )

    def evaluate(self, row: Row, extra: dict[str, Any], problems: list[Problem], at: str) -> Any:
        if self.column is not None:
            if not row.has(self.column):
                problems.append(Problem("missing_column", at, f"Colonne source absente : {self.column}."))
                return None
            value = row.get(self.column)
        elif self.template is not None:
            try:
                value = self.template.format_map(_Values(row, extra))
            except KeyError as error:
                problems.append(
                    Problem(
                        "missing_column", at, f"Colonne absente dans le modèle de {self.target} : {error}."
                    )
                )
                return None
            except (ValueError, TypeError) as error:
                problems.append(
                    Problem("template_error", at, f"Modèle de {self.target} inapplicable : {error}.")
                )
                return None
        else:
            value = self.constant
        if is_empty(value):
            value = self.default
        if is_empty(value):
            return None
        if self.lookup is not None:
            found = self.lookup.get(normalize_key(value), _MISSING)
            if found is _MISSING:
                problems.append(
                    Problem(
                        "unmapped_value",
                        at,
                        f"Valeur « {as_text(value)} » de {self.column or self.target} absente de la table.",
                    )
                )
                return None
            value = found
            if is_empty(value):
                return None
        return self.convert(value, problems, at)

    def convert(self, value: Any, problems: list[Problem], at: str) -> Any:
        if self.kind == "text":
            return as_text(value)
        if self.kind == "decimal":
            try:
                return format_decimal(parse_decimal(value), self.places)
            except (InvalidOperation, ValueError):
                code = "malformed_amount" if self.places == 2 else "malformed_number"
                problems.append(Problem(code, at, f"Nombre illisible : {as_text(value)!r}."))
                return None
        try:
            return parse_date(value, self.formats).isoformat()
        except (ValueError, TypeError):
            expected = " ou ".join(self.formats) if self.formats else "AAAA-MM-JJ"
            problems.append(
                Problem("malformed_date", at, f"Date illisible : {as_text(value)!r} ({expected}).")
            )
            return None


_MISSING = object()


def _target(target: str) -> tuple[tuple[str, ...], tuple[str, int | None]]:
    """The record path a ``fields`` key names, and the default conversion for it."""
    parts = tuple(target.split("."))
    head = parts[0]
    if len(parts) == 1 and head in SCALAR_TARGETS:
        return parts, SCALAR_TARGETS[head]
    if len(parts) == 2 and head in NESTED_TARGETS and parts[1] in NESTED_TARGETS[head][0]:
        return parts, NESTED_TARGETS[head][1]
    if len(parts) == 2 and head == "financing":
        if parts[1] != "{operator}" and not ORGANISATION.fullmatch(parts[1]):
            raise MappingError(f"fields.{target} : code d'organisation mal formé.")
        return parts, ("decimal", 2)
    if len(parts) == 3 and head == "outputs" and parts[2] in OUTPUT_PARTS and CODE.fullmatch(parts[1]):
        return parts, ("decimal", None)
    if len(parts) == 3 and head == "milestones" and parts[2] in MILESTONE_PARTS and CODE.fullmatch(parts[1]):
        return parts, ("date", None)
    if head in ("operator", "status", "communes"):
        raise MappingError(f"fields.{target} : ce champ se déclare dans la section « {head} » du mapping.")
    raise MappingError(
        f"fields.{target} : champ d'enregistrement inconnu (exemples : budget, title.fr, location.lat, "
        "financing.MA-…, outputs.SUP.target, milestones.OS.actual)."
    )


@dataclass
class Condition:
    column: str
    values: set[str]

    def holds(self, row: Row) -> bool:
        return row.has(self.column) and normalize_key(row.get(self.column) or "") in self.values


@dataclass
class Mapped:
    """A source row once mapped: the record (or withdrawal), its problems and where it came from."""

    record: dict[str, Any]
    problems: list[Problem]
    origin: str
    watermark: Any = None

    @property
    def key(self) -> tuple[str, str] | None:
        operator, reference = self.record.get("operator"), self.record.get("operator_ref")
        return (operator, reference) if operator and reference else None

    @property
    def withdrawal(self) -> bool:
        return self.record.get("withdrawn") is True


@dataclass
class Mapping:
    fields: list[FieldSpec]
    status: CodeTable
    communes: CodeTable
    operator: str | None = None
    operator_table: CodeTable | None = None
    programmes: set[str] = field(default_factory=set)
    watermark: str | None = None
    withdrawal: list[Condition] = field(default_factory=list)
    withdrawal_reason: str = ""

    @classmethod
    def load(cls, path: str | Path) -> Mapping:
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise MappingError(f"Mapping illisible ({path}) : {error}") from error
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: Any) -> Mapping:
        if not isinstance(raw, MappingABC):
            raise MappingError("Le mapping doit être un objet YAML.")
        _expect_keys(
            raw,
            {"operator", "status", "communes", "programmes", "watermark", "withdrawal", "fields"},
            "mapping",
        )
        operator, operator_table = None, None
        if isinstance(raw.get("operator"), str):
            operator = raw["operator"]
            if not ORGANISATION.fullmatch(operator):
                raise MappingError(f"operator : code d'organisation mal formé : {operator!r}.")
        elif raw.get("operator") is not None:
            operator_table = CodeTable.parse("operator", raw["operator"], ORGANISATION)
        else:
            raise MappingError("operator : un code constant ou une table sur une colonne est obligatoire.")
        if "status" not in raw or "communes" not in raw:
            raise MappingError("Les sections « status » et « communes » sont obligatoires.")
        fields_raw = raw.get("fields")
        if not isinstance(fields_raw, MappingABC) or "operator_ref" not in fields_raw:
            raise MappingError("fields : une table de champs avec au moins « operator_ref » est obligatoire.")
        specs = [FieldSpec.parse(str(target), spec) for target, spec in fields_raw.items()]
        programmes = raw.get("programmes") or []
        if not isinstance(programmes, list) or not all(
            isinstance(c, str) and CODE.fullmatch(c) for c in programmes
        ):
            raise MappingError("programmes : une liste de codes de programme est attendue.")
        watermark = raw.get("watermark")
        if watermark is not None and not isinstance(watermark, str):
            raise MappingError("watermark : le nom d'une colonne est attendu.")
        conditions, reason = cls._withdrawal(raw.get("withdrawal"))
        return cls(
            fields=specs,
            status=CodeTable.parse("status", raw["status"], CODE),
            communes=CodeTable.parse("communes", raw["communes"], COMMUNE, multiple=True),
            operator=operator,
            operator_table=operator_table,
            programmes=set(programmes),
            watermark=watermark,
            withdrawal=conditions,
            withdrawal_reason=reason,
        )

    @staticmethod
    def _withdrawal(raw: Any) -> tuple[list[Condition], str]:
        if raw is None:
            return [], ""
        if not isinstance(raw, MappingABC):
            raise MappingError("withdrawal : « when » et « reason » sont attendus.")
        _expect_keys(raw, {"when", "reason"}, "withdrawal")
        rules = raw.get("when")
        rules = [rules] if isinstance(rules, MappingABC) else rules
        if not isinstance(rules, list) or not rules:
            raise MappingError("withdrawal.when : une condition {column, values} ou une liste est attendue.")
        conditions = []
        for rule in rules:
            if not isinstance(rule, MappingABC) or not isinstance(rule.get("column"), str):
                raise MappingError("withdrawal.when : chaque condition demande « column » et « values ».")
            _expect_keys(rule, {"column", "values"}, "withdrawal.when")
            values = rule.get("values")
            values = values if isinstance(values, list) else [values]
            conditions.append(Condition(rule["column"], {normalize_key(v) for v in values if v is not None}))
        reason = raw.get("reason") or ""
        if not isinstance(reason, str):
            raise MappingError("withdrawal.reason : une chaîne (éventuellement un modèle) est attendue.")
        _template_names(reason)
        return conditions, reason

    def known(self) -> Known:
        """The codes this mapping can produce, for local validation."""
        programmes = set(self.programmes)
        for spec in self.fields:
            if spec.target == "programme" and spec.lookup and not programmes:
                programmes = {v for v in spec.lookup.values() if isinstance(v, str)}
        operators = {self.operator} if self.operator else self.operator_table.known()  # type: ignore[union-attr]
        return Known(
            operators=operators,
            statuses=self.status.known(),
            communes=self.communes.known(),
            programmes=programmes,
        )

    def map_row(self, data: MappingABC[str, Any], origin: str = "", watermark: Any = None) -> Mapped:
        """The record for one source row, with the problems found while mapping it."""
        row = Row(data)
        problems: list[Problem] = []
        record = copy.deepcopy(SKELETON)
        record["operator"] = self._operator(row, problems)
        extra = {"operator": record["operator"] or ""}
        by_target = {spec.target: spec for spec in self.fields}
        record["operator_ref"] = by_target["operator_ref"].evaluate(row, extra, problems, "/operator_ref")
        if self.watermark is not None and watermark is None:
            if row.has(self.watermark):
                watermark = row.get(self.watermark)
            else:
                problems.append(
                    Problem("missing_column", "", f"Colonne de filigrane absente : {self.watermark}.")
                )
        if any(condition.holds(row) for condition in self.withdrawal):
            return Mapped(self._withdrawn(record, row, extra, problems), problems, origin, watermark)

        record["status"] = self._code(self.status, row, problems, "/status", "unmapped_status", "statut")
        record["communes"] = self._communes(row, problems)
        for spec in self.fields:
            if spec.target == "operator_ref":
                continue
            tokens = [extra["operator"] if part == "{operator}" else part for part in spec.path]
            if not all(tokens):
                continue  # financing.{operator} without an operator: the operator problem says why
            value = spec.evaluate(row, extra, problems, pointer(*tokens))
            _assign(record, tokens, value)
        _tidy(record, problems)
        return Mapped(record, problems, origin, watermark)

    def _operator(self, row: Row, problems: list[Problem]) -> str | None:
        if self.operator is not None:
            return self.operator
        table = self.operator_table
        assert table is not None
        return self._code(table, row, problems, "/operator", "unmapped_operator", "opérateur")

    @staticmethod
    def _code(
        table: CodeTable, row: Row, problems: list[Problem], at: str, code: str, label: str
    ) -> str | None:
        if not row.has(table.column):
            problems.append(Problem("missing_column", at, f"Colonne source absente : {table.column}."))
            return None
        value = row.get(table.column)
        if is_empty(value):
            return None  # validation reports the missing required field
        translated = table.translate(value)
        if translated is None:
            problems.append(
                Problem(
                    code,
                    at,
                    f"Code {label} « {as_text(value)} » (colonne {table.column}) "
                    f"absent de la table « {table.name} ».",
                )
            )
        return translated

    def _communes(self, row: Row, problems: list[Problem]) -> dict[str, dict[str, Any]]:
        table = self.communes
        if not row.has(table.column):
            problems.append(
                Problem("missing_column", "/communes", f"Colonne source absente : {table.column}.")
            )
            return {}
        value = row.get(table.column)
        if is_empty(value):
            return {}
        labels = as_text(value).split(table.separator) if table.separator else [value]
        communes: dict[str, dict[str, Any]] = {}
        for label in labels:
            if is_empty(label):
                continue
            code = table.translate(label)
            if code is None:
                problems.append(
                    Problem(
                        "unmapped_commune",
                        "/communes",
                        f"Commune « {as_text(label)} » (colonne {table.column}) "
                        "absente de la table des communes.",
                    )
                )
                continue
            communes.setdefault(code, {"primary": not communes, "share": None})
        return communes

    def _withdrawn(self, record: dict, row: Row, extra: dict, problems: list[Problem]) -> dict[str, Any]:
        reason = ""
        if self.withdrawal_reason:
            try:
                reason = self.withdrawal_reason.format_map(_Values(row, extra)).strip()
            except (KeyError, ValueError, TypeError) as error:
                problems.append(
                    Problem("template_error", "/reason", f"Motif de retrait inapplicable : {error}.")
                )
        return {
            "operator": record["operator"],
            "operator_ref": record["operator_ref"],
            "withdrawn": True,
            "reason": reason[:300],
        }


def _assign(record: dict[str, Any], tokens: list[str], value: Any) -> None:
    head = tokens[0]
    if len(tokens) == 1:
        record[head] = value
    elif head in ("title", "description"):
        record[head][tokens[1]] = value or ""
    elif head == "location":
        record["location"] = record["location"] or {"lat": None, "lon": None}
        record["location"][tokens[1]] = value
    elif head == "financing":
        if value is not None:
            record["financing"][tokens[1]] = value
    elif head == "outputs":
        entry = record["outputs"].setdefault(tokens[1], dict.fromkeys(OUTPUT_PARTS))
        entry[tokens[2]] = value
    elif head == "milestones":
        entry = record["milestones"].setdefault(tokens[1], dict.fromkeys(MILESTONE_PARTS))
        entry[tokens[2]] = value


def _tidy(record: dict[str, Any], problems: list[Problem]) -> None:
    """Empty sub-objects go away, as the platform stores them: no location, output or milestone of nulls."""
    location = record["location"]
    if location is not None:
        if location["lat"] is None and location["lon"] is None:
            record["location"] = None
        elif location["lat"] is None or location["lon"] is None:
            problems.append(
                Problem("required", "/location", "La localisation demande une latitude et une longitude.")
            )
    record["outputs"] = {
        code: entry for code, entry in record["outputs"].items() if any(v is not None for v in entry.values())
    }
    record["milestones"] = {
        code: entry
        for code, entry in record["milestones"].items()
        if any(v is not None for v in entry.values())
    }
