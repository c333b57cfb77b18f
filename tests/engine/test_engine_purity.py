"""The engine is a pure library: no project code outside it, no Django, no environment, no repository paths.

Configuration (device, embedding model, data folders) is passed in by the Django side or a benchmark.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "recommender" / "engine"
SOURCES = sorted(ENGINE.rglob("*.py"))
ENVIRONMENT_NAMES = {"environ", "getenv", "putenv", "unsetenv", "environb"}


def _module_of(path: Path) -> list[str]:
    return ["recommender", *path.relative_to(ENGINE.parent).with_suffix("").parts]


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_of(path)[:-1] if path.name != "__init__.py" else _module_of(path)[:-1]
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                targets = [".".join(base + ([node.module] if node.module else []))]
            else:
                targets = [node.module or ""]
            if any(alias.name in ENVIRONMENT_NAMES for alias in node.names):
                found.append(f"line {node.lineno}: imports an environment reader")
        elif isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT_NAMES:
            found.append(f"line {node.lineno}: reads the environment ({node.attr})")
        elif isinstance(node, ast.Name) and node.id in ENVIRONMENT_NAMES:
            found.append(f"line {node.lineno}: reads the environment ({node.id})")
        for target in targets:
            parts = target.split(".")
            if parts[0] == "django" or (parts[0] == "recommender" and parts[1:2] != ["engine"]):
                found.append(f"line {node.lineno}: imports {target}")
        if isinstance(node, ast.Name) and node.id == "__file__":
            found.append(f"line {node.lineno}: locates files from __file__ (a repository path)")
    return found


def test_the_scan_catches_what_it_forbids(tmp_path):
    bad = ENGINE / "rankers" / "_purity_probe.py"
    bad.write_text("import os\nfrom ...docs import write\nfrom recommender import sample_data\n"
                   "x = os.environ.get('X')\ny = os.getenv('Y')\nfrom django.conf import settings\n"
                   "p = __file__\n")
    try:
        found = _violations(bad)
    finally:
        bad.unlink()
    assert len(found) == 6, found


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ENGINE)) for p in SOURCES])
def test_engine_module_imports_nothing_outside_and_reads_no_environment(path):
    assert _violations(path) == []


def test_importing_the_engine_loads_no_project_code_outside_it():
    modules = [".".join(_module_of(p)[:-1] if p.name == "__init__.py" else _module_of(p)) for p in SOURCES]
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError as exc:\n"
        "        if (exc.name or '').startswith('recommender'):\n"
        "            raise\n"  # optional third-party backends may be missing; project imports may not
        # (django itself may arrive through a third-party library, e.g. llama_cpp's diskcache; the
        # source scan above checks the engine never imports it)
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.startswith('recommender.') and not m.startswith('recommender.engine'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         cwd=ENGINE.parents[1], timeout=300)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
