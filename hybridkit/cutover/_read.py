"""Reading cutover inputs from disk: plan.json and mailbox lists (CSV or XLSX)."""

from __future__ import annotations

import json
from pathlib import Path

from hybridkit.cutover._model import PlannedBatch
from hybridkit.cutover._plan import parse_plan
from hybridkit.errors import InputError
from hybridkit.tables import read_addresses

__all__ = ["read_mailbox_list", "read_plan"]


def read_plan(path: Path) -> tuple[PlannedBatch, ...]:
    """The batches of ``PLAN_DIR/plan.json`` (or of the plan file itself)."""
    file = path / "plan.json" if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputError("no plan.json here; make one with `hybridkit batches plan ... --out DIR`", file=str(file)) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot read the plan: {exc}", file=str(file)) from exc
    return parse_plan(data, str(file))


def read_mailbox_list(path: Path) -> list[str]:
    """Mailbox addresses (lower case) from a CSV file or the first sheet of a workbook; a value that is not an
    address is refused with its row (``hybridkit.tables.read_addresses``)."""
    return read_addresses(path)
