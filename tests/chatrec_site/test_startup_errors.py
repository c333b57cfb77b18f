"""A bad setting stops every entry point with one line that names the variable: no traceback."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chatrec_site.envconfig import command_verbosity

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    environment.update(CHATREC_VAR_DIR=str(tmp_path / "var"), PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize(("variable", "value", "said"), [
    ("DATABASE_URL", "mysql://db/chatrec", "DATABASE_URL must be a postgres:// or sqlite:// URL"),
    ("CHATREC_WS_TURN_RATE", "often", "CHATREC_WS_TURN_RATE"),
    ("LOG_LEVEL", "loud", "LOG_LEVEL must be one of"),
])
def test_manage_py_prints_one_line_naming_the_variable(tmp_path, variable, value, said):
    done = run(["manage.py", "check"], tmp_path, **{variable: value})
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and said in lines[0] and "Traceback" not in done.stderr, done.stderr


def test_an_unreachable_database_is_one_line_too(tmp_path):
    done = run(["manage.py", "migrate", "--noinput"], tmp_path, DATABASE_URL="postgres://nobody@127.0.0.1:9/chatrec")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "check DATABASE_URL" in lines[0], done.stderr


def test_the_web_server_stops_with_the_same_line(tmp_path):
    done = run(["-c", "import chatrec_site.asgi"], tmp_path, DATABASE_URL="mysql://db/chatrec",
               DJANGO_SETTINGS_MODULE="chatrec_site.settings")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "ChatRec cannot start: DATABASE_URL must be a postgres:// or sqlite:// URL, got scheme 'mysql'"]


@pytest.mark.parametrize(("argv", "level"), [
    (["manage.py", "train"], 1), (["manage.py", "train", "-v", "2"], 2), (["manage.py", "train", "-v3"], 3),
    (["manage.py", "load_demo", "--verbosity=2"], 2), (["manage.py", "train", "--verbosity", "0"], 0),
])
def test_command_verbosity_is_read_from_the_command_line(argv, level):
    assert command_verbosity(argv) == level
