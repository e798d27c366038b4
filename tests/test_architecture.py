"""The package's layers: each module imports only from its own layer or the layers below it,
at the top of the file, with no import cycles (Core v2).

``LAYERS`` is the one declaration of the architecture; ``docs/architecture.md`` shows it
between its ``layers`` markers, and a test keeps the two equal.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "chainnet"
DOC = ROOT / "docs" / "architecture.md"

# bottom to top; a name ending in ".*" is a whole package
LAYERS: list[tuple[str, list[str]]] = [
    (
        "foundation: errors, argument checks, the step journal, names, shapes, operators, "
        "the method registry, the private Keras internals used, the legacy-Keras check, "
        "aligned host memory",
        [
            "chainnet._aligned",
            "chainnet._arguments",
            "chainnet._errors",
            "chainnet._journal",
            "chainnet._keras_compat",
            "chainnet._legacy",
            "chainnet._naming",
            "chainnet._node",
            "chainnet._operators",
            "chainnet._shapes",
            "chainnet._specs",
        ],
    ),
    (
        "own Keras layers, pure loss functions, defaults scopes, the summary table, "
        "the diagram layout, inside model steps, weights by name",
        [
            "chainnet._defaults",
            "chainnet._diagram",
            "chainnet._losses",
            "chainnet._summary",
            "chainnet.layers.*",
            "chainnet._inner",
            "chainnet._weights",
        ],
    ),
    (
        "core: Network (naming service, merges), the chain base class, operand adoption",
        ["chainnet._network", "chainnet._chainbase", "chainnet._operands"],
    ),
    ("registration: chain_method and register", ["chainnet._registry"]),
    ("templates", ["chainnet._template"]),
    ("method mixins", ["chainnet.methods.*"]),
    ("the public chain and the sequential builder", ["chainnet._sequential", "chainnet._chain"]),
    ("public helpers on chains", ["chainnet.losses", "chainnet.testing"]),
    (
        "applications: training, plots, data sets",
        ["chainnet.training.*", "chainnet.plot", "chainnet.datasets.*"],
    ),
    ("the package: chainnet/__init__.py re-exports the public API", ["chainnet"]),
]

# Upward imports allowed under ``if TYPE_CHECKING:`` only (no runtime dependency): method
# signatures name the public ``Chain`` they return, so that mypy sees every method.
TYPE_ONLY = {"chainnet._chain"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    for index, (_, members) in enumerate(LAYERS):
        for member in members:
            if member == module or (
                member.endswith(".*") and (module == member[:-2] or module.startswith(member[:-1]))
            ):
                return index
    raise AssertionError(f"{module} is in no layer of LAYERS; add it to one")


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modules: dict[str, Path]) -> Iterator[tuple[str, int, str]]:
    """``(imported chainnet module, line, where)``; ``where`` is ``top``, ``type`` (under
    ``if TYPE_CHECKING``) or ``function`` (anywhere else: a function or class body)."""
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))

    def visit(node: ast.AST, where: str) -> Iterator[tuple[str, int, str]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield from visit(child, "function")
            elif isinstance(child, ast.If) and where == "top" and _is_type_checking(child):
                yield from visit(child, "type")
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == "chainnet":
                        yield alias.name, child.lineno, where
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package.split(".")
                    parent = parent[: len(parent) - child.level + 1]
                    base = ".".join([*parent, *([base] if base else [])])
                if base.split(".")[0] != "chainnet":
                    continue
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    yield (sub if sub in modules else base), child.lineno, where
            else:
                yield from visit(child, where)

    yield from visit(tree, "top")


def _graph() -> dict[str, list[tuple[str, int, str]]]:
    modules = _modules()
    return {name: list(_imports(path, modules)) for name, path in modules.items()}


def test_every_module_is_in_a_layer() -> None:
    for module in _modules():
        layer_of(module)


def test_no_function_level_imports_of_chainnet_modules() -> None:
    found = [
        f"{module}:{line} imports {target}"
        for module, imports in _graph().items()
        for target, line, where in imports
        if where == "function"
    ]
    assert found == [], "imports inside functions or classes:\n" + "\n".join(found)


def test_imports_go_down_the_layers() -> None:
    upward = []
    for module, imports in _graph().items():
        for target, line, where in imports:
            if target == module or target.startswith(module + "."):
                continue  # a package importing its own modules
            if layer_of(target) <= layer_of(module):
                continue
            if where == "type" and target in TYPE_ONLY:
                continue
            upward.append(
                f"{module}:{line} ({LAYERS[layer_of(module)][0].split(':')[0]}) imports "
                f"{target} ({LAYERS[layer_of(target)][0].split(':')[0]})"
            )
    assert upward == [], "imports that go up the layers:\n" + "\n".join(upward)


def test_no_import_cycles() -> None:
    graph = {
        module: {
            t
            for t, _, where in imports
            if where == "top" and t != module and not t.startswith(module + ".")
        }
        for module, imports in _graph().items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def render_layers() -> str:
    """The layer listing docs/architecture.md shows, top layer first."""
    lines = []
    for index in reversed(range(len(LAYERS))):
        title, members = LAYERS[index]
        lines.append(f"{index + 1:>2}. {title}")
        lines.append("      " + ", ".join(m.removeprefix("chainnet.") for m in members))
    return "\n".join(lines)


def test_architecture_page_shows_the_layers() -> None:
    text = DOC.read_text()
    start, end = "<!-- layers -->\n```text\n", "\n```\n<!-- /layers -->"
    assert start in text and end in text, f"{DOC} needs the layers block between markers"
    shown = text.split(start, 1)[1].split(end, 1)[0]
    assert shown == render_layers(), (
        "docs/architecture.md is out of date; its layers block should read:\n" + render_layers()
    )


def test_the_check_finds_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: an upward import and a function-level one are found."""
    bad = tmp_path / "chainnet" / "_naming.py"
    bad.parent.mkdir()
    bad.write_text(
        "from chainnet._chain import Chain\n\ndef f():\n    from chainnet._network import N\n"
    )
    modules = {"chainnet._naming": bad, "chainnet._chain": bad, "chainnet._network": bad}
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        found = list(_imports(bad, modules))
    finally:
        ROOT = saved
    assert ("chainnet._chain", 1, "top") in found
    assert ("chainnet._network", 4, "function") in found
    assert layer_of("chainnet._chain") > layer_of("chainnet._naming")
