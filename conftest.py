"""Test set-up shared by every app.

- The territories (HCP units, census figures, boundaries), the organisations and the reference
  catalogue are loaded once per session into the test database by the real loaders, as ``make demo``
  does; tests read them inside rolled-back transactions.
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
    from marsad.accounts.services import organisations_load
    from marsad.registry.services import reference_load
    from marsad.territories.services import territories_load

    with django_db_blocker.unblock():
        territories_load()
        organisations_load()
        reference_load()


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        missing(
            "Chromium not found (install Debian's 'chromium' package, or set MARSAD_CHROMIUM): "
            "browser test skipped"
        )
    return path


def run_manage(env: dict, *command: str) -> str:
    """Run a management command in the given environment; returns its output."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "config.manage", *command], env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


@pytest.fixture(scope="session")
def marsad_env(tmp_path_factory) -> dict:
    """The environment of the real Marsad the browser tests talk to: its own var directory and SQLite
    file, migrated and loaded by the real commands (territories, organisations, reference catalogue)."""
    var = tmp_path_factory.mktemp("marsad-var")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "MARSAD_DEBUG": "0",
        "MARSAD_VAR_DIR": str(var),
        "DATABASE_URL": f"sqlite:///{var / 'marsad.sqlite3'}",
    }
    env.pop("MARSAD_TEST_DATABASE_URL", None)
    for command in (
        ["migrate", "--noinput", "-v0"],
        ["createcachetable"],
        ["territories_load"],
        ["reference_load"],
    ):
        run_manage(env, *command)
    return env


@pytest.fixture(scope="session")
def marsad_manage(marsad_env):
    """Run a management command against the real Marsad of the browser tests (to add a user...)."""
    return lambda *command: run_manage(marsad_env, *command)


@pytest.fixture(scope="session")
def marsad_server(marsad_env):
    """A real Marsad served over HTTP on a free loopback port by a separate process, as `make demo`
    does (DEBUG off)."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    env = marsad_env
    var = Path(env["MARSAD_VAR_DIR"])
    manage = [sys.executable, "-m", "config.manage"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(var / "server.log", "wb")  # noqa: SIM115 - closed at teardown
    command = [*manage, "serve", f"127.0.0.1:{port}", "--noreload"]
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((var / "server.log").read_text()) from None
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--no-first-run",
                "--enable-unsafe-swiftshader",
            ],
        )
        yield instance
        instance.close()


class Watched:
    """A page whose requests and console errors are recorded; requests off the server are refused."""

    def __init__(self, browser, base_url: str):
        self.base_url = base_url
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.page = self.context.new_page()
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.base_url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def close(self):
        self.context.close()


@pytest.fixture
def watched(browser, marsad_server):
    """A fresh watched page on the test server, closed afterwards."""
    page = Watched(browser, marsad_server)
    yield page
    page.close()


class LiveMarsad:
    """A real Marsad for end-to-end tests of the exchange: its own database (a SQLite file, or a fresh
    PostgreSQL database when the suite runs on PostgreSQL), loaded by the real commands, served over
    HTTP by a separate process that tests may kill and restart."""

    def __init__(self, var, database_url: str):
        import socket

        self.var = var
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.dev",
            "MARSAD_DEBUG": "0",
            "MARSAD_VAR_DIR": str(var),
            "DATABASE_URL": database_url,
            "MARSAD_SUBMISSION_LEASE_SECONDS": "3",
        }
        self.env.pop("MARSAD_TEST_DATABASE_URL", None)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.starts = 0

    def manage(self, *command: str) -> str:
        return run_manage(self.env, *command)

    def start(self) -> str:
        import subprocess
        import sys
        import time
        import urllib.request

        self.starts += 1
        log = open(self.var / f"server-{self.starts}.log", "wb")  # noqa: SIM115 - closed by the process's end
        command = [sys.executable, "-m", "config.manage", "serve", f"127.0.0.1:{self.port}", "--noreload"]
        self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return self.url
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((self.var / f"server-{self.starts}.log").read_text()) from None
                time.sleep(0.1)

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        self.process.wait(timeout=20)
        self.process = None


@pytest.fixture(scope="session")
def marsad_live(tmp_path_factory):
    """A live Marsad on the suite's database engine (see ``LiveMarsad``), shared by the session."""
    import uuid

    var = tmp_path_factory.mktemp("marsad-live")
    pg_url = os.environ.get("MARSAD_TEST_DATABASE_URL", "")
    dropped = None
    if pg_url.startswith("postgres"):
        import psycopg

        name = f"marsad_live_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(pg_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        database_url = pg_url.rsplit("/", 1)[0] + "/" + name
        dropped = name
    else:
        database_url = f"sqlite:///{var / 'marsad.sqlite3'}"
    live = LiveMarsad(var, database_url)
    for command in ("migrate --noinput -v0", "createcachetable", "territories_load", "reference_load"):
        live.manage(*command.split())
    live.start()
    yield live
    live.stop()
    if dropped:
        import psycopg

        with psycopg.connect(pg_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{dropped}" WITH (FORCE)')
