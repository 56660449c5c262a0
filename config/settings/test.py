"""Tests: SQLite in memory by default; MARSAD_TEST_DATABASE_URL points the suite at PostgreSQL."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import database_from_url

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DATABASES = {"default": database_from_url(os.environ.get("MARSAD_TEST_DATABASE_URL", "sqlite://:memory:"))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"].pop("init_command", None)
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}

# The platform's signing keys of a test run live in a temporary folder, never in var/.
MARSAD_KEYS_DIR = Path(tempfile.mkdtemp(prefix="marsad-test-keys-"))

# E-mails stay in memory (django.core.mail.outbox), as Django's test runner does.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
