"""Cairn settings, read from the environment.

The defaults run Cairn with nothing else installed: a SQLite file under var/, the in-memory
channel layer and a secret key generated once into var/. Production sets DATABASE_URL,
REDIS_URL, SECRET_KEY, ALLOWED_HOSTS and HTTPS (see the README for every variable).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from lib.env import envbool, envfloat, envint, envlist, envsecret
from lib.proxy import parse_networks

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CAIRN_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = envbool("DEBUG", "false")


def _secret_key() -> str:
    key = envsecret("SECRET_KEY")
    if key:
        return key
    # Embedded mode: one random key per installation, kept so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()


def _metrics_token() -> str:
    token = envsecret("METRICS_TOKEN")
    if token:
        return token
    # Embedded mode: /metrics is never public; the token is generated once, beside the secret
    # key, for a local Prometheus to read (README: "Metrics").
    path = VAR_DIR / "metrics_token"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


METRICS_TOKEN = _metrics_token()
# Addresses or CIDR networks that may ask for /metrics (with the token); empty: any address.
METRICS_ALLOWED_ADDRESSES = envlist("METRICS_ALLOWED_ADDRESSES", "")
for _entry in METRICS_ALLOWED_ADDRESSES:
    try:
        ipaddress.ip_network(_entry, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_ADDRESSES: {_entry!r} is not an address or network"
        ) from None
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

# Not installed as apps, because each would cost every management command its imports for
# nothing (`python -X importtime manage.py import_transcripts --help`):
# - "daphne" (~0.2 s: Twisted, autobahn, OpenSSL) only makes `manage.py runserver` serve
#   WebSockets; Cairn is served by the daphne CLI (`scripts/run`, production), so `runserver`
#   is HTTP only.
# - "django_prometheus" (~15 ms: prometheus_client) only adds optional exports (a metrics port,
#   migration counts) that Cairn does not turn on; its middleware below and /metrics
#   (config/urls.py) do not need the app installed.
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "axes",
    "tracking",
    "analytics",
    "integrations",
    "demo",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # Near the top so it sees every answer under /api/, including the other middleware's.
    "tracking.api.errors.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: the zone is the logged-in person's own, or the site's.
    "tracking.zones.DisplayZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _databases() -> dict:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'cairn.sqlite3'}"
    config = dj_database_url.parse(url)
    if config["ENGINE"] == "django.db.backends.postgresql":
        # psycopg 3's pool; Django requires CONN_MAX_AGE = 0 alongside it.
        config["CONN_MAX_AGE"] = 0
        options = config.setdefault("OPTIONS", {})
        # A server that drops packets (rather than refusing) holds a new connection this long.
        options.setdefault("connect_timeout", envint("DATABASE_CONNECT_TIMEOUT", "5"))
        options["pool"] = {
            "min_size": envint("DATABASE_POOL_MIN", "2"),
            "max_size": envint("DATABASE_POOL_MAX", "20"),
            # How long a request waits for a connection. During an outage every request waits
            # this long before its 503, so it is short; the pool is rarely exhausted because
            # each Daphne process runs its sync views on one thread.
            "timeout": envfloat("DATABASE_POOL_TIMEOUT", "2"),
        }
    elif config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the pages read while an import writes; the wait avoids "database is locked".
        config.setdefault("OPTIONS", {}).update(
            {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            }
        )
    else:
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// or sqlite:// URL")
    return {"default": config}


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The covering indexes (INCLUDE columns) are for Postgres' index-only scans; SQLite, the
# embedded default, builds them on the key columns alone, which is all it needs there.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # Pub/sub: group_send is one PUBLISH whatever the group size, and no connection-pool
    # exhaustion on connect storms (measured: docs/websocket-api.md, README benchmark).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # Pub/sub channels ignore Redis database numbers: the prefix keeps db 1 and db 2
            # as separate as the key space is.
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": "asgi" + urlparse(REDIS_URL).path.strip("/"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The cache holds the failed-API-key counts (tracking/auth.py): shared through Redis when there
# is one (several processes must count together), process-local otherwise (embedded mode).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cairn",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Failed API keys per client address: this many within the window locks the address out for
# one window (429 with Retry-After).
API_KEY_FAILURE_LIMIT = envint("API_KEY_FAILURE_LIMIT", "20")
API_KEY_FAILURE_WINDOW = envint("API_KEY_FAILURE_WINDOW", "300")

# Live WebSocket API (docs/websocket-api.md).
LIVE_TICK_SECONDS = envfloat("LIVE_TICK_SECONDS", "1.0")
# How long one analytics worker pass may spend before the steps that can (the hourly
# per-project refreshes and retraining) leave their remaining projects to the next passes.
ANALYTICS_PASS_BUDGET_SECONDS = envfloat("ANALYTICS_PASS_BUDGET_SECONDS", "20")
# Embedded mode runs the ticker inside the ASGI process; with Redis, `manage.py live_broadcast`.
LIVE_TICKER_IN_PROCESS = envbool("LIVE_TICKER_IN_PROCESS", "false" if REDIS_URL else "true")
LIVE_CLIENT_BUFFER_BYTES = envint("LIVE_CLIENT_BUFFER_BYTES", str(256 * 1024))
LIVE_SLOW_CLIENT_SECONDS = envfloat("LIVE_SLOW_CLIENT_SECONDS", "10")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins (the login page, the admin, the browsable API's login), counted by django-axes
# per client address and user name together: LOGIN_FAILURE_LIMIT failures lock that pair out
# for LOGIN_LOCKOUT_MINUTES (429; a right password is refused too), a success resets the count.
AUTHENTICATION_BACKENDS = [
    "tracking.auth.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", "10")
AXES_COOLOFF_TIME = timedelta(minutes=envfloat("LOGIN_LOCKOUT_MINUTES", "15"))
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_RESET_ON_SUCCESS = True
# The client address is REMOTE_ADDR (lib/proxy.py sets it from the proxy's header), as for
# failed API keys; never a header a client could send itself.
AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "project-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
# The one zone pages, the live page and the admin show times in (named in every page's footer);
# stored times are UTC whatever it is. An unknown zone name stops the start-up here.
CAIRN_DISPLAY_TZ = os.environ.get("CAIRN_DISPLAY_TZ", "UTC")
ZoneInfo(CAIRN_DISPLAY_TZ)
TIME_ZONE = CAIRN_DISPLAY_TZ
# The admin's dates in the pages' format (lib.formatting.DATETIME_DJANGO), see tracking/formats.
FORMAT_MODULE_PATH = ["tracking.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS: list[Path | tuple[str, Path]] = [BASE_DIR / "static"]
# Chart.js comes from npm (package.json); served by WhiteNoise so nothing loads from a CDN.
_CHARTJS = BASE_DIR / "node_modules" / "chart.js" / "dist"
if _CHARTJS.is_dir():
    STATICFILES_DIRS.append(("vendor/chartjs", _CHARTJS))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Security: HTTPS=true behind a TLS-terminating proxy turns on every transport protection.
HTTPS = envbool("HTTPS", "false")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000") if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
# Collected static files get a content hash in their names (cairn.865fe8353be8.css), so the
# proxy can let browsers cache them for a year (deploy/nginx/cairn.conf.template); needs
# `collectstatic` before serving, which production always runs.
STATIC_HASHED_NAMES = envbool("STATIC_HASHED_NAMES", "true" if HTTPS else "false")
if STATIC_HASHED_NAMES:
    STORAGES["staticfiles"]["BACKEND"] = "whitenoise.storage.CompressedManifestStaticFilesStorage"
# The proxies whose X-Forwarded-For and X-Forwarded-Proto are believed, and only with HTTPS=true
# (lib/proxy.py, wrapped around the ASGI application in config/asgi.py); from anyone else the
# headers are dropped. Daphne runs without --proxy-headers, which would believe any client.
try:
    CAIRN_TRUSTED_PROXIES = parse_networks(envlist("CAIRN_TRUSTED_PROXIES", "127.0.0.1,::1"))
except ValueError as _error:
    raise ImproperlyConfigured(f"CAIRN_TRUSTED_PROXIES: {_error}") from None

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tracking.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tracking.api.errors.exception_handler",
    # Titles of the browsable API: a view's `view_name`, else its docstring-free class name
    # made readable without DRF's "Api"/"View" suffix noise (tracking.api.names).
    "VIEW_NAME_FUNCTION": "tracking.api.names.view_name",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cairn API",
    "DESCRIPTION": "Sessions, checkpoints, measurements and skill analytics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page's JavaScript is served by us, never from a CDN: Cairn must work offline.
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "PREPROCESSING_HOOKS": ["tracking.api.schema.without_trailing_slash_aliases"],
    # A session's status appears in the list's and the detail's components: one enum, named.
    # One enum per choice set in the schema: a session's status, and an experiment's goal and
    # guardrail metrics.
    "ENUM_NAME_OVERRIDES": {
        "SessionStatusEnum": "tracking.models.Session.STATUSES",
        "MetricNameEnum": "analytics.experiments.definitions.METRIC_NAMES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tracking.api.schema.add_answers_of_every_operation",
    ],
}

# Ingest limits: a request carries at most this many events and bytes.
INGEST_MAX_EVENTS = envint("INGEST_MAX_EVENTS", "5000")
INGEST_MAX_BYTES = envint("INGEST_MAX_BYTES", str(8 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = INGEST_MAX_BYTES
# OTLP/HTTP exports (integrations/otlp/): the body cap, applied after decompression too (at
# most INGEST_MAX_BYTES, Django's cap on a read body), and whether user_prompt events keep the
# prompt text (off: only its length is kept).
OTLP_MAX_BYTES = min(envint("OTLP_MAX_BYTES", str(INGEST_MAX_BYTES)), INGEST_MAX_BYTES)
OTLP_STORE_PROMPTS = envbool("OTLP_STORE_PROMPTS", "false")
# Uploaded artefacts (coverage, JUnit, linter JSON) for CI checkpoints.
UPLOAD_MAX_BYTES = envint("UPLOAD_MAX_BYTES", str(20 * 1024 * 1024))
# A session quiet this long is no longer live: the import ends it, the live view leaves it out.
CAIRN_SESSION_IDLE_MINUTES = envint("CAIRN_SESSION_IDLE_MINUTES", "60")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # django-axes announces itself at every start, management commands included.
        "axes.apps": {"level": "WARNING"},
    },
}

# Metrics (docs/metrics.md): projects with per-project figures, skills with their own label
# per project (the rest are `other`); the version in cairn_build_info.
METRICS_MAX_PROJECTS = envint("METRICS_MAX_PROJECTS", "50")
METRICS_TOP_SKILLS = envint("METRICS_TOP_SKILLS", "20")
CAIRN_VERSION = os.environ.get("CAIRN_VERSION", "1.0.0")
