"""What ``cutover remove-completed`` shows: its JSON document (the README's vocabulary: ``items`` named by
``batch``, ``action`` remove/none, ``outcome`` removed/skipped/unchanged/failed/not-found/not-run, ``detail``,
``what_if``, ``run_id``, ``resumed``, ``commands`` under ``--what-if``, ``summary``) and its table (wrapped,
never cropped; the reasons in full under it)."""

from __future__ import annotations

import collections
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from hybridkit.cutover._cleanup_run import CleanupResult

__all__ = ["cleanup_doc", "cleanup_view"]

_STYLE = {"removed": "green", "unchanged": "dim", "skipped": "yellow", "failed": "red", "not-found": "red",
          "not-run": "red"}


def cleanup_doc(result: CleanupResult) -> dict[str, Any]:
    items = [{"batch": i.batch, "status": i.status, "action": i.action.value,
              "outcome": i.outcome.value if i.outcome is not None and not result.what_if else None,
              "total": i.total, "failed_users": list(i.failed_users),
              "detail": i.detail or i.reason} for i in result.items]
    key = "action" if result.what_if else "outcome"
    return {"what_if": result.what_if, "run_id": result.run_id, "resumed": result.resumed,
            **({"commands": list(result.commands)} if result.what_if else {}),
            "items": items, "summary": dict(sorted(collections.Counter(str(i[key]) for i in items).items())),
            "warnings": []}


def cleanup_view(result: CleanupResult) -> RenderableType:
    """Batch, status, action, outcome (under ``--what-if``: the plan); each batch's reason under the table."""
    table = Table(title="Migration batches to remove" + (" (what-if)" if result.what_if else ""),
                  title_justify="left")
    for header in ("Batch", "Status", "Action", *(() if result.what_if else ("Outcome",))):
        table.add_column(header, overflow="fold")
    for item in result.items:
        row = [escape(item.batch), escape(item.status or "-"), item.action.value]
        if not result.what_if:
            word = item.outcome.value if item.outcome is not None else "-"
            style = _STYLE.get(word)
            row.append(f"[{style}]{word}[/]" if style else word)
        table.add_row(*row)
    parts: list[RenderableType] = [table]
    if not result.items:
        parts.append(Text("no migration batch to look at"))
    parts.extend(Text.assemble((i.batch, "bold"), ": ", i.detail or i.reason) for i in result.items)
    return Group(*parts)
