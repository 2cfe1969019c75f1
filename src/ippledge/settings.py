"""Django settings, read from ``IPPLEDGE_*`` environment variables.

Defaults give a zero-set-up embedded SQLite platform in ``./var``; production sets
``IPPLEDGE_DATABASE_URL`` (PostgreSQL), ``IPPLEDGE_SECRET_KEY`` and ``IPPLEDGE_ALLOWED_HOSTS``.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

PACKAGE_DIR = Path(__file__).resolve().parent


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"IPPLEDGE_{name}", default)


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


if env("DATA_DIR") is None and "pytest" in sys.modules:
    # Test runs never write into a developer's ./var.
    DATA_DIR = Path(tempfile.mkdtemp(prefix="ippledge-test-"))
else:
    DATA_DIR = Path(env("DATA_DIR", "./var")).resolve()
DEBUG = env_bool("DEBUG", False)
# Production mode unless DEBUG: a weak or missing explicit secret is then refused.
PRODUCTION = env_bool("PRODUCTION", not DEBUG)
ALLOW_BUSINESS_DATE = env_bool("ALLOW_BUSINESS_DATE", False)


def _secret_key() -> str:
    explicit = env("SECRET_KEY")
    if explicit:
        weak = len(explicit) < 50 or len(set(explicit)) < 5 or explicit.startswith("django-insecure")
        if weak and PRODUCTION:
            raise ImproperlyConfigured(
                "IPPLEDGE_SECRET_KEY is too weak for production: use at least 50 random characters."
            )
        return explicit
    # Generated once and kept in the data dir so sessions survive restarts.
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(64)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = [h.strip() for h in (env("ALLOWED_HOSTS") or "localhost,127.0.0.1,[::1]").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in (env("CSRF_TRUSTED_ORIGINS") or "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ippledge.core",
    "ippledge.rights",
    "ippledge.registry",
    "ippledge.valuation",
    "ippledge.credit",
    "ippledge.reporting",
    "ippledge.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "ippledge.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ippledge.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ippledge.urls"
WSGI_APPLICATION = "ippledge.wsgi.application"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ippledge.core.context_processors.shell",
            ],
        },
    }
]


def _database() -> dict:
    url = env("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'ippledge.sqlite3'}"
    # Persistent connections: a new SQLite connection re-runs its PRAGMAs, a new PostgreSQL one a handshake.
    config = dj_database_url.parse(url, conn_max_age=300, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL + IMMEDIATE transactions: readers never block the writer and two writers never
        # deadlock on lock upgrade; a busy timeout turns contention into waiting, not errors.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                " PRAGMA busy_timeout=20000;"
            ),
        }
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Login throttling: failures per username and per client address within a window.
LOGIN_THROTTLE_MAX_FAILURES = int(env("LOGIN_THROTTLE_MAX_FAILURES", "5"))
LOGIN_THROTTLE_WINDOW_SECONDS = int(env("LOGIN_THROTTLE_WINDOW_SECONDS", "900"))

LANGUAGE_CODE = env("LANGUAGE", "zh-hans")
LANGUAGES = [("zh-hans", "中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
# Stored in UTC (USE_TZ); shown on the Beijing clock, the platform's legal and business time.
TIME_ZONE = "Asia/Shanghai"
BUSINESS_TIME_ZONE = "Asia/Shanghai"

STATIC_URL = "/static/"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve straight from the package's static dirs: no collectstatic step needed on a fresh machine.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Public search and certificate requests per minute per client address (0 = unlimited).
PUBLIC_RATE_LIMIT = int(env("PUBLIC_RATE_LIMIT", "600"))
# Days a formality defect may be corrected before the application is deemed abandoned.
REGISTRY_CORRECTION_DAYS = int(env("REGISTRY_CORRECTION_DAYS", "30"))
