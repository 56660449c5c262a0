"""/api/v1 reads of the registry: scoping per role, filters, detail, versions with diffs, agreements,
programmes, organisations' project counts, reference lists, problems for bad input, pinned query
counts and the OpenAPI document."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from marsad.accounts.choices import Role
from marsad.accounts.models import Organisation
from marsad.accounts.scoping import Scope
from marsad.accounts.services import membership_grant, organisation_save, user_create
from marsad.audit.services import SystemActor
from marsad.registry.models import Project
from marsad.registry.services import (
    PartyInput,
    agreement_create,
    projects_publish,
    public_id_for,
    records_apply,
)
from marsad.territories.models import Territory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
TODAY = date(2026, 10, 31)
RECEIVED = datetime(2026, 10, 31, 9, 0, tzinfo=UTC)
UPDATED = RECEIVED + timedelta(days=1)
NATIONAL = Scope(roles=frozenset({Role.ADMINISTRATOR}), label="test")
SYSTEM = SystemActor("test")


def _record(operator, reference, commune, programme, status, title_fr, title_ar, budget, **extra) -> dict:
    return {
        "operator": operator,
        "operator_ref": reference,
        "title": {"fr": title_fr, "ar": title_ar},
        "programme": programme,
        "status": status,
        "communes": {commune: {"primary": True, "share": None}},
        "budget": budget,
        "financing": {operator: budget},
        **extra,
    }


DAKHLA = {
    "operator": "MA-ALOMRANE-DOE",
    "operator_ref": "DOE-PU-001",
    "title": {"fr": "Pôle urbain de Dakhla", "ar": "القطب الحضري للداخلة"},
    "description": {"fr": "Ville intelligente sur 275 ha", "ar": ""},
    "programme": "PU",
    "status": "ENCO",
    "agreement": "CONV-DAKHLA-2019",
    "communes": {"12.391.01.01": {"primary": True, "share": None}},
    "location": {"lat": "23.70000", "lon": "-15.93000"},
    "area_ha": "275",
    "planned_start": "2024-01-01",
    "planned_end": "2030-12-31",
    "actual_start": "2024-03-01",
    "actual_end": None,
    "budget": "1500000000.00",
    "financing": {"MA-ALOMRANE-DOE": "900000000.00", "MA-GIE-DAKHLA-SC": "600000000.00"},
    "outputs": {"SUP": {"target": "275", "achieved": "40"}, "LOTS": {"target": "3200", "achieved": None}},
    "milestones": {
        "SIGN_CONV": {"planned": None, "forecast": None, "actual": "2019-05-10"},
        "OS": {"planned": "2024-02-01", "forecast": None, "actual": "2024-03-01"},
    },
    "as_of": "2026-09-30",
    "progress": "12.50",
    "committed": "300000000.00",
    "paid": "150000000.00",
}

# A: financed by the Casablanca-Settat region council; B: under the agreement it signed; C: neither.
# D, E, G, I are published; H was published, then withdrawn.
PROJECTS = {
    "A": _record(
        "MA-ALOMRANE-CS",
        "CS-VSB-001",
        "06.141.01.53",  # Sidi Moumen, an arrondissement of Casablanca
        "VSB",
        "ENCO",
        "Recasement des ménages de Sidi Moumen",
        "إعادة إيواء أسر سيدي مومن",
        "100000000.00",
        financing={"MA-ALOMRANE-CS": "60000000.00", "MA-CR-06": "40000000.00"},
    ),
    "B": _record(
        "MA-ALOMRANE-CS",
        "CS-LS-002",
        "06.461.01.15",  # Settat
        "LS250",
        "ETUD",
        "Logements sociaux à Settat",
        "السكن الاجتماعي بسطات",
        "80000000.00",
        agreement="CONV-CS-2024",
    ),
    "C": _record(
        "MA-ALOMRANE-CS",
        "CS-MANU-003",
        "06.141.01.0",  # the commune of Casablanca itself
        "MANU",
        "PROG",
        "Mise à niveau urbaine de l'ancienne médina",
        "التأهيل الحضري للمدينة القديمة",
        "50000000.00",
    ),
    "D": DAKHLA,
    "E": _record(
        "MA-ALOMRANE-TTA",
        "TTA-RQSE-001",
        "01.511.01.01",  # Assilah (its code starts with Tanger's, it is not in Tanger)
        "RQSE",
        "ACHV",
        "Restructuration du quartier Hay Al Amal à Assilah",
        "إعادة هيكلة حي الأمل بأصيلة",
        "30000000.00",
        progress="100",
        actual_start="2022-01-10",
        actual_end="2025-06-30",
    ),
    "F": _record(
        "MA-ALOMRANE-TTA",
        "TTA-MANU-002",
        "01.511.01.03",  # Bni Makada, an arrondissement of Tanger
        "MANU",
        "ENCO",
        "Mise à niveau de Bni Makada",
        "تأهيل بني مكادة",
        "45000000.00",
    ),
    "G": _record(
        "MA-ALOMRANE",
        "HAO-VN-001",
        "04.501.03.11",  # Sidi Yahya Zaer (Tamesna)
        "VN",
        "ENCO",
        "Ville nouvelle de Tamesna",
        "المدينة الجديدة تامسنا",
        "900000000.00",
        financing={"MA-ALOMRANE": "700000000.00", "MA-CR-04": "200000000.00"},
    ),
    "H": _record(
        "MA-ALOMRANE-MS",
        "MS-HMR-001",
        "07.351.01.07",  # Marrakech-Médina
        "HMR",
        "ENCO",
        "Habitat menaçant ruine de la médina de Marrakech",
        "السكن الآيل للسقوط بالمدينة العتيقة لمراكش",
        "20000000.00",
    ),
    "I": _record(
        "MA-ALOMRANE-CS",
        "CS-VSB-004",
        "06.141.01.51",  # Sidi Bernoussi, an arrondissement of Casablanca
        "VSB",
        "LIVR",
        "Relogement des ménages du karyan de Sidi Bernoussi",
        "إعادة إسكان أسر كاريان سيدي البرنوصي",
        "120000000.00",
        progress="100",
        actual_start="2020-02-01",
        actual_end="2024-12-31",
    ),
}
PUBLISHED = ("D", "E", "G", "H", "I")
ALL = tuple(PROJECTS)


def pid(key: str) -> str:
    return public_id_for(PROJECTS[key]["operator"], PROJECTS[key]["operator_ref"])


def ids(*keys: str) -> list[str]:
    return sorted(pid(key) for key in keys)


def apply(records, **options):
    batch = records_apply(
        actor=SYSTEM,
        records=records,
        source_kind="command",
        source_id="test-load",
        scope=NATIONAL,
        today=TODAY,
        **options,
    )
    assert all(not result.errors for result in batch.results), [r.as_dict() for r in batch.results]
    return batch


@pytest.fixture
def users():
    def person(name, role, territory=None, organisation=None):
        user = user_create(actor=SYSTEM, username=name, password=None)
        membership_grant(
            actor=SYSTEM,
            user=user,
            role=role,
            territory=Territory.objects.get(code=territory) if territory else None,
            organisation=Organisation.objects.get(code=organisation) if organisation else None,
        )
        return user

    return {
        "national": person("analyste", Role.NATIONAL_ANALYST),
        "officer": person("wilaya-06", Role.TERRITORIAL_OFFICER, territory="06"),
        "steward": person("steward-tta", Role.OPERATOR_STEWARD, organisation="MA-ALOMRANE-TTA"),
        "holding": person("steward-hao", Role.OPERATOR_STEWARD, organisation="MA-ALOMRANE"),
        "partner": person("cr-06", Role.PARTNER_VIEWER, organisation="MA-CR-06"),
    }


@pytest.fixture
def registry(users):
    agreement_create(
        actor=SYSTEM,
        reference="CONV-CS-2024",
        title_fr="Convention de logement social de Settat",
        title_ar="اتفاقية السكن الاجتماعي بسطات",
        signed_on=date(2024, 3, 15),
        parties=[
            PartyInput("MA-CR-06", "signatory"),
            PartyInput("MA-CR-06", "financier", Decimal("50000000.00")),
            PartyInput("MA-ALOMRANE-CS", "contracting_authority", Decimal("30000000.00")),
            PartyInput("MA-MATNUHPV", "signatory", None, "Mobilisation du foncier"),
        ],
    )
    agreement_create(
        actor=SYSTEM,
        reference="CONV-DAKHLA-2019",
        title_fr="Convention du pôle urbain de Dakhla",
        title_ar="اتفاقية القطب الحضري للداخلة",
        signed_on=date(2019, 5, 10),
        parties=[
            PartyInput("MA-ALOMRANE-DOE", "contracting_authority", Decimal("900000000.00")),
            PartyInput("MA-GIE-DAKHLA-SC", "financier", Decimal("600000000.00")),
        ],
    )
    apply(list(PROJECTS.values()), received_at=RECEIVED)
    projects_publish(actor=users["national"], projects=Project.objects.filter(public_id__in=ids(*PUBLISHED)))
    apply([{**DAKHLA, "budget": "1600000000.00"}], received_at=UPDATED)
    withdrawal = {
        "operator": "MA-ALOMRANE-MS",
        "operator_ref": "MS-HMR-001",
        "withdrawn": True,
        "reason": "Doublon",
    }
    apply([withdrawal], received_at=UPDATED)
    return users


@pytest.fixture
def as_role(client, registry):
    def login(role: str | None):
        client.logout()
        if role is not None:
            client.force_login(registry[role])
        return client

    return login


def listed(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def assert_problem(response, status: int, pointer: str | None = None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert set(body["i18n"]) == {"ar", "fr"}
    if pointer is not None:
        assert [error["pointer"] for error in body["errors"]] == [pointer]
        error = body["errors"][0]
        assert error["message_fr"]
        assert error["message_ar"]
    return body


# --- Scoping: who sees which projects -----------------------------------------------------------------------


@pytest.mark.dbsensitive
@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (None, ("D", "E", "G", "I")),  # the public: published and not withdrawn
        ("national", ALL),
        ("officer", ("A", "B", "C", "I", "D", "E", "G")),  # region 06, plus the public ones
        ("steward", ("E", "F", "D", "G", "I")),  # its subsidiary's projects, plus the public ones
        ("holding", ALL),  # the holding sees its subsidiaries' projects, the withdrawn one included
        ("partner", ("A", "B", "D", "E", "G", "I")),  # A it finances, B whose agreement it signed
    ],
)
def test_projects_visible_per_role(as_role, role, expected):
    client = as_role(role)
    response = client.get("/api/v1/projects")
    assert listed(response) == ids(*expected)
    assert response.json()["count"] == len(expected)


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        (None, ("D", "E", "G", "I"), ("A", "B", "C", "F", "H")),
        ("officer", ("A", "B", "C"), ("F", "H")),
        ("steward", ("E", "F"), ("A", "B", "C", "H")),
        ("partner", ("A", "B"), ("C", "F", "H")),
        ("holding", ("H", "F", "A"), ()),
    ],
)
def test_project_detail_out_of_scope_is_a_404_like_a_missing_one(as_role, role, visible, hidden):
    client = as_role(role)
    for key in visible:
        assert client.get(f"/api/v1/projects/{pid(key)}").status_code == 200
    missing = assert_problem(client.get("/api/v1/projects/MRS-0000000000"), 404)
    for key in hidden:
        for url in (f"/api/v1/projects/{pid(key)}", f"/api/v1/projects/{pid(key)}/versions"):
            body = assert_problem(client.get(url), 404)
            assert body == missing  # nothing tells an out-of-scope project from a missing one
        assert_problem(client.get(f"/api/v1/projects/{pid(key)}/versions/1"), 404)


# --- Filters ------------------------------------------------------------------------------------------------


@pytest.mark.dbsensitive
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"region": "06"}, ("A", "B", "C", "I")),
        ({"province": "06.141"}, ("A", "C", "I")),
        # the commune of Casablanca includes its arrondissements (filed under its prefectures of
        # arrondissements); Tanger includes Bni Makada but not Assilah, whose code starts like Tanger's
        ({"commune": "06.141.01.0"}, ("A", "C", "I")),
        ({"commune": "06.141.01.50"}, ("A", "I")),  # a prefecture of arrondissements: Sidi Bernoussi
        ({"commune": "06.141.01.53"}, ("A",)),  # an arrondissement
        ({"commune": "01.511.01.0"}, ("F",)),
        ({"commune": "01.511.01.01"}, ("E",)),
        ({"programme": "VSB"}, ("A", "I")),
        ({"programme": "MANU"}, ("C", "F")),
        ({"programme": "ZAE"}, ()),
        ({"operator": "MA-ALOMRANE-CS"}, ("A", "B", "C", "I")),
        ({"operator": "MA-ALOMRANE"}, ALL),  # the holding includes its subsidiaries
        ({"operator": "MA-CR-06"}, ()),
        ({"status": "ENCO"}, ("A", "D", "F", "G", "H")),
        ({"agreement": "CONV-CS-2024"}, ("B",)),
        ({"published": "true"}, ("D", "E", "G", "H", "I")),
        ({"published": "false"}, ("A", "B", "C", "F")),
        ({"withdrawn": "true"}, ("H",)),
        ({"region": "06", "status": "ENCO"}, ("A",)),
        ({"region": "06", "programme": "VSB", "published": "true"}, ("I",)),
        # text in French: accents and case do not count
        ({"q": "medina"}, ("C", "H")),
        ({"q": "MÉDINA marrakech"}, ("H",)),
        ({"q": "Tamesna"}, ("G",)),
        ({"q": "cs-vsb-004"}, ("I",)),  # the operator's reference
        # text in Arabic: hamza forms, taa marbuta and harakat do not count
        ({"q": "اصيله"}, ("E",)),
        ({"q": "أَصِيلَة"}, ("E",)),
        ({"q": "مدينه القديمه"}, ("C",)),  # للمدينة القديمة
        ({"q": "سيدي"}, ("A", "I")),
        ({"q": "   "}, ALL),  # an empty search is no filter
    ],
)
def test_filters(as_role, params, expected):
    response = as_role("national").get("/api/v1/projects", params)
    assert listed(response) == ids(*expected)


@pytest.mark.dbsensitive
def test_search_by_marsad_id(as_role):
    response = as_role(None).get("/api/v1/projects", {"q": pid("D").lower()})
    assert listed(response) == [pid("D")]


def test_filters_stay_inside_the_scope(as_role):
    client = as_role("partner")
    assert listed(client.get("/api/v1/projects", {"region": "06"})) == ids("A", "B", "I")
    assert listed(client.get("/api/v1/projects", {"operator": "MA-ALOMRANE-TTA"})) == ids("E")
    assert listed(as_role(None).get("/api/v1/projects", {"published": "false"})) == []


@pytest.mark.dbsensitive
def test_pagination(as_role):
    body = as_role("national").get("/api/v1/projects", {"page": 2, "page_size": 4}).json()
    assert (body["count"], body["page"], body["page_size"], body["pages"]) == (9, 2, 4, 3)
    assert [item["id"] for item in body["items"]] == ids(*ALL)[4:8]


def test_list_item(as_role):
    body = as_role(None).get("/api/v1/projects", {"commune": "01.511.01.01"}).json()
    assert body["items"] == [
        {
            "id": pid("E"),
            "operator_ref": "TTA-RQSE-001",
            "title_fr": "Restructuration du quartier Hay Al Amal à Assilah",
            "title_ar": "إعادة هيكلة حي الأمل بأصيلة",
            "programme": {
                "code": "RQSE",
                "name_fr": "Restructuration des quartiers sous-équipés",
                "name_ar": "إعادة هيكلة الأحياء ناقصة التجهيز",
            },
            "status": {"code": "ACHV", "name_fr": "Achevé", "name_ar": "منجز"},
            "operator": {
                "code": "MA-ALOMRANE-TTA",
                "name_fr": "Al Omrane Tanger-Tétouan-Al Hoceima",
                "name_ar": "العمران طنجة-تطوان-الحسيمة",
            },
            "commune": {"code": "01.511.01.01", "level": "commune", "name_fr": "Assilah", "name_ar": "أصيلة"},
            "region_code": "01",
            "province_code": "01.511",
            "budget": "30000000.00",
            "as_of": None,
            "progress": "100.00",
            "planned_end": None,
            "published": True,
            "withdrawn": False,
            "version": 1,
        }
    ]


# --- Detail -------------------------------------------------------------------------------------------------


def test_project_detail(as_role, django_assert_num_queries):
    client = as_role(None)
    # project with programme, status, operator, agreement and commune; communes; financing; outputs;
    # milestones; the current version's warnings
    with django_assert_num_queries(6):
        response = client.get(f"/api/v1/projects/{pid('D')}")
    assert response.status_code == 200
    body = response.json()
    project = Project.objects.get(public_id=pid("D"))
    assert body.pop("published_at") is not None
    assert body.pop("sha256") == project.sha256
    assert len(project.sha256) == 64
    financing_warning = {
        "code": "financing_mismatch",
        "severity": "warning",
        "pointer": "/financing",
        "message_fr": "Le plan de financement (1500000000.00) s'écarte du budget (1600000000.00) "
        "de plus de 1 %.",
    }
    warnings = body.pop("warnings")
    assert [{k: w[k] for k in financing_warning} for w in warnings] == [financing_warning]
    assert warnings[0]["message_ar"]
    assert body == {
        "id": pid("D"),
        "operator_ref": "DOE-PU-001",
        "title_fr": "Pôle urbain de Dakhla",
        "title_ar": "القطب الحضري للداخلة",
        "description_fr": "Ville intelligente sur 275 ha",
        "description_ar": "",
        "programme": {"code": "PU", "name_fr": "Pôles urbains", "name_ar": "الأقطاب الحضرية"},
        "status": {
            "code": "ENCO",
            "name_fr": "En cours de réalisation",
            "name_ar": "في طور الإنجاز",
            "is_completed": False,
            "is_cancelled": False,
        },
        "operator": {
            "code": "MA-ALOMRANE-DOE",
            "name_fr": "Al Omrane Dakhla-Oued Ed-Dahab",
            "name_ar": "العمران الداخلة-وادي الذهب",
        },
        "agreement": {
            "reference": "CONV-DAKHLA-2019",
            "title_fr": "Convention du pôle urbain de Dakhla",
            "title_ar": "اتفاقية القطب الحضري للداخلة",
            "signed_on": "2019-05-10",
        },
        "communes": [
            {
                "code": "12.391.01.01",
                "level": "commune",
                "name_fr": "Dakhla",
                "name_ar": "الداخلة",
                "region_code": "12",
                "province_code": "12.391",
                "primary": True,
                "share": None,
            }
        ],
        "region_code": "12",
        "province_code": "12.391",
        "location": {"lat": "23.7", "lon": "-15.93"},
        "area_ha": "275",
        "planned_start": "2024-01-01",
        "planned_end": "2030-12-31",
        "initial_planned_end": "2030-12-31",
        "actual_start": "2024-03-01",
        "actual_end": None,
        "budget": "1600000000.00",
        "financing": [
            {
                "partner": {
                    "code": "MA-ALOMRANE-DOE",
                    "name_fr": "Al Omrane Dakhla-Oued Ed-Dahab",
                    "name_ar": "العمران الداخلة-وادي الذهب",
                },
                "amount": "900000000.00",
            },
            {
                "partner": {
                    "code": "MA-GIE-DAKHLA-SC",
                    "name_fr": "GIE Dakhla Ville Intelligente",
                    "name_ar": "المجموعة ذات النفع الاقتصادي «الداخلة المدينة الذكية»",
                },
                "amount": "600000000.00",
            },
        ],
        "outputs": [
            {
                "indicator": {"code": "LOTS", "name_fr": "Lots équipés", "name_ar": "البقع المجهزة"},
                "unit": "lots",
                "target": "3200",
                "achieved": None,
            },
            {
                "indicator": {"code": "SUP", "name_fr": "Superficie aménagée", "name_ar": "المساحة المهيأة"},
                "unit": "ha",
                "target": "275",
                "achieved": "40",
            },
        ],
        "milestones": [
            {
                "type": {
                    "code": "SIGN_CONV",
                    "name_fr": "Signature convention",
                    "name_ar": "توقيع الاتفاقية",
                },
                "planned": None,
                "forecast": None,
                "actual": "2019-05-10",
            },
            {
                "type": {"code": "OS", "name_fr": "Ordre de service", "name_ar": "الأمر بالشروع في الأشغال"},
                "planned": "2024-02-01",
                "forecast": None,
                "actual": "2024-03-01",
            },
        ],
        "as_of": "2026-09-30",
        "progress": "12.50",
        "committed": "300000000.00",
        "paid": "150000000.00",
        "published": True,
        "withdrawn": False,
        "withdrawn_at": None,
        "withdrawal_reason": "",
        "version": 2,
        "created_at": "2026-10-31T09:00:00Z",
        "updated_at": "2026-11-01T09:00:00Z",
    }


def test_money_is_never_a_json_number(as_role):
    text = as_role(None).get(f"/api/v1/projects/{pid('D')}").content.decode()
    assert '"budget": "1600000000.00"' in text or '"budget":"1600000000.00"' in text
    assert "1600000000.0," not in text
    assert "1.6e" not in text.lower()


def test_detail_of_a_withdrawn_project_for_its_operator(as_role):
    body = as_role("holding").get(f"/api/v1/projects/{pid('H')}").json()
    assert (body["withdrawn"], body["withdrawal_reason"], body["version"]) == (True, "Doublon", 2)
    assert body["withdrawn_at"] == "2026-11-01T09:00:00Z"
    assert body["published"] is True
    assert body["warnings"] == []
    assert (
        body["title_fr"] == "Habitat menaçant ruine de la médina de Marrakech"
    )  # the last state stays readable


def test_detail_of_a_project_in_several_communes_with_shares(as_role):
    shared = _record(
        "MA-ALOMRANE-TTA",
        "TTA-MANU-009",
        "01.511.01.03",
        "MANU",
        "ETUD",
        "Voirie de Tanger",
        "طرق طنجة",
        "10000000.00",
    )
    shared["communes"] = {
        "01.511.01.05": {"primary": False, "share": "40"},
        "01.511.01.03": {"primary": True, "share": "60"},
    }
    apply([shared])
    body = (
        as_role("steward").get(f"/api/v1/projects/{public_id_for('MA-ALOMRANE-TTA', 'TTA-MANU-009')}").json()
    )
    assert [(c["code"], c["name_fr"], c["primary"], c["share"]) for c in body["communes"]] == [
        ("01.511.01.03", "Bni Makada", True, "60.00"),
        ("01.511.01.05", "Mghogha", False, "40.00"),
    ]
    assert body["location"] is None
    assert body["agreement"] is None


# --- Versions -----------------------------------------------------------------------------------------------


def test_versions_with_diffs(as_role, django_assert_num_queries):
    client = as_role("national")
    client.get("/api/v1/projects")  # the session and the scope are warm from here on
    with django_assert_num_queries(5):  # session, user, memberships, project, versions
        response = client.get(f"/api/v1/projects/{pid('D')}/versions")
    body = response.json()
    assert body["count"] == 2
    second, first = body["items"]
    assert second["number"] == 2
    assert second["changes"] == [{"pointer": "/budget", "before": "1500000000.00", "after": "1600000000.00"}]
    assert [w["code"] for w in second["warnings"]] == ["financing_mismatch"]
    assert second["received_at"] == "2026-11-01T09:00:00Z"
    assert (second["source_kind"], second["source_id"], second["actor_label"]) == (
        "command",
        "test-load",
        "test",
    )
    assert second["is_tombstone"] is False
    assert len(second["sha256"]) == 64
    assert second["sha256"] != first["sha256"]
    assert first["number"] == 1
    assert first["warnings"] == []
    assert {"pointer": "/budget", "before": None, "after": "1500000000.00"} in first["changes"]
    assert {"pointer": "/title/ar", "before": None, "after": "القطب الحضري للداخلة"} in first["changes"]


def test_versions_show_no_author_to_the_public(as_role):
    body = as_role(None).get(f"/api/v1/projects/{pid('D')}/versions").json()
    assert [(v["number"], v["source_id"], v["actor_label"]) for v in body["items"]] == [
        (2, None, None),
        (1, None, None),
    ]
    assert body["items"][0]["changes"][0]["pointer"] == "/budget"


def test_withdrawal_is_a_tombstone_version(as_role):
    body = as_role("national").get(f"/api/v1/projects/{pid('H')}/versions").json()
    tombstone = body["items"][0]
    assert (tombstone["number"], tombstone["is_tombstone"]) == (2, True)
    changes = {change["pointer"]: change for change in tombstone["changes"]}
    assert changes["/withdrawn"] == {"pointer": "/withdrawn", "before": None, "after": True}
    assert changes["/reason"] == {"pointer": "/reason", "before": None, "after": "Doublon"}
    assert changes["/budget"] == {"pointer": "/budget", "before": "20000000.00", "after": None}


def test_one_version_with_its_document(as_role, django_assert_num_queries):
    client = as_role(None)
    with django_assert_num_queries(2):  # project, the version and the one before it
        response = client.get(f"/api/v1/projects/{pid('D')}/versions/2")
    body = response.json()
    assert body["number"] == 2
    assert body["changes"] == [{"pointer": "/budget", "before": "1500000000.00", "after": "1600000000.00"}]
    document = body["document"]
    assert (document["schema"], document["id"], document["budget"]) == (
        "marsad.project/1",
        pid("D"),
        "1600000000.00",
    )
    assert document["financing"] == {"MA-ALOMRANE-DOE": "900000000.00", "MA-GIE-DAKHLA-SC": "600000000.00"}
    assert document["outputs"]["SUP"] == {"target": "275", "achieved": "40"}
    first = client.get(f"/api/v1/projects/{pid('D')}/versions/1").json()
    assert first["document"]["budget"] == "1500000000.00"
    assert len(first["changes"]) == len([c for c in first["changes"] if c["before"] is None])


@pytest.mark.parametrize(
    ("number", "status", "pointer"),
    [
        ("3", 404, None),
        ("0", 422, "/number"),
        ("-1", 422, "/number"),
        ("abc", 422, "/number"),
        ("99999999999999999999999", 422, "/number"),
        ("1.5", 422, "/number"),
    ],
)
def test_bad_version_numbers(as_role, number, status, pointer):
    assert_problem(as_role(None).get(f"/api/v1/projects/{pid('D')}/versions/{number}"), status, pointer)


# --- Programmes, organisations, agreements, reference -------------------------------------------------------


def test_programmes_with_targets_and_scoped_counts(as_role, django_assert_num_queries):
    client = as_role(None)
    with django_assert_num_queries(4):  # programmes with owners, targets, indicators, counts
        response = client.get("/api/v1/programmes")
    body = response.json()
    assert len(body) == 16
    assert [p["code"] for p in body][:3] == ["VSB", "HMR", "RQSE"]
    vsb = body[0]
    assert vsb["name_ar"] == "مدن بدون صفيح"
    assert vsb["owner"]["code"] == "MA-MATNUHPV"
    assert (vsb["start_year"], vsb["end_year"]) == (2004, None)
    assert vsb["targets"] == [
        {
            "indicator": {"code": "MEN_CIB", "name_fr": "Ménages concernés", "name_ar": "الأسر المعنية"},
            "unit": "households",
            "value": "465000",
        }
    ]
    counts = {p["code"]: p["project_count"] for p in body}
    assert (counts["VSB"], counts["PU"], counts["HMR"], counts["MANU"]) == (1, 1, 0, 0)
    national = {p["code"]: p["project_count"] for p in as_role("national").get("/api/v1/programmes").json()}
    assert (national["VSB"], national["PU"], national["HMR"], national["MANU"]) == (2, 1, 0, 2)  # H withdrawn


def test_programme_detail(as_role):
    body = as_role("officer").get("/api/v1/programmes/VSB").json()
    assert (body["code"], body["project_count"]) == ("VSB", 2)
    prdts = as_role(None).get("/api/v1/programmes/PRDTS").json()
    assert prdts["targets"][0]["value"] == "50000000000"
    assert prdts["targets"][0]["unit"] == "MAD"
    assert_problem(as_role(None).get("/api/v1/programmes/NOPE"), 404)


@pytest.mark.parametrize(
    ("role", "holding", "cs", "tta", "council"),
    [(None, 4, 1, 1, 0), ("national", 8, 4, 2, 0), ("steward", 5, 1, 2, 0), ("holding", 8, 4, 2, 0)],
)
def test_organisation_detail_counts_visible_projects(as_role, role, holding, cs, tta, council):
    client = as_role(role)
    counts = {
        code: client.get(f"/api/v1/organisations/{code}").json()["project_count"]
        for code in ("MA-ALOMRANE", "MA-ALOMRANE-CS", "MA-ALOMRANE-TTA", "MA-CR-06")
    }
    assert counts == {
        "MA-ALOMRANE": holding,
        "MA-ALOMRANE-CS": cs,
        "MA-ALOMRANE-TTA": tta,
        "MA-CR-06": council,
    }


def test_organisation_detail(as_role):
    body = as_role(None).get("/api/v1/organisations/MA-ALOMRANE").json()
    assert (body["code"], body["kind"], body["acronym"], body["parent"], body["territory"]) == (
        "MA-ALOMRANE",
        "operator",
        "HAO",
        None,
        None,
    )
    assert [s["code"] for s in body["subsidiaries"]] == [
        "MA-ALOMRANE-BMK",
        "MA-ALOMRANE-CS",
        "MA-ALOMRANE-DOE",
        "MA-ALOMRANE-DT",
        "MA-ALOMRANE-FM",
        "MA-ALOMRANE-GON",
        "MA-ALOMRANE-LSH",
        "MA-ALOMRANE-MS",
        "MA-ALOMRANE-OR",
        "MA-ALOMRANE-RSK",
        "MA-ALOMRANE-SM",
        "MA-ALOMRANE-TTA",
    ]
    council = as_role(None).get("/api/v1/organisations/MA-CR-06").json()
    assert council["territory"] == {
        "code": "06",
        "level": "region",
        "name_fr": "Casablanca-Settat",
        "name_ar": "الدار البيضاء-سطات",
    }
    assert (council["subsidiaries"], council["parent_code"], council["territory_code"]) == ([], None, "06")
    subsidiary = as_role(None).get("/api/v1/organisations/MA-ALOMRANE-CS").json()
    assert subsidiary["parent"] == {
        "code": "MA-ALOMRANE",
        "name_fr": "Holding d'Aménagement Al Omrane",
        "name_ar": "مجموعة العمران",
    }
    assert_problem(as_role(None).get("/api/v1/organisations/MA-NOPE"), 404)


@pytest.mark.dbsensitive
@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (None, ["CONV-DAKHLA-2019"]),
        ("national", ["CONV-CS-2024", "CONV-DAKHLA-2019"]),  # newest signature first
        ("officer", ["CONV-CS-2024", "CONV-DAKHLA-2019"]),
        ("steward", ["CONV-DAKHLA-2019"]),
        ("partner", ["CONV-CS-2024", "CONV-DAKHLA-2019"]),  # a party to it
    ],
)
def test_agreements_visible_per_role(as_role, role, expected):
    body = as_role(role).get("/api/v1/agreements").json()
    assert [a["reference"] for a in body["items"]] == expected
    assert body["count"] == len(expected)


@pytest.mark.dbsensitive
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"party": "MA-CR-06"}, ["CONV-CS-2024"]),
        ({"party": "MA-GIE-DAKHLA-SC"}, ["CONV-DAKHLA-2019"]),
        ({"party": "MA-CR-01"}, []),
        ({"q": "dakhla"}, ["CONV-DAKHLA-2019"]),
        ({"q": "CONV-CS"}, ["CONV-CS-2024"]),
        ({"q": "سطات"}, ["CONV-CS-2024"]),
        ({"q": "convention settat"}, ["CONV-CS-2024"]),
    ],
)
def test_agreement_filters(as_role, params, expected):
    body = as_role("national").get("/api/v1/agreements", params).json()
    assert [a["reference"] for a in body["items"]] == expected


def test_agreement_detail(as_role):
    body = as_role("partner").get("/api/v1/agreements/CONV-CS-2024").json()
    assert body == {
        "reference": "CONV-CS-2024",
        "title_fr": "Convention de logement social de Settat",
        "title_ar": "اتفاقية السكن الاجتماعي بسطات",
        "signed_on": "2024-03-15",
        "parties": [
            {
                "organisation": {
                    "code": "MA-CR-06",
                    "name_fr": "Conseil de la Région Casablanca-Settat",
                    "name_ar": "مجلس جهة الدار البيضاء-سطات",
                },
                "role": "signatory",
                "commitment_amount": None,
                "commitment_in_kind": "",
            },
            {
                "organisation": {
                    "code": "MA-CR-06",
                    "name_fr": "Conseil de la Région Casablanca-Settat",
                    "name_ar": "مجلس جهة الدار البيضاء-سطات",
                },
                "role": "financier",
                "commitment_amount": "50000000.00",
                "commitment_in_kind": "",
            },
            {
                "organisation": {
                    "code": "MA-ALOMRANE-CS",
                    "name_fr": "Al Omrane Casablanca-Settat",
                    "name_ar": "العمران الدار البيضاء-سطات",
                },
                "role": "contracting_authority",
                "commitment_amount": "30000000.00",
                "commitment_in_kind": "",
            },
            {
                "organisation": {
                    "code": "MA-MATNUHPV",
                    "name_fr": "Ministère de l'Aménagement du Territoire National, de l'Urbanisme, "
                    "de l'Habitat et de la Politique de la Ville",
                    "name_ar": "وزارة إعداد التراب الوطني والتعمير والإسكان وسياسة المدينة",
                },
                "role": "signatory",
                "commitment_amount": None,
                "commitment_in_kind": "Mobilisation du foncier",
            },
        ],
        "projects": [pid("B")],
    }


def test_agreement_out_of_scope_is_a_404_like_a_missing_one(as_role):
    client = as_role("steward")
    missing = assert_problem(client.get("/api/v1/agreements/CONV-NOPE"), 404)
    assert assert_problem(client.get("/api/v1/agreements/CONV-CS-2024"), 404) == missing
    assert as_role(None).get("/api/v1/agreements/CONV-DAKHLA-2019").json()["projects"] == [pid("D")]
    # the agreement filter does not reveal it either
    assert_problem(as_role(None).get("/api/v1/projects", {"agreement": "CONV-CS-2024"}), 422, "/agreement")


def test_agreement_lists_only_the_visible_projects(as_role):
    apply([{**PROJECTS["C"], "agreement": "CONV-DAKHLA-2019"}])  # C is not published
    assert as_role(None).get("/api/v1/agreements/CONV-DAKHLA-2019").json()["projects"] == [pid("D")]
    assert as_role("national").get("/api/v1/agreements/CONV-DAKHLA-2019").json()["projects"] == ids("C", "D")


def test_reference_lists(as_role, django_assert_num_queries):
    client = as_role(None)
    with django_assert_num_queries(1):
        statuses = client.get("/api/v1/reference/statuses").json()
    assert [s["code"] for s in statuses] == [
        "PROG",
        "CONV",
        "ETUD",
        "AO",
        "ENCO",
        "DIFF",
        "SUSP",
        "ACHV",
        "LIVR",
        "ANNU",
    ]
    assert statuses[7] == {
        "code": "ACHV",
        "name_fr": "Achevé",
        "name_ar": "منجز",
        "position": 8,
        "is_completed": True,
        "is_cancelled": False,
        "is_started": True,
    }
    with django_assert_num_queries(1):
        types = client.get("/api/v1/reference/milestone-types").json()
    assert len(types) == 14
    assert types[0] == {
        "code": "SIGN_CONV",
        "name_fr": "Signature convention",
        "name_ar": "توقيع الاتفاقية",
        "position": 1,
    }
    with django_assert_num_queries(1):
        indicators = client.get("/api/v1/reference/indicators").json()
    assert len(indicators) == 21
    assert indicators[0]["code"] == "MEN_CIB"
    assert indicators[0]["unit"] == "households"
    reported = client.get("/api/v1/reference/indicators", {"reported": "true"}).json()
    assert [i["code"] for i in reported] == [
        "MEN_CIB",
        "MEN_TRT",
        "BAR_DEM",
        "UPN_MEC",
        "UPN_ACH",
        "LOTS",
        "LIV",
        "CV",
        "TF",
        "SUP",
        "POP_BEN",
        "JT",
    ]
    assert len(client.get("/api/v1/reference/indicators", {"reported": "false"}).json()) == 9


# --- Bad input: problems with pointers, never a 500 ---------------------------------------------------------


@pytest.mark.dbsensitive
@pytest.mark.parametrize(
    ("url", "params", "status", "pointer", "code"),
    [
        ("/api/v1/projects", {"region": "13"}, 422, "/region", "unknown_territory"),
        ("/api/v1/projects", {"region": "6"}, 422, "/region", "string_pattern_mismatch"),
        ("/api/v1/projects", {"region": "06.141"}, 422, "/region", "string_pattern_mismatch"),
        ("/api/v1/projects", {"province": "06.999"}, 422, "/province", "unknown_territory"),
        ("/api/v1/projects", {"province": "06.141.01.00"}, 422, "/province", "string_pattern_mismatch"),
        ("/api/v1/projects", {"commune": "06.141.01.99"}, 422, "/commune", "unknown_territory"),
        ("/api/v1/projects", {"commune": "06.141"}, 422, "/commune", "string_pattern_mismatch"),
        ("/api/v1/projects", {"programme": "XYZ"}, 422, "/programme", "unknown_programme"),
        ("/api/v1/projects", {"status": "DONE"}, 422, "/status", "unknown_status"),
        ("/api/v1/projects", {"operator": "MA-NOPE"}, 422, "/operator", "unknown_organisation"),
        ("/api/v1/projects", {"agreement": "CONV-NOPE"}, 422, "/agreement", "unknown_agreement"),
        ("/api/v1/projects", {"published": "maybe"}, 422, "/published", "bool_parsing"),
        ("/api/v1/projects", {"q": "x" * 101}, 422, "/q", "string_too_long"),
        ("/api/v1/projects", {"page": "0"}, 422, "/page", "greater_than_equal"),
        ("/api/v1/projects", {"page": "abc"}, 422, "/page", "int_parsing"),
        ("/api/v1/projects", {"page_size": "100000"}, 422, "/page_size", "less_than_equal"),
        ("/api/v1/projects", {"page": "99999999999999999999999"}, 422, "/page", "less_than_equal"),
        # characters a database refuses never reach it
        ("/api/v1/projects", {"programme": "VSB\x00"}, 422, "/programme", "string_pattern_mismatch"),
        ("/api/v1/projects", {"operator": "MA-CS\x00"}, 422, "/operator", "string_pattern_mismatch"),
        ("/api/v1/projects", {"agreement": "CONV\x00"}, 422, "/agreement", "string_pattern_mismatch"),
        ("/api/v1/projects", {"q": "a\x00b"}, 422, "/q", "string_pattern_mismatch"),
        ("/api/v1/agreements", {"q": "a\x00b"}, 422, "/q", "string_pattern_mismatch"),
        ("/api/v1/agreements", {"party": "MA-NOPE"}, 422, "/party", "unknown_organisation"),
        ("/api/v1/agreements", {"q": "x" * 101}, 422, "/q", "string_too_long"),
        ("/api/v1/reference/indicators", {"reported": "maybe"}, 422, "/reported", "bool_parsing"),
    ],
)
def test_bad_requests_are_problems(as_role, url, params, status, pointer, code):
    body = assert_problem(as_role("national").get(url, params), status, pointer)
    assert body["errors"][0]["code"] == code


@pytest.mark.dbsensitive
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/projects/MRS-%00",
        "/api/v1/projects/mrs-abc",
        "/api/v1/projects/%3Cscript%3E/versions",
        "/api/v1/projects/MRS-0000000000/versions/1",
        "/api/v1/programmes/V%00SB",
        "/api/v1/organisations/MA-%00",
        "/api/v1/agreements/CONV%00",
        "/api/v1/agreements/%20",
    ],
)
def test_malformed_identifiers_are_404_problems(as_role, url):
    assert_problem(as_role("national").get(url), 404)


def test_unknown_code_problem_in_both_languages(as_role):
    body = assert_problem(as_role(None).get("/api/v1/projects", {"region": "13"}), 422, "/region")
    assert body["errors"][0]["message_fr"] == "Région inconnue : 13"
    assert body["errors"][0]["source"] == "query"
    assert body["type"] == "https://marsad.ma/problems/validation"


def test_a_page_past_the_end_is_empty(as_role):
    body = as_role(None).get("/api/v1/projects", {"page": 99}).json()
    assert (body["count"], body["items"]) == (4, [])


def test_only_get(as_role):
    response = as_role("national").post("/api/v1/projects", {}, content_type="application/json")
    assert response.status_code == 405
    assert response["Content-Type"] == PROBLEM


# --- Pinned query counts: fixed, whatever the number of items ---------------------------------------------


def _grow(count: int = 12) -> None:
    """More of everything the lists show: agreements, published projects under them, organisations."""
    for n in range(3):
        agreement_create(
            actor=SYSTEM,
            reference=f"CONV-EXTRA-{n}",
            title_fr=f"Convention supplémentaire {n}",
            title_ar=f"اتفاقية إضافية {n}",
            signed_on=date(2025, 1, 1 + n),
            parties=[
                PartyInput("MA-ALOMRANE-DOE", "contracting_authority", Decimal("1000000.00")),
                PartyInput("MA-CR-06", "financier", Decimal("500000.00")),
            ],
        )
    apply(
        [
            _record(
                "MA-ALOMRANE-CS",
                f"CS-EXTRA-{n:03d}",
                "06.141.01.61",  # Ben M'sick, an arrondissement of Casablanca
                "VSB",
                "ENCO",
                f"Projet supplémentaire {n}",
                f"مشروع إضافي {n}",
                "1000000.00",
                agreement=f"CONV-EXTRA-{n % 3}",
            )
            for n in range(count)
        ]
    )
    projects_publish(actor=SYSTEM, projects=Project.objects.filter(operator_ref__startswith="CS-EXTRA-"))
    for n in range(3):
        organisation_save(
            actor=SYSTEM, code=f"MA-EXTRA-{n}", kind="private", name_fr=f"Partenaire {n}", name_ar=f"شريك {n}"
        )


def _size(body) -> int:
    if isinstance(body, list):  # programmes
        return sum(programme["project_count"] for programme in body)
    return body["count"]


# Queries of a list request: the session and the user (a signed-in principal), the principal's
# memberships, its organisations' families (one query per level of subsidiaries, down to a level
# with none), the lookups of the filter codes, then count and page (and a prefetch for agreements).
LIST_CASES = [
    (None, "/api/v1/projects", {}, 2),
    # region, status and operator checked (3), the operator and its two levels of subsidiaries (3)
    (None, "/api/v1/projects", {"region": "06", "operator": "MA-ALOMRANE", "status": "ENCO"}, 2 + 6),
    ("national", "/api/v1/projects", {}, 5),
    ("officer", "/api/v1/projects", {}, 5),
    ("steward", "/api/v1/projects", {}, 6),
    ("holding", "/api/v1/projects", {}, 7),
    ("partner", "/api/v1/projects", {}, 6),
    (
        "national",
        "/api/v1/projects",
        {
            "region": "06",
            "province": "06.141",
            "commune": "06.141.01.0",
            "programme": "VSB",
            "status": "ENCO",
            "operator": "MA-ALOMRANE-CS",
            "q": "projet",
        },
        # six codes checked, the operator and its (empty) level of subsidiaries
        5 + 6 + 2,
    ),
    (None, "/api/v1/agreements", {}, 3),
    ("partner", "/api/v1/agreements", {"party": "MA-ALOMRANE-DOE"}, 4 + 1 + 3),
    (None, "/api/v1/programmes", {}, 4),
    ("officer", "/api/v1/programmes", {}, 7),
    (None, "/api/v1/organisations", {}, 2),
    (None, "/api/v1/organisations", {"parent": "MA-ALOMRANE", "kind": "operator"}, 5),
]


@pytest.mark.parametrize(("role", "url", "params", "queries"), LIST_CASES)
def test_list_query_counts_are_pinned(as_role, django_assert_num_queries, role, url, params, queries):
    client = as_role(role)
    client.get(url, params)  # warm up what is cached per process
    with django_assert_num_queries(queries):
        first = client.get(url, params)
    assert first.status_code == 200
    _grow()
    with django_assert_num_queries(queries):
        second = client.get(url, params)
    assert second.status_code == 200
    if "parent" not in params:
        assert _size(second.json()) > _size(first.json())


def test_versions_query_count_is_pinned(as_role, django_assert_num_queries):
    client = as_role(None)
    url = f"/api/v1/projects/{pid('D')}/versions"
    with django_assert_num_queries(2):  # the project, its versions
        assert client.get(url).json()["count"] == 2
    for budget in ("1700000000.00", "1800000000.00", "1900000000.00"):
        apply([{**DAKHLA, "budget": budget}])
    with django_assert_num_queries(2):
        body = client.get(url).json()
    assert body["count"] == 5
    assert [v["number"] for v in body["items"]] == [5, 4, 3, 2, 1]
    assert body["items"][0]["changes"] == [
        {"pointer": "/budget", "before": "1800000000.00", "after": "1900000000.00"}
    ]


# --- OpenAPI ------------------------------------------------------------------------------------------------


def test_openapi_document_builds_and_states_the_scoping(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    for path in (
        "/api/v1/projects",
        "/api/v1/projects/{public_id}",
        "/api/v1/projects/{public_id}/versions",
        "/api/v1/projects/{public_id}/versions/{number}",
        "/api/v1/programmes",
        "/api/v1/programmes/{code}",
        "/api/v1/organisations",
        "/api/v1/organisations/{code}",
        "/api/v1/agreements",
        "/api/v1/agreements/{reference}",
        "/api/v1/reference/statuses",
        "/api/v1/reference/milestone-types",
        "/api/v1/reference/indicators",
        "/api/v1/territories",
    ):
        assert list(document["paths"][path]) == ["get"], path
    tags = {tag["name"]: tag["description"] for tag in document["tags"]}
    assert set(tags) >= {"projects", "programmes", "organisations", "agreements", "reference"}
    assert "published, non-withdrawn" in tags["projects"]
    assert "404" in tags["projects"]
    assert "404" in tags["agreements"]
    assert (
        "finances or whose agreement it signed" in document["paths"]["/api/v1/projects"]["get"]["description"]
    )
    budget = document["components"]["schemas"]["ProjectDetailOut"]["properties"]["budget"]
    assert (budget["type"], budget["format"]) == ("string", "decimal")
    assert client.get("/api/v1/docs").status_code == 200
