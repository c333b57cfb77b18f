"""The production layout's files (deploy/, docs/deployment.md) against the code they configure.

No container runs here: these read deploy/compose.yaml, deploy/nginx.conf and deploy/Dockerfile and check them
against chatrec_site/settings.py (the variables it reads) and against Django's deployment checks.
"""
from __future__ import annotations

import ast
import re
import secrets
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHATREC_SERVICES = ("migrate", "web", "worker", "beat")  # the services that run ChatRec's own image
EXPECTED_SERVICES = {"postgres", "redis", "web", "proxy", "worker", "beat", "llm"}
# The one third-party image configured through its environment: the official PostgreSQL image's own variables.
IMAGE_VARIABLES = {"postgres": {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}}


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def environment(service: dict) -> dict[str, str]:
    """Return a service's environment as a dict (Compose accepts a mapping or KEY=value lines)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(line.split("=", 1) if "=" in line else (line, "") for line in env)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def reader_name_positions() -> dict[str, int]:
    """Return, per reader function, which positional argument is the variable's name.

    The typed readers of chatrec_site/envconfig.py take (env, name, ...); a helper defined in settings.py that
    passes one of its parameters to ENV.get (read_rate) reads the variable named by that parameter.
    """
    positions = {}
    for source in (ROOT / "chatrec_site" / "envconfig.py", ROOT / "chatrec_site" / "settings.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            params = [arg.arg for arg in node.args.args]
            if params[:2] == ["env", "name"]:
                positions[node.name] = 1
                continue
            for call in ast.walk(node):
                if (isinstance(call, ast.Call) and is_env_get(call) and call.args
                        and isinstance(call.args[0], ast.Name) and call.args[0].id in params):
                    positions[node.name] = params.index(call.args[0].id)
    return positions


def is_env_get(call: ast.Call) -> bool:
    func = call.func
    return (isinstance(func, ast.Attribute) and func.attr == "get" and isinstance(func.value, ast.Name)
            and func.value.id == "ENV")


def settings_variables() -> set[str]:
    """Return every environment variable chatrec_site/settings.py reads, from its source."""
    positions = reader_name_positions()
    names = set()
    for node in ast.walk(ast.parse((ROOT / "chatrec_site" / "settings.py").read_text())):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "ENV":
            argument = node.slice
        elif isinstance(node, ast.Call) and is_env_get(node) and node.args:
            argument = node.args[0]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in positions
              and len(node.args) > positions[node.func.id]):
            argument = node.args[positions[node.func.id]]
        else:
            continue
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            names.add(argument.value)
    return names


def readme_table_variables(first_column: bool = True) -> set[str]:
    """Return the variables named in the README's configuration table (in its first column, or anywhere)."""
    text = (ROOT / "README.md").read_text()
    table = text.split("## Configuration (environment variables)", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1] if first_column else line))
    return names


def test_the_variables_settings_reads_are_found_in_its_source():
    found = settings_variables()
    # Read through ENV.get, an envconfig reader, and the settings' own read_rate helper.
    assert {"SECRET_KEY", "DATABASE_URL", "CHATREC_HTTPS", "CHATREC_LLM_BASE_URL", "CHATREC_WS_TURN_RATE"} <= found
    assert readme_table_variables() <= found, readme_table_variables() - found
    assert "POSTGRES_PASSWORD" not in found and "WEB_PROCESSES" not in found


def test_compose_has_every_service_of_the_layout():
    services = compose()["services"]
    assert EXPECTED_SERVICES <= set(services)
    assert services["llm"].get("profiles") == ["llm"]  # optional: only with --profile llm
    assert "replicas" in services["web"].get("deploy", {})
    web = " ".join(services["web"]["command"])
    assert web.startswith("bin/serve-multi --workers") and "--proxy-headers" in web
    worker = " ".join(services["worker"]["command"])
    assert "celery -A chatrec_site worker" in worker
    assert "celery -A chatrec_site beat" in " ".join(services["beat"]["command"])
    assert "DatabaseScheduler" in " ".join(services["beat"]["command"])


def test_every_environment_variable_is_one_settings_reads():
    read = settings_variables()
    for name, service in compose()["services"].items():
        keys = set(environment(service))
        if name in CHATREC_SERVICES:
            assert keys and keys <= read, f"{name}: not read by settings: {sorted(keys - read)}"
        else:
            allowed = IMAGE_VARIABLES.get(name, set())
            assert keys <= allowed, f"{name}: {sorted(keys - allowed)}"


def test_every_variable_compose_sets_is_documented_in_the_readme():
    documented = readme_table_variables(first_column=False)
    for name in CHATREC_SERVICES:
        keys = set(environment(compose()["services"][name]))
        assert keys <= documented, f"{name}: not in the README's table: {sorted(keys - documented)}"


def test_production_security_settings_are_on():
    for name in CHATREC_SERVICES:
        env = environment(compose()["services"][name])
        assert env["DEBUG"] == "false" and env["CHATREC_REQUIRE_SECRET_KEY"] == "true"
        assert env["CHATREC_HTTPS"] == "true" and env["CHATREC_BEHIND_PROXY"] == "true"
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")  # never a default in the file
        assert int(env["SECURE_HSTS_SECONDS"]) >= 31536000


def test_web_worker_and_beat_mount_one_artifacts_volume_where_settings_look():
    spec = compose()
    mounts = {}
    for name in ("web", "worker", "beat"):
        service = spec["services"][name]
        artifacts = environment(service)["CHATREC_ARTIFACTS_DIR"]
        found = [volume for volume in service["volumes"] if volume.split(":")[1] == artifacts]
        assert len(found) == 1, f"{name}: nothing mounted at CHATREC_ARTIFACTS_DIR={artifacts}"
        mounts[name] = found[0]
    assert len(set(mounts.values())) == 1, mounts  # the same volume at the same path: version rows store paths
    source = next(iter(mounts.values())).split(":")[0]
    assert source in spec["volumes"] and not source.startswith((".", "/"))  # a named volume, not a bind


def interpolated(value: str, values: dict[str, str]) -> str:
    """Return value with Compose's ${NAME}, ${NAME:-default} and ${NAME:?message} filled in from values."""
    def fill(match: re.Match) -> str:
        name, operator, rest = match["name"], match["op"], match["rest"]
        if values.get(name):
            return values[name]
        if operator == ":?":
            raise AssertionError(f"{name} is required and has no value")
        return rest if operator == ":-" else ""

    return re.sub(r"\$\{(?P<name>\w+)(?:(?P<op>:[-?])(?P<rest>[^}]*))?\}", fill, value)


def example_values() -> dict[str, str]:
    lines = (DEPLOY / "env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_env_example_names_every_value_compose_requires():
    text = (DEPLOY / "compose.yaml").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    used = set(re.findall(r"\$\{(\w+)", text))
    example = example_values()
    assert required <= set(example), required - set(example)
    assert set(example) <= used, set(example) - used  # nothing there that compose.yaml does not use


def test_the_web_environment_passes_djangos_deployment_checks(tmp_path):
    values = {**example_values(), "SECRET_KEY": secrets.token_urlsafe(50), "POSTGRES_PASSWORD": "example"}
    env = {key: interpolated(value, values) for key, value in environment(compose()["services"]["web"]).items()}
    env["CHATREC_VAR_DIR"] = str(tmp_path)  # the image's /var/lib/chatrec, somewhere writable here
    env["CHATREC_ARTIFACTS_DIR"] = str(tmp_path / "models")
    env["PATH"] = "/usr/bin:/bin"
    checked = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=180)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no issues" in checked.stdout


def nginx_block(text: str, opening: str) -> str:
    """Return the body of the block that starts with `opening {` (comments dropped)."""
    text = re.sub(r"#[^\n]*", "", text)
    start = text.index(opening + " {") + len(opening) + 2
    depth, end = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        end += 1
    return text[start:end - 1]


def directives(block: str) -> list[str]:
    return [" ".join(part.split()) for part in block.split(";") if part.strip()]


def test_the_proxy_upgrades_websockets_and_sets_the_forwarded_headers():
    conf = (DEPLOY / "nginx.conf").read_text()
    ws = directives(nginx_block(conf, "location /ws/"))
    assert "proxy_http_version 1.1" in ws
    assert "proxy_set_header Upgrade $http_upgrade" in ws
    assert "proxy_set_header Connection $connection_upgrade" in ws
    upgrade_map = directives(nginx_block(conf, "map $http_upgrade $connection_upgrade"))
    assert "default upgrade" in upgrade_map  # a handshake's Upgrade header asks for the upgrade
    # nginx drops the server's proxy_set_header lines in a location that sets its own: each proxied location
    # sets both forwarded headers itself, from the connection, whatever the client sent.
    proxied = [location for location in re.findall(r"location (\S+) \{", conf)
               if "proxy_pass" in nginx_block(conf, f"location {location}")]
    assert set(proxied) == {"/ws/", "/"}
    for location in proxied:
        lines = directives(nginx_block(conf, f"location {location}"))
        assert "proxy_set_header X-Forwarded-Proto $scheme" in lines, location
        assert "proxy_set_header X-Forwarded-For $remote_addr" in lines, location
        assert "proxy_set_header Host $http_host" in lines, location


def test_the_proxy_serves_the_static_files_the_image_collects():
    conf = (DEPLOY / "nginx.conf").read_text()
    static = directives(nginx_block(conf, "location /static/"))
    alias = next(line.split()[1] for line in static if line.startswith("alias "))
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert f"COPY --from=app /app/staticfiles {alias.rstrip('/')}" in dockerfile
    assert "COPY deploy/nginx.conf /etc/nginx/conf.d/default.conf" in dockerfile
    assert "collectstatic" in dockerfile and "\nUSER chatrec" in dockerfile
