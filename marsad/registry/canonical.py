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
from decimal import Decimal

import orjson

from .rules import Record, escape_pointer

SCHEMA = "marsad.project/1"
MONEY_PLACES = Decimal("0.01")


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.quantize(MONEY_PLACES):f}"


def number(value: Decimal | None) -> str | None:
    """A measure without trailing zeros or exponent: 1200, 12.5, 0.25."""
    if value is None:
        return None
    text = f"{value.normalize():f}"
    return text if text != "-0" else "0"


def day(value) -> str | None:
    return None if value is None else value.isoformat()


def record_document(record: Record, public_id: str) -> dict:
    """The record as the JSON document a version stores."""
    if record.withdrawn:
        return {
            "schema": SCHEMA,
            "id": public_id,
            "operator": record.operator,
            "operator_ref": record.operator_ref,
            "withdrawn": True,
            "reason": record.reason,
        }
    return {
        "schema": SCHEMA,
        "id": public_id,
        "operator": record.operator,
        "operator_ref": record.operator_ref,
        "title": {"ar": record.title.get("ar", ""), "fr": record.title.get("fr", "")},
        "description": {"ar": record.description.get("ar", ""), "fr": record.description.get("fr", "")},
        "programme": record.programme,
        "status": record.status,
        "agreement": record.agreement,
        "communes": {
            code: {"primary": code == record.primary_commune, "share": money(share)}
            for code, share in record.communes.items()
        },
        "location": None
        if record.location is None
        else {"lat": number(record.location[0]), "lon": number(record.location[1])},
        "area_ha": number(record.area_ha),
        "planned_start": day(record.planned_start),
        "planned_end": day(record.planned_end),
        "actual_start": day(record.actual_start),
        "actual_end": day(record.actual_end),
        "budget": money(record.budget),
        "financing": {partner: money(amount) for partner, amount in record.financing.items()},
        "outputs": {
            code: {"target": number(values["target"]), "achieved": number(values["achieved"])}
            for code, values in record.outputs.items()
        },
        "milestones": {
            code: {name: day(dates[name]) for name in ("planned", "forecast", "actual")}
            for code, dates in record.milestones.items()
        },
        "as_of": day(record.as_of),
        "progress": money(record.progress),
        "committed": money(record.committed),
        "paid": money(record.paid),
    }


_SCALARS = frozenset((str, int, bool, type(None)))
_MAX_DEPTH = 254  # orjson refuses deeper nesting; a value this deep (or circular) goes to json


def _plain(values, depth: int) -> bool:
    """Whether ``values`` hold only dicts, lists, strings, integers, booleans and None (exact types,
    not subclasses): what orjson writes as ``json.dumps`` does. One walk of type checks."""
    for value in values:
        kind = type(value)
        if kind in _SCALARS:
            continue
        if kind is dict:
            if depth >= _MAX_DEPTH or not _plain(value.values(), depth + 1):
                return False
        elif kind is list:
            if depth >= _MAX_DEPTH or not _plain(value, depth + 1):
                return False
        else:
            return False
    return True


def canonical_json(document: dict) -> str:
    """``json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, written
    by orjson when that gives the same text (see the module's note)."""
    if _plain((document,), 0):
        try:
            return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()
        except orjson.JSONEncodeError:  # a key not str, an integer beyond 64 bits, a lone surrogate
            pass
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


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
    _diff_into(changes, before if before else _ABSENT, after, "")  # a first version: every leaf is new
    changes = [change for change in changes if change["pointer"] != "/schema"]
    changes.sort(key=lambda change: change["pointer"])
    return changes


def _diff_into(changes: list[dict], old, new, prefix: str) -> None:
    if old is not _ABSENT and new is not _ABSENT and type(old) is type(new) and old == new:
        return
    if isinstance(old, dict) and old and isinstance(new, dict) and new:
        for key in old.keys() | new.keys():
            before, after = old.get(key, _ABSENT), new.get(key, _ABSENT)
            if (
                before is not _ABSENT
                and after is not _ABSENT
                and type(before) is type(after)
                and before == after
            ):
                continue
            token = str(key)
            if "~" in token or "/" in token:
                token = escape_pointer(token)
            _diff_into(changes, before, after, f"{prefix}/{token}")
        return
    old_leaves = {} if old is _ABSENT else flatten(old, prefix)
    new_leaves = {} if new is _ABSENT else flatten(new, prefix)
    for key in old_leaves.keys() | new_leaves.keys():
        if old_leaves.get(key) != new_leaves.get(key) or (key in old_leaves) != (key in new_leaves):
            changes.append({"pointer": key, "before": old_leaves.get(key), "after": new_leaves.get(key)})
