"""Layering: the planner and its model stay pure (no remote bridge, sqlite, rich or file IO)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hybridkit.batches as batches

PURE = ["_model", "_plan", "_graph", "_group", "_links", "_identity"]  # (sizes and decoding: hybridkit.tables)
FORBIDDEN = ("hybridkit.ps", "pypsrp", "psrpcore", "sqlite3", "rich", "typer", "xlsxwriter", "python_calamine",
             "openpyxl", "pandas", "os", "shutil", "tempfile")  # fmt: skip


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_nothing_with_effects(module: str) -> None:
    path = Path(batches.__file__).with_name(f"{module}.py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    bad = {name for name in imported for f in FORBIDDEN if name == f or name.startswith(f + ".")}
    assert not bad, f"{module} imports {bad}"
    assert "open(" not in path.read_text(encoding="utf-8")


def test_public_api_is_exported() -> None:
    for name in ("load_inputs", "plan_batches", "validate_inputs", "write_plan", "PlanInputs", "PlanOptions",
                 "BatchPlan", "BatchInputError"):  # fmt: skip
        assert getattr(batches, name) is not None
    assert sorted(batches.__all__) == batches.__all__
