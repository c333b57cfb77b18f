"""A real Daphne server on a free port over a migrated temporary SQLite database, and a headless Chromium."""
from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "test-results"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

CATALOG = [
    {"external_id": "ml-1", "title": "Toy Story (1995)", "aliases": ["玩具总动员"],
     "attributes": {"genres": ["Animation", "Children's", "Comedy"], "year": 1995}},
    {"external_id": "ml-100", "title": "Fargo (1996)", "aliases": ["冰血暴"],
     "attributes": {"genres": ["Crime", "Drama", "Thriller"], "year": 1996}},
    {"external_id": "ml-69", "title": "Forrest Gump (1994)", "aliases": ["阿甘正传"],
     "attributes": {"genres": ["Comedy", "Romance", "War"], "year": 1994}},
    {"external_id": "ml-71", "title": "Lion King, The (1994)", "aliases": ["狮子王"],
     "attributes": {"genres": ["Animation", "Children's", "Musical"], "year": 1994}},
    {"external_id": "ml-183", "title": "Alien (1979)", "aliases": ["异形"],
     "attributes": {"genres": ["Action", "Horror", "Sci-Fi"], "year": 1979}},
    {"external_id": "ml-94", "title": "Home Alone (1990)", "aliases": ["小鬼当家"],
     "attributes": {"genres": ["Children's", "Comedy"], "year": 1990}},
    # Dramas and thrillers: a film request has more than one list's worth (regenerate shows a different one).
    {"external_id": "ml-483", "title": "Casablanca (1942)", "aliases": ["卡萨布兰卡"],
     "attributes": {"genres": ["Drama", "Romance", "War"], "year": 1942}},
    {"external_id": "ml-6", "title": "Heat (1995)", "attributes": {"genres": ["Action", "Crime", "Thriller"], "year": 1995}},
    {"external_id": "ml-313", "title": "Titanic (1997)", "aliases": ["泰坦尼克号"],
     "attributes": {"genres": ["Drama", "Romance"], "year": 1997}},
    {"external_id": "ml-318", "title": "Schindler's List (1993)", "aliases": ["辛德勒的名单"],
     "attributes": {"genres": ["Drama", "War"], "year": 1993}},
    {"external_id": "ml-64", "title": "Shawshank Redemption, The (1994)", "aliases": ["肖申克的救赎"],
     "attributes": {"genres": ["Drama"], "year": 1994}},
    {"external_id": "ml-127", "title": "Godfather, The (1972)", "aliases": ["教父"],
     "attributes": {"genres": ["Action", "Crime", "Drama"], "year": 1972}},
    {"external_id": "ml-479", "title": "Vertigo (1958)", "aliases": ["迷魂记"],
     "attributes": {"genres": ["Mystery", "Thriller"], "year": 1958}},
    {"external_id": "ml-28", "title": "Apollo 13 (1995)", "aliases": ["阿波罗13号"],
     "attributes": {"genres": ["Action", "Drama", "Thriller"], "year": 1995}},
    {"external_id": "p-2", "title": "Linen Summer Dress", "domain": "product",
     "attributes": {"category": "dress", "color": "white", "season": ["summer"], "price": 79, "currency": "EUR"}},
]

LOAD_SCRIPT = """
import json, sys, django
django.setup()
from recommender.models import Item
for row in json.loads(open(sys.argv[1], encoding="utf-8").read()):
    Item.objects.create(**{"source": "e2e", "domain": "movie", "description": row["title"] + ".", **row})
"""


SERVER_ENV: dict[str, str] = {}
STAFF = ("staff", "staff-password-1")
MEMBER = ("member", "member-password-1")
USERS_SCRIPT = """
import sys, django
django.setup()
from django.contrib.auth import get_user_model
User = get_user_model()
User.objects.create_user(sys.argv[1], password=sys.argv[2], is_staff=True, is_superuser=True)
User.objects.create_user(sys.argv[3], password=sys.argv[4])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(tmp: Path, setup: str | None = None):
    """Start Daphne against a fresh SQLite database in tmp, after an optional setup script (run with Django set
    up, after the catalog is loaded); yield (base URL, database path, environment)."""
    db_path = tmp / "e2e.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update(DATABASE_URL=f"sqlite:///{db_path}", CHATREC_VAR_DIR=str(tmp / "var"),
               CHATREC_STATIC_ROOT=str(tmp / "no-collectstatic"),
               DJANGO_SETTINGS_MODULE="chatrec_site.settings", CHATREC_LLM_BACKEND="none",
               CELERY_TASK_ALWAYS_EAGER="false", PYTHONPATH=str(ROOT))
    run = dict(cwd=ROOT, env=env, check=True, capture_output=True, timeout=180)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], **run)
    (tmp / "catalog.json").write_text(json.dumps(CATALOG, ensure_ascii=False), encoding="utf-8")
    (tmp / "load.py").write_text(LOAD_SCRIPT)
    subprocess.run([sys.executable, str(tmp / "load.py"), str(tmp / "catalog.json")], **run)
    if setup is not None:
        (tmp / "setup.py").write_text(setup)
        subprocess.run([sys.executable, str(tmp / "setup.py")], **run)
    port = free_port()
    log = open(tmp / "daphne.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                             "chatrec_site.asgi:application"], cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                if httpx.get(base + "/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError("Daphne did not start:\n" + (tmp / "daphne.log").read_text()[-3000:])
            time.sleep(0.3)
        yield base, db_path, env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """Start Daphne against a fresh SQLite database; yield (base URL, database path)."""
    with running_server(tmp_path_factory.mktemp("e2e")) as (base, db_path, env):
        SERVER_ENV.update(env)
        yield base, db_path


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.failed_call = report.failed


@pytest.fixture
def page(browser, request):
    """Yield a fresh browser page; on failure keep a screenshot in test-results/."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-US")
    page = context.new_page()
    yield page
    if getattr(request.node, "failed_call", False):
        RESULTS.mkdir(exist_ok=True)
        page.screenshot(path=str(RESULTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture(scope="session")
def accounts(server, tmp_path_factory):
    """Create a staff account and a plain one on the running server; return their (username, password)."""
    script = tmp_path_factory.mktemp("users") / "users.py"
    script.write_text(USERS_SCRIPT)
    subprocess.run([sys.executable, str(script), *STAFF, *MEMBER], cwd=ROOT, env=SERVER_ENV, check=True,
                   capture_output=True, timeout=180)
    return {"staff": STAFF, "member": MEMBER}


def sign_in(page, base: str, account: tuple[str, str]) -> None:
    """Sign in through the login page."""
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", account[0])
    page.fill("input[name=password]", account[1])
    page.get_by_test_id("login-form").locator("button[type=submit]").click()
    page.wait_for_url(base + "/")


def query(db_path: Path, sql: str, params=()) -> list[tuple]:
    """Return rows from the server's database (read directly, as an operator would)."""
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql, params).fetchall()
