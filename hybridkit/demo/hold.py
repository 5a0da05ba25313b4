"""The demo's litigation-hold step: every user mailbox on both sides on hold for seven years, then a re-run.

Equivalent to ``hybridkit hold enable --recipient-type UserMailbox --duration 2555 --report hold.xlsx`` with the
lab profile reaching both endpoints. The demo org has one cloud user mailbox with only Exchange Online Plan 1,
so the report shows it as unlicensed (nothing is sent for it); the re-run shows nothing left to do.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from hybridkit.demo._context import DemoContext
from hybridkit.hold import HoldSettings, OutcomeStatus, Selection, run_enable, write_report
from hybridkit.journal import Journal
from hybridkit.sides import Side

__all__ = ["TITLE", "step"]

TITLE = "Litigation hold"


def _counts(rows: list[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        out[row.status.value] = out.get(row.status.value, 0) + 1
    return out


def step(ctx: DemoContext) -> dict[str, Any]:
    """Put every user mailbox on hold (both sides), report, then show that a re-run changes nothing."""
    online = ctx.open_session(Side.ONLINE)
    try:
        sessions = {Side.ONPREM: ctx.session, Side.ONLINE: online}
        selection = Selection(recipient_types=("UserMailbox",))
        settings = HoldSettings(duration=2555, owner="Legal (demo case 2026-117)", duration_given=True)
        console = ctx.console
        console.print("$ hybridkit hold enable --recipient-type UserMailbox --duration 2555 "
                      "--owner 'Legal (demo case 2026-117)' --report hold.xlsx", highlight=False, markup=False,
                      soft_wrap=True)  # a command to paste: never wrapped
        before = sum(s.request_count for s in sessions.values())
        with Journal(ctx.journal_path) as journal:
            first = run_enable(sessions, selection, settings, journal=journal, chunk_size=100, step_size=200)
            report = ctx.workdir / "hold.xlsx"
            write_report(report, first.outcomes)
            requests = sum(s.request_count for s in sessions.values()) - before
            again = run_enable(sessions, selection, settings, journal=journal, chunk_size=100, step_size=200)
        counts = _counts(first.outcomes)
        console.print(f"Litigation hold: {len(first.outcomes)} mailboxes, {requests} WSMan requests.",
                      highlight=False)
        table = Table()
        table.add_column("Status", overflow="fold")
        table.add_column("On-prem", justify="right", overflow="fold")
        table.add_column("Exchange Online", justify="right", overflow="fold")
        for status in sorted(counts, key=lambda s: -counts[s]):
            per = {side: sum(1 for r in first.outcomes if r.status.value == status and r.side == side)
                   for side in Side}
            table.add_row(status, str(per["onprem"]), str(per["online"]))
        console.print(table)
        for row in first.outcomes:
            if row.status in (OutcomeStatus.UNLICENSED, OutcomeStatus.FAILED, OutcomeStatus.NOT_FOUND):
                console.print(f"  [yellow]{row.status.value}[/]: {escape(row.key)} - {escape(row.message)}",
                              highlight=False)
        rerun = _counts(again.outcomes)
        console.print(f"Report: {escape(str(report))}. Re-run: {rerun.get('already on hold', 0)} already on hold, "
                      f"{rerun.get('enabled', 0) + rerun.get('changed', 0)} changed.", highlight=False)
        return {"counts": counts, "rerun": rerun, "requests": requests, "report": str(report),
                "unlicensed": [r.key for r in first.outcomes if r.status is OutcomeStatus.UNLICENSED]}
    finally:
        online.close()
