"""Reading cutover inputs from disk: plan.json and mailbox lists (CSV or XLSX)."""

from __future__ import annotations

from pathlib import Path

from hybridkit import batches
from hybridkit.cutover._model import PlannedBatch
from hybridkit.cutover._plan import planned_batches
from hybridkit.tables import read_addresses

__all__ = ["read_mailbox_list", "read_plan"]


def read_plan(path: Path) -> tuple[PlannedBatch, ...]:
    """The batches of ``PLAN_DIR/plan.json`` (or of the plan file itself), read by ``hybridkit.batches``."""
    file = path / "plan.json" if path.is_dir() else path
    return planned_batches(batches.read_plan(path), str(file))


def read_mailbox_list(path: Path) -> list[str]:
    """Mailbox addresses (lower case) from a CSV file or the first sheet of a workbook; a value that is not an
    address is refused with its row (``hybridkit.tables.read_addresses``)."""
    return read_addresses(path)
