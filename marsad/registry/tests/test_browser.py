"""A data steward's day in real headless Chromium: sign in, enter a project, publish it, correct its
budget, find it with the htmx filters and read it in Arabic, with nothing fetched from outside and
no console error."""

import re

import pytest

pytestmark = pytest.mark.browser
PASSWORD = "a long passphrase 2026"
NBSP = "\u00a0"

CREATE_STEWARD = f"""
from marsad.accounts.models import Organisation
from marsad.accounts.services import membership_grant, user_create
user = user_create(actor=None, username="steward-doe", password="{PASSWORD}",
                   first_name="Salma", last_name="Bennani")
membership_grant(actor=None, user=user, role="operator_steward",
                 organisation=Organisation.objects.get(code="MA-ALOMRANE-DOE"))
"""


@pytest.fixture
def steward(marsad_manage):
    marsad_manage("shell", "-c", CREATE_STEWARD)


def test_a_steward_enters_publishes_corrects_and_finds_a_project(steward, watched, marsad_server):
    page = watched.page
    page.goto(f"{marsad_server}/fr/projets/")
    assert page.locator("h1").inner_text() == "Projets"

    # Sign in from the header: back on the list, with the name and the button to create.
    page.click("text=Se connecter")
    page.fill("#id_username", "steward-doe")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == f"{marsad_server}/fr/projets/"
    assert page.locator("[data-testid=account-name]").inner_text() == "Salma Bennani"

    # Enter a project.
    page.click("text=Nouveau projet")
    assert page.input_value("#id_operator") == "MA-ALOMRANE-DOE"
    page.fill("#id_operator_ref", "DOE-RQSE-2026-07")
    page.fill("#id_title_fr", "Restructuration du quartier Al Massira")
    page.fill("#id_title_ar", "إعادة هيكلة حي المسيرة")
    page.select_option("#id_programme", "RQSE")
    page.select_option("#id_status", "ENCO")
    page.fill("#id_commune", "12.391.01.01")
    page.fill("#id_planned_start", "2025-02-01")
    page.fill("#id_planned_end", "2027-06-30")
    page.fill("#id_budget", "48 000 000,00")
    page.fill("#id_as_of", "2026-09-30")
    page.fill("#id_progress", "35")
    page.select_option("#id_financing-0-partner", "MA-ALOMRANE-DOE")
    page.fill("#id_financing-0-amount", "30000000")
    page.select_option("#id_financing-1-partner", "MA-CR-12")
    page.fill("#id_financing-1-amount", "18000000")
    page.select_option("#id_outputs-0-indicator", "MEN_CIB")
    page.fill("#id_outputs-0-target", "640")
    with page.expect_navigation():
        page.click("text=Enregistrer")
    public_id = re.search(r"/fr/projets/(MRS-[0-9A-Z]{10})/$", page.url).group(1)
    assert page.locator(".messages").inner_text() == "Version 1 enregistrée."
    assert page.locator("h1").inner_text() == "Restructuration du quartier Al Massira"
    assert page.locator("[data-testid=budget]").inner_text() == f"48,0{NBSP}MDH"
    assert page.locator("[data-testid=financing-total]").inner_text() == f"48,0{NBSP}MDH"
    assert page.locator(".badge-draft").inner_text() == "Non publié"

    # Publish it, then correct the budget: a second version whose diff names the budget.
    with page.expect_navigation():
        page.click("button:has-text('Publier')")
    assert page.locator(".badge-public").inner_text() == "Publié"
    page.click("text=Modifier")
    assert page.input_value("#id_budget") == "48000000.00"
    page.fill("#id_budget", "50000000")
    page.fill("#id_financing-1-amount", "20000000")
    with page.expect_navigation():
        page.click("text=Enregistrer")
    assert page.locator(".messages").inner_text() == "Version 2 enregistrée."
    latest = page.locator("li.version[data-version='2'] table.diff tbody tr")
    assert latest.nth(0).inner_text().split("\t") == ["/budget", "48000000.00", "50000000.00"]
    assert page.locator("li.version").count() == 2

    # Find it on the list with the filters: htmx replaces the results and keeps the page.
    page.goto(f"{marsad_server}/fr/projets/")
    page.evaluate("window.samePage = true")
    with page.expect_response(lambda r: "programme=RQSE" in r.url and r.request.headers.get("hx-request")):
        page.select_option("#id_programme", "RQSE")
    page.wait_for_selector(f"tr[data-project='{public_id}']")
    assert page.evaluate("window.samePage") is True
    assert "programme=RQSE" in page.url
    assert page.locator("[data-testid=project-count]").inner_text() == "1 projet"
    with page.expect_response(lambda r: "q=" in r.url and r.request.headers.get("hx-request")):
        page.fill("#id_q", "aucun projet de ce nom")
    page.wait_for_selector(f"tr[data-project='{public_id}']", state="detached")
    assert page.locator("[data-testid=project-count]").inner_text() == "Aucun projet"
    assert page.evaluate("window.samePage") is True

    # Read it in Arabic.
    page.goto(f"{marsad_server}/fr/projets/{public_id}/")
    with page.expect_navigation():
        page.click(".language-switch a[data-language='ar']")
    assert page.url == f"{marsad_server}/ar/projets/{public_id}/"
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.locator("h1").inner_text() == "إعادة هيكلة حي المسيرة"
    assert page.locator("[data-testid=budget]").inner_text() == f"50,0{NBSP}مليون{NBSP}درهم"

    # Sign out.
    with page.expect_navigation():
        page.click(".account button")
    assert page.locator(".account a").count() == 1

    assert watched.outside == []
    assert watched.errors == []
