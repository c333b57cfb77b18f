"""The code's shape: short functions, no import circle, and imports only from the same or a lower layer.

The layers (docs/architecture.md): common < recommender.engine < recommender (services, selectors, models, tasks,
views) < chat < chatrec_site (the project shell: settings, URLs, ASGI, start-up). Every import counts, also one
inside a function (that is how a circle hides); only imports under `if TYPE_CHECKING:` do not run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("common", "recommender", "chat", "chatrec_site")
SHORT_PACKAGES = ("recommender", "chat")
MAX_FUNCTION_LINES = 80
# Functions still longer than the limit, each with the file that owns it; none may be added.
LONG_FUNCTIONS: set[tuple[str, str]] = set()
# Imports that still go the wrong way, each to be removed by the work under way on that file.
KNOWN_CIRCLES: list[set[str]] = []
KNOWN_UPWARD: set[tuple[str, str]] = set()


def layer_of(module: str) -> int:
    """Return a module's layer: 0 common, 1 engine, 2 recommender app, 3 chat, 4 project shell."""
    if module == "common" or module.startswith("common."):
        return 0
    if module == "recommender.engine" or module.startswith("recommender.engine."):
        return 1
    top = module.split(".", 1)[0]
    return {"recommender": 2, "chat": 3, "chatrec_site": 4}[top]


def _sources(packages: tuple[str, ...]) -> Iterator[tuple[str, Path]]:
    for package in packages:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(REPO).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _runtime_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Yield every import that runs: at module level or in a function, not under `if TYPE_CHECKING:`."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for inner in ast.walk(node))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in skipped:
            yield node


def _targets(module: str, path: Path, node: ast.Import | ast.ImportFrom, known: set[str]) -> set[str]:
    """Return the project modules an import loads (a name imported from a package may be its submodule)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([node.module] if node.module else []))
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
    out = set()
    for name in names:
        while name not in known and "." in name:
            name = name.rsplit(".", 1)[0]
        # Importing a.b.c first runs the packages a and a.b: their imports happen too.
        parts = name.split(".")
        out |= {".".join(parts[:k]) for k in range(1, len(parts) + 1)}
    return {name for name in out if name in known and name != module and not module.startswith(name + ".")}


def import_graph() -> dict[str, set[str]]:
    """Return module -> the project modules it imports, over PACKAGES."""
    sources = dict(_sources(PACKAGES))
    known = set(sources)
    graph: dict[str, set[str]] = {}
    for module, path in sources.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[module] = set()
        for node in _runtime_imports(tree):
            graph[module] |= _targets(module, path, node, known)
    return graph


def circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Return the strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(group)
    return found


def long_functions(packages: tuple[str, ...]) -> set[tuple[str, str, int]]:
    """Return (file, function, lines) for every function longer than MAX_FUNCTION_LINES."""
    out = set()
    for _, path in _sources(packages):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    out.add((str(path.relative_to(REPO)), node.name, lines))
    return out


def test_no_function_is_longer_than_the_limit():
    too_long = {f for f in long_functions(SHORT_PACKAGES) if (f[0], f[1]) not in LONG_FUNCTIONS}
    assert not too_long, f"functions over {MAX_FUNCTION_LINES} lines: {sorted(too_long)}"


def test_no_import_circle():
    found = [group for group in circles(import_graph()) if group not in KNOWN_CIRCLES]
    assert not found, f"import circles: {[sorted(g) for g in found]}"


def test_no_import_from_a_higher_layer():
    upward = sorted(
        (module, target)
        for module, targets in import_graph().items()
        for target in targets
        if layer_of(target) > layer_of(module) and (module, target) not in KNOWN_UPWARD
    )
    assert not upward, f"imports from a higher layer: {upward}"


def test_the_product_never_imports_the_benchmarks():
    found = []
    for module, path in _sources(PACKAGES):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _runtime_imports(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{module} imports {name}" for name in names if name.split(".")[0] == "benchmarks"]
    assert not found, found


def test_the_checks_catch_what_they_forbid():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert circles({"a": {"b"}, "b": set()}) == []
    assert layer_of("recommender.engine.titles") < layer_of("recommender.services.dialogues") < layer_of("chat.api")
    assert layer_of("common.safejson") < layer_of("recommender.engine") and layer_of("chatrec_site.urls") == 4
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import chat\ndef f():\n    import chat.x\n"
    )
    assert [ast.unparse(n) for n in _runtime_imports(tree)] == ["from typing import TYPE_CHECKING", "import chat.x"]
