"""``hybridkit decommission plan|apply|restore``: tear the hybrid down in order, with a verified backup."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from hybridkit.cli_support import app_context, emit_json, profile_for
from hybridkit.decommission._apply import step_command
from hybridkit.decommission._model import DecommissionPlan
from hybridkit.decommission._plan import BLOCKER_NAMES
from hybridkit.decommission._service import (
    make_plan,
    onprem_version,
    render_runbook,
    run_apply,
    run_restore,
    sessions_for,
)
from hybridkit.errors import InputError, PlanError

__all__ = ["app", "plan_json", "print_plan"]

app = typer.Typer(help="Tear the Exchange hybrid down: plan, apply (with backup), restore.", no_args_is_help=True)

OnpremOpt = Annotated[str, typer.Option("--onprem", help="Profile of the on-premises Exchange server.")]
OnlineOpt = Annotated[str, typer.Option("--online", help="Profile of Exchange Online (jump host).")]
IncludeHcOpt = Annotated[bool, typer.Option(
    "--include-hybrid-configuration",
    help="Also run Remove-HybridConfiguration (its page says: only under Microsoft support's direction).")]
RunbookOpt = Annotated[Optional[Path], typer.Option("--runbook", help="Write the runbook (removals + checklist).")]


def plan_json(plan: DecommissionPlan) -> dict[str, Any]:
    """The plan as plain data for --output json."""
    return {
        "objects": [{"side": o.side, "kind": o.kind.value, "name": o.name} for o in plan.objects],
        "blockers": [{"name": b.name, "reason": b.reason, "details": list(b.details)} for b in plan.blockers],
        "warnings": [{"code": n.code, "message": n.message, "reason": n.reason} for n in plan.notices],
        "steps": [{"order": s.order, "side": s.target.side, "kind": s.target.kind.value, "name": s.target.name,
                   "command": step_command(s).render(), "why": s.why} for s in plan.steps],
        "system_mailboxes": [{"name": m.name, "type": m.recipient_type} for m in plan.system_mailboxes],
        "manual": _manual_json(plan),
    }


def print_plan(console: Any, plan: DecommissionPlan, accepted: set[str] | None = None) -> None:
    """Objects found, blockers, warnings and the ordered steps, for people."""
    accepted = accepted or set()
    table = Table(title="What the hybrid left", title_justify="left")
    for column in ("Side", "Kind", "Name"):
        table.add_column(column, overflow="fold")
    for obj in plan.objects:
        table.add_row(obj.side, obj.kind.value, escape(obj.name))
    console.print(table)
    if plan.blockers:
        console.print("[bold]Blockers[/] (waive one with --accept-blocker NAME):")
        for b in plan.blockers:
            mark = "[yellow]waived[/]" if b.name in accepted else "[red]BLOCKS[/]"
            console.print(f"  {mark} [bold]{b.name}[/]: {escape(b.reason)}")
            for detail in b.details[:5]:
                console.print(f"      {escape(detail)}", highlight=False)
    else:
        console.print("[green]No blockers.[/]")
    if plan.system_mailboxes:
        console.print(f"System mailboxes (removed last, with the databases): "
                      f"{escape(', '.join(m.name for m in plan.system_mailboxes))}")
    for n in plan.notices:
        console.print(f"[yellow]warning[/] {escape(n.message)} [dim]({escape(n.reason)})[/]")
    before = [m for m in plan.manual if m.before]
    if before:
        console.print("[bold]First, by hand[/] (Microsoft's order: before any removal):")
        _print_items(console, before)
    table = Table(title="Steps, in order", title_justify="left")
    for column in ("#", "Side", "PowerShell", "Why"):
        table.add_column(column, overflow="fold")
    for step in plan.steps:
        table.add_row(str(step.order), step.target.side, escape(step_command(step).render()), escape(step.why))
    console.print(table)


def _manual_json(plan: DecommissionPlan) -> list[dict[str, str]]:
    return [{"text": m.text, "command": m.command, "when": "before" if m.before else "after"} for m in plan.manual]


def _print_items(console: Any, items: list[Any]) -> None:
    for number, item in enumerate(items, start=1):
        console.print(f"  [ ] {number}. {escape(item.text)}", highlight=False)
        if item.command:
            console.print(f"        {escape(item.command)}", highlight=False)


def _print_checklist(console: Any, plan: DecommissionPlan) -> None:
    console.print("[bold]Then, by hand:[/]")
    _print_items(console, [m for m in plan.manual if not m.before])


def _check_blocker_names(names: list[str]) -> None:
    unknown = [n for n in names if n not in BLOCKER_NAMES]
    if unknown:
        raise InputError(f"unknown blocker {', '.join(unknown)}; blockers are {', '.join(BLOCKER_NAMES)}")


def _write(path: Path, text: str) -> None:
    """Write an output file; a path that cannot be written is bad input (exit 2), not a traceback."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


@app.command("plan")
def plan_cmd(ctx: typer.Context, onprem: OnpremOpt = "onprem", online: OnlineOpt = "online",
             include_hybrid_configuration: IncludeHcOpt = False, runbook: RunbookOpt = None) -> None:
    """Discover what the hybrid left on both sides, the blockers, and the ordered removal steps."""
    app_ctx = app_context(ctx)
    onprem_profile, online_profile = profile_for(app_ctx, onprem), profile_for(app_ctx, online)
    with sessions_for(onprem_profile, online_profile) as sessions:
        plan = make_plan(sessions, version=onprem_version(onprem_profile, sessions["onprem"]),
                         include_hybrid_configuration=include_hybrid_configuration)
    if runbook is not None:
        _write(runbook, render_runbook(plan, onprem=onprem, online=online))
    if app_ctx.json:
        emit_json(app_ctx, plan_json(plan))
        return
    print_plan(app_ctx.console, plan)
    _print_checklist(app_ctx.console, plan)


@app.command("apply")
def apply_cmd(
    ctx: typer.Context,
    backup: Annotated[Path, typer.Option("--backup", help="Directory for the backup of every removed object.")],
    onprem: OnpremOpt = "onprem",
    online: OnlineOpt = "online",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Remove without asking.")] = False,
    accept_blocker: Annotated[Optional[list[str]], typer.Option(
        "--accept-blocker",
        help="Waive a blocker by name (recorded in the journal); repeatable. Names: mailboxes-onprem, "
             "move-requests, public-folders, mx-autodiscover.")] = None,
    include_hybrid_configuration: IncludeHcOpt = False,
    runbook: RunbookOpt = None,
) -> None:
    """Refuse while blockers stand; back up, verify the backup, then remove in order (journaled, resumable)."""
    app_ctx = app_context(ctx)
    out, err = app_ctx.console, app_ctx.err_console
    accepted = list(accept_blocker or [])
    _check_blocker_names(accepted)
    if runbook is not None:  # the runbook is written after the removals: make sure it can be, before any
        try:
            runbook.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot write {runbook}: {exc.strerror or exc}") from None
    onprem_profile, online_profile = profile_for(app_ctx, onprem), profile_for(app_ctx, online)
    with sessions_for(onprem_profile, online_profile) as sessions:
        plan = make_plan(sessions, version=onprem_version(onprem_profile, sessions["onprem"]),
                         include_hybrid_configuration=include_hybrid_configuration, accepted=accepted)
        if not app_ctx.json:
            print_plan(out, plan, set(accepted))
        standing = plan.unwaived(set(accepted))
        if standing:
            raise PlanError("refusing: blocker(s) " + ", ".join(b.name for b in standing)
                            + " stand; fix them or pass --accept-blocker NAME for each")
        if plan.steps and not yes:
            if not sys.stdin.isatty():
                raise PlanError("decommissioning removes objects: pass --yes (or run it in a terminal to confirm)")
            err.print("These will be removed (after a verified backup to "
                      f"{escape(str(backup))}):")
            for step in plan.steps:
                err.print(f"  - {step.target.side} {step.target.kind.value} {escape(step.target.name)}")
            if not typer.confirm("Remove them?", default=False):
                raise typer.Exit(1)

        def progress(step: Any, result: Any) -> None:
            if not app_ctx.json:
                err.print(f"  {result.status.value:8} {escape(step_command(step).render())}", highlight=False)

        outcome = run_apply(plan, sessions, backup, profiles=[onprem, online], accepted=accepted, argv=sys.argv,
                            on_step=progress)
    runbook = runbook or backup / "decommission-runbook.ps1"  # the checklist travels with the backup
    runbook.parent.mkdir(parents=True, exist_ok=True)
    _write(runbook, render_runbook(plan, onprem=onprem, online=online))
    if app_ctx.json:
        emit_json(app_ctx, {"run_id": outcome.run_id, "resumed": outcome.resumed, "backup": str(backup),
                            "backup_entries": outcome.backup_entries, "verified": outcome.verified,
                            "waived": accepted, "runbook": str(runbook),
                            "results": [{"target": r.step.target, "status": r.status.value, "error": r.error}
                                        for r in outcome.results],
                            "manual": _manual_json(plan)})
    else:
        if outcome.verified:  # an interrupted run's last removals had gone through before it stopped
            run = f"run {outcome.run_id}" if outcome.run_id else "the interrupted run"
            out.print(f"Resumed {run}: {len(outcome.verified)} interrupted removal(s) had already gone through: "
                      f"{escape(', '.join(outcome.verified))}.")
        if not plan.steps:
            out.print("Nothing to remove: no hybrid objects left.")
        else:
            failed = [r for r in outcome.results if not r.ok]
            for result in failed:
                err.print(f"[red]failed[/] {escape(result.step.target)}: {escape(result.error or '')}")
            out.print(f"Run {outcome.run_id}{' (resumed)' if outcome.resumed else ''}: "
                      f"{len(outcome.results) - len(failed)} removal(s) done, {len(failed)} failed; backup of "
                      f"{outcome.backup_entries} object(s) in {escape(str(backup))}.")
        out.print(f"Runbook (removals and the manual checklist): {escape(str(runbook))}")
        _print_checklist(out, plan)
    if not outcome.ok:
        raise typer.Exit(1)


@app.command("restore")
def restore_cmd(
    ctx: typer.Context,
    backup: Annotated[Path, typer.Option("--backup", help="The backup directory apply wrote.")],
    onprem: OnpremOpt = "onprem",
    online: OnlineOpt = "online",
    only: Annotated[Optional[list[str]], typer.Option(
        "--only", help="Restore only this object: NAME, or onprem:NAME / online:NAME for one side. Repeatable.")] = None,
    what_if: Annotated[bool, typer.Option("--what-if", help="Print the New-* commands; change nothing.")] = False,
) -> None:
    """Recreate removed connectors, organization relationships and intra-organization connectors."""
    app_ctx = app_context(ctx)
    onprem_profile, online_profile = profile_for(app_ctx, onprem), profile_for(app_ctx, online)
    with sessions_for(onprem_profile, online_profile) as sessions:
        results = run_restore(backup, sessions, only=list(only or []), version=onprem_version(onprem_profile, sessions["onprem"]),
                              what_if=what_if)
    if app_ctx.json:
        emit_json(app_ctx, [{"side": r.target.side, "kind": r.target.kind.value, "name": r.target.name,
                             "status": r.status, "command": r.command, "error": r.error} for r in results])
    else:
        table = Table(title="Restore", title_justify="left")
        for column in ("Status", "Side", "Kind", "Name", "Detail"):
            table.add_column(column, overflow="fold")
        for r in results:
            table.add_row(r.status, r.target.side, r.target.kind.value, escape(r.target.name),
                          escape(r.error or r.command))
        app_ctx.console.print(table)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)
