"""Django settings, read from ``IPPLEDGE_*`` environment variables.

Defaults give a zero-set-up embedded SQLite platform in ``./var``; production sets
``IPPLEDGE_DATABASE_URL`` (PostgreSQL), ``IPPLEDGE_SECRET_KEY`` and ``IPPLEDGE_ALLOWED_HOSTS``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from ippledge.core import limits as _limits

PACKAGE_DIR = Path(__file__).resolve().parent

# Everything the platform writes (database, WAL, keys, evidence, reports) is for its own account only:
# files come out 0600 and folders 0700 whatever the caller's umask was.
os.umask(0o077)


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"IPPLEDGE_{name}", default)


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(env("DATA_DIR", "./var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
if DATA_DIR.stat().st_uid == os.getuid():
    # Also tightens a data dir an older version created world-readable.
    DATA_DIR.chmod(0o700)
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
    key = secrets.token_urlsafe(64)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = [h.strip() for h in (env("ALLOWED_HOSTS") or "localhost,127.0.0.1,[::1]").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in (env("CSRF_TRUSTED_ORIGINS") or "").split(",") if o.strip()]

INSTALLED_APPS = [
    # ninja as an app serves Swagger UI from its own packaged static files instead of a CDN.
    "ninja",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "ippledge.core",
    "ippledge.rights",
    "ippledge.registry",
    "ippledge.valuation",
    "ippledge.credit",
    "ippledge.monitoring",
    "ippledge.risksharing",
    "ippledge.disposal",
    "ippledge.reporting",
    "ippledge.demo",
]

MIDDLEWARE = [
    # First: every later layer (HTTPS detection, rate limits, throttling, audit) sees the real client.
    "ippledge.core.middleware.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "ippledge.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "ippledge.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ippledge.core.middleware.ChineseFirstLocaleMiddleware",
    # Before anything reads the body (CSRF reads POST): oversized or malformed bodies stop here.
    "ippledge.core.middleware.RequestBodyMiddleware",
    "ippledge.core.middleware.ErrorShapeMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ippledge.core.middleware.PublicRateLimitMiddleware",
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
        db_file = Path(config["NAME"])
        db_file.parent.mkdir(parents=True, exist_ok=True)
        for existing in (db_file, Path(f"{db_file}-wal"), Path(f"{db_file}-shm")):
            # A database an older version (or another umask) left world-readable is closed off too.
            if existing.exists() and existing.stat().st_uid == os.getuid():
                existing.chmod(0o600)
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Work outside the request (webhook delivery, imports, monitoring) runs on Django's Tasks API; the
# database backend keeps the queue in the platform's own database, so the embedded default needs no
# extra server.  `ippledge worker` runs the queue.
TASKS = {"default": {"BACKEND": env("TASK_BACKEND", "django_tasks_db.DatabaseBackend")}}

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Login throttling, per (username, address) and, wider, per address: after MAX_FAILURES failures each
# further attempt waits LOCKOUT_SECONDS, doubling per failure up to MAX_LOCKOUT_SECONDS; a bucket is
# forgotten after WINDOW_SECONDS without failures past its lock-out.
LOGIN_THROTTLE_MAX_FAILURES = int(env("LOGIN_THROTTLE_MAX_FAILURES", "5"))
LOGIN_THROTTLE_ADDRESS_FAILURES = int(env("LOGIN_THROTTLE_ADDRESS_FAILURES", str(LOGIN_THROTTLE_MAX_FAILURES * 4)))
LOGIN_THROTTLE_WINDOW_SECONDS = int(env("LOGIN_THROTTLE_WINDOW_SECONDS", "900"))
LOGIN_THROTTLE_LOCKOUT_SECONDS = int(env("LOGIN_THROTTLE_LOCKOUT_SECONDS", "60"))
LOGIN_THROTTLE_MAX_LOCKOUT_SECONDS = int(env("LOGIN_THROTTLE_MAX_LOCKOUT_SECONDS", "86400"))

# API tokens expire: login tokens after TOKEN_LIFETIME_DAYS, data-sharing tokens after
# SHARING_TOKEN_LIFETIME_DAYS.  A password reset revokes every token of the user.
TOKEN_LIFETIME_DAYS = int(env("TOKEN_LIFETIME_DAYS", "30"))
SHARING_TOKEN_LIFETIME_DAYS = int(env("SHARING_TOKEN_LIFETIME_DAYS", "90"))

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
CSRF_FAILURE_VIEW = "ippledge.core.views.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or CIDR blocks,
# comma-separated).  Unset: those headers are dropped and the socket's peer is the client.
TRUSTED_PROXIES = [p.strip() for p in (env("TRUSTED_PROXIES") or "").split(",") if p.strip()]

# Served over HTTPS (directly or behind a trusted TLS-terminating proxy): secure cookies, HSTS and a
# redirect from plain HTTP.  IPPLEDGE_SECURE_COOKIES alone is kept for older deployments.
HTTPS = env_bool("HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS or env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if HTTPS:
    SECURE_HSTS_SECONDS = int(env("HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", False)
    # Redirecting needs to know the scheme: only a trusted proxy can say it was HTTPS.
    SECURE_SSL_REDIRECT = env_bool("SSL_REDIRECT", bool(TRUSTED_PROXIES))
    # /healthz stays reachable over plain HTTP for load-balancer probes.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    if TRUSTED_PROXIES:
        # Safe only because ClientAddressMiddleware drops this header unless a trusted proxy sent it.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Pages use only the platform's own static JavaScript and CSS (no inline code, no CDN).
CONTENT_SECURITY_POLICY = env(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)
PERMISSIONS_POLICY = env(
    "PERMISSIONS_POLICY",
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), interest-cohort=()",
)

# Request bodies: Django's own cap matches the platform's (core.limits MAX_BODY_BYTES); the edge
# middleware answers 413 before anything is parsed.  Uploaded files are kept 0600 in 0700 folders.
DATA_UPLOAD_MAX_MEMORY_SIZE = _limits.limit("MAX_BODY_BYTES")
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Public requests (anonymous pages, /api/v1/public/*, the token endpoint) per minute per client
# address (0 = unlimited), counted in the shared cache so every process and worker agrees.
PUBLIC_RATE_LIMIT = int(env("PUBLIC_RATE_LIMIT", "600"))


def _caches() -> dict:
    """The shared cache: Django's database cache by default (its table is made by ``migrate``),
    Redis with ``IPPLEDGE_CACHE_URL=redis://host:6379/0`` (needs the ``redis`` extra),
    ``locmem://`` for a single process."""
    url = (env("CACHE_URL") or "db://").strip()
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("redis", "rediss", "unix"):
        config = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    elif scheme == "locmem":
        config = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ippledge"}
    elif scheme in ("db", "database"):
        config = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "ippledge_cache",
                  # Counters must not be culled early: a culled counter is a reset rate limit.
                  "OPTIONS": {"MAX_ENTRIES": 20_000, "CULL_FREQUENCY": 4}}
    else:
        raise ImproperlyConfigured(f"IPPLEDGE_CACHE_URL: unknown scheme {scheme!r} (use db://, redis://, locmem://)")
    config["KEY_PREFIX"] = "ippledge"
    return {"default": config}


CACHES = _caches()
# Days a formality defect may be corrected before the application is deemed abandoned.
REGISTRY_CORRECTION_DAYS = int(env("REGISTRY_CORRECTION_DAYS", "30"))
