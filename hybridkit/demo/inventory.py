"""The demo's inventory step: crawl the demo org's on-prem side, then plan migration batches from the crawl.

Equivalent to ``hybridkit inventory export --out inv`` followed by ``hybridkit batches plan inv/*.csv``.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from hybridkit.batches import PlanOptions, load_inputs, plan_batches, write_plan
from hybridkit.demo._context import DemoContext
from hybridkit.inventory import INCLUDES, export_inventory
from hybridkit.journal import Journal
from hybridkit.sides import Side

__all__ = ["TITLE", "step"]

TITLE = "Inventory crawl, then batch planning from it"


def step(ctx: DemoContext) -> dict[str, Any]:
    """Crawl mailboxes, sizes and permissions in a few pipelines, then plan batches from the files written."""
    console = ctx.console
    out = ctx.workdir / "inventory"
    ctx.show_command("$ hybridkit inventory export --out inventory")
    with Journal(ctx.journal_path) as journal:
        manifest = export_inventory({Side.ONPREM: ctx.session}, out, includes=frozenset(INCLUDES), journal=journal,
                                    sources={"onprem": ctx.ready["onprem_url"]}, chunk_size=200)
    mailboxes = sum(manifest.mailboxes.values())
    console.print(f"Inventory: {mailboxes} mailboxes, {manifest.requests} WSMan requests "
                  f"({manifest.requests / max(mailboxes, 1):.2f} per mailbox), {len(manifest.failures)} failure(s).",
                  highlight=False)
    table = Table()
    table.add_column("File", overflow="fold")
    table.add_column("Rows", justify="right")
    for name, count in manifest.counts.items():
        table.add_row(f"{name}.csv", str(count))
    console.print(table)
    ctx.show_command("$ hybridkit batches plan inventory/*.csv --max-mailboxes 60 --out plan")
    plan = plan_batches(load_inputs(sorted(out.glob("*.csv"))), PlanOptions(max_mailboxes=60))
    write_plan(plan, ctx.workdir / "plan")
    console.print(f"{len(plan.batches)} batches; {len(plan.cross_batch_links)} permission(s) cross batches.",
                  highlight=False)
    batches = Table()
    batches.add_column("Batch", overflow="fold")
    batches.add_column("Mailboxes", justify="right")
    batches.add_column("Size (GB)", justify="right")
    for batch in plan.batches:
        batches.add_row(escape(batch.name), str(len(batch.mailboxes)), f"{batch.size_bytes / 1024**3:,.1f}")
    console.print(batches)
    return {"mailboxes": mailboxes, "requests": manifest.requests, "counts": manifest.counts,
            "failures": len(manifest.failures), "batches": len(plan.batches),
            "cross_batch_links": len(plan.cross_batch_links)}
