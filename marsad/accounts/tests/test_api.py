"""/api/v1/organisations: the list, its filters, problems for bad input and its pinned query count.
(The detail of an organisation counts registry projects: it is tested with the registry's API.)"""

import pytest

from marsad.accounts.services import organisation_save
from marsad.audit.services import SystemActor

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
SUBSIDIARIES = [
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


def codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["code"] for item in response.json()["items"]]


def test_list(client, django_assert_num_queries):
    with django_assert_num_queries(2):  # count, page (with parents and territories)
        response = client.get("/api/v1/organisations", {"page_size": 100})
    body = response.json()
    assert body["count"] == 42
    assert codes(response)[:3] == ["MA-ALOMRANE", "MA-ALOMRANE-BMK", "MA-ALOMRANE-CS"]
    by_code = {item["code"]: item for item in body["items"]}
    assert by_code["MA-ALOMRANE-CS"] == {
        "code": "MA-ALOMRANE-CS",
        "kind": "operator",
        "name_fr": "Al Omrane Casablanca-Settat",
        "name_ar": "العمران الدار البيضاء-سطات",
        "acronym": "",
        "parent_code": "MA-ALOMRANE",
        "territory_code": "06",
    }
    assert by_code["MA-ALOMRANE"]["parent_code"] is None
    assert by_code["MA-ALOMRANE"]["acronym"] == "HAO"
    assert by_code["MA-CDG"]["territory_code"] is None


def test_query_count_does_not_grow_with_the_list(client, django_assert_num_queries):
    for n in range(20):
        organisation_save(
            actor=SystemActor("test"),
            code=f"MA-PRIVE-{n:02d}",
            kind="private",
            name_fr=f"Partenaire {n}",
            name_ar=f"شريك {n}",
        )
    with django_assert_num_queries(2):
        body = client.get("/api/v1/organisations", {"page_size": 100}).json()
    assert body["count"] == 62


@pytest.mark.dbsensitive
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "region_council"}, [f"MA-CR-{n:02d}" for n in range(1, 13)]),
        ({"kind": "gie"}, ["MA-GIE-DAKHLA-SC"]),
        ({"parent": "MA-ALOMRANE"}, ["MA-ALOMRANE", *SUBSIDIARIES]),  # the holding and its subsidiaries
        ({"parent": "MA-ALOMRANE-CS"}, ["MA-ALOMRANE-CS"]),
        ({"parent": "MA-MI"}, ["MA-DGCT", "MA-MI"]),
        ({"parent": "MA-ALOMRANE", "kind": "region_council"}, []),
        ({"q": "fes"}, ["MA-ALOMRANE-FM", "MA-CR-03"]),  # Fès-Meknès, accents do not count
        ({"q": "FÈS meknès conseil"}, ["MA-CR-03"]),
        ({"q": "العمران"}, ["MA-ALOMRANE", *SUBSIDIARIES]),
        ({"q": "الداخله"}, ["MA-ALOMRANE-DOE", "MA-CC-12.391.01.01", "MA-CR-12", "MA-GIE-DAKHLA-SC"]),
        ({"q": "HAO"}, ["MA-ALOMRANE"]),  # the acronym
        ({"q": "ma-cr-06"}, ["MA-CR-06"]),  # the exchange identifier
        ({"q": " "}, None),  # an empty search is no filter
    ],
)
def test_filters(client, params, expected):
    response = client.get("/api/v1/organisations", {**params, "page_size": 100})
    if expected is None:
        assert response.json()["count"] == 42
    else:
        assert codes(response) == expected


def test_filter_by_parent_query_count(client, django_assert_num_queries):
    # the parent, its two levels of subsidiaries (down to a level with none), count, page
    with django_assert_num_queries(5):
        response = client.get("/api/v1/organisations", {"parent": "MA-ALOMRANE"})
    assert response.json()["count"] == 13


@pytest.mark.dbsensitive
@pytest.mark.parametrize(
    ("params", "pointer", "code"),
    [
        ({"kind": "planet"}, "/kind", "enum"),
        ({"parent": "MA-NOPE"}, "/parent", "unknown_organisation"),
        ({"parent": "ma-alomrane"}, "/parent", "string_pattern_mismatch"),
        ({"parent": "MA-\x00"}, "/parent", "string_pattern_mismatch"),
        ({"q": "x" * 101}, "/q", "string_too_long"),
        ({"q": "a\x00"}, "/q", "string_pattern_mismatch"),
        ({"page": "0"}, "/page", "greater_than_equal"),
        ({"page": "99999999999999999999"}, "/page", "less_than_equal"),
        ({"page_size": "501"}, "/page_size", "less_than_equal"),
    ],
)
def test_bad_requests_are_problems(client, params, pointer, code):
    response = client.get("/api/v1/organisations", params)
    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert [(error["pointer"], error["code"]) for error in body["errors"]] == [(pointer, code)]
    assert body["errors"][0]["message_fr"]
    assert body["errors"][0]["message_ar"]
    assert set(body["i18n"]) == {"ar", "fr"}


def test_unknown_parent_message(client):
    error = client.get("/api/v1/organisations", {"parent": "MA-NOPE"}).json()["errors"][0]
    assert error["message_fr"] == "Organisation inconnue : MA-NOPE"
    assert error["source"] == "query"
