"""/api/v1/territories: filters, search, detail, GeoJSON, and problem+json for every bad request."""

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]

PROBLEM = "application/problem+json"


def codes(response) -> list[str]:
    return [item["code"] for item in response.json()["items"]]


def test_regions_with_arabic_and_french_names(client, django_assert_num_queries):
    with django_assert_num_queries(2):  # count, page
        response = client.get("/api/v1/territories", {"level": "region"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 12
    assert body["pages"] == 1
    assert codes(response) == ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"]
    first = body["items"][0]
    assert first["name_fr"] == "Tanger-Tétouan-Al Hoceima"
    assert first["name_ar"] == "طنجة-تطوان-الحسيمة"
    assert first["population_2024"] == 4_030_222
    assert first["parent_code"] == "MA"
    assert "طنجة" in response.content.decode("utf-8")  # UTF-8, not \\u escapes


def test_pagination(client, django_assert_num_queries):
    with django_assert_num_queries(2):
        response = client.get("/api/v1/territories", {"level": "commune", "page": 3, "page_size": 100})
    body = response.json()
    assert (body["count"], body["page"], body["page_size"], body["pages"]) == (1503, 3, 100, 16)
    assert len(body["items"]) == 100


def test_filter_by_parent(client, django_assert_num_queries):
    with django_assert_num_queries(3):  # parent lookup, count, page
        response = client.get("/api/v1/territories", {"parent": "01.511"})
    assert codes(response) == [
        "01.511.01.0",
        "01.511.01.01",
        "01.511.01.09",
        "01.511.03.03",
        "01.511.03.11",
        "01.511.03.13",
        "01.511.03.15",
        "01.511.05.01",
        "01.511.05.05",
        "01.511.05.07",
        "01.511.05.17",
        "01.511.05.19",
    ]


def test_ancestor_scoping_uses_the_path_not_a_code_prefix(client):
    """Tanger (01.511.01.0) is a string prefix of Assilah (01.511.01.01): Assilah is not below Tanger."""
    response = client.get("/api/v1/territories", {"ancestor": "01.511.01.0"})
    assert codes(response) == ["01.511.01.03", "01.511.01.05", "01.511.01.06", "01.511.01.07"]
    assert "01.511.01.01" not in codes(response)
    below_province = client.get("/api/v1/territories", {"ancestor": "01.511"}).json()
    assert below_province["count"] == 12 + 4
    below_region = client.get("/api/v1/territories", {"ancestor": "01", "level": "commune"}).json()
    assert below_region["count"] == 146


def test_casablanca_region_holds_its_prefectures_of_arrondissements(client):
    response = client.get("/api/v1/territories", {"ancestor": "06", "level": "prefecture_of_arrondissements"})
    assert codes(response) == [f"06.141.01.{n}0" for n in range(8)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("اصيله", ["01.511", "01.511.01.01"]),  # typed without hamza, with haa for taa marbuta
        ("أصيلة", ["01.511", "01.511.01.01"]),
        ("assilah", ["01.511", "01.511.01.01"]),
        ("سيدي يحيي الغرب", ["04.491.01.09"]),  # alef maqsura typed as yaa
        ("FES-MEKNES", ["03"]),  # accents and case do not count
        ("tetouan", ["01", "01.571", "01.571.01.11"]),
    ],
)
def test_search_in_arabic_and_french(client, query, expected):
    response = client.get("/api/v1/territories", {"q": query})
    assert response.status_code == 200
    assert codes(response) == expected


def test_detail_with_census(client, django_assert_num_queries):
    with django_assert_num_queries(4):  # territory, census rows, ancestors, boundary
        response = client.get("/api/v1/territories/04.281.01.13")
    assert response.status_code == 200
    body = response.json()
    assert body["name_fr"] == "Sidi Taibi"
    assert [a["code"] for a in body["ancestors"]] == ["MA", "04", "04.281"]
    assert body["census"]["urban"]["dwelling_type_basic_or_slum"] == 44.2
    assert body["census"]["urban"]["dwellings_deficit_rate"] == 74.8
    assert body["census"]["urban"]["households_count"] == 16_455
    assert body["slum_households"] == 7273  # 16,455 × 44.2 % = 7,273.11
    assert body["has_boundary"] is True


def test_detail_of_a_rural_commune_has_no_urban_figures(client):
    body = client.get("/api/v1/territories/01.511.03.03").json()  # Aquouass Briech
    assert body["census"]["urban"] is None
    assert body["census"]["total"]["dwellings_deficit_rate"] is None
    assert body["census"]["rural"]["dwellings_deficit_rate"] is None
    assert body["slum_households"] is None
    assert body["cercle"]["code"] == "01.511.03"


def test_indicators_catalogue(client):
    body = client.get("/api/v1/territories/indicators").json()
    keys = [indicator["key"] for indicator in body]
    assert keys[:4] == ["population_2024", "households_2024", "population_change_pct", "slum_households"]
    assert "dwellings_deficit_rate.urban" in keys


def test_geojson_of_all_regions(client, django_assert_num_queries):
    with django_assert_num_queries(2):  # parent, units with boundaries (population is on the row)
        response = client.get("/api/v1/territories/geojson")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 12
    tanger = body["features"][0]
    assert tanger["properties"] == {
        "code": "01",
        "level": "region",
        "name_fr": "Tanger-Tétouan-Al Hoceima",
        "name_ar": "طنجة-تطوان-الحسيمة",
        "value": 4030222.0,
        "drill": True,
    }
    assert tanger["geometry"]["type"] in {"Polygon", "MultiPolygon"}


def test_geojson_of_the_provinces_of_a_region_with_a_census_indicator(client, django_assert_num_queries):
    with django_assert_num_queries(3):
        response = client.get(
            "/api/v1/territories/geojson", {"parent": "04", "indicator": "dwelling_type_basic_or_slum.urban"}
        )
    body = response.json()
    assert body["indicator"]["key"] == "dwelling_type_basic_or_slum.urban"
    assert len(body["features"]) == 7
    values = {f["properties"]["code"]: f["properties"]["value"] for f in body["features"]}
    assert values["04.421"] == 0.8  # Rabat


def test_geojson_of_the_communes_of_a_province_marks_missing_values_as_null(client):
    body = client.get(
        "/api/v1/territories/geojson", {"parent": "01.511", "indicator": "dwellings_deficit_rate.urban"}
    ).json()
    values = {f["properties"]["code"]: f["properties"]["value"] for f in body["features"]}
    assert len(values) == 12
    assert values["01.511.03.03"] is None  # a rural commune: not applicable, not 0
    assert values["01.511.01.0"] == 1.4
    drill = [f["properties"]["code"] for f in body["features"] if f["properties"]["drill"]]
    assert drill == ["01.511.01.0"]  # Tanger has arrondissements; the other communes have none


def test_geojson_of_the_arrondissements_of_casablanca(client):
    body = client.get("/api/v1/territories/geojson", {"parent": "06.141.01.0"}).json()
    codes = [f["properties"]["code"] for f in body["features"]]
    assert len(codes) == 16
    assert codes[:3] == ["06.141.01.01", "06.141.01.03", "06.141.01.07"]
    assert all(f["geometry"] for f in body["features"])
    assert not any(f["properties"]["drill"] for f in body["features"])


# Bad requests: each answers a problem+json with the right status, never HTML, never a 500.
@pytest.mark.parametrize(
    ("url", "params", "status", "pointer"),
    [
        ("/api/v1/territories", {"level": "planet"}, 422, "/level"),
        ("/api/v1/territories", {"page": "0"}, 422, "/page"),
        ("/api/v1/territories", {"page": "abc"}, 422, "/page"),
        ("/api/v1/territories", {"page_size": "100000"}, 422, "/page_size"),
        ("/api/v1/territories", {"parent": "1.2.3"}, 422, "/parent"),
        ("/api/v1/territories", {"parent": "99.999"}, 422, "/parent"),
        ("/api/v1/territories", {"ancestor": "01.511.99.9"}, 422, "/ancestor"),
        ("/api/v1/territories", {"q": "x" * 101}, 422, "/q"),
        ("/api/v1/territories/geojson", {"indicator": "nope"}, 422, "/indicator"),
        ("/api/v1/territories/geojson", {"parent": "77"}, 422, "/parent"),
        ("/api/v1/territories/99.999", {}, 404, None),
        ("/api/v1/territories/%3Cscript%3E", {}, 404, None),
        ("/api/v1/no-such-endpoint", {}, 404, None),
    ],
)
def test_bad_requests_are_problems(client, url, params, status, pointer):
    response = client.get(url, params)
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://marsad.ma/problems/")
    assert set(body["i18n"]) == {"ar", "fr"}
    assert body["i18n"]["ar"]["title"] != body["i18n"]["fr"]["title"]
    if pointer:
        assert [error["pointer"] for error in body["errors"]] == [pointer]
        assert body["errors"][0]["message_ar"] != body["errors"][0]["message_fr"]


def test_empty_search_is_no_filter(client):
    assert client.get("/api/v1/territories", {"q": "", "level": "region"}).json()["count"] == 12


def test_enum_error_lists_the_accepted_values_in_both_languages(client):
    error = client.get("/api/v1/territories", {"level": "planet"}).json()["errors"][0]
    levels = "'country', 'region', 'province', 'prefecture_of_arrondissements', 'commune', 'arrondissement'"
    assert error["message_fr"] == f"Valeur non reconnue ; valeurs admises : {levels}."
    assert error["message_ar"] == f"قيمة غير معروفة؛ القيم المقبولة: {levels}."


def test_problem_title_follows_accept_language(client):
    response = client.get("/api/v1/territories/99.999", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.json()["title"] == "Territoire introuvable"
    response = client.get("/api/v1/territories/99.999", HTTP_ACCEPT_LANGUAGE="ar")
    assert response.json()["title"] == "وحدة ترابية غير موجودة"


def test_wrong_method_is_a_problem(client):
    response = client.post("/api/v1/territories", {}, content_type="application/json")
    assert response.status_code == 405
    assert response["Content-Type"] == PROBLEM


def test_openapi_and_docs(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "Marsad API"
    assert "/api/v1/territories" in schema["paths"]
    assert "/api/v1/territories/{code}" in schema["paths"]
    assert "/api/v1/territories/geojson" in schema["paths"]
    assert client.get("/api/v1/docs").status_code == 200
