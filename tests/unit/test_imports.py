"""The package has no import cycle, counting imports made only for type checking."""

from __future__ import annotations

import ast
from pathlib import Path

HOST = Path(__file__).parent.parent.parent / "host"


def _imports() -> dict[str, set[str]]:
    modules: dict[str, set[str]] = {}
    for path in HOST.rglob("*.py"):
        parts = path.relative_to(HOST.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("host"):
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.startswith("host"))
        modules[name] = found
    return {name: {d for d in deps if d in modules and d != name} for name, deps in modules.items()}


def test_no_module_imports_itself_through_others() -> None:
    graph = _imports()
    state: dict[str, int] = {}
    path: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                cycles.append(path[path.index(dep) :] + [dep])
            elif dep not in state:
                visit(dep)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == [], [" -> ".join(c) for c in cycles]
    assert len(graph) > 40  # the walk saw the package
