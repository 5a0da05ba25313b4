"""The house's import graph (README, "How the code is laid out"): no circles, no arrow from a lower layer to a higher
one, and capabilities side by side, each using another only through its package's public face.

Every import counts, function-level ones and ``importlib.import_module("hybridkit....")`` by name included (they
are how circles hide). The graph is built from the source with ``ast``, so nothing is imported to check it.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hybridkit"
CAPABILITIES = ("batches", "inventory", "cutover", "hold", "mailflow", "decommission")

# Bottom to top. A module may import its own layer and the layers below it. The root package holds the version.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("values", ("hybridkit", "hybridkit.errors", "hybridkit._time", "hybridkit.outcomes", "hybridkit.templates",
                "hybridkit.outfiles", "hybridkit._xlsx", "hybridkit._csvreport")),
    ("bridge", ("hybridkit.ps",)),
    ("journal", ("hybridkit.journal",)),
    ("runner", ("hybridkit.runner",)),
    ("config and tables", ("hybridkit.config", "hybridkit.tables")),
    ("sides", ("hybridkit.sides",)),
    ("capabilities", tuple(f"hybridkit.{cap}" for cap in CAPABILITIES)),
    ("CLI edge", ("hybridkit.cli", "hybridkit.__main__", "hybridkit.cli_support", "hybridkit._context",
                  "hybridkit._progress", "hybridkit._tables", "hybridkit.demo", "hybridkit.connect_cli",
                  "hybridkit.journal_cli", "hybridkit.profiles_cli")),
)  # fmt: skip
# The lab stands apart: product code reaches it only from the demo (which starts one) and the root CLI (which mounts
# `hybridkit lab`); the lab builds on the values, the bridge's value types and the CLI support its command uses.
LAB = "hybridkit.lab"
MAY_IMPORT_LAB = (("hybridkit.demo", "hybridkit.lab"), ("hybridkit.cli", "hybridkit.lab.cli"))
LAB_MAY_IMPORT = ("hybridkit.errors", "hybridkit.ps", "hybridkit.cli_support", "hybridkit._context", "hybridkit")


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@cache
def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _owner(name: str) -> str:
    """The module a dotted name lives in (``hybridkit.ps.Command`` -> ``hybridkit.ps``)."""
    known = modules()
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name


@cache
def graph() -> dict[str, frozenset[str]]:
    known = modules()
    edges: dict[str, frozenset[str]] = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {_owner(a.name) for a in node.names if _under(a.name, "hybridkit")}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                if _under(base, "hybridkit"):
                    for alias in node.names:
                        full = f"{base}.{alias.name}"
                        targets.add(full if full in known else _owner(base))
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
                targets |= {a.value for a in node.args if isinstance(a, ast.Constant) and a.value in known}
            elif isinstance(node, ast.Dict) and node.values and all(
                isinstance(v, ast.Constant) and v.value in known for v in node.values
            ):
                targets |= {v.value for v in node.values}  # a lazy-name table: {"name": "hybridkit.x._y"}
            elif isinstance(node, ast.Tuple):
                targets |= {e.value for e in node.elts if isinstance(e, ast.Constant) and e.value in known}
        targets.discard(name)
        targets.discard("")
        edges[name] = frozenset(targets)
    return edges


def _rank(name: str) -> int | None:
    if _under(name, LAB):
        return None
    best = None
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if _under(name, prefix) and (prefix != "hybridkit" or name == "hybridkit"):
                best = rank
    if best is not None and _capability(name) and _is_cli(name):
        return len(LAYERS) - 1  # a capability's cli module is part of the CLI edge
    return best


def _capability(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in CAPABILITIES else None


def _is_cli(name: str) -> bool:
    leaf = name.rpartition(".")[2]
    return leaf == "cli" or leaf.startswith("cli_")


def _cycles(edges: dict[str, frozenset[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
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
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_module_has_a_place() -> None:
    homeless = sorted(m for m in modules() if _rank(m) is None and not _under(m, LAB))
    assert not homeless, f"give these a layer in LAYERS: {homeless}"


def test_the_import_graph_has_no_circles() -> None:
    circles = _cycles(dict(graph()))
    assert not circles, "import circles: " + "; ".join(" <-> ".join(c) for c in circles)


def test_no_import_runs_from_a_lower_layer_to_a_higher_one() -> None:
    names = [name for name, _ in LAYERS]
    upward = []
    for module, targets in graph().items():
        here = _rank(module)
        for target in targets:
            there = _rank(target)
            if here is not None and there is not None and there > here:
                upward.append(f"{module} ({names[here]}) -> {target} ({names[there]})")
    assert not upward, "imports up the layers:\n" + "\n".join(sorted(upward))


def test_capabilities_use_each_other_only_through_their_public_face() -> None:
    private = []
    for module, targets in graph().items():
        mine = _capability(module)
        for target in targets:
            theirs = _capability(target)
            if mine and theirs and theirs != mine and target != f"hybridkit.{theirs}":
                private.append(f"{module} -> {target}")
    assert not private, "use the package's public names instead:\n" + "\n".join(sorted(private))


def test_the_lab_stands_apart() -> None:
    crossing = []
    for module, targets in graph().items():
        for target in targets:
            if _under(target, LAB) and not _under(module, LAB) and not any(
                _under(module, who) and _under(target, what) for who, what in MAY_IMPORT_LAB
            ):
                crossing.append(f"{module} -> {target}")
            if _under(module, LAB) and not _under(target, LAB) and not any(
                _under(target, allowed) and (allowed != "hybridkit" or target == "hybridkit")
                for allowed in LAB_MAY_IMPORT
            ):
                crossing.append(f"{module} -> {target}")
    assert not crossing, "\n".join(sorted(crossing))


@pytest.mark.parametrize("cap", CAPABILITIES)
def test_cli_modules_stay_thin(cap: str) -> None:
    """A capability's CLI parses options, calls one service function and renders: about 200 lines at most."""
    lines = len((PACKAGE / cap / "cli.py").read_text(encoding="utf-8").splitlines())
    assert lines <= 210, f"hybridkit/{cap}/cli.py has {lines} lines"


def test_the_checker_sees_function_level_and_by_name_imports() -> None:
    """The graph must see the imports that hide circles, or the tests above prove nothing."""
    edges = graph()
    assert "hybridkit.batches._planfile" in edges["hybridkit.batches"]  # by name, in the lazy table
    assert any(t.startswith("hybridkit.") and t.endswith(".cli") for t in edges["hybridkit.cli"])  # importlib
