"""The demo's mail-flow step: the Azure relay scenario declared in a file, planned, applied, planned again.

It writes the ``azure-relay`` scaffold (on-prem accepted domain as InternalRelay, an Exchange Online inbound
connector trusting the server's public IP, an on-prem send connector smart-hosting to Exchange Online Protection
over TLS), plans against the lab's two endpoints, applies (journaled), and plans again to show nothing left to do.
"""

from __future__ import annotations

from typing import Any

from hybridkit.demo._context import DemoContext
from hybridkit.mailflow import apply_file, plan_file, plan_table, scaffold_text
from hybridkit.sides import Side

__all__ = ["TITLE", "step"]

TITLE = "Mail flow: the Azure relay scenario as declared state"


def step(ctx: DemoContext) -> dict[str, Any]:
    """Plan, apply and re-plan ``mailflow.toml`` (azure-relay) against the demo lab."""
    path = ctx.workdir / "mailflow.toml"
    path.write_text(scaffold_text("azure-relay"), encoding="utf-8")
    onprem, online = ctx.side_profile(Side.ONPREM), ctx.side_profile(Side.ONLINE)
    sessions = {side: ctx.open_session(side) for side in Side}
    try:
        ctx.console.print(f"Declared state: {path.name} (scenario azure-relay).")
        first = plan_file(path, onprem, online, sessions=sessions)
        ctx.console.print(plan_table(first.plan))
        outcome = apply_file(first, sessions=sessions, journal_path=ctx.journal_path, argv=["demo", "mailflow"])
        for result in outcome.results:
            ctx.console.print(f"  {result.status.value:8} {result.step.rendered()}", highlight=False, markup=False)
        if not outcome.ok:
            raise RuntimeError(f"mail-flow apply failed: {[r.error for r in outcome.results if not r.ok]}")
        second = plan_file(path, onprem, online, sessions=sessions)
        ctx.console.print(
            f"Plan again: {'nothing to do' if not second.plan.has_changes else 'changes remain'} "
            f"({second.plan.counts()['unchanged']} unchanged, "
            f"{second.plan.counts()['present, not declared']} present but not declared - the HCW's connectors).",
            highlight=False,
        )
        if second.plan.has_changes:
            raise RuntimeError("the second mail-flow plan still has changes")
        return {
            "file": str(path),
            "first_plan": first.plan.counts(),
            "run_id": outcome.run_id,
            "sent": [r.step.rendered() for r in outcome.results],
            "second_plan": second.plan.counts(),
        }
    finally:
        for session in sessions.values():
            session.close()
