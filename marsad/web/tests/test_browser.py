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


# Three published projects reported this month: two in Guelmim-Oued Noun (budgets 300 000 and 100 000,
# progress 50 and 100: TX_PHYS (300000×50 + 100000×100) / 400000 = 62.50) and one in Laâyoune-Sakia
# El Hamra (20.00).
CREATE_PROJECTS = """
from marsad.audit.services import SystemActor
from marsad.indicators.services import facts_refresh, local_today
from marsad.registry.models import Project
from marsad.registry.services import projects_publish, records_apply
from marsad.registry.tests.records import ADMIN_SCOPE, record

actor = SystemActor("browser-test")
today = local_today()
def one(operator, reference, commune, budget, progress):
    return record(operator=operator, operator_ref=reference, budget=budget, financing={}, location=None,
                  progress=progress, committed="0.00", paid="0.00", as_of=today.replace(day=1).isoformat(),
                  communes={commune: {"primary": True, "share": None}})
batch = records_apply(actor=actor, records=[
    one("MA-ALOMRANE-GON", "MAP-GON-1", "10.261.01.03", "300000.00", "50.00"),
    one("MA-ALOMRANE-GON", "MAP-GON-2", "10.261.01.03", "100000.00", "100.00"),
    one("MA-ALOMRANE-LSH", "MAP-LSH-1", "11.321.01.03", "200000.00", "20.00"),
], source_kind="command", source_id="browser-test", scope=ADMIN_SCOPE, today=today)
assert [r.errors for r in batch.results] == [[], [], []], [r.errors for r in batch.results]
ids = sorted(Project.objects.filter(operator_ref__startswith="MAP-").values_list("id", flat=True))
facts_refresh(ids, today=today)
projects_publish(actor=actor, projects=Project.objects.filter(id__in=ids))
"""

TRACES = """(() => document.getElementById("map").data.map(t => ({
  locations: t.locations, z: t.z, hovertext: t.hovertext,
  title: t.colorbar && t.colorbar.title ? t.colorbar.title.text : null, showscale: t.showscale
})))()"""


@pytest.fixture
def map_projects(marsad_manage):
    marsad_manage("shell", "-c", CREATE_PROJECTS)


def test_the_map_coloured_by_physical_progress(map_projects, watched, marsad_server):
    page = watched.page
    page.goto(f"{marsad_server}/fr/carte/")
    page.wait_for_selector("#map[data-rendered]", timeout=30_000)
    page.select_option("#indicator", "TX_PHYS")
    with page.expect_navigation():
        page.click(".map-controls button[type=submit]")
    month = page.input_value("#month")
    assert page.url == f"{marsad_server}/fr/carte/?parent=MA&indicator=TX_PHYS&month={month}"
    page.wait_for_selector("#map[data-rendered]", timeout=30_000)
    page.wait_for_timeout(1000)
    assert page.get_attribute("#map", "data-rendered") == "12"
    legend = page.locator("[data-testid=map-legend]").inner_text()
    assert legend.startswith("Taux d'avancement physique · unité : % · mois : ")
    # The engine's values, joined to the boundaries by HCP code: the regions with projects coloured
    # on a scale titled with the unit, the others grey.
    coloured, grey = page.evaluate(TRACES)
    assert (coloured["locations"], coloured["z"], coloured["title"]) == (["10", "11"], [62.5, 20], "%")
    assert coloured["hovertext"][0] == "Guelmim-Oued Noun<br>Taux d'avancement physique : 62,5 %"
    assert (len(grey["locations"]), grey["showscale"]) == (10, False)
    # The page writes the same values in its table (folded under the map).
    assert page.locator("tr[data-code='10'] td.num").text_content() == "62,50\u00a0%"
    assert map_colours(page) > 3
    assert watched.outside == []
    assert watched.errors == []
