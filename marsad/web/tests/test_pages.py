"""Pages in Arabic (default, right to left) and French, with the language switch and the HCP credit."""

import re

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]


def html_tag(response) -> str:
    return re.search(r"<html[^>]*>", response.content.decode()).group(0)


def test_root_redirects_to_arabic_by_default(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/ar/"


def test_french_when_the_browser_asks_for_it(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert response["Location"] == "/fr/"


def test_arabic_page_is_right_to_left(client):
    response = client.get("/ar/territoires/")
    assert response.status_code == 200
    assert html_tag(response) == '<html lang="ar" dir="rtl">'
    text = response.content.decode()
    assert "المغرب" in text
    assert "المندوبية السامية للتخطيط" in text  # HCP credit in the footer, in Arabic
    assert "CC BY 4.0" in text


def test_french_page_is_left_to_right(client):
    response = client.get("/fr/territoires/")
    assert html_tag(response) == '<html lang="fr" dir="ltr">'
    text = response.content.decode()
    assert "Maroc" in text
    assert "Haut-Commissariat au Plan (HCP), RGPH 2024 et RGPH 2014" in text


@pytest.mark.parametrize(
    ("path", "switch_to"),
    [
        ("/ar/territoires/01.511.01.01/", '<a href="/fr/territoires/01.511.01.01/" lang="fr"'),
        ("/fr/territoires/01.511.01.01/", '<a href="/ar/territoires/01.511.01.01/" lang="ar"'),
        (
            "/fr/carte/?parent=04&indicator=slum_households",
            '<a href="/ar/carte/?parent=04&amp;indicator=slum_households" lang="ar"',
        ),
    ],
)
def test_language_switch_points_to_the_same_page(client, path, switch_to):
    assert switch_to in client.get(path).content.decode()


def test_territory_page_shows_census_facts_and_breadcrumb(client, django_assert_max_num_queries):
    # 5 for the page, 5 for its "needs against investment" section (units below, census, figures, outputs)
    with django_assert_max_num_queries(10):
        response = client.get("/fr/territoires/04.281.01.13/")
    text = response.content.decode()
    assert "<h1>Sidi Taibi</h1>" in text
    assert 'href="/fr/territoires/04.281/"' in text  # breadcrumb up to the province
    assert 'href="/fr/territoires/04/"' in text
    assert "Logement : maison sommaire ou bidonville" in text
    assert "44,2\u00a0%" in text
    assert "7\u00a0273" in text  # slum households
    assert "n/d" in text  # no rural figures for an urban commune without a rural area


def test_arabic_territory_page_formats_numbers_with_latin_digits(client):
    text = client.get("/ar/territoires/01/").content.decode()
    assert "<h1>طنجة-تطوان-الحسيمة</h1>" in text
    assert "4\u00a0030\u00a0222" in text


def test_province_lists_its_communes(client):
    text = client.get("/fr/territoires/01.511/").content.decode()
    # Listed as units, and again in the priority ranking of the "needs against investment" section.
    assert len(set(re.findall(r'href="/fr/territoires/(01\.511\.[^"]+)"', text))) == 12
    assert text.count('href="/fr/territoires/01.511.') == 24


def test_unknown_territory_is_a_404_page(client):
    response = client.get("/fr/territoires/99.999/")
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


def test_map_page_offers_indicators_and_loads_plotly_locally(client):
    response = client.get("/fr/carte/?parent=04")
    text = response.content.decode()
    assert response.status_code == 200
    assert '<script src="/static/vendor/plotly.min.js"></script>' in text
    assert "cdn" not in text.lower()
    assert 'data-geojson-url="/api/v1/territories/geojson?parent=04&amp;indicator=population_2024"' in text
    assert '<option value="slum_households">' in text


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        (
            "06.141.01.01",
            "06.141.01.0",
        ),  # a Casablanca arrondissement: the map of Casablanca's arrondissements
        ("06.141.01.00", "06.141"),  # a prefecture of arrondissements: the map of the prefecture's communes
        ("01.511.01.03", "01.511.01.0"),  # a Tanger arrondissement
        ("01.511.03.03", "01.511"),  # a rural commune: the map of its province
        ("01", "01"),
    ],
)
def test_map_of_a_unit_without_a_layer_below_shows_the_nearest_one_above(client, code, shown):
    text = client.get(f"/fr/carte/?parent={code}").content.decode()
    assert f'data-geojson-url="/api/v1/territories/geojson?parent={shown}&amp;' in text


def test_map_page_with_unknown_indicator_falls_back_with_a_message(client):
    text = client.get("/ar/carte/?indicator=bogus").content.decode()
    assert 'role="alert"' in text
    assert "indicator=population_2024" in text


def test_plotly_is_served_from_the_wheel(client):
    response = client.get("/static/vendor/plotly.min.js")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert len(body) > 1_000_000
