"""The canonical form of a project record (DESIGN §5).

Records hold no floats: amounts and measures are decimal strings, dates ISO strings, and maps are
keyed by code (communes, financing partners, output indicators, milestone types), so the canonical
text is ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, identical to
RFC 8785 for such data. It is computed once per record; its SHA-256 names the version.

orjson writes that text several times faster, byte for byte the same for dicts, lists, strings,
integers, booleans and null (it escapes the same characters, sorts keys by code point as Python does,
and refuses what it would write otherwise: keys that are not exactly ``str``, integers beyond 64
bits, lone surrogates, nesting deeper than 255). It writes floats differently (``1e-05`` as
``0.00001``, NaN as ``null``) and serialises what ``json`` refuses or writes otherwise (enums, UUIDs,
dates), so a document holding anything but those exact types is written by ``json`` as before.
"""

import hashlib
import json
from datetime import date
from decimal import Decimal
from operator import itemgetter

import orjson

from marsad.core.formatting import iso_date

from .rules import Record, escape_pointer

SCHEMA = "marsad.project/1"
MONEY_PLACES = Decimal("0.01")


def money(value: Decimal | None) -> str | None:
    """An amount with two places: 1200.00. ``str`` of a value quantized to two places is its
    ``f`` format (plain notation: the exponent is -2 and no digit comes before the point
    unwritten), only faster."""
    return None if value is None else str(value.quantize(MONEY_PLACES))


def number(value: Decimal | None) -> str | None:
    """A measure without trailing zeros or exponent: 1200, 12.5, 0.25."""
    if value is None:
        return None
    value = value.normalize()
    text = str(value)
    if "E" in text or "e" in text:  # scientific notation (1E+3, 1E-7): ``str`` differs from ``f`` only then
        text = f"{value:f}"
    return text if text != "-0" else "0"


def day(value) -> str | None:
    if value is None:
        return None
    if type(value) is date:  # a datetime (or another subclass) writes itself
        return iso_date(value)
    return value.isoformat()


def record_document(record: Record, public_id: str) -> dict:
    """The record as the JSON document a version stores.

    A version is built for every record of a batch: ``money`` is written inline and dates come from
    ``day``'s cache. The test suite checks the result against the plain formulation."""
    if record.withdrawn:
        return {
            "schema": SCHEMA,
            "id": public_id,
            "operator": record.operator,
            "operator_ref": record.operator_ref,
            "withdrawn": True,
            "reason": record.reason,
        }
    # Built in the order of the plain formulation, so that a value it cannot write fails the same way.
    places = MONEY_PLACES
    title, description = record.title, record.description
    title = {"ar": title.get("ar", ""), "fr": title.get("fr", "")}
    description = {"ar": description.get("ar", ""), "fr": description.get("fr", "")}
    primary = record.primary_commune
    communes = {}
    for code, share in record.communes.items():
        communes[code] = {
            "primary": code == primary,
            "share": None if share is None else str(share.quantize(places)),
        }
    location = record.location
    if location is not None:
        location = {"lat": number(location[0]), "lon": number(location[1])}
    area = number(record.area_ha)
    planned_start, planned_end = day(record.planned_start), day(record.planned_end)
    actual_start, actual_end = day(record.actual_start), day(record.actual_end)
    budget = record.budget
    budget = None if budget is None else str(budget.quantize(places))
    financing = {}
    for partner, amount in record.financing.items():
        financing[partner] = None if amount is None else str(amount.quantize(places))
    outputs = {}
    for code, values in record.outputs.items():
        outputs[code] = {"target": number(values["target"]), "achieved": number(values["achieved"])}
    milestones = {}
    for code, dates in record.milestones.items():
        milestones[code] = {
            "planned": day(dates["planned"]),
            "forecast": day(dates["forecast"]),
            "actual": day(dates["actual"]),
        }
    as_of, progress, committed, paid = record.as_of, record.progress, record.committed, record.paid
    return {
        "schema": SCHEMA,
        "id": public_id,
        "operator": record.operator,
        "operator_ref": record.operator_ref,
        "title": title,
        "description": description,
        "programme": record.programme,
        "status": record.status,
        "agreement": record.agreement,
        "communes": communes,
        "location": location,
        "area_ha": area,
        "planned_start": planned_start,
        "planned_end": planned_end,
        "actual_start": actual_start,
        "actual_end": actual_end,
        "budget": budget,
        "financing": financing,
        "outputs": outputs,
        "milestones": milestones,
        "as_of": day(as_of),
        "progress": None if progress is None else str(progress.quantize(places)),
        "committed": None if committed is None else str(committed.quantize(places)),
        "paid": None if paid is None else str(paid.quantize(places)),
    }


_SCALARS = frozenset((str, int, bool, type(None)))
_MAX_DEPTH = 254  # orjson refuses deeper nesting; a value this deep (or circular) is not plain


def plain_json(value, *, bmp_names: bool = False) -> bool:
    """Whether ``value`` holds only dicts, lists, strings, integers, booleans and None (exact types,
    not subclasses): what orjson writes as ``json.dumps`` does. One walk of type checks. With
    ``bmp_names``, also whether every object's names stay in the Basic Multilingual Plane (where
    code-point and UTF-16 orders agree, as RFC 8785 needs); a name that is not a string then raises
    TypeError."""
    return _plain((value,), 0, bmp_names)


def _plain(values, depth: int, bmp_names: bool) -> bool:
    for value in values:
        kind = type(value)
        if kind in _SCALARS:
            continue
        if kind is dict:
            if depth >= _MAX_DEPTH:
                return False
            if bmp_names:
                names = "".join(value)
                if not (names.isascii() or max(names) <= "\uffff"):
                    return False
            if not _plain(value.values(), depth + 1, bmp_names):
                return False
        elif kind is list:
            if depth >= _MAX_DEPTH or not _plain(value, depth + 1, bmp_names):
                return False
        else:
            return False
    return True


def canonical_json(document: dict) -> str:
    """``json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, written
    by orjson when that gives the same text (see the module's note)."""
    if plain_json(document):
        try:
            return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()
        except orjson.JSONEncodeError:  # a key not str, an integer beyond 64 bits, a lone surrogate
            pass
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# orjson's own writing of what json does not write (dates, dataclasses) and of subclasses refused: a
# value it then refuses goes to canonical_json.
_DOCUMENT_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def document_json(document: dict) -> str:
    """``canonical_json`` of a ``record_document``, without its walk over the types: such a document
    holds only strings, booleans, None and dicts of them, which orjson writes as json does; a name or
    value of another type (a str subclass, a lone surrogate) is refused by orjson and written by
    ``canonical_json``."""
    try:
        return orjson.dumps(document, option=_DOCUMENT_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return canonical_json(document)


def stored_document(text: str) -> dict:
    """A stored version's document. Its canonical text holds strings, booleans and nulls only (amounts,
    measures and dates are strings), which orjson reads exactly and several times faster than ``json``;
    a text orjson refuses (an escaped lone surrogate) is read by ``json``."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def editable_record(document: dict) -> dict:
    """A stored document as a record to edit and submit again (without the platform's fields)."""
    return {key: value for key, value in document.items() if key not in ("schema", "id")}


def flatten(document, prefix: str = "") -> dict[str, object]:
    """Leaves of a document by JSON pointer."""
    leaves: dict[str, object] = {}
    _flatten_into(leaves, document, prefix)
    return leaves


def _flatten_into(leaves: dict[str, object], document, prefix: str) -> None:
    if isinstance(document, dict) and document:
        for key, value in document.items():
            token = str(key)
            if "~" in token or "/" in token:
                token = escape_pointer(token)
            _flatten_into(leaves, value, f"{prefix}/{token}")
    else:
        leaves[prefix] = document


_ABSENT = object()


def diff(before: dict | None, after: dict) -> list[dict]:
    """What changed between two documents, leaf by leaf: [{pointer, before, after}] in pointer order.

    Equal branches are compared whole and skipped (a monthly report changes a few leaves of a
    document of a hundred)."""
    changes: list[dict] = []
    old = before if before else _ABSENT  # a first version: every leaf is new
    if old is _ABSENT or type(old) is not type(after) or not old == after:  # noqa: SIM201 (the test the branches below it make)
        _diff_into(changes, old, after, "")
    changes = [change for change in changes if change["pointer"] != "/schema"]
    changes.sort(key=_pointer)
    return changes


_pointer = itemgetter("pointer")


def _diff_into(changes: list[dict], old, new, prefix: str) -> None:
    """The changes under ``prefix``, where ``old`` and ``new`` (either may be absent) are not
    known to be equal: the caller checked."""
    if isinstance(old, dict) and old and isinstance(new, dict) and new:
        absent = _ABSENT
        for key, before in old.items():
            after = new.get(key, absent)
            if after is not absent and type(before) is type(after) and before == after:
                continue
            token = str(key)
            if "~" in token or "/" in token:
                token = escape_pointer(token)
            if (isinstance(before, dict) and before) or (isinstance(after, dict) and after):
                _diff_into(changes, before, after, f"{prefix}/{token}")
            elif after is absent:
                changes.append({"pointer": f"{prefix}/{token}", "before": before, "after": None})
            elif before != after:  # two leaves: what comparing their flattened forms says
                changes.append({"pointer": f"{prefix}/{token}", "before": before, "after": after})
        for key, after in new.items():
            if key in old:
                continue
            token = str(key)
            if "~" in token or "/" in token:
                token = escape_pointer(token)
            if isinstance(after, dict) and after:
                _diff_into(changes, absent, after, f"{prefix}/{token}")
            else:
                changes.append({"pointer": f"{prefix}/{token}", "before": None, "after": after})
        return
    if old is _ABSENT:  # every leaf is new (a first version, an added branch)
        for key, value in flatten(new, prefix).items():
            changes.append({"pointer": key, "before": None, "after": value})
        return
    if new is _ABSENT:
        for key, value in flatten(old, prefix).items():
            changes.append({"pointer": key, "before": value, "after": None})
        return
    old_leaves = flatten(old, prefix)
    new_leaves = flatten(new, prefix)
    for key in old_leaves.keys() | new_leaves.keys():
        if old_leaves.get(key) != new_leaves.get(key) or (key in old_leaves) != (key in new_leaves):
            changes.append({"pointer": key, "before": old_leaves.get(key), "after": new_leaves.get(key)})
