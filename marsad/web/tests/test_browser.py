"""The map and the language switch in real headless Chromium, with nothing fetched from outside."""

import io

import pytest
from PIL import Image

pytestmark = pytest.mark.browser


def map_colours(page) -> int:
    """How many distinct colours the map box shows: a blank or failed map shows one or two."""
    png = page.locator("#map").screenshot()
    image = Image.open(io.BytesIO(png)).convert("RGB").resize((300, 225))
    return len(image.getcolors(maxcolors=300 * 225))


@pytest.mark.parametrize(("language", "direction"), [("ar", "rtl"), ("fr", "ltr")])
def test_map_of_regions_renders_offline(watched, marsad_server, language, direction):
    page = watched.page
    page.goto(f"{marsad_server}/{language}/carte/?indicator=slum_households")
    page.wait_for_selector("#map[data-rendered]", timeout=30_000)
    page.wait_for_timeout(1500)  # let MapLibre paint its tiles of polygons
    assert page.get_attribute("html", "lang") == language
    assert page.get_attribute("html", "dir") == direction
    assert page.get_attribute("#map", "data-rendered") == "12"
    assert page.locator("#map canvas").count() >= 1
    assert map_colours(page) > 12
    assert watched.outside == []
    assert watched.errors == []


def test_click_on_a_region_drills_down_to_its_provinces(watched, marsad_server):
    page = watched.page
    page.goto(f"{marsad_server}/fr/carte/")
    page.wait_for_selector("#map[data-rendered]", timeout=30_000)
    page.wait_for_timeout(1000)
    box = page.locator("#map").bounding_box()
    # Where MapLibre draws Marrakech (lon -8.0, lat 31.63): inside the region Marrakech-Safi.
    maplibre = "document.getElementById('map')._fullLayout.map._subplot.map"
    point = page.evaluate(f"{maplibre}.project([-8.0, 31.63])")
    x, y = box["x"] + point["x"], box["y"] + point["y"]
    page.mouse.move(x - 5, y - 5)
    page.mouse.move(x, y, steps=5)
    page.wait_for_timeout(300)
    with page.expect_navigation(timeout=15_000):
        page.mouse.click(x, y)
    assert page.url == f"{marsad_server}/fr/carte/?parent=07&indicator=population_2024"
    page.wait_for_selector("#map[data-rendered]", timeout=30_000)
    assert page.get_attribute("#map", "data-rendered") == "8"  # the 8 provinces and prefectures of the region
    assert page.locator("h1").inner_text() == "Carte : Marrakech-Safi"
    assert watched.outside == []
    assert watched.errors == []


def test_language_switch_keeps_the_page(watched, marsad_server):
    page = watched.page
    page.goto(f"{marsad_server}/ar/territoires/04/")
    assert page.locator("h1").inner_text() == "الرباط-سلا-القنيطرة"
    page.click(".language-switch a[data-language='fr']")
    page.wait_for_load_state()
    assert page.url == f"{marsad_server}/fr/territoires/04/"
    assert page.get_attribute("html", "dir") == "ltr"
    assert page.locator("h1").inner_text() == "Rabat-Salé-Kénitra"
    assert watched.outside == []
    assert watched.errors == []
