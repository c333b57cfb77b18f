"""Typed readers for environment settings that fail loudly, naming the variable."""
from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlparse

import environ
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def read_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """Return the variable as a bool; anything but a clear yes/no word is an error."""
    raw = env.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no/on/off, got {raw!r}")


def read_int(env: Mapping[str, str], name: str, default: int, *, minimum: int | None = None,
             maximum: int | None = None) -> int:
    """Return the variable as an int within bounds."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, got {value}")
    return value


def read_float(env: Mapping[str, str], name: str, default: float, *, minimum: float | None = None) -> float:
    """Return the variable as a float, optionally bounded below."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def read_list(env: Mapping[str, str], name: str, default: list[str]) -> list[str]:
    """Return a comma-separated variable as a list of non-empty items."""
    raw = env.get(name)
    if raw is None:
        return list(default)
    return [part.strip() for part in raw.split(",") if part.strip()]


def read_choice(env: Mapping[str, str], name: str, default: str, choices: set[str], *, upper: bool = False) -> str:
    """Return the variable if it is one of the allowed words (compared in lower case, or upper case if asked)."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().upper() if upper else raw.strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(sorted(choices))}, got {raw!r}")
    return value


TORCH_DEVICE = re.compile(r"cpu|mps|cuda(:\d+)?")


def read_torch_device(env: Mapping[str, str], name: str) -> str:
    """Return a torch device name ("cpu", "cuda", "cuda:1", "mps"), or "" (automatic) when unset."""
    raw = (env.get(name) or "").strip()
    if raw and not TORCH_DEVICE.fullmatch(raw):
        raise ImproperlyConfigured(f"{name} must be cpu, cuda, cuda:N or mps, got {raw!r}")
    return raw


def read_database(env: Mapping[str, str], name: str, sqlite_path: str) -> dict:
    """Return a Django DATABASES entry: the URL in the variable, or tuned SQLite when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return sqlite_database(sqlite_path)
    scheme = urlparse(raw).scheme
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfigured(f"{name} must be a postgres:// or sqlite:// URL, got scheme {scheme!r}")
    try:
        config = environ.Env.db_url_config(raw)
    except Exception as exc:  # django-environ raises several types for bad URLs
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None
    if config["ENGINE"].endswith("sqlite3"):
        return sqlite_database(config["NAME"])
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} must name a database, e.g. postgres://user@host:5432/chatrec")
    # No persistent connections: under ASGI every HTTP request runs on a thread of its own, and a connection
    # kept open past its request stays open with the finished thread, so a burst of page loads exhausted
    # PostgreSQL's connections (`max_connections`, 100 by default). How many requests use one at once is
    # bounded per process by CHATREC_HTTP_CONCURRENCY (chatrec_site/asgi_guards.py).
    config.setdefault("CONN_MAX_AGE", 0)
    config["CONN_HEALTH_CHECKS"] = True
    config.setdefault("TEST", {})["NAME"] = f"test_{config['NAME']}"
    return config


def sqlite_database(path: str) -> dict:
    """Return SQLite settings tuned for concurrent access from web, chat and worker processes."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            # WAL lets readers proceed during a write; IMMEDIATE takes the write lock up front so
            # concurrent writers wait (busy timeout) instead of failing with "database is locked".
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }


def read_url(env: Mapping[str, str], name: str, schemes: set[str]) -> str | None:
    """Return a URL variable whose scheme is allowed, or None when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    scheme = urlparse(raw).scheme
    if scheme not in schemes:
        raise ImproperlyConfigured(f"{name} must use one of {', '.join(sorted(schemes))}://, got {raw!r}")
    return raw


def command_verbosity(argv: list[str]) -> int:
    """Return the -v/--verbosity a management command was started with (1 when none is given)."""
    for i, arg in enumerate(argv):
        value = None
        if arg in ("-v", "--verbosity") and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--verbosity="):
            value = arg.split("=", 1)[1]
        elif arg.startswith("-v") and arg[2:].isdigit():
            value = arg[2:]
        if value is not None and value.isdigit():
            return int(value)
    return 1


def settings_or_exit() -> None:
    """Read the settings now; a bad environment value ends the process with one line that names the variable."""
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - reading one setting loads (and checks) them all
    except ImproperlyConfigured as exc:
        raise SystemExit(f"ChatRec cannot start: {exc}") from None
