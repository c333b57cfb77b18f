"""ChatRec settings: everything comes from the environment.

With nothing set, ChatRec runs on the embedded default: SQLite, the in-memory channel layer and a
Celery broker kept in files under var/. DATABASE_URL / REDIS_URL / CELERY_BROKER_URL switch to
PostgreSQL, channels-redis and a Redis or RabbitMQ broker.
"""
from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from chatrec_site.envconfig import (
    command_verbosity,
    read_bool,
    read_choice,
    read_database,
    read_float,
    read_int,
    read_list,
    read_torch_device,
    read_url,
)
from common.ratelimit import Rate, parse_rate
from recommender.engine.llm import BACKENDS, DEFAULT_BACKEND

ENV = os.environ
BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(ENV.get("CHATREC_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = read_bool(ENV, "DEBUG", False)
SECRET_KEY = ENV.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and read_bool(ENV, "CHATREC_REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("SECRET_KEY must be set when CHATREC_REQUIRE_SECRET_KEY is on")
    # A per-installation key kept on disk, so sessions survive restarts without any setup.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        from django.core.management.utils import get_random_secret_key

        # Only the owner may read the key: anyone who reads it can forge sessions.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(get_random_secret_key())
    SECRET_KEY = key_file.read_text().strip()
elif len(SECRET_KEY) < 20:
    raise ImproperlyConfigured("SECRET_KEY must be at least 20 characters long")

ALLOWED_HOSTS = read_list(ENV, "ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = read_list(ENV, "CSRF_TRUSTED_ORIGINS", [])

# Served over HTTPS (directly or behind a TLS-terminating proxy): redirect plain HTTP, send cookies only over
# TLS and ask browsers to remember it (HSTS). Off by default so the local demo works over http://.
CHATREC_HTTPS = read_bool(ENV, "CHATREC_HTTPS", False)
SECURE_SSL_REDIRECT = CHATREC_HTTPS
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = CHATREC_HTTPS
SECURE_HSTS_SECONDS = read_int(ENV, "SECURE_HSTS_SECONDS", 31536000 if CHATREC_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = read_bool(ENV, "SECURE_HSTS_PRELOAD", False)
# Trust X-Forwarded-Proto only when a proxy that sets it is in front (otherwise a client could claim https).
if read_bool(ENV, "CHATREC_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_celery_results",
    "recommender",
    "chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "chatrec_site.middleware.ContentSecurityPolicyMiddleware",
]

# Content-Security-Policy (chatrec_site/middleware.py): scripts and styles from this site only; item images
# may come from any https host (catalogs link them). The API docs page loads Swagger UI from its CDN.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    # Over plain HTTP (the local demo) catalogs' http:// image links are allowed too.
    "img-src": ["'self'", "data:", "https:"] + ([] if CHATREC_HTTPS else ["http:"]),
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
CSP_PATH_OVERRIDES = {
    "/api/docs/": {"script-src": ["https://cdn.jsdelivr.net"],
                   "style-src": ["https://cdn.jsdelivr.net", "'unsafe-inline'"],
                   "img-src": ["https://cdn.jsdelivr.net"]},
}
CSP_REPORT_ONLY = read_bool(ENV, "CHATREC_CSP_REPORT_ONLY", False)
# Sign-in attempts are throttled per username and client address (CHATREC_LOGIN_RATE failures).
AUTHENTICATION_BACKENDS = ["chatrec_site.auth.ThrottledModelBackend"]

ROOT_URLCONF = "chatrec_site.urls"
ASGI_APPLICATION = "chatrec_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": read_database(ENV, "DATABASE_URL", str(VAR_DIR / "chatrec.sqlite3"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = read_url(ENV, "REDIS_URL", {"redis", "rediss"})
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # A read may wait longer than the layer's 5 s blocking pop: with redis-py's default 5 s socket
            # timeout the two race, and a consumer whose read times out first is closed with 1011.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}]},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: an explicit broker wins, then Redis, then a file-based broker that needs no server.
CELERY_BROKER_URL = read_url(ENV, "CELERY_BROKER_URL", {"redis", "rediss", "amqp", "amqps", "pyamqp", "filesystem", "memory"}) or REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if not CELERY_BROKER_URL:
    broker_dir = VAR_DIR / "celery-broker"
    (broker_dir / "out").mkdir(parents=True, exist_ok=True)
    (broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    (broker_dir / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(broker_dir / "out"),
        "data_folder_out": str(broker_dir / "out"),
        "processed_folder": str(broker_dir / "processed"),
        "control_folder": str(broker_dir / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = "django-db"
CELERY_TASK_ALWAYS_EAGER = read_bool(ENV, "CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(ENV.get("CHATREC_STATIC_ROOT", BASE_DIR / "staticfiles"))
# WhiteNoise serves static files (compressed, hashed names cached forever after `collectstatic`; before it,
# straight from the folders), so a bare Daphne is a complete server.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "chatrec_site.storage.StaticStorage"},
}
WHITENOISE_USE_FINDERS = True
# Before the first `collectstatic` there is no STATIC_ROOT yet, which is fine: the finders serve the files.
warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Every DRF view (the schema views too) answers failures in the API's one error shape.
    "EXCEPTION_HANDLER": "chat.api.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Read by chat.throttles with the project's rate parser ("60/min", "5/15min"); checked below.
    "DEFAULT_THROTTLE_RATES": {
        "anon": ENV.get("CHATREC_API_ANON_RATE", "60/min"),
        "user": ENV.get("CHATREC_API_USER_RATE", "600/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ChatRec API",
    "DESCRIPTION": "Conversational, explainable recommendations over your catalog.",
    "VERSION": "1.0.0",
    # Swagger UI and ReDoc from the project's own static files (drf-spectacular-sidecar), so the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two request bodies carry a "kind" (feedback, a connection's tie): each its own enum in the schema.
    "ENUM_NAME_OVERRIDES": {"FeedbackKindEnum": "recommender.engine.rules.FEEDBACK_KINDS",
                            "RelationKindEnum": "recommender.engine.rules.RELATION_KINDS"},
}

# ChatRec itself
CHATREC_DATA_DIR = Path(ENV.get("CHATREC_DATA_DIR", BASE_DIR.parent / "shared" / "data"))
CHATREC_ARTIFACTS_DIR = Path(ENV.get("CHATREC_ARTIFACTS_DIR", VAR_DIR / "models"))
CHATREC_EMBEDDING_MODEL = ENV.get("CHATREC_EMBEDDING_MODEL", "")  # a local path; empty = packaged MiniLM
CHATREC_DEVICE = read_torch_device(ENV, "CHATREC_DEVICE")  # torch device for training; empty = CUDA if present
# Fine-tune the text encoder on recorded dialogues, co-liked items and the catalog's own genres and tags at each
# training, once at least 500 dialogue suggestions are recorded (up to 15 minutes of CPU; reused while nothing
# changed). It raises ReDial recall, cold-item accuracy and requests in words alone, and spreads free-text lists
# over more items (docs/benchmarks.md "What a person sees"); false keeps the packaged encoder.
CHATREC_TRAIN_ENCODER = read_bool(ENV, "CHATREC_TRAIN_ENCODER", True)
# Threads torch/BLAS may use per serving process (turns run side by side; 0 leaves the libraries' default).
CHATREC_SERVING_THREADS = read_int(ENV, "CHATREC_SERVING_THREADS", 1, minimum=0, maximum=256)
CHATREC_MAX_MESSAGE_CHARS = read_int(ENV, "CHATREC_MAX_MESSAGE_CHARS", 2000, minimum=1, maximum=100_000)
# A request body must arrive within this many seconds (a short body under a long Content-Length holds a
# worker otherwise) and be at most this large; the API's own, smaller limit is checked after.
CHATREC_BODY_TIMEOUT = read_float(ENV, "CHATREC_BODY_TIMEOUT", 10.0, minimum=0.1)
CHATREC_MAX_BODY_BYTES = read_int(ENV, "CHATREC_MAX_BODY_BYTES", 2_621_440, minimum=1024)
CHATREC_HTTP_CONCURRENCY = read_int(ENV, "CHATREC_HTTP_CONCURRENCY", 16, minimum=1, maximum=10_000)
CHATREC_LLM = {
    "backend": read_choice(ENV, "CHATREC_LLM_BACKEND", DEFAULT_BACKEND, set(BACKENDS)),
    "model_path": ENV.get("CHATREC_LLM_MODEL_PATH", ""),
    "base_url": ENV.get("CHATREC_LLM_BASE_URL", ""),
    "model": ENV.get("CHATREC_LLM_MODEL", ""),
    "api_key": ENV.get("CHATREC_LLM_API_KEY", ""),
    "timeout": read_float(ENV, "CHATREC_LLM_TIMEOUT", 20.0, minimum=0.1),
    "retries": read_int(ENV, "CHATREC_LLM_RETRIES", 2, minimum=0, maximum=10),
    "threads": read_int(ENV, "CHATREC_LLM_THREADS", 2, minimum=1, maximum=256),
    # A remote (openai) backend sits behind a circuit breaker: each call gets at most call_budget seconds,
    # and while the server is down it is probed every probe_interval seconds in the background.
    "call_budget": read_float(ENV, "CHATREC_LLM_CALL_BUDGET", 5.0, minimum=0.1),
    "probe_interval": read_float(ENV, "CHATREC_LLM_PROBE_INTERVAL", 15.0, minimum=0.1),
}
for _key in BACKENDS[CHATREC_LLM["backend"]].requires:  # the registry says what each backend cannot start without
    if not CHATREC_LLM[_key]:
        raise ImproperlyConfigured(f"CHATREC_LLM_{_key.upper()} must be set when CHATREC_LLM_BACKEND="
                                   f"{CHATREC_LLM['backend']}")


def read_rate(name: str, default: str) -> Rate:
    """Return the rate in the environment variable (e.g. "20/min"); a bad value stops start-up naming it."""
    try:
        return parse_rate(ENV.get(name, default))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


# Abuse limits, counted in the cache (shared by every process with Redis). A chat "actor" is the signed-in
# user or the guest's browser session; every limit on an actor also has a wider one per client address.
CHATREC_RATE_LIMITS = {
    "ws_turn": read_rate("CHATREC_WS_TURN_RATE", "12/min"),          # chat messages per actor
    "ws_feedback": read_rate("CHATREC_WS_FEEDBACK_RATE", "30/min"),  # feedback frames per actor
    "ws_frame": read_rate("CHATREC_WS_FRAME_RATE", "300/min"),       # any frame per actor
    "ws_ip": read_rate("CHATREC_WS_IP_RATE", "600/min"),             # any frame per client address
    "login": read_rate("CHATREC_LOGIN_RATE", "5/15min"),             # failed sign-ins per username and address
    "guest_new": read_rate("CHATREC_GUEST_NEW_RATE", "30/hour"),     # new guest profiles per client address
}
# The API's rates are read by DRF only when a call comes; check them now so a bad one stops start-up.
read_rate("CHATREC_API_ANON_RATE", "60/min")
read_rate("CHATREC_API_USER_RATE", "600/min")
CHATREC_WS_MAX_SOCKETS = read_int(ENV, "CHATREC_WS_MAX_SOCKETS", 5, minimum=1, maximum=1000)
# A socket is closed after this many broken frames (bad JSON, no type, too large, unknown type), and after this
# many frames refused for its rate: a client that ignores the answers gets no more of them.
CHATREC_WS_MAX_BAD_FRAMES = read_int(ENV, "CHATREC_WS_MAX_BAD_FRAMES", 20, minimum=1, maximum=100_000)
CHATREC_WS_MAX_REFUSED_FRAMES = read_int(ENV, "CHATREC_WS_MAX_REFUSED_FRAMES", 100, minimum=1, maximum=1_000_000)
# Frames of one socket waiting for its consumer; past this Daphne stops reading that socket until it drains.
CHATREC_WS_QUEUE_FRAMES = read_int(ENV, "CHATREC_WS_QUEUE_FRAMES", 16, minimum=1, maximum=10_000)
# Reverse proxies in front of the web processes, each appending the address it saw to X-Forwarded-For. 0 (the
# default): the header is ignored and the connection's peer is the client; N: the Nth address from the right
# (what the outermost trusted proxy saw), so a client cannot choose its own address by sending the header.
CHATREC_TRUSTED_PROXIES = read_int(ENV, "CHATREC_TRUSTED_PROXIES", 0, minimum=0, maximum=10)
# DRF reads REMOTE_ADDR only: the client's address is settled once, by chatrec_site.asgi_guards.ClientAddress.
REST_FRAMEWORK["NUM_PROXIES"] = 0
CHATREC_LLM_RERANK = read_bool(ENV, "CHATREC_LLM_RERANK", False)
CHATREC_LLM_EXPLAIN = read_bool(ENV, "CHATREC_LLM_EXPLAIN", False)
# Optional LLM steps of a turn (off by default; the rules answer without them): read the whole dialogue into the
# state, suggest titles as candidates, write small talk and factual answers (streamed, checked). Reading and
# suggesting share CHATREC_LLM_TURN_BUDGET seconds a turn, however slow the backend.
CHATREC_LLM_READ = read_bool(ENV, "CHATREC_LLM_READ", False)
CHATREC_LLM_CANDIDATES = read_bool(ENV, "CHATREC_LLM_CANDIDATES", False)
CHATREC_LLM_REPLY = read_bool(ENV, "CHATREC_LLM_REPLY", False)
CHATREC_LLM_TURN_BUDGET = read_float(ENV, "CHATREC_LLM_TURN_BUDGET", 1.5, minimum=0.1)
# Read replies to a suggestion with the classifier a model version learned from answered dialogues (where it has
# one) instead of the rules alone. Off by default: on the ReDial development split it reads reactions far better
# but leaves recall where the rules put it, at more per-turn time (docs/dialogue.md).
CHATREC_LEARNED_READING = read_bool(ENV, "CHATREC_LEARNED_READING", False)

LOG_LEVEL = read_choice(ENV, "LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}, upper=True)
# Libraries' chatter (faiss probing CPU features, model loaders naming their device, HTTP clients, llama.cpp) is
# shown from WARNING up unless asked for: INFO for a command run with -v 2 (--verbosity 2), all with LOG_LEVEL=DEBUG.
LIBRARY_LOGGERS = ("faiss", "sentence_transformers", "transformers", "huggingface_hub", "torch", "implicit",
                   "llama_cpp", "llama-cpp-python", "httpx", "httpcore", "urllib3", "filelock", "numexpr", "asyncio",
                   "kombu", "amqp")
if LIBRARY_LOG_LEVEL_QUIET := command_verbosity(sys.argv) < 2 and LOG_LEVEL != "DEBUG":
    # Model loaders draw their own progress bars ("Loading weights"); the console shows ChatRec's one bar per step.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
LIBRARY_LOG_LEVEL = ("DEBUG" if LOG_LEVEL == "DEBUG" else "INFO" if command_verbosity(sys.argv) >= 2 else "WARNING")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        # The file broker has no host; kombu says so at WARNING each time a task is queued.
        "kombu.connection": {"level": "ERROR" if LIBRARY_LOG_LEVEL == "WARNING" else LIBRARY_LOG_LEVEL},
        **{name: {"level": LIBRARY_LOG_LEVEL} for name in LIBRARY_LOGGERS},
    },
}
