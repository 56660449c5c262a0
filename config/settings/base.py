"""Settings shared by every environment. Everything that differs between machines comes from the
environment: DATABASE_URL, SECRET_KEY, MARSAD_DEBUG, MARSAD_ALLOWED_HOSTS, MARSAD_VAR_DIR."""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("MARSAD_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def local_secret_key() -> str:
    """SECRET_KEY from the environment, or generated once into var/ for a local machine."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def database_from_url(url: str) -> dict:
    config = dj_database_url.parse(url, conn_max_age=60)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Persistent like PostgreSQL's: a connection kept by the thread serving a kept-alive HTTP
        # connection keeps its page cache warm (a connector's batches were 5-10% slower with one
        # connection per request).
        config["CONN_MAX_AGE"] = 60
        config["OPTIONS"] = {
            # WAL lets readers work while one writer commits; IMMEDIATE takes the write lock at
            # BEGIN so two writers queue instead of failing half-way through a transaction.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    return config


SECRET_KEY = local_secret_key()
DEBUG = False
ALLOWED_HOSTS = [h for h in os.environ.get("MARSAD_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "ninja",
    "django.contrib.admin",
    "axes",
    "marsad.core",
    "marsad.audit",
    "marsad.territories",
    "marsad.accounts",
    "marsad.registry",
    "marsad.indicators",
    "marsad.alerts",
    "marsad.exchange",
    "marsad.web",
    "django_tasks",
    "django_tasks_db",
]

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Login throttling (django-axes, database handler): 5 failures lock the username and address pair
# for 15 minutes.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_VERBOSE = False

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "marsad.core.middleware.ApiProblemMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "marsad.web.context_processors.language_switch",
            ],
        },
    }
]

DATABASES = {
    "default": database_from_url(os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'marsad.sqlite3'}"))
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "marsad_cache",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Arabic first (right to left), French second. Source strings are written in French.
LANGUAGE_CODE = "ar"
LANGUAGES = [("ar", _("Arabe")), ("fr", _("Français"))]
LOCALE_PATHS = [BASE_DIR / "marsad" / "locale"]
USE_I18N = True
TIME_ZONE = "Africa/Casablanca"
USE_TZ = True
LANGUAGE_COOKIE_NAME = "marsad_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise serves from it once collectstatic has run
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "marsad.core.staticfiles.VendorFinder",
]
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

NINJA_PAGINATION_MAX_LIMIT = 500

# Exchange (DESIGN §6).
MARSAD_KEYS_DIR = Path(os.environ.get("MARSAD_KEYS_DIR", VAR_DIR / "keys"))
MARSAD_SUBMISSION_MAX_BYTES = int(os.environ.get("MARSAD_SUBMISSION_MAX_BYTES", 16 * 1024 * 1024))
MARSAD_SUBMISSION_MAX_RECORDS = 1000
# How long a reserved idempotency key waits for its process before a retry may take it over.
MARSAD_SUBMISSION_LEASE_SECONDS = int(os.environ.get("MARSAD_SUBMISSION_LEASE_SECONDS", 60))
MARSAD_FEED_RETENTION_DAYS = int(os.environ.get("MARSAD_FEED_RETENTION_DAYS", 365))
DATA_UPLOAD_MAX_MEMORY_SIZE = MARSAD_SUBMISSION_MAX_BYTES + 1024 * 1024

# E-mail (new high-severity alerts): files under var/mail by default, one per message; set
# MARSAD_EMAIL_BACKEND (and the MARSAD_EMAIL_* server settings) to send for real.
EMAIL_BACKEND = os.environ.get("MARSAD_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = os.environ.get("MARSAD_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("MARSAD_EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("MARSAD_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("MARSAD_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("MARSAD_EMAIL_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("MARSAD_FROM_EMAIL", "Marsad <alertes@marsad.ma>")
# The address links in e-mails point to.
MARSAD_SITE_URL = os.environ.get("MARSAD_SITE_URL", "http://127.0.0.1:8000")

# Background tasks: django-tasks with its database backend (no extra server).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("MARSAD_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
