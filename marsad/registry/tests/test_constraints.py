"""The database refuses rows that break an invariant, whatever code writes them."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from marsad.accounts.choices import Role
from marsad.accounts.models import Membership, Organisation, User
from marsad.audit.services import SystemActor
from marsad.registry.models import (
    Agreement,
    AgreementParty,
    Financing,
    Milestone,
    Project,
    ProjectCommune,
    ProjectOutput,
    ProjectVersion,
)
from marsad.registry.services import records_apply
from marsad.territories.models import Territory

from .records import ADMIN_SCOPE, TODAY, record

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]


@pytest.fixture
def project():
    records_apply(
        actor=SystemActor("test"),
        records=[record()],
        source_kind="command",
        source_id="t",
        scope=ADMIN_SCOPE,
        today=TODAY,
    )
    return Project.objects.get()


def refused(write) -> bool:
    try:
        with transaction.atomic():
            write()
    except IntegrityError:
        return True
    return False


def project_with(project, **values):
    def write():
        Project.objects.filter(pk=project.pk).update(**values)

    return write


@pytest.mark.parametrize(
    "values",
    [
        {"progress": Decimal("100.01")},
        {"progress": Decimal(-1)},
        {"budget": Decimal(-1)},
        {"paid": Decimal("-0.01")},
        {"committed": Decimal(-5)},
        {"area_ha": Decimal(0)},
        {"public_id": "XYZ-0000000000"},
        {"public_id": "MRS-123"},
        {"operator_ref": ""},
        {"title_fr": "", "title_ar": ""},
        {"planned_end": "2023-12-31"},
        {"actual_end": "2024-02-01"},
        {"latitude": Decimal("48.85"), "longitude": Decimal("2.35")},
        {"latitude": None},
        {"version": 0},
        {"sha256": "abc"},
        {"published": True},
        {"withdrawn": True},
    ],
    ids=lambda values: ",".join(values),
)
def test_project_invariants(project, values):
    assert refused(project_with(project, **values))


def test_a_valid_change_is_accepted(project):
    assert not refused(
        project_with(project, progress=Decimal(100), published=True, published_at=timezone.now())
    )


def test_operator_reference_is_unique_per_operator(project):
    def duplicate():
        clone = Project.objects.get(pk=project.pk)
        clone.pk = None
        clone.public_id = "MRS-0000000000"
        clone.save()

    assert refused(duplicate)


def test_child_rows(project):
    other = Territory.objects.get(code="12.391.09.01")
    gie = Organisation.objects.get(code="MA-GIE-DAKHLA-SC")
    assert refused(
        lambda: ProjectCommune.objects.create(
            project=project, territory=other, is_primary=True, path=other.path
        )
    )
    assert refused(
        lambda: ProjectCommune.objects.create(
            project=project, territory=other, share=Decimal(101), path=other.path
        )
    )
    assert not refused(
        lambda: ProjectCommune.objects.create(
            project=project, territory=other, share=Decimal(40), path=other.path
        )
    )
    assert refused(
        lambda: Financing.objects.create(project=project, partner=gie, amount=Decimal(1))
    )  # one line per partner
    assert refused(
        lambda: Financing.objects.create(project=project, partner_id=project.operator_id, amount=Decimal(-1))
    )
    assert refused(lambda: ProjectOutput.objects.create(project=project, indicator_id="LOTS"))
    assert refused(
        lambda: ProjectOutput.objects.create(project=project, indicator_id="LOTS", target=Decimal(-1))
    )
    assert refused(lambda: Milestone.objects.create(project=project, type_id="OS"))


def test_versions_are_numbered_once_and_fingerprinted(project):
    version = ProjectVersion.objects.get(project=project)

    def copy(**values):
        def write():
            clone = ProjectVersion.objects.get(pk=version.pk)
            clone.pk = None
            for name, value in values.items():
                setattr(clone, name, value)
            clone.save()

        return write

    assert refused(copy())  # number 1 again
    assert refused(copy(number=0))
    assert refused(copy(number=2, sha256="short"))
    assert refused(copy(number=2, canonical=""))
    assert refused(copy(number=2, source_kind="fax"))
    assert not refused(copy(number=2))


def test_agreement_parties():
    agreement = Agreement.objects.create(reference="CONV-1", title_fr="Convention", title_ar="اتفاقية")
    gie = Organisation.objects.get(code="MA-GIE-DAKHLA-SC")
    AgreementParty.objects.create(agreement=agreement, organisation=gie, role="signatory")
    assert refused(
        lambda: AgreementParty.objects.create(agreement=agreement, organisation=gie, role="signatory")
    )
    assert refused(lambda: AgreementParty.objects.create(agreement=agreement, organisation=gie, role="donor"))
    assert refused(
        lambda: AgreementParty.objects.create(
            agreement=agreement, organisation=gie, role="financier", commitment_amount=-1
        )
    )
    assert refused(lambda: Agreement.objects.create(reference="", title_fr="x", title_ar="x"))


def test_organisations():
    region = Territory.objects.get(code="06")
    assert refused(
        lambda: Organisation.objects.create(code="ma-lower", kind="bank", name_fr="x", name_ar="x")
    )
    assert refused(lambda: Organisation.objects.create(code="XX-BANK", kind="bank", name_fr="x", name_ar="x"))
    assert refused(
        lambda: Organisation.objects.create(code="MA-CR-99", kind="region_council", name_fr="x", name_ar="x")
    )
    assert refused(lambda: Organisation.objects.create(code="MA-Z", kind="club", name_fr="x", name_ar="x"))
    assert not refused(
        lambda: Organisation.objects.create(
            code="MA-CR-X", kind="region_council", name_fr="x", name_ar="x", territory=region
        )
    )


def test_memberships():
    user = User.objects.create(username="someone")
    region = Territory.objects.get(code="06")
    operator = Organisation.objects.get(code="MA-ALOMRANE-CS")
    assert refused(lambda: Membership.objects.create(user=user, role=Role.TERRITORIAL_OFFICER))
    assert refused(lambda: Membership.objects.create(user=user, role=Role.OPERATOR_STEWARD))
    assert refused(lambda: Membership.objects.create(user=user, role=Role.PARTNER_VIEWER, territory=region))
    assert refused(lambda: Membership.objects.create(user=user, role=Role.NATIONAL_ANALYST, territory=region))
    assert refused(lambda: Membership.objects.create(user=user, role="superhero"))
    Membership.objects.create(user=user, role=Role.NATIONAL_ANALYST)
    assert refused(lambda: Membership.objects.create(user=user, role=Role.NATIONAL_ANALYST))
    Membership.objects.create(user=user, role=Role.OPERATOR_STEWARD, organisation=operator)
    assert refused(
        lambda: Membership.objects.create(user=user, role=Role.OPERATOR_STEWARD, organisation=operator)
    )
    Membership.objects.create(user=user, role=Role.TERRITORIAL_OFFICER, territory=region)
    assert refused(
        lambda: Membership.objects.create(user=user, role=Role.TERRITORIAL_OFFICER, territory=region)
    )
