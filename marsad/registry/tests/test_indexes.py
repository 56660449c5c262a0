"""The indexes of the tables every exchange submission writes, read from the live database.

Each index costs a B-tree write per row written, so a redundant one (a single column that another
index or unique constraint already starts with) must not come back, and one that a lookup needs
must not vanish. The sets are exact, per engine: PostgreSQL adds a pattern-matching (LIKE) index
beside the plain one of an indexed varchar column.
"""

import pytest
from django.db import connection

from marsad.registry.models import (
    Financing,
    LedgerEntry,
    Milestone,
    Project,
    ProjectCommune,
    ProjectOutput,
    ProjectVersion,
)

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]

INDEX, UNIQUE, PARTIAL_UNIQUE, PATTERN = "index", "unique", "partial unique", "pattern"

# Per table: (columns in order, kind) of every index but the primary key's.
EXPECTED = {
    "registry_project": [
        (("agreement_id",), INDEX),
        (("operator_id", "operator_ref"), UNIQUE),
        (("operator_id", "status_code"), INDEX),
        (("primary_commune_id",), INDEX),
        (("programme_code", "status_code"), INDEX),
        (("province_code",), INDEX),
        (("province_code",), PATTERN),
        (("public_id",), PATTERN),
        (("public_id",), UNIQUE),
        (("published", "withdrawn"), INDEX),
        (("region_code",), INDEX),
        (("region_code",), PATTERN),
        (("status_code",), INDEX),
        (("status_code",), PATTERN),
    ],
    "registry_projectversion": [
        (("project_id", "number"), UNIQUE),
        (("received_at",), INDEX),
    ],
    "registry_projectoutput": [
        (("indicator_code",), INDEX),
        (("indicator_code",), PATTERN),
        (("project_id", "indicator_code"), UNIQUE),
    ],
    "registry_milestone": [
        (("project_id", "type_code"), UNIQUE),
        (("type_code",), INDEX),
        (("type_code",), PATTERN),
    ],
    "registry_financing": [
        (("partner_id",), INDEX),
        (("project_id", "partner_id"), UNIQUE),
    ],
    "registry_projectcommune": [
        (("path",), INDEX),
        (("path",), PATTERN),
        (("project_id",), PARTIAL_UNIQUE),
        (("project_id", "territory_id"), UNIQUE),
        (("territory_id",), INDEX),
    ],
    "registry_ledgerentry": [
        (("prev_hash",), UNIQUE),
        (("project_id",), INDEX),
        (("version_id",), UNIQUE),
    ],
    "audit_auditevent": [
        (("action",), INDEX),
        (("action",), PATTERN),
        (("actor_kind", "actor_id"), INDEX),
        (("object_type", "object_id"), INDEX),
        (("occurred_at",), INDEX),
    ],
}

PG_INDEXES = """
    SELECT ix.indisunique, ix.indpred IS NOT NULL,
        ARRAY(
            SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n)
            JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum ORDER BY k.n
        ),
        EXISTS(
            SELECT 1 FROM unnest(ix.indclass) AS c(oid) JOIN pg_opclass o ON o.oid = c.oid
            WHERE o.opcname LIKE '%%pattern_ops'
        )
    FROM pg_index ix WHERE ix.indrelid = %s::regclass AND NOT ix.indisprimary
"""


def kind_of(*, unique: bool, partial: bool, pattern: bool = False) -> str:
    if pattern:
        return PATTERN
    if unique:
        return PARTIAL_UNIQUE if partial else UNIQUE
    return INDEX


def indexes(table: str) -> list[tuple[tuple[str, ...], str]]:
    """(columns, kind) of each index of ``table`` but the primary key's, sorted. Read from the
    catalogue directly: Django's SQLite introspection cannot parse registry_project's definition
    (the backslash of its ``LIKE ... ESCAPE '\\'`` check)."""
    found = []
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for _, name, unique, origin, partial in cursor.execute(
                f'PRAGMA index_list("{table}")'
            ).fetchall():
                if origin == "pk":
                    continue
                columns = tuple(row[2] for row in cursor.execute(f'PRAGMA index_info("{name}")').fetchall())
                found.append((columns, kind_of(unique=bool(unique), partial=bool(partial))))
        else:
            cursor.execute(PG_INDEXES, [table])
            for unique, partial, columns, pattern in cursor.fetchall():
                found.append((tuple(columns), kind_of(unique=unique, partial=partial, pattern=pattern)))
    return sorted(found)


def expected(table: str) -> list[tuple[tuple[str, ...], str]]:
    keep = connection.vendor == "postgresql"
    return [entry for entry in EXPECTED[table] if keep or entry[1] != PATTERN]


@pytest.mark.parametrize("table", sorted(EXPECTED))
def test_indexes_are_exactly_the_expected_ones(table):
    assert indexes(table) == expected(table)


def test_no_single_column_index_repeats_the_lead_of_another():
    """A plain one-column index is redundant when another index or unique constraint starts with
    the same column (a partial index does not count: it holds only some rows)."""
    for table in EXPECTED:
        found = indexes(table)
        leads = {columns[0] for columns, kind in found if len(columns) > 1 and kind in (INDEX, UNIQUE)}
        single = {columns[0] for columns, kind in found if len(columns) == 1 and kind in (INDEX, UNIQUE)}
        assert single & leads == set(), table


LOOKUPS = {
    "project by operator": lambda: Project.objects.filter(operator_id=1),
    "project by programme": lambda: Project.objects.filter(programme_id="VSB"),
    "versions of a project": lambda: ProjectVersion.objects.filter(project_id=1),
    "outputs of a project": lambda: ProjectOutput.objects.filter(project_id=1),
    "milestones of a project": lambda: Milestone.objects.filter(project_id=1),
    "financing of a project": lambda: Financing.objects.filter(project_id=1),
    "communes of projects": lambda: ProjectCommune.objects.filter(project_id__in=[1, 2]),
    "ledger entries of a project": lambda: LedgerEntry.objects.filter(project_id=1),
}


@pytest.mark.parametrize("lookup", sorted(LOOKUPS))
def test_lookups_by_a_dropped_column_still_use_an_index(lookup):
    """The lookups that the dropped one-column indexes served are answered by an index whose first
    column is the looked-up one, on both engines (PostgreSQL told not to scan whole tables when it
    has another way, since the test tables are too small for it to prefer an index)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
    plan = LOOKUPS[lookup]().explain()
    if connection.vendor == "sqlite":
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
        assert " SCAN " not in f" {plan} ", plan
    else:
        assert "Index" in plan, plan
        assert "Seq Scan" not in plan, plan
