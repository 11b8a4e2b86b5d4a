"""Settings for RevivaTech, read from the environment in this one place.

Every setting has an embedded default that runs on one machine with nothing installed:
SQLite, the in-memory channel layer, the local-memory cache and Celery tasks executed
in-process. ``DATABASE_URL`` and ``REDIS_URL`` switch the same code to PostgreSQL and Redis.
The README lists every variable.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from ..env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("DJANGO_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", default=False)


def _secret_key() -> str:
    """The key from the environment; otherwise (development only) one kept in var/."""
    key = env_str("DJANGO_SECRET_KEY")
    if key:
        return key
    if env_bool("DJANGO_PRODUCTION", default=False):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_PRODUCTION=1")
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
# Rotation: the new key signs, the old ones (comma-separated) still verify sessions and signed links
# until they expire; drop them after SESSION_COOKIE_AGE.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", [])
PRODUCTION = env_bool("DJANGO_PRODUCTION", default=False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "waffle",
    "revivatech.flags",
    "repairs",
    "notifications",
    "payments",
    "analytics",
    # Demo data: the shop simulator and its command (demo/); no models, URLs or tasks.
    "demo",
    # The kernel: registers every app's Celery tasks once Django is ready (revivatech/apps.py).
    "revivatech",
    # Security hardening: login lockout, CSP, and the project's security package (settings/security.py).
    "axes",
    "csp",
    "revivatech.security",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy (django-csp, plus this host's ws:/wss:) and Permissions-Policy.
    "revivatech.security.headers.SiteCSPMiddleware",
    "revivatech.security.headers.PermissionsPolicyMiddleware",
    # 413 for bodies over REQUEST_MAX_BODY_BYTES before anything reads them.
    "revivatech.security.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Pages of a signed-in session are never stored (HTTP cache, service worker): private, no-store.
    "revivatech.security.private_pages.PrivatePagesMiddleware",
    # The visitor behind this request, so a booking or login can link it to the customer.
    "analytics.middleware.AnalyticsRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Sets the sticky cookie that keeps an anonymous visitor in or out of a percentage rollout.
    "waffle.middleware.WaffleMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login refused by the lockout into the 429 page (settings/security.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "revivatech.urls"
WSGI_APPLICATION = "revivatech.wsgi.application"
ASGI_APPLICATION = "revivatech.asgi.application"

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
                "repairs.context_processors.shop",
            ],
        },
    },
]

# --- Database: SQLite file by default, PostgreSQL (psycopg 3) with DATABASE_URL ---
DATABASE_URL = env_str("DATABASE_URL")
#: Seconds a new PostgreSQL connection may take before the request fails (503): an unreachable
#: database must not hold a request (or /readyz) for the operating system's TCP timeout.
DATABASE_CONNECT_TIMEOUT = env_int("DATABASE_CONNECT_TIMEOUT", 5)
#: Under ASGI (uvicorn) every request runs in its own context, so Django's persistent connections
#: (DATABASE_CONN_MAX_AGE > 0) are never reused and pile up until PostgreSQL refuses new clients
#: (found by ``make bench-load``: 503s under load). Set this to use psycopg's connection pool instead
#: (per process, at most this many connections); it needs DATABASE_CONN_MAX_AGE=0.
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 0)
#: Seconds a request waits for a free pooled connection, then fails (503).
DATABASE_POOL_TIMEOUT = env_int("DATABASE_POOL_TIMEOUT", 5)


def _from_url(url: str) -> dict:
    database = dj_database_url.parse(
        url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0), conn_health_checks=True
    )
    if not database["ENGINE"].endswith("postgresql"):
        return database
    options = database.setdefault("OPTIONS", {})
    if DATABASE_CONNECT_TIMEOUT > 0:
        options.setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)
    if DATABASE_POOL_MAX_SIZE > 0:
        database["CONN_MAX_AGE"] = 0
        pool_size = {"min_size": 1, "max_size": DATABASE_POOL_MAX_SIZE}
        options["pool"] = {**pool_size, "timeout": DATABASE_POOL_TIMEOUT}
    return database


if DATABASE_URL:
    DATABASES = {"default": _from_url(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # IMMEDIATE: a write transaction takes the lock up front, so concurrent requests wait
            # (up to the timeout) instead of failing with "database is locked".
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Feature flags (revivatech/flags, on django-waffle) ---
WAFFLE_FLAG_MODEL = "waffle.Flag"  # waffle's own flag (its Meta needs the setting)
WAFFLE_SECURE = PRODUCTION  # the rollout cookie is Secure behind HTTPS only
WAFFLE_CREATE_MISSING_FLAGS = False  # a flag without a row uses its registered default
WAFFLE_ENABLE_ADMIN_PAGES = False  # our admin registers the flag alone (no switches or samples)

# --- Redis: channel layer, cache and Celery broker when REDIS_URL is set ---
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, one connection pool per process (revivatech/cache.py)
            "BACKEND": "revivatech.cache.SharedRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "revivatech"),
        }
    }
    # "pubsub" (RedisPubSubChannelLayer) publishes a group message once; "core" (RedisChannelLayer)
    # copies it into every member's list. The README's realtime section says which and why.
    CHANNEL_LAYER = env_str("CHANNEL_LAYER", "pubsub")
    if CHANNEL_LAYER not in ("pubsub", "core"):
        raise ImproperlyConfigured(f"CHANNEL_LAYER must be 'pubsub' or 'core', got {CHANNEL_LAYER!r}")
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": (
                "channels_redis.pubsub.RedisPubSubChannelLayer"
                if CHANNEL_LAYER == "pubsub"
                else "channels_redis.core.RedisChannelLayer"
            ),
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("CHANNEL_LAYER_PREFIX", "asgi")},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYER = "memory"
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery: eager (in-process) without a broker, Redis broker with REDIS_URL ---
# memory://localhost/ (not bare memory://): kombu warns "No hostname was supplied" at every eager task.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "memory://localhost/")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool(
    "CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL.startswith("redis")
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Publishing must not hang a request when the broker is down: the database keeps the work.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}

# --- Auth ---
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "account-repairs"
LOGOUT_REDIRECT_URL = "home"

# --- I18n / time: UTC in the database, the shop's zone on screen ---
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("SHOP_TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

# --- Static and media ---
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Repair photos are private: MEDIA_ROOT is never served by URL; a view checks access first.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
PHOTO_MAX_UPLOAD_BYTES = env_int("PHOTO_MAX_UPLOAD_BYTES", 15 * 1024 * 1024)
#: More pixels than this is refused as a decompression bomb (a 48 MP phone photo passes).
PHOTO_MAX_PIXELS = env_int("PHOTO_MAX_PIXELS", 50_000_000)
#: Longest side of the normalised photo customers see (the original is kept privately).
PHOTO_MAX_DIMENSION = env_int("PHOTO_MAX_DIMENSION", 2048)

# --- REST API ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so anonymous requests get 401 with a WWW-Authenticate challenge.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies through the depth-checked decoder (deeply nested JSON is a 400, not a 500).
    "DEFAULT_PARSER_CLASSES": [
        "revivatech.jsonsafe.JSONBodyParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 20),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "revivatech.api_errors.exception_handler",
    # Writes per client IP and per user; rates in SECURITY_RATE_LIMITS (settings/security.py).
    "DEFAULT_THROTTLE_CLASSES": [
        "revivatech.security.ratelimit.WriteIPThrottle",
        "revivatech.security.ratelimit.WriteUserThrottle",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "RevivaTech API",
    "DESCRIPTION": "Repair tickets for customers, technicians and staff.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Every operation documents the error answers it can give (401/403/404/400/415/429).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "revivatech.api_schema.document_error_responses",
    ],
}

# --- The shop ---
SHOP_NAME = env_str("SHOP_NAME", "RevivaTech")
SHOP_CURRENCY = env_str("SHOP_CURRENCY", "GBP")


def _site_url() -> str:
    """The address customers use (emails, SMS, QR codes, links built outside a request).
    Required in production: a wrong default would send every customer to 127.0.0.1."""
    url = env_str("SITE_URL").strip().rstrip("/")
    if not url:
        if PRODUCTION:
            raise ImproperlyConfigured(
                "SITE_URL must be set when DJANGO_PRODUCTION=1: the address customers use, "
                "e.g. SITE_URL=https://shop.example.com (it goes into emails, SMS and QR codes)"
            )
        return "http://127.0.0.1:8000"  # `make run` sets it from its HOST and PORT
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ImproperlyConfigured(
            f"SITE_URL must be an http(s) address like https://shop.example.com, got {url!r}"
        )
    return url


#: Pages in development (DEBUG) build their absolute links from the request instead
#: (revivatech/links.py), so they follow whatever address the site is served on.
SITE_URL = _site_url()

# --- Security: strict in production (DJANGO_PRODUCTION=1), relaxed for local HTTP ---
# (headers and cookie flags for every deployment: settings/security.py)
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # No SECURE_PROXY_SSL_HEADER: Django would believe X-Forwarded-Proto from anyone who reaches the
    # process. uvicorn (--proxy-headers --forwarded-allow-ips <the proxy>) sets the scheme from it
    # only for requests that come from the proxy (docs/operations.md).
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# LOGGING (structured JSON logs, LOG_FORMAT / LOG_LEVEL) lives in settings/observability.py.

#: Periodic tasks of the project itself (each app adds its own in its settings module).
CELERY_BEAT_SCHEDULE: dict = {}
