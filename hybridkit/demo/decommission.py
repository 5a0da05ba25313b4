"""The demo's last step: tear the hybrid down (plan, apply with a verified backup, the lab showing it gone).

The demo org still has most mailboxes on-prem (the cutover step migrates only a few), so the teardown runs with
explicit ``--accept-blocker`` waivers for exactly the blockers the plan reports, and says so. It also passes
``--include-hybrid-configuration`` so the lab ends with no hybrid object at all; in production,
Remove-HybridConfiguration is for when Microsoft support directs it.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from hybridkit.decommission import make_plan, print_plan, render_runbook, run_apply, step_command
from hybridkit.demo._context import DemoContext
from hybridkit.sides import Side

__all__ = ["TITLE", "step"]

TITLE = "Decommission: tear the hybrid down (backup, ordered removal, checklist)"


def step(ctx: DemoContext) -> dict[str, Any]:
    """Plan and apply the teardown against the demo lab, then discover again."""
    sessions = {side: ctx.open_session(side) for side in Side}
    backup = ctx.workdir / "decommission-backup"
    try:
        plan = make_plan(sessions, include_hybrid_configuration=True)
        waivers = [b.name for b in plan.blockers]
        print_plan(ctx.console, plan, set(waivers))
        if waivers:
            ctx.console.print(
                f"[yellow]The demo waives {', '.join(waivers)} explicitly (--accept-blocker "
                f"{' --accept-blocker '.join(waivers)}): most demo mailboxes were never migrated. In production, "
                "migrate them first.[/]")
        outcome = run_apply(plan, sessions, backup, profiles=["lab-onprem", "lab-online"], accepted=waivers,
                            journal_path=ctx.journal_path, argv=["demo", "decommission"])
        for step, result in zip(plan.steps, outcome.results):
            ctx.console.print(f"  {result.status.value:8} {escape(step_command(step).render())}", highlight=False,
                              soft_wrap=True)  # a command people copy: one line
        if not outcome.ok:
            raise RuntimeError(f"teardown failed: {[r.error for r in outcome.results if not r.ok]}")
        after = make_plan(sessions, include_hybrid_configuration=True, accepted=waivers)
        left = [f"{o.side} {o.kind.value} {o.name}" for o in after.objects]
        ctx.console.print(
            f"Backup of {outcome.backup_entries} object(s), verified, in {escape(str(backup))}. Discovering again: "
            + (f"left only {escape(', '.join(left))} (a default connector; see the checklist)." if left
               else "no hybrid object left on either side."), highlight=False)
        runbook = ctx.workdir / "decommission-runbook.ps1"
        try:
            runbook.write_text(render_runbook(plan, onprem="lab-onprem", online="lab-online"), encoding="utf-8")
            ctx.console.print(f"Checklist and runbook for the manual steps: {escape(str(runbook))}")
        except OSError as exc:
            ctx.console.print(f"[dim](runbook not written: {escape(str(exc))})[/]")
        return {
            "waived": waivers,
            "removed": [r.step.target for r in outcome.results],
            "backup": str(backup),
            "left_after": left,
            "removals_remaining": len(after.steps),
        }
    finally:
        for session in sessions.values():
            session.close()
