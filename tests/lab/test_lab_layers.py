"""The lab's two sides meet only at the seam: transport never imports exchange, exchange never imports transport.

Every import statement of every module under ``hybridkit/lab/transport`` and ``hybridkit/lab/exchange`` is read
with ``ast`` (function-level and ``TYPE_CHECKING`` imports included, relative ones resolved), and so are literal
``importlib.import_module(...)`` calls. A side may import its own modules and ``hybridkit.lab._types`` (the seam);
anything else of ``hybridkit.lab`` (the other side, ``server``, ``cli``, ``inprocess``, the package itself) is refused.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

LAB = Path(__file__).resolve().parents[2] / "hybridkit" / "lab"
SEAM = "hybridkit.lab._types"
SIDES = ("transport", "exchange")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(LAB.parents[1]).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module ``source`` (the text of ``module``) imports, as absolute dotted names."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            names.add(stem)
            names |= {f"{stem}.{alias.name}" for alias in node.names}  # `from pkg import module`
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__")))):
            names.add(node.args[0].value)
    return names


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """The imports of ``module`` that cross the seam (empty when it keeps to its side)."""
    side = module.split(".")[2]
    own = f"hybridkit.lab.{side}"
    bad = []
    for name in sorted(imported_modules(source, module, is_package)):
        if name != "hybridkit.lab" and not name.startswith("hybridkit.lab."):
            continue
        if name == SEAM or name.startswith(SEAM + ".") or name == own or name.startswith(own + "."):
            continue
        bad.append(name)
    return bad


def _side_modules() -> list[Path]:
    return sorted(p for side in SIDES for p in (LAB / side).rglob("*.py"))


def test_both_sides_exist_and_are_packages() -> None:
    for side in SIDES:
        assert (LAB / side / "__init__.py").is_file(), f"hybridkit/lab/{side} needs an __init__.py (package data)"
    assert len(_side_modules()) > 20


@pytest.mark.parametrize("path", _side_modules(), ids=lambda p: str(p.relative_to(LAB)))
def test_each_side_imports_only_itself_and_the_seam(path: Path) -> None:
    bad = violations(path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py")
    assert not bad, f"hybridkit/lab/{path.relative_to(LAB)} crosses the seam: imports {bad}"


@pytest.mark.parametrize(("module", "source"), [
    ("hybridkit.lab.transport._shells", "from hybridkit.lab.exchange.engine import ExchangeEngine"),
    ("hybridkit.lab.transport._shells", "from hybridkit.lab.exchange import engine"),
    ("hybridkit.lab.transport._shells", "def f():\n    from ..exchange import catalogue"),
    ("hybridkit.lab.transport._shells", "import importlib\nimportlib.import_module('hybridkit.lab.exchange.org')"),
    ("hybridkit.lab.transport._shells", "from hybridkit.lab import server"),
    ("hybridkit.lab.exchange.engine", "from hybridkit.lab.transport._faults import exo_budget_message"),
    ("hybridkit.lab.exchange.cmdlets.hold", "from ...transport import _audit"),
    ("hybridkit.lab.exchange.engine", "import typing\nif typing.TYPE_CHECKING:\n    import hybridkit.lab.transport"),
    ("hybridkit.lab.exchange.engine", "from hybridkit.lab import _faults"),
])
def test_the_check_catches_a_crossing(module: str, source: str) -> None:
    assert violations(source, module)


@pytest.mark.parametrize(("module", "source"), [
    ("hybridkit.lab.transport._shells", "from hybridkit.lab._types import LabSession\nfrom . import _wsman"),
    ("hybridkit.lab.exchange.cmdlets.hold", "from ..org import Org\nfrom hybridkit.lab._types import LabError"),
    ("hybridkit.lab.exchange.engine", "import psrpcore\nfrom hybridkit.lab.exchange.cmdlets import core"),
])
def test_the_check_lets_a_side_use_itself_and_the_seam(module: str, source: str) -> None:
    assert violations(source, module) == []


@pytest.mark.parametrize("side", SIDES)
def test_importing_one_side_loads_nothing_of_the_other(side: str) -> None:
    """At run time too (a dynamic import would escape the ast check): import every module of one side."""
    other = f"hybridkit.lab.{SIDES[1 - SIDES.index(side)]}"
    names = [_module_name(p) for p in (LAB / side).rglob("*.py")]
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n    importlib.import_module(name)\n"
            f"print(sorted(m for m in sys.modules if m == {other!r} or m.startswith({other!r} + '.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=LAB.parents[1]).stdout
    assert out.strip() == "[]", f"importing hybridkit.lab.{side} loaded {out.strip()}"


def test_every_handler_module_is_imported_by_the_registry() -> None:
    """``exchange/cmdlets/__init__.py`` lists its handler modules (no folder walk that hides import errors)."""
    folder = LAB / "exchange" / "cmdlets"
    listed = {name.rpartition(".")[2] for name in imported_modules(
        (folder / "__init__.py").read_text(encoding="utf-8"), "hybridkit.lab.exchange.cmdlets", is_package=True)}
    handlers = {p.stem for p in folder.glob("*.py") if "@cmdlet(" in p.read_text(encoding="utf-8")
                and p.stem != "_registry"}
    assert handlers and handlers <= listed, f"not imported by exchange/cmdlets/__init__.py: {sorted(handlers - listed)}"
