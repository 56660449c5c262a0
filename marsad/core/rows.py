"""Prepared multi-row INSERTs for the paths that write whole batches (DESIGN §4: bulk writes).

``bulk_create`` compiles every value of every object through the ORM's insert compiler; for a
1,000-record submission (some 12,000 rows: projects, their communes, financing, outputs and
milestones, versions, ledger entries and audit events) that compilation took longer than the
database itself. Here the statement is built once per model and column list, each column gets
one converter chosen from its field type, and the rows run through the driver's ``executemany``.

The caller gives every column's value: model defaults, ``auto_now`` and ``pre_save`` are not
applied, and no signals are sent (the platform uses none). Constraints stay in the database.
Primary keys that the caller needs before the insert (to point child rows at their project) come
from ``ids_reserve``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
from django.db import connections, router, transaction
from django.db.models import Model

from marsad.core.formatting import iso_date

# Field types whose Python values the drivers (sqlite3, psycopg) take as they are.
_AS_IS = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "IntegerField",
    "PositiveBigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SlugField",
    "SmallIntegerField",
    "TextField",
}
# Field types taken as they are when the value already has the right Python type (else the
# field's own preparation runs: a string amount, a date given as text).
_AS_IS_WHEN = {"DecimalField": Decimal, "DateField": dt.date}


def _converter(field, connection) -> Callable[[Any], Any] | None:
    """None when values go to the driver unchanged; else a function preparing one value."""
    internal = field.get_internal_type()
    if field.is_relation:
        return _converter(field.target_field, connection)
    if internal in _AS_IS:
        return None
    prepare = field.get_db_prep_save
    if connection.vendor == "sqlite" and internal in _SQLITE_TEXT and getattr(field, "encoder", None) is None:
        # The text Django's adapters give the sqlite3 driver (``str`` of a Decimal, ISO dates, JSON),
        # written here: the driver then binds a string instead of looking up and calling an adapter
        # for each value (some 30,000 values in a 1,000-record batch).
        kind, text = _SQLITE_TEXT[internal]
        return lambda value: (
            value if value is None else text(value) if type(value) is kind else prepare(value, connection)
        )
    kind = _AS_IS_WHEN.get(internal)
    if kind is not None:
        return lambda value: value if value is None or type(value) is kind else prepare(value, connection)
    if internal == "DateTimeField":
        # A batch stamps all its rows with one instant: prepared once.
        memo: dict[Any, Any] = {}

        def datetime_value(value):
            if value not in memo:
                if len(memo) > 64:
                    memo.clear()
                memo[value] = prepare(value, connection)
            return memo[value]

        return datetime_value
    return lambda value: prepare(value, connection)


def _empty_list_json(value: list) -> str:
    return "[]" if not value else json.dumps(value)


# Field type: (the Python type written as text, how). Django's SQLite backend registers ``str`` as
# the adapter of Decimal and ``isoformat`` as that of dates, and a JSONField's value is ``json.dumps``;
# a value of another type (a string amount, a dict) goes through the field's own preparation.
_SQLITE_TEXT: dict[str, tuple[type, Callable[[Any], str]]] = {
    "DecimalField": (Decimal, str),
    "DateField": (dt.date, iso_date),
    "JSONField": (list, _empty_list_json),
}


@lru_cache(maxsize=128)
def _plan(model: type[Model], names: tuple[str, ...], alias: str):
    connection = connections[alias]
    opts = model._meta
    fields = [opts.get_field(name) for name in names]
    quote = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(fields))
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - model identifiers, quoted
        quote(opts.db_table), ", ".join(quote(f.column) for f in fields), marks
    )
    converters = tuple(_converter(f, connection) for f in fields)
    attnames = tuple(f.attname for f in fields)
    return sql, converters, attnames


def _alias(model: type[Model]) -> str:
    return router.db_for_write(model)


@lru_cache(maxsize=32)
def _packed_sql(model: type[Model], names: tuple[str, ...], alias: str) -> str:
    """The INSERT of rows given as one JSON array of arrays (SQLite)."""
    connection = connections[alias]
    opts = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(opts.get_field(name).column) for name in names)
    values = ", ".join(f"json_extract(value, '$[{index}]')" for index in range(len(names)))
    return f"INSERT INTO {quote(opts.db_table)} ({columns}) SELECT {values} FROM json_each(%s)"  # noqa: S608


def insert_rows(
    model: type[Model], names: Sequence[str], rows: Iterable[Sequence[Any]], *, packed: bool = False
) -> int:
    """Insert ``rows`` (one value per name in ``names``, field names as on the model) with one
    prepared statement. Returns the number of rows.

    ``packed``: on SQLite, the rows go as one JSON text that the statement unpacks (``json_each``),
    instead of one binding of every value per row: for the many narrow rows of child tables (codes,
    keys, amounts, dates) a third quicker. The column's affinity turns the values as it turns bound
    ones (JSON true is 1, a JSON string is text). Wide rows and long texts are slower this way."""
    alias = _alias(model)
    sql, converters, _ = _plan(model, tuple(names), alias)
    if any(converters):
        prepared = [
            [
                value if convert is None else convert(value)
                for convert, value in zip(converters, row, strict=True)
            ]
            for row in rows
        ]
    else:
        prepared = [list(row) for row in rows]
    if not prepared:
        return 0
    connection = transaction.get_connection(alias)
    with connection.cursor() as cursor:
        if packed and connection.vendor == "sqlite":
            try:
                text = orjson.dumps(prepared)
            except orjson.JSONEncodeError:  # a lone surrogate, say: bound one by one below
                pass
            else:
                cursor.execute(_packed_sql(model, tuple(names), alias), [text])
                return len(prepared)
        cursor.executemany(sql, prepared)
    return len(prepared)


def insert_objects(objects: Sequence[Model], names: Sequence[str]) -> int:
    """Insert model instances, reading the attributes of ``names`` (their primary key included when
    it is named: set it first, from ``ids_reserve`` or the caller's own numbering)."""
    if not objects:
        return 0
    model = type(objects[0])
    _, _, attnames = _plan(model, tuple(names), _alias(model))
    count = insert_rows(model, names, ([getattr(obj, a) for a in attnames] for obj in objects))
    for obj in objects:
        obj._state.adding = False
        obj._state.db = _alias(model)
    return count


@lru_cache(maxsize=64)
def _update_plan(model: type[Model], names: tuple[str, ...], alias: str):
    connection = connections[alias]
    opts = model._meta
    fields = [opts.get_field(name) for name in names]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 - model identifiers, quoted
        quote(opts.db_table), ", ".join(f"{quote(f.column)} = %s" for f in fields), quote(opts.pk.column)
    )
    converters = tuple(_converter(f, connection) for f in fields)
    return sql, converters, tuple(f.attname for f in fields)


def update_objects(objects: Sequence[Model], names: Sequence[str]) -> int:
    """Write the columns ``names`` of saved instances, by primary key: one prepared UPDATE run for
    every row (``bulk_update`` builds a CASE expression per field and row instead)."""
    if not objects:
        return 0
    model = type(objects[0])
    alias = _alias(model)
    sql, converters, attnames = _update_plan(model, tuple(names), alias)
    values = [
        [
            value if convert is None else convert(value)
            for convert, value in zip(converters, [getattr(obj, a) for a in attnames], strict=True)
        ]
        + [obj.pk]
        for obj in objects
    ]
    with transaction.get_connection(alias).cursor() as cursor:
        cursor.executemany(sql, values)
    return len(values)


def concrete_names(model: type[Model], *, pk: bool) -> tuple[str, ...]:
    """The names of a model's columns, its primary key first when ``pk``."""
    opts = model._meta
    names = [f.name for f in opts.concrete_fields if f is not opts.pk]
    return (opts.pk.name, *names) if pk else tuple(names)


def ids_reserve(model: type[Model], count: int) -> list[int]:
    """``count`` new primary keys for ``model``, ascending, inside the current transaction.

    PostgreSQL draws them from the column's sequence. On SQLite the transaction holds the write
    lock from its first statement (``BEGIN IMMEDIATE``), so the next keys after both the largest
    key and the AUTOINCREMENT counter cannot be taken by anyone else before it commits."""
    if count <= 0:
        return []
    alias = _alias(model)
    connection = transaction.get_connection(alias)
    if not connection.in_atomic_block:
        raise RuntimeError("Keys are reserved inside a transaction.")
    table = model._meta.db_table
    column = model._meta.pk.column
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [quote(table), column, count],
            )
            return sorted(row[0] for row in cursor.fetchall())
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "  # noqa: S608
                f"coalesce((SELECT max({quote(column)}) FROM {quote(table)}), 0))",
                [table],
            )
            last = cursor.fetchone()[0]
            return list(range(last + 1, last + 1 + count))
    raise NotImplementedError(f"ids_reserve: {connection.vendor}")
