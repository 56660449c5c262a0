"""The demo dataset: deterministic, realistic, written through the services, idempotent.

The first tests run on an empty registry (each in its own rolled-back transaction). The others share
one dataset of SIZE projects, generated once for the module inside a transaction that is rolled back
at the end; they only read it (or re-run the generator, which changes nothing).
"""

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import F, Sum

from marsad.accounts.models import Membership, Organisation, User
from marsad.registry.demo import (
    BUDGET_RANGES,
    DEMO_PASSWORD,
    DEMO_TODAY,
    DEMO_USERS,
    HOUSING,
    DemoDataError,
    build_plans,
    demo_generate,
    demo_logins,
    iter_records,
)
from marsad.registry.models import Agreement, Financing, Project, ProjectCommune, ProjectVersion, Status
from marsad.territories.census import slum_households
from marsad.territories.models import HouseholdCensus

pytestmark = pytest.mark.django_db
SIZE = 200
SEED = 11
SOUTH = ("10", "11", "12")


def version_hashes() -> list[tuple[str, int, str]]:
    return list(
        ProjectVersion.objects.order_by("project__public_id", "number").values_list(
            "project__public_id", "number", "sha256"
        )
    )


# --- On an empty registry -----------------------------------------------------------------------------------


def test_same_seed_and_size_give_the_same_versions():
    def generate(seed: int) -> list[tuple[str, int, str]]:
        with transaction.atomic():
            demo_generate(projects=60, seed=seed, users=False)
            found = version_hashes()
            transaction.set_rollback(True)
        return found

    first = generate(5)
    assert len(first) > 600
    assert generate(5) == first
    assert generate(6) != first
    assert not Project.objects.exists()


def test_a_dataset_too_small_for_the_seed_facts_is_refused():
    with pytest.raises(DemoDataError, match="ne suffisent pas"):
        build_plans(projects=10, seed=1)


def test_an_earlier_today_reports_nothing_after_it():
    today = date(2024, 6, 30)
    plans = build_plans(projects=80, seed=3, today=today)
    assert "PDTI" not in {plan.programme for plan in plans}  # a programme of 2026
    records = [record for _, _, record in iter_records(plans, today)]
    assert len(records) > 1000
    for record in records:
        if record.get("withdrawn"):
            continue
        dates = [record["as_of"], record["actual_start"], record["actual_end"]]
        dates += [entry["actual"] for entry in record["milestones"].values()]
        assert max(d for d in dates if d) <= today.isoformat(), record["operator_ref"]


def test_the_command_needs_the_reference_data():
    Status.objects.all().delete()
    with pytest.raises(CommandError, match="reference_load"):
        call_command("demo_data", "--projects", "60", stdout=StringIO())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--projects", "0"], "--projects"),
        (["--today", "31/10/2026"], "Date invalide"),
        (["--today", "2010-01-01"], "--today"),
        (["--batch-size", "5000"], "--batch-size"),
    ],
)
def test_the_command_rejects_bad_options(options, message):
    with pytest.raises(CommandError, match=message):
        call_command("demo_data", *options, stdout=StringIO())


# --- One shared dataset -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dataset(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        summary = demo_generate(projects=SIZE, seed=SEED)
        yield summary
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def plans(dataset):
    return {(plan.operator, plan.ref): plan for plan in build_plans(projects=SIZE, seed=SEED)}


@pytest.fixture(scope="module")
def histories(dataset) -> dict[int, list[tuple[dict, list[str]]]]:
    """Every project's versions in order: (document, warning codes)."""
    found = defaultdict(list)
    for project_id, canonical, warnings in ProjectVersion.objects.order_by(
        "project_id", "number"
    ).values_list("project_id", "canonical", "warnings"):
        found[project_id].append((json.loads(canonical), [w["code"] for w in warnings]))
    return found


def alive():
    return Project.objects.filter(withdrawn=False).exclude(status="ANNU")


def test_every_region_has_projects_written_as_demo_versions(dataset):
    assert Project.objects.count() == dataset.projects == SIZE
    assert sorted(set(Project.objects.values_list("region_code", flat=True))) == [
        f"{n:02d}" for n in range(1, 13)
    ]
    assert dataset.outcomes["rejected"] == 0
    assert ProjectVersion.objects.count() == dataset.versions == dataset.records
    assert set(ProjectVersion.objects.values_list("source_kind", flat=True)) == {"demo"}
    assert set(Project.objects.values_list("programme_id", flat=True)) >= {
        "VSB",
        "HMR",
        "RQSE",
        "MANU",
        "LS250",
        "VN",
        "PU",
        "ZAE",
        "CE",
        "PDR",
        "PRDTS",
        "PDTI",
    }


def test_budgets_fall_in_their_programme_range(dataset, histories):
    for programme, budget in Project.objects.values_list("programme_id", "budget"):
        low, high = BUDGET_RANGES[programme]
        assert low <= budget <= high, (programme, budget)
    for versions in histories.values():
        for document, _ in versions:
            if "budget" in document:
                low, high = BUDGET_RANGES[document["programme"]]
                assert low <= Decimal(document["budget"]) <= high


def test_vsb_projects_are_where_the_slum_households_are(dataset):
    slums = {
        code: slum_households(count, share) or 0
        for code, count, share in HouseholdCensus.objects.filter(
            area="urban", territory__level="province"
        ).values_list("territory__code", "households_count", "dwelling_type_basic_or_slum")
    }
    top = set(sorted(slums, key=lambda code: (-slums[code], code))[:20])
    provinces = list(Project.objects.filter(programme="VSB").values_list("province_code", flat=True))
    assert len(provinces) >= 10
    assert sum(province in top for province in provinces) / len(provinces) >= 0.6
    # Every VSB project is in an urban commune or arrondissement that has slum households.
    for commune in Project.objects.filter(programme="VSB").select_related("primary_commune"):
        row = HouseholdCensus.objects.get(territory=commune.primary_commune, area="urban")
        assert slum_households(row.households_count, row.dwelling_type_basic_or_slum) > 0


def test_communes_suit_their_programmes(dataset):
    rural_programmes = ProjectCommune.objects.filter(project__programme__in=["PRDTS", "PDP", "CE"])
    assert rural_programmes.exists()
    assert set(rural_programmes.values_list("territory__kind", flat=True)) == {"rural"}
    urban = Project.objects.filter(
        programme__in=["VSB", "HMR", "RQSE", "MANU", "LS250", "LFVIT140", "PU", "ZAE"]
    )
    assert {
        (c.level, c.kind) for c in (p.primary_commune for p in urban.select_related("primary_commune"))
    } <= {
        ("commune", "urban"),
        ("arrondissement", ""),
    }


def test_operators_are_the_regional_operators(dataset):
    projects = Project.objects.select_related("operator__parent", "operator__territory")
    assert {p.operator.kind for p in projects} == {"operator"}
    for project in projects:
        assert project.operator.territory.code == project.region_code, project.operator_ref
        if project.programme_id in HOUSING:
            assert project.operator.parent.code == "MA-ALOMRANE", project.operator_ref
    assert projects.filter(operator__code__startswith="MA-AREP-").exists()
    assert projects.filter(programme="PRDTS", operator__code__startswith="MA-ALOMRANE-").exists()


def test_the_dakhla_urban_pole_under_a_ppp_with_the_gie(dataset):
    project = Project.objects.get(operator__code="MA-ALOMRANE-DOE", operator_ref="DOE-PU-DAKHLA")
    assert (project.programme_id, project.primary_commune.code, project.area_ha) == (
        "PU",
        "12.391.01.01",
        275,
    )
    assert project.outputs.get(indicator="SUP").target == 275
    assert dict(project.financing.values_list("partner__code", "amount")) == {
        "MA-ALOMRANE-DOE": Decimal("900000000.00"),
        "MA-GIE-DAKHLA-SC": Decimal("600000000.00"),
    }
    assert project.agreement.reference == "CONV-PPP-DAKHLA-2019"
    assert project.agreement.signed_on == date(2019, 5, 10)
    roles = project.agreement.parties.filter(organisation__code="MA-GIE-DAKHLA-SC").values_list(
        "role", flat=True
    )
    assert sorted(roles) == ["financier", "signatory"]
    assert project.published
    assert project.status_id == "ENCO"


def test_the_new_town_of_lakhyayta(dataset):
    project = Project.objects.get(operator__code="MA-ALOMRANE-CS", programme="VN")
    assert (project.primary_commune.code, project.province_code, project.region_code) == (
        "06.117.09.25",
        "06.117",
        "06",
    )
    assert "Lakhyayta" in project.title_fr
    assert "الخيايطة" in project.title_ar
    assert project.area_ha == 1000
    assert project.agreement.reference == "CONV-VN-LAKHYAYTA-2013"


def test_al_omrane_mobilised_over_7_billion_in_the_south(dataset):
    south = alive().filter(region_code__in=SOUTH, operator__code__startswith="MA-ALOMRANE-")
    assert south.aggregate(total=Sum("budget"))["total"] > 7_000_000_000
    assert set(south.values_list("region_code", flat=True)) == set(SOUTH)


def test_al_omrane_casablanca_settat_invests_about_500_million_a_year(dataset):
    for year in range(2020, 2026):
        total = (
            alive()
            .filter(operator__code="MA-ALOMRANE-CS", planned_start__year=year)
            .aggregate(t=Sum("budget"))
        )
        assert 425_000_000 <= total["t"] <= 575_000_000, (year, total["t"])


def test_late_stalled_withdrawn_cancelled_and_over_budget_projects(dataset, histories):
    assert alive().filter(planned_end__lt=DEMO_TODAY).exclude(status__in=["ACHV", "LIVR"]).exists()
    stalled = Project.objects.filter(status__in=["DIFF", "SUSP"], withdrawn=False)
    assert stalled.exists()
    for project in stalled:  # progress flat over its last reports
        progress = [document["progress"] for document, _ in histories[project.pk][-3:]]
        assert len(set(progress)) == 1, project.operator_ref
    withdrawn = Project.objects.filter(withdrawn=True)
    assert withdrawn.exists()
    assert ProjectVersion.objects.filter(is_tombstone=True).count() == withdrawn.count()
    assert Project.objects.filter(status="ANNU").exists()
    assert Project.objects.filter(committed__gt=F("budget")).exists()


def test_histories_are_coherent_except_the_deliberate_cases(dataset, plans, histories):
    corrected = {key for key, plan in plans.items() if plan.regression is not None}
    mismatched = {key for key, plan in plans.items() if plan.mismatch}
    warned = defaultdict(set)
    for versions in histories.values():
        documents = [document for document, _ in versions if not document.get("withdrawn")]
        key = (documents[0]["operator"], documents[0]["operator_ref"])
        for _, codes in versions:
            warned[key].update(codes)
        progress = [Decimal(d["progress"]) for d in documents]
        if key not in corrected:
            assert progress == sorted(progress), key
        for name in ("committed", "paid"):
            amounts = [Decimal(d[name]) for d in documents]
            assert amounts == sorted(amounts), (key, name)
        for document in documents:
            started = document["status"] not in ("PROG", "CONV", "ETUD", "AO", "ANNU")
            assert (document["actual_start"] is not None) == started or document["status"] == "ANNU", key
            if document["status"] in ("ACHV", "LIVR"):
                assert document["progress"] == "100.00", key
                assert document["actual_end"], key
        achieved = defaultdict(list)
        for document in documents:
            for code, output in document["outputs"].items():
                if output["achieved"] is not None:
                    achieved[code].append(Decimal(output["achieved"]))
        assert all(values == sorted(values) for values in achieved.values()), key
    assert not any("status_incoherent" in codes for codes in warned.values())
    assert {key for key, codes in warned.items() if "progress_regression" in codes} == corrected
    assert corrected
    assert {key for key, codes in warned.items() if "financing_mismatch" in codes} == mismatched
    assert mismatched
    assert any("committed_exceeds_budget" in codes for codes in warned.values())


def test_projects_report_monthly_while_active(dataset, plans, histories):
    """A monthly project reports every month of its works since 2022, quarterly before."""
    checked = 0
    by_key = {(p.operator.code, p.operator_ref): p.pk for p in Project.objects.select_related("operator")}
    for key, plan in plans.items():
        if plan.quarterly or plan.is_withdrawn() or plan.start >= date(2025, 1, 1):
            continue
        days = [
            date.fromisoformat(document["as_of"])
            for document, _ in histories[by_key[key]]
            if document["status"] in ("ENCO", "DIFF", "SUSP") and document["as_of"] >= "2023-01-01"
        ]
        months = [day.year * 12 + day.month for day in days]
        if months:
            assert months == list(range(months[0], months[0] + len(months))), key
            checked += 1
    assert checked > 10


def test_agreements_link_projects_with_parties_and_commitments(dataset):
    agreements = Agreement.objects.prefetch_related("parties__organisation", "projects")
    assert 10 <= len(agreements) == dataset.agreements_created
    for agreement in agreements:
        assert agreement.projects.exists(), agreement.reference
        assert {p.role for p in agreement.parties.all()} >= {"signatory", "financier"}
        if agreement.reference.startswith(("CONV-HAB", "CONV-URB", "CONV-PDR", "CONV-PRDTS")):
            committed = {
                p.organisation.code: p.commitment_amount
                for p in agreement.parties.all()
                if p.role == "financier"
            }
            financed = dict(
                Financing.objects.filter(project__agreement=agreement)
                .values("partner__code")
                .annotate(total=Sum("amount"))
                .values_list("partner__code", "total")
            )
            assert committed == financed, agreement.reference


def test_a_share_of_projects_is_published(dataset):
    published = Project.objects.filter(published=True)
    assert 0.5 <= published.count() / SIZE <= 0.85
    assert not published.filter(withdrawn=True).exists()
    assert published.count() == dataset.published


def test_demo_users_for_every_role(dataset):
    assert dataset.users_created == len(DEMO_USERS)
    for username, role, territory, organisation in DEMO_USERS:
        user = User.objects.get(username=username)
        assert user.check_password(DEMO_PASSWORD)
        membership = Membership.objects.get(user=user)
        assert (membership.role, membership.territory.code if membership.territory else "") == (
            role,
            territory,
        )
        assert (membership.organisation.code if membership.organisation else "") == organisation
    admin = User.objects.get(username="admin")
    assert admin.is_staff
    assert admin.is_superuser
    assert not User.objects.get(username="analyste").is_staff
    logins = demo_logins()
    assert [login[0] for login in logins] == [user[0] for user in DEMO_USERS]
    assert logins[3] == ("gouverneur.dakhla", "Responsable territorial", "Oued Ed-Dahab (12.391)")
    assert logins[5] == (
        "omrane.holding",
        "Gestionnaire de données d'un opérateur",
        "Holding d'Aménagement Al Omrane (MA-ALOMRANE), filiales comprises",
    )
    assert Organisation.objects.filter(code__startswith="MA-AREP-", kind="operator").count() == 12


def test_running_again_changes_nothing(dataset):
    hashes = version_hashes()
    again = demo_generate(projects=SIZE, seed=SEED)
    assert dict(again.outcomes) == {"unchanged": SIZE}
    assert (again.versions, again.agreements_created, again.published, again.users_created) == (0, 0, 0, 0)
    assert version_hashes() == hashes


def test_the_command_prints_the_summary_and_the_logins(dataset):
    out = StringIO()
    call_command("demo_data", "--projects", str(SIZE), "--seed", str(SEED), stdout=out)
    text = out.getvalue()
    assert f"{SIZE} unchanged" in text
    assert "0 versions écrites" in text
    assert DEMO_PASSWORD in text
    assert "gouverneur.dakhla" in text
    assert "Oued Ed-Dahab (12.391)" in text
