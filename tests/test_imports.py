"""The package's shape: no import circles (imports inside functions included), and each folder keeps to
its layer: core/ the standard library only, render/ no torch, measure/ no CLI, nothing below cli/
imports it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "convcalc"


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(root: Path) -> dict[str, tuple[set[str], set[str]]]:
    """module -> (the package's modules it imports, anywhere in the file; the outside packages it imports)."""
    files = {module_name(path, root): path for path in sorted(root.rglob("*.py"))}
    out = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        inside, outside = set(), set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            for target in targets:
                if target.split(".")[0] != root.name:
                    outside.add(target.split(".")[0])
                    continue
                while target and target not in files:
                    target = target.rpartition(".")[0]
                # a package's __init__ is its face: a sibling imported through it is no edge to it
                if target and target != name and not name.startswith(target + "."):
                    inside.add(target)
        out[name] = (inside, outside)
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    graph = {name: inside for name, (inside, _) in imports(PACKAGE).items()}
    assert cycles(graph) == []


def test_an_import_inside_a_function_closes_a_cycle(tmp_path):
    """The check above sees imports made inside functions: a lazy import hides no circle from it."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("def f():\n    from .a import g\n")
    graph = {name: inside for name, (inside, _) in imports(package).items()}
    assert cycles(graph) == [["pkg.a", "pkg.b"]]


def test_the_folders_keep_their_layers():
    """core/ imports only the standard library and core/; render/ never torch nor measure/; nothing but
    cli/ imports cli/ or typer; nothing but measure/ imports torch."""
    stdlib = sys.stdlib_module_names | {"tomli"}  # tomli: tomllib's own package, for Python 3.10 only
    for name, (inside, outside) in imports(PACKAGE).items():
        layer = name.split(".")[1] if "." in name else ""
        if layer == "core":
            assert outside <= stdlib, f"{name} imports {outside - stdlib}"
            assert all(m.startswith("convcalc.core") for m in inside), f"{name} imports {inside}"
        if layer != "measure":
            assert not outside & {"torch", "torchinfo"}, f"{name} imports torch"
        if layer == "render":
            assert not {m for m in inside if m.startswith(("convcalc.measure", "convcalc.cli"))}, name
        if layer not in ("cli", "__main__"):  # python -m convcalc runs the CLI
            assert "typer" not in outside, name
            assert not {m for m in inside if m.startswith("convcalc.cli")}, f"{name} imports the CLI"
