"""Every validation rule, failing and passing. The record-level rules run through ``parse`` and
``check``; the rules that need the registry's state (permission, unknown or withdrawn project,
version conflict) run through ``records_apply``."""

from decimal import Decimal

import pytest

from marsad.accounts.models import Organisation
from marsad.accounts.scoping import Scope
from marsad.audit.services import SystemActor
from marsad.registry.rules import ERROR, RULES, WARNING, Catalogue, Previous, check, parse
from marsad.registry.services import records_apply

from .records import ADMIN_SCOPE, TODAY, record, with_nested

pytestmark = pytest.mark.django_db
ACTOR = SystemActor("test")


@pytest.fixture
def catalogue():
    return Catalogue.load(today=TODAY)


def codes(raw, catalogue, previous=None) -> list[tuple[str, str]]:
    """(code, pointer) of every issue the engine raises on ``raw``."""
    parsed, found = parse(raw, catalogue)
    if parsed is not None:
        found = found + check(parsed, catalogue, previous)
    return [(i.code, i.pointer) for i in found]


# (rule, the record that breaks it, the pointer the problem names)
FAILING = [
    ("required", record(budget=None), "/budget"),
    ("unknown_field", record(budjet="1.00"), "/budjet"),
    ("malformed_text", record(operator_ref="x" * 65), "/operator_ref"),
    ("malformed_amount", record(budget="12,345.678"), "/budget"),
    ("malformed_number", with_nested(["outputs", "SUP", "target"], "beaucoup"), "/outputs/SUP/target"),
    ("malformed_date", record(planned_end="31/12/2030"), "/planned_end"),
    ("malformed_code", record(programme="vsb!"), "/programme"),
    ("unknown_code", record(status="FINI"), "/status"),
    ("unknown_commune", record(communes={"12.391.01.99": {"primary": True}}), "/communes/12.391.01.99"),
    (
        "communes_primary",
        record(communes={"12.391.01.01": {"primary": False}, "12.391.09.01": {"primary": False}}),
        "/communes",
    ),
    (
        "commune_shares",
        record(communes={"12.391.01.01": {"primary": True, "share": "60"}, "12.391.09.01": {"share": "30"}}),
        "/communes",
    ),
    ("indicator_not_reported", record(outputs={"TX_TRT": {"target": "100"}}), "/outputs/TX_TRT"),
    ("location_outside_morocco", record(location={"lat": "48.85", "lon": "2.35"}), "/location"),
    ("progress_out_of_range", record(progress="120"), "/progress"),
    ("end_before_start", record(planned_start="2030-01-01", planned_end="2029-12-31"), "/planned_end"),
    ("as_of_in_future", record(as_of="2026-11-01"), "/as_of"),
    ("paid_exceeds_committed", record(paid="300000000.01"), "/paid"),
    ("committed_exceeds_budget", record(committed="1600000000.00", paid="0.00"), "/committed"),
    ("financing_mismatch", record(financing={"MA-ALOMRANE-DOE": "1400000000.00"}), "/financing"),
    ("status_incoherent", record(status="ACHV"), "/status"),
]
RECORD_RULES = {code for code, _, _ in FAILING} | {"malformed_record", "progress_regression"}
STATE_RULES = {"operator_not_permitted", "unknown_project", "withdrawn_project", "version_conflict"}


def test_every_rule_is_tested_and_described_in_both_languages():
    assert set(RULES) == RECORD_RULES | STATE_RULES
    assert {rule.severity for rule in RULES.values()} == {ERROR, WARNING}
    assert [c for c, r in RULES.items() if r.severity == WARNING] == [
        "paid_exceeds_committed",
        "committed_exceeds_budget",
        "financing_mismatch",
        "status_incoherent",
        "progress_regression",
    ]


def test_the_base_record_passes_every_rule(catalogue):
    assert codes(record(), catalogue) == []


@pytest.mark.parametrize(("code", "raw", "at"), FAILING, ids=[case[0] for case in FAILING])
def test_rule_fails(catalogue, code, raw, at):
    assert (code, at) in codes(raw, catalogue)


@pytest.mark.parametrize(
    ("code", "raw"),
    [
        ("required", record(description=None, agreement=None, location=None)),
        ("malformed_amount", record(budget="1500000000", committed=300000000, paid="150 000 000,00")),
        ("malformed_number", with_nested(["outputs", "SUP", "target"], 275.5)),
        ("malformed_date", record(planned_end="2030-12-31")),
        ("malformed_code", record(programme="VSB")),
        ("unknown_commune", record(communes={"06.141.01.81": {"primary": True}})),  # an arrondissement
        (
            "commune_shares",
            record(
                communes={"12.391.01.01": {"primary": True, "share": "60"}, "12.391.09.01": {"share": "40"}}
            ),
        ),
        ("location_outside_morocco", record(location={"lat": "21.33", "lon": "-16.95"})),  # Lagouira
        ("progress_out_of_range", record(progress="100")),
        ("end_before_start", record(planned_start="2030-12-31", planned_end="2030-12-31")),
        ("as_of_in_future", record(as_of="2026-10-31")),
        ("paid_exceeds_committed", record(paid="300000000.00")),
        ("committed_exceeds_budget", record(committed="1500000000.00")),
        ("financing_mismatch", record(financing={"MA-ALOMRANE-DOE": "1486000000.00"})),  # within 1 %
        ("status_incoherent", record(status="ACHV", progress="100", actual_end="2026-09-30")),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_rule_passes_at_its_edge(catalogue, code, raw):
    assert [c for c, _ in codes(raw, catalogue) if c == code] == []


def test_errors_reject_and_warnings_keep_the_record(catalogue):
    parsed, found = parse(record(progress="-1"), catalogue)
    assert parsed is None
    assert [(i.code, i.severity) for i in found] == [("progress_out_of_range", "error")]
    parsed, found = parse(record(paid="400000000.00"), catalogue)
    assert parsed is not None
    assert found == []
    assert [(i.code, i.severity) for i in check(parsed, catalogue)] == [("paid_exceeds_committed", "warning")]


def test_malformed_record_is_an_error(catalogue):
    assert codes(["not", "an", "object"], catalogue) == [("malformed_record", "")]
    assert ("malformed_record", "/financing") in codes(record(financing=["MA-CR-12"]), catalogue)


def test_progress_regression_needs_a_previous_higher_progress(catalogue):
    previous = Previous(version=3, progress=Decimal("20.00"), withdrawn=False)
    assert ("progress_regression", "/progress") in codes(record(progress="12.50"), catalogue, previous)
    same = Previous(version=3, progress=Decimal("12.50"), withdrawn=False)
    assert codes(record(progress="12.50"), catalogue, same) == []


@pytest.mark.parametrize(
    ("status", "changes", "reason"),
    [
        ("LIVR", {"progress": "100", "actual_end": None}, "completed_without_end"),
        ("ETUD", {"progress": "5", "actual_start": None}, "not_started_with_progress"),
        ("ENCO", {"actual_end": "2026-09-30"}, "ended_but_open"),
    ],
)
def test_status_incoherence_reasons(catalogue, status, changes, reason):
    parsed, _ = parse(record(status=status, **changes), catalogue)
    found = check(parsed, catalogue)
    assert [i.code for i in found] == ["status_incoherent"]
    assert dict(found[0].params)["status"] == status
    assert found[0].message("fr").startswith(f"Statut {status} incohérent : ")


def test_messages_exist_in_french_and_arabic(catalogue):
    _parsed, found = parse(record(progress="150"), catalogue)
    problem = found[0].as_dict()
    assert problem == {
        "code": "progress_out_of_range",
        "severity": "error",
        "pointer": "/progress",
        "message_fr": "L'avancement physique (150) doit être compris entre 0 et 100.",
        "message_ar": problem["message_ar"],
    }
    assert problem["message_ar"] != problem["message_fr"]
    assert "150" in problem["message_ar"]


def test_floats_are_read_as_their_decimal_text(catalogue):
    parsed, found = parse(record(progress=12.5, area_ha=275.25), catalogue)
    assert found == []
    assert (parsed.progress, parsed.area_ha) == (Decimal("12.50"), Decimal("275.25"))


# --- Rules that need the registry's state ------------------------------------------------------------------


def apply(records, scope=ADMIN_SCOPE, **options):
    return records_apply(
        actor=ACTOR,
        records=records,
        source_kind="command",
        source_id="test",
        scope=scope,
        today=TODAY,
        **options,
    )


def test_operator_not_permitted():
    own = Organisation.objects.get(code="MA-ALOMRANE-DOE").pk
    steward = Scope(roles=frozenset({"operator_steward"}), operator_ids=frozenset({own}))
    batch = apply([record(), record(operator="MA-ALOMRANE-CS", operator_ref="CS-1")], scope=steward)
    assert [r.outcome for r in batch.results] == ["created", "rejected"]
    assert [(i.code, i.pointer) for i in batch.results[1].issues] == [("operator_not_permitted", "/operator")]


def test_unknown_project_cannot_be_withdrawn():
    batch = apply(
        [{"operator": "MA-ALOMRANE-DOE", "operator_ref": "NOPE", "withdrawn": True, "reason": "doublon"}]
    )
    assert [(i.code, i.pointer) for i in batch.results[0].issues] == [("unknown_project", "/operator_ref")]
    assert apply([record()]).results[0].issues == []


def test_withdrawn_project_cannot_change():
    apply([record()])
    apply(
        [
            {
                "operator": "MA-ALOMRANE-DOE",
                "operator_ref": "DOE-PU-001",
                "withdrawn": True,
                "reason": "doublon",
            }
        ]
    )
    batch = apply([record(progress="20")])
    assert [i.code for i in batch.results[0].issues] == ["withdrawn_project"]


def test_version_conflict():
    apply([record()])
    stale = apply([record(progress="20")], base_versions=[0])
    assert [(i.code, dict(i.params)) for i in stale.results[0].issues] == [
        ("version_conflict", {"base": 0, "current": 1})
    ]
    fresh = apply([record(progress="20")], base_versions=[1])
    assert (fresh.results[0].outcome, fresh.results[0].version) == ("updated", 2)


def test_the_rules_document_is_up_to_date():
    """docs/validation-rules.md is what operators read: `marsad rules_doc` rewrites it."""
    from pathlib import Path

    from django.conf import settings

    from marsad.registry.rules import rules_markdown

    document = (Path(settings.BASE_DIR) / "docs" / "validation-rules.md").read_text(encoding="utf-8")
    assert document == rules_markdown()
    assert all(f"| `{code}` |" in document for code in RULES)
