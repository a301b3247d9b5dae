"""ChatDirect settings: the one place that reads the environment.

The embedded default (no DATABASE_URL, no REDIS_URL) is SQLite under var/, an in-memory channel layer,
a local-memory cache and eager Celery tasks. Production (DEBUG off) has no defaults for its secrets and
refuses to start without them, naming the variable that is missing.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from byok.vault import VaultError, parse_keyring

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# `make run` / `make test` write a git-ignored .env with a development keyring and secret key.
# Real environment variables always win over it; production can switch it off entirely.
if env.bool("CHATDIRECT_READ_ENV_FILE", default=True) and (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)


def _required(name: str, value: str) -> str:
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set. Production settings (DEBUG off) need it; see README.md, "
            "'Configuration'."
        )
    return value


SECRET_KEY = env.str("SECRET_KEY", default="")
if DEBUG and not SECRET_KEY:
    SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-on"
SECRET_KEY = _required("SECRET_KEY", SECRET_KEY)

# The BYOK vault's master keyring: "key_id:base64secret,old_id:base64secret", newest first.
# Never derived from SECRET_KEY; rotating SECRET_KEY must not touch stored provider keys.
CHATDIRECT_VAULT_KEYS = env.str("CHATDIRECT_VAULT_KEYS", default="")
if CHATDIRECT_VAULT_KEYS or not DEBUG:
    try:
        parse_keyring(_required("CHATDIRECT_VAULT_KEYS", CHATDIRECT_VAULT_KEYS))
    except VaultError as exc:
        raise ImproperlyConfigured(str(exc)) from None

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The public origin the widget snippet and emails point at.
CHATDIRECT_PUBLIC_URL = env.str("CHATDIRECT_PUBLIC_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "rest_framework",
    "tenants",
    "byok",
    "conversations",
    "consumption",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "chatdirect.middleware.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatdirect.urls"
ASGI_APPLICATION = "chatdirect.asgi.application"

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
                "portal.context_processors.portal",
            ],
        },
    },
]

VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'chatdirect.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Async views and worker threads share the file; wait for the write lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
# Request threads under ASGI come and go, so their connections are not kept (CONN_MAX_AGE 0); the
# chat path's own database threads keep theirs (chatdirect/asyncdb.py).
CHATDIRECT_DB_THREADS = env.int("CHATDIRECT_DB_THREADS", default=8)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chatdirect.channel_layer.RedisChannelLayer",
            # redis-py's default pool errors at 100 connections instead of waiting, and its 5 s
            # socket timeout equals the layer's 5 s blocking receive, so idle sockets would time
            # out under load.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "max_connections": 4000, "socket_timeout": 30}]
            },
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://localhost/"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}
# Consumption rollups: "yesterday and today" in every tenant's time zone, recomputed hourly.
CELERY_BEAT_SCHEDULE["consumption-rollup-recent"] = {
    "task": "consumption.rollup_recent_usage",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["consumption-usd-cad-rate"] = {
    "task": "consumption.fetch_usd_cad_rate",
    "schedule": 6 * 3600.0,
}
# Used for CAD figures until an admin (or the Bank of Canada task) stores a rate for a day.
CHATDIRECT_DEFAULT_USD_CAD = env.str("CHATDIRECT_DEFAULT_USD_CAD", default="1.38")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:overview"
LOGOUT_REDIRECT_URL = "portal:login"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
CHATDIRECT_DEFAULT_TIMEZONE = "America/Toronto"

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the finders in development so `make run` needs no collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ChatDirect <no-reply@chatdirect.local>")

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
    SECURE_CONTENT_TYPE_NOSNIFF = True

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}

# LLM providers. Base URLs are overridable for tests (the fake server), proxies and EU endpoints.
CHATDIRECT_PROVIDER_BASE_URLS = {
    "anthropic": env.str("CHATDIRECT_ANTHROPIC_BASE_URL", default="") or None,
    "openai": env.str("CHATDIRECT_OPENAI_BASE_URL", default="") or None,
    "google": env.str("CHATDIRECT_GOOGLE_BASE_URL", default="") or None,
    "mistral": env.str("CHATDIRECT_MISTRAL_BASE_URL", default="") or None,
}
CHATDIRECT_PROVIDER_CONNECT_TIMEOUT = env.float("CHATDIRECT_PROVIDER_CONNECT_TIMEOUT", default=5.0)
CHATDIRECT_PROVIDER_READ_TIMEOUT = env.float("CHATDIRECT_PROVIDER_READ_TIMEOUT", default=60.0)
# ChatDirect's one retry policy for provider calls (SDK retries are off).
CHATDIRECT_PROVIDER_RETRY = {"max_attempts": 3, "base_delay": 0.25, "max_delay": 4.0}
# Pooled platform keys, from the providers' conventional variable names.
CHATDIRECT_PLATFORM_KEYS = {
    "anthropic": env.str("ANTHROPIC_API_KEY", default=""),
    "openai": env.str("OPENAI_API_KEY", default=""),
    "google": env.str("GEMINI_API_KEY", default=""),
    "mistral": env.str("MISTRAL_API_KEY", default=""),
}

# The platform's provider:model per plan name ("default" for plans not listed). Starter plans may
# not use premium models; Pro and above default to Claude Haiku 4.5 (the product brief).
CHATDIRECT_PLATFORM_MODELS = env.dict(
    "CHATDIRECT_PLATFORM_MODELS",
    default={"Starter": "openai:gpt-4o-mini", "default": "anthropic:claude-haiku-4-5"},
)
# Visitor-facing limits of the widget API.
CHATDIRECT_MESSAGE_MAX_CHARS = env.int("CHATDIRECT_MESSAGE_MAX_CHARS", default=2000)
# "requests/seconds" per visitor, per client IP, per tenant, and for starting widget sessions per IP.
CHATDIRECT_RATE_LIMITS = {
    scope: tuple(
        int(n)
        for n in env.str(f"CHATDIRECT_RATE_LIMIT_{scope.upper()}", default=default).split("/")
    )
    for scope, default in {
        "visitor": "20/60",
        "ip": "120/60",
        "tenant": "6000/60",
        "session": "30/60",
    }.items()
}
CHATDIRECT_CONVERSATION_IDLE_MINUTES = 30

# Error pages and error e-mails hide key-shaped values even with DEBUG on (Django's stock filter
# ignores sensitive_variables while DEBUG is on).
DEFAULT_EXCEPTION_REPORTER_FILTER = "byok.error_reports.KeySafeExceptionReporterFilter"

# Every handler gets the redaction filter: a provider key must not reach any log line at any level.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "byok.redaction.RedactingFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.request": {
            "handlers": ["console", "mail_admins"],
            "level": "ERROR",
            "propagate": False,
        },
        # The SDKs' HTTP clients log every request at INFO; keep the logs about our own events.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "httpcore2": {"level": "WARNING"},
        # Eager tasks (the embedded default) would log a "succeeded" line per rollup in the request.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else LOG_LEVEL},
    },
}
