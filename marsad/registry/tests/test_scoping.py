"""Scoping: what each principal reads, computed from memberships, through the stored path of
territories (never a prefix of the HCP code) and the family of organisations."""

from datetime import date

import pytest
from django.contrib.auth.models import AnonymousUser

from marsad.accounts.choices import Role
from marsad.accounts.models import Organisation
from marsad.accounts.scoping import PUBLIC, Scope, organisation_family_ids, principal_scope
from marsad.accounts.services import membership_grant, user_create
from marsad.audit.services import SystemActor
from marsad.registry.models import Project
from marsad.registry.selectors import visible_projects
from marsad.registry.services import PartyInput, agreement_create, projects_publish, records_apply
from marsad.registry.tests.records import ADMIN_SCOPE, TODAY, record
from marsad.territories.models import Territory

pytestmark = pytest.mark.django_db
ACTOR = SystemActor("test")


def org(code: str) -> Organisation:
    return Organisation.objects.get(code=code)


def person(name: str, role: str, *, territory: str | None = None, organisation: str | None = None):
    user = user_create(actor=ACTOR, username=name, password=None)
    membership_grant(
        actor=ACTOR,
        user=user,
        role=role,
        territory=Territory.objects.get(code=territory) if territory else None,
        organisation=org(organisation) if organisation else None,
    )
    return user


def test_holding_family_includes_every_subsidiary():
    family = organisation_family_ids([org("MA-ALOMRANE").pk])
    assert len(family) == 13
    assert org("MA-ALOMRANE-CS").pk in family
    assert organisation_family_ids([org("MA-ALOMRANE-CS").pk]) == {org("MA-ALOMRANE-CS").pk}


def test_scopes_of_principals():
    assert principal_scope(None) is PUBLIC
    assert principal_scope(AnonymousUser()) is PUBLIC
    assert principal_scope(ACTOR).is_administrator
    wali = person("wali", Role.TERRITORIAL_OFFICER, territory="06")
    assert principal_scope(wali) == Scope(
        roles=frozenset({Role.TERRITORIAL_OFFICER}), territory_paths=("/06/",), label="wali"
    )
    steward = person("steward", Role.OPERATOR_STEWARD, organisation="MA-ALOMRANE")
    scope = principal_scope(steward)
    assert scope.may_write_for(org("MA-ALOMRANE-DOE").pk)
    assert scope.may_create()
    assert not scope.may_write_for(org("MA-CR-06").pk)
    partner = person("partner", Role.PARTNER_VIEWER, organisation="MA-CR-06")
    assert principal_scope(partner).partner_ids == {org("MA-CR-06").pk}
    assert not principal_scope(partner).may_create()
    analyst = person("analyst", Role.NATIONAL_ANALYST)
    analyst_scope = principal_scope(analyst)
    assert analyst_scope.is_national
    assert analyst_scope.may_publish_for(org("MA-ALOMRANE-CS").pk)
    assert not analyst_scope.may_write_for(org("MA-ALOMRANE-CS").pk)
    wali.is_active = False
    wali._marsad_scope = None
    assert principal_scope(wali) is PUBLIC


@pytest.fixture
def projects():
    """Five projects: Tanger (published), Assilah, Casablanca (financed by the region council),
    Settat (under an agreement the council signed), Dakhla (withdrawn, published before)."""
    agreement_create(
        actor=ACTOR,
        reference="CONV-CS-1",
        title_fr="Convention",
        title_ar="اتفاقية",
        signed_on=date(2022, 6, 1),
        parties=[PartyInput("MA-CR-06", "signatory")],
    )
    rows = [
        record(
            operator="MA-ALOMRANE-TTA", operator_ref="TANGER", communes={"01.511.01.0": {"primary": True}}
        ),
        record(
            operator="MA-ALOMRANE-TTA", operator_ref="ASSILAH", communes={"01.511.01.01": {"primary": True}}
        ),
        record(
            operator="MA-ALOMRANE-CS",
            operator_ref="CASA",
            communes={"06.141.01.0": {"primary": True}},
            financing={"MA-ALOMRANE-CS": "1000000000.00", "MA-CR-06": "500000000.00"},
        ),
        record(
            operator="MA-ALOMRANE-CS",
            operator_ref="SETTAT",
            agreement="CONV-CS-1",
            communes={"06.461.01.15": {"primary": True}},
            financing={},
        ),
        record(operator_ref="DAKHLA"),
    ]
    records_apply(
        actor=ACTOR, records=rows, source_kind="command", source_id="t", scope=ADMIN_SCOPE, today=TODAY
    )
    projects_publish(actor=ACTOR, projects=Project.objects.filter(operator_ref__in=["TANGER", "DAKHLA"]))
    records_apply(
        actor=ACTOR,
        records=[
            {"operator": "MA-ALOMRANE-DOE", "operator_ref": "DAKHLA", "withdrawn": True, "reason": "doublon"}
        ],
        source_kind="command",
        source_id="t",
        scope=ADMIN_SCOPE,
        today=TODAY,
    )


def refs(principal) -> list[str]:
    return sorted(visible_projects(principal).values_list("operator_ref", flat=True))


def test_each_role_reads_exactly_its_scope(projects):
    assert Territory.objects.get(code="06.461.01.15").region_code == "06"
    assert refs(None) == ["TANGER"]
    assert refs(person("analyst", Role.NATIONAL_ANALYST)) == ["ASSILAH", "CASA", "DAKHLA", "SETTAT", "TANGER"]
    assert refs(person("wali", Role.TERRITORIAL_OFFICER, territory="06")) == ["CASA", "SETTAT", "TANGER"]
    assert refs(person("holding", Role.OPERATOR_STEWARD, organisation="MA-ALOMRANE")) == [
        "ASSILAH",
        "CASA",
        "DAKHLA",
        "SETTAT",
        "TANGER",
    ]
    assert refs(person("cs", Role.OPERATOR_STEWARD, organisation="MA-ALOMRANE-CS")) == [
        "CASA",
        "SETTAT",
        "TANGER",
    ]
    assert refs(person("council", Role.PARTNER_VIEWER, organisation="MA-CR-06")) == [
        "CASA",
        "SETTAT",
        "TANGER",
    ]
    assert refs(person("gie", Role.PARTNER_VIEWER, organisation="MA-GIE-DAKHLA-SC")) == [
        "ASSILAH",
        "DAKHLA",
        "TANGER",
    ]


def test_a_commune_scope_is_not_a_code_prefix(projects):
    """Tanger (01.511.01.0) is a string prefix of Assilah (01.511.01.01): the paths keep them apart."""
    assert "01.511.01.01".startswith("01.511.01.0")
    officer = person("pacha", Role.TERRITORIAL_OFFICER, territory="01.511.01.0")
    assert refs(officer) == ["TANGER"]
    assilah = person("assilah", Role.TERRITORIAL_OFFICER, territory="01.511.01.01")
    assert refs(assilah) == ["ASSILAH", "TANGER"]  # Tanger is public


def test_a_project_in_several_communes_is_seen_from_each(projects):
    records_apply(
        actor=ACTOR,
        records=[
            record(
                operator="MA-ALOMRANE-TTA",
                operator_ref="ASSILAH",
                communes={"01.511.01.01": {"primary": True, "share": "70"}, "06.141.01.0": {"share": "30"}},
            )
        ],
        source_kind="command",
        source_id="t",
        scope=ADMIN_SCOPE,
        today=TODAY,
    )
    assert refs(person("wali", Role.TERRITORIAL_OFFICER, territory="06")) == [
        "ASSILAH",
        "CASA",
        "SETTAT",
        "TANGER",
    ]
