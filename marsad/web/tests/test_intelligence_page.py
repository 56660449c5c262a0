"""The "needs against investment" section of the territory page: the figures of
``marsad.indicators.intelligence`` for the current month, in French and Arabic, each linked to the
projects behind it, scoped to the reader. The world (census rows and six projects in region 11 and
Dakhla) is the one of ``marsad/indicators/tests/test_intelligence.py``, where the figures are derived."""

import re

import pytest

from marsad.accounts.choices import Role
from marsad.accounts.services import membership_grant, user_create
from marsad.indicators.tests.support import SYSTEM
from marsad.indicators.tests.test_intelligence import build_world

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]
NB = "\u00a0"  # numbers group their thousands, and units stay by their numbers, with no-break spaces


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def analyst(world):
    user = user_create(actor=SYSTEM, username="analyst", password=None)
    membership_grant(actor=SYSTEM, user=user, role=Role.NATIONAL_ANALYST)
    return user


def section(html: str) -> str:
    """The intelligence section of a page."""
    match = re.search(r'<section class="intelligence".*?</section>', html, re.S)
    assert match, "the territory page has the intelligence section"
    return match.group(0)


def cells(html: str, testid: str) -> list[list[str]]:
    """The rows of a table (by data-testid) as lists of cell texts, tags removed."""
    table = re.search(rf'<table[^>]*data-testid="{testid}".*?</table>', html, re.S).group(0)
    body = re.search(r"<tbody>(.*?)</tbody>", table, re.S).group(1)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_a_region_page_in_french(client, analyst):
    client.force_login(analyst)
    html = section(client.get("/fr/territoires/11/").content.decode())
    assert """<h2 id="intelligence-title">Besoins face à l'investissement</h2>""" in html
    # 110,000,000 MAD for 1,000,000 inhabitants; VSB: 1,000 targeted households / 2,021 in slums.
    assert f'data-testid="intelligence-investment">110,0{NB}MDH<' in html
    assert f'data-testid="intelligence-per-inhabitant">110,00{NB}MAD<' in html
    assert f'data-testid="intelligence-vsb-coverage">49,48{NB}%<' in html
    assert '<a class="tile-note" href="/fr/projets/?region=11">5 projets</a>' in html
    assert f"Ménages ciblés (VSB) : 1{NB}000 · traités : 350" in html
    # The needs with their census sources (sums over the four provinces where the region has no row).
    assert cells(html, "intelligence-needs") == [
        ["Ménages en bidonville ou habitat sommaire (urbain)", f"2{NB}021",
         "Ménages (urbain) × Logement : maison sommaire ou bidonville (urbain) — somme de 4 unités en "
         "dessous"],
        ["Déficit en logements (urbain)", f"4{NB}000",
         "Logements urbains (urbain) × Taux de déficit en logement urbain (urbain) — somme de 3 unités en "
         "dessous"],
        ["Ménages sans électricité", f"4{NB}200", "Ménages (ensemble) × Électricité (ensemble)"],
        ["Ménages sans eau courante", f"7{NB}000", "Ménages (ensemble) × Eau courante (ensemble)"],
        ["Ménages non raccordés au réseau public d&#x27;assainissement", f"28{NB}000",
         "Ménages (ensemble) × Réseau public d&#x27;assainissement (ensemble)"],
    ]  # fmt: skip
    # Outputs, disparity, ranking.
    assert cells(html, "intelligence-outputs") == [
        ["Ménages concernés MEN_CIB", f"1{NB}050", f"1{NB}050"],
        ["Ménages traités MEN_TRT", f"1{NB}000", "350"],
        ["Superficie aménagée SUP", "110", "45"],
    ]
    disparity = re.search(r'data-testid="intelligence-disparity">(.*?)</dl>', html, re.S).group(1)
    assert re.findall(r'<dd class="num">(.*?)</dd>', disparity) == ["0,3455", "0,3095", "0,6556"]
    assert "intelligence-disparity-regions" not in html  # a region has no regions below
    assert [row[:9] for row in cells(html, "intelligence-ranking")] == [
        ["1", "Laâyoune", f"1{NB}000", f"2{NB}700", f"3{NB}700", "600", f"16,22{NB}%", f"3{NB}100",
         f"160,00{NB}MAD"],
        ["2", "Es-Semara", "500", f"1{NB}000", f"1{NB}500", "0", f"0,00{NB}%", f"1{NB}500", f"50,00{NB}MAD"],
        ["3", "Boujdour", "500", "300", "800", "400", f"50,00{NB}%", "400", f"200,00{NB}MAD"],
        ["4", "Tarfaya", "21", "n/d", "21", "0", f"0,00{NB}%", "21", f"0,00{NB}MAD"],
    ]  # fmt: skip
    assert 'href="/fr/territoires/11.321/"' in html
    assert 'href="/fr/projets/?province=11.321&amp;programme=VSB"' in html
    assert 'href="/fr/projets/?region=11&amp;programme=VSB"' in html


def test_a_region_page_in_arabic(client, analyst):
    client.force_login(analyst)
    html = section(client.get("/ar/territoires/11/").content.decode())
    assert 'data-testid="intelligence-investment">110,0\u00a0مليون\u00a0درهم<' in html
    assert 'data-testid="intelligence-per-inhabitant">110,00\u00a0درهم<' in html
    assert 'href="/ar/projets/?region=11"' in html
    assert 'href="/ar/territoires/11.321/"' in html
    assert cells(html, "intelligence-outputs")[0] == ["الأسر المعنية MEN_CIB", "1\u00a0050", "1\u00a0050"]


def test_the_country_page_shows_the_disparity_within_each_region(client, analyst):
    client.force_login(analyst)
    html = section(client.get("/fr/territoires/").content.decode())
    rows = {row[0]: row[1:] for row in cells(html, "intelligence-disparity-regions")}
    assert len(rows) == 12
    assert rows["Laâyoune-Sakia El Hamra"] == ["4", "0,3455", "0,3095", "0,6556"]
    assert len(cells(html, "intelligence-ranking")) == 75


def test_the_public_page_counts_only_published_projects(client, world):
    html = section(client.get("/fr/territoires/11.221/").content.decode())
    assert 'data-testid="intelligence-investment">10,0\u00a0MDH<' in html
    assert 'href="/fr/territoires/11.221.01.01/"' in html
    region = section(client.get("/fr/territoires/11/").content.decode())
    assert 'data-testid="intelligence-investment">10,0\u00a0MDH<' in region  # not the 110 of an analyst
    assert 'data-testid="intelligence-vsb-coverage">0,00\u00a0%<' in region


def test_a_rural_commune_has_no_urban_needs(client, world):
    html = section(client.get("/fr/territoires/11.321.03.01/").content.decode())
    needs = cells(html, "intelligence-needs")
    assert [row[1] for row in needs] == ["n/d", "n/d", "30", "150", "300"]  # 300 households × 10, 50, 100 %
    assert 'data-testid="intelligence-vsb-coverage">n/d<' in html
    assert "intelligence-ranking" not in html


def test_the_page_s_pinned_query_count(client, world, django_assert_num_queries):
    # The public (no session). The page: the unit, its census rows, its ancestors, its children, the map
    # layer; the section: the provinces below, their census rows, the facts' figures of the region and
    # of its provinces (two queries each: the completed statuses, the sums), the outputs.
    with django_assert_num_queries(11):
        assert client.get("/fr/territoires/11/").status_code == 200
