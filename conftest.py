"""Test set-up shared by every app.

- The territories (HCP units, census figures, boundaries) are loaded once per session into the test
  database by the real loader, as ``make demo`` does; tests read them inside rolled-back transactions.
- Browser tests need Debian's Chromium and PostgreSQL runs need a server: where one is missing the
  tests skip with a message saying so, except when CI=true, where a missing one is a failure.
"""

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def chromium_path() -> str | None:
    candidate = (
        os.environ.get("MARSAD_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    return candidate if candidate and os.path.exists(candidate) else None


def missing(reason: str):
    """Skip on a newcomer's machine; fail under CI, where nothing may be skipped for lack of a tool."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from marsad.territories.services import territories_load

    with django_db_blocker.unblock():
        territories_load()


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        missing(
            "Chromium not found (install Debian's 'chromium' package, or set MARSAD_CHROMIUM): "
            "browser test skipped"
        )
    return path
