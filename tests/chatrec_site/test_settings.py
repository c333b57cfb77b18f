"""Environment parsing: good values, defaults, and errors that name the variable."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from chatrec_site import envconfig

ROOT = Path(__file__).resolve().parents[2]


def test_bool_words_and_default():
    assert envconfig.read_bool({"DEBUG": "yes"}, "DEBUG", False) is True
    assert envconfig.read_bool({"DEBUG": "0"}, "DEBUG", True) is False
    assert envconfig.read_bool({}, "DEBUG", True) is True


def test_bad_bool_names_variable():
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        envconfig.read_bool({"DEBUG": "maybe"}, "DEBUG", False)


def test_int_bounds_name_variable():
    assert envconfig.read_int({"N": "5"}, "N", 1, minimum=1) == 5
    with pytest.raises(ImproperlyConfigured, match="N must be an integer"):
        envconfig.read_int({"N": "five"}, "N", 1)
    with pytest.raises(ImproperlyConfigured, match="N must be at most 10"):
        envconfig.read_int({"N": "11"}, "N", 1, maximum=10)


def test_database_default_is_tuned_sqlite(tmp_path):
    config = envconfig.read_database({}, "DATABASE_URL", str(tmp_path / "db.sqlite3"))
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_database_url_postgres():
    config = envconfig.read_database({"DATABASE_URL": "postgres://bob:pw@db.example:5433/shop"}, "DATABASE_URL", "x")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"], config["USER"]) == ("db.example", 5433, "shop", "bob")


def test_database_url_bad_scheme_names_variable():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        envconfig.read_database({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL", "x")


def test_redis_url_scheme_checked():
    assert envconfig.read_url({"REDIS_URL": "redis://127.0.0.1:6379/0"}, "REDIS_URL", {"redis"}) == "redis://127.0.0.1:6379/0"
    assert envconfig.read_url({}, "REDIS_URL", {"redis"}) is None
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        envconfig.read_url({"REDIS_URL": "http://nope"}, "REDIS_URL", {"redis"})


def test_choice_rejects_unknown_word():
    assert envconfig.read_choice({"B": "OpenAI"}, "B", "none", {"openai", "none"}) == "openai"
    with pytest.raises(ImproperlyConfigured, match="B must be one of"):
        envconfig.read_choice({"B": "gpt"}, "B", "none", {"openai", "none"})


def test_torch_device_names():
    assert envconfig.read_torch_device({}, "D") == ""
    assert envconfig.read_torch_device({"D": " cuda:1 "}, "D") == "cuda:1"
    assert envconfig.read_torch_device({"D": "cpu"}, "D") == "cpu"
    with pytest.raises(ImproperlyConfigured, match="D must be cpu, cuda, cuda:N or mps"):
        envconfig.read_torch_device({"D": "cuda:x"}, "D")


def run_check(extra_env: dict, tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env.update({"CHATREC_VAR_DIR": str(tmp_path), **extra_env})
    return subprocess.run([sys.executable, "manage.py", "check", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DEBUG", "perhaps"), ("DATABASE_URL", "oracle://x/y"), ("REDIS_URL", "tcp://x"),
     ("CHATREC_LLM_BACKEND", "gpt5"), ("CHATREC_MAX_MESSAGE_CHARS", "-3"), ("SECRET_KEY", "short"),
     ("CHATREC_DEVICE", "gpu-please")],
)
def test_start_up_fails_naming_the_variable(variable, value, tmp_path):
    result = run_check({variable: value}, tmp_path)
    assert result.returncode != 0
    assert variable in result.stderr


def test_embedded_default_starts_with_nothing_set(tmp_path):
    result = run_check({}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret_key").exists()


def test_generated_secret_key_is_private(tmp_path):
    assert run_check({}, tmp_path).returncode == 0
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_deploy_check_is_clean_with_the_documented_production_variables(tmp_path):
    production = {"CHATREC_HTTPS": "true", "CHATREC_BEHIND_PROXY": "true", "ALLOWED_HOSTS": "chat.example.org",
                  "SECRET_KEY": "x7#kP2!vQ9@mR4$tL8^wZ1&nB6*cJ3(hF5)dG0-sYe4%Ta9+Uq2=Wm7~Lr5", "SECURE_HSTS_PRELOAD": "true",
                  "CHATREC_REQUIRE_SECRET_KEY": "true"}
    result = run_check(production, tmp_path, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    plain = run_check({}, tmp_path, "--deploy")
    assert "security.W008" in plain.stdout + plain.stderr  # without them the check does warn


def test_redis_layer_reads_outlast_its_blocking_pop(tmp_path):
    from channels_redis.core import RedisChannelLayer

    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(CHATREC_VAR_DIR=str(tmp_path), REDIS_URL="redis://127.0.0.1:6379/0",
               DJANGO_SETTINGS_MODULE="chatrec_site.settings")
    shown = subprocess.run([sys.executable, "-c", "import json, django; django.setup(); from django.conf import "
                            "settings; print(json.dumps(settings.CHANNEL_LAYERS))"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    host = json.loads(shown.stdout)["default"]["CONFIG"]["hosts"][0]
    assert host["address"] == "redis://127.0.0.1:6379/0"
    assert host["socket_timeout"] > RedisChannelLayer.brpop_timeout
