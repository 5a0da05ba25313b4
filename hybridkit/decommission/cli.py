"""``hybridkit decommission plan|apply|restore``: tear the hybrid down in order, with a verified backup."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from hybridkit._progress import RichReporter
from hybridkit.cli_support import app_context, confirm_changes, emit_json, profile_for
from hybridkit.decommission._plan import BLOCKER_NAMES
from hybridkit.decommission._render import (
    apply_json,
    plan_json,
    print_applied,
    print_checklist,
    print_plan,
    print_removals,
    print_restore,
    print_what_if,
    render_runbook,
    restore_json,
)
from hybridkit.decommission._service import make_plan, run_apply, run_restore, sessions_for
from hybridkit.errors import InputError, PlanError
from hybridkit.outfiles import check_writable, write_script_line, write_text
from hybridkit.sides import Side, onprem_release

__all__ = ["app"]

app = typer.Typer(help="Tear the Exchange hybrid down: plan, apply (with backup), restore.", no_args_is_help=True)

OnpremOpt = Annotated[str, typer.Option("--onprem", help="Profile of the on-premises Exchange server.")]
OnlineOpt = Annotated[str, typer.Option("--online", help="Profile of Exchange Online (a jump host, or pwsh).")]
IncludeHcOpt = Annotated[bool, typer.Option(
    "--include-hybrid-configuration",
    help="Also run Remove-HybridConfiguration (its page says: only under Microsoft support's direction).")]
RunbookOpt = Annotated[Optional[Path], typer.Option("--runbook", help="Write the runbook (removals + checklist).")]


def _check_blocker_names(names: list[str]) -> None:
    unknown = [n for n in names if n not in BLOCKER_NAMES]
    if unknown:
        raise InputError(f"unknown blocker {', '.join(unknown)}; blockers are {', '.join(BLOCKER_NAMES)}")


@app.command("plan")
def plan_cmd(ctx: typer.Context, onprem: OnpremOpt = "onprem", online: OnlineOpt = "online",
             include_hybrid_configuration: IncludeHcOpt = False, runbook: RunbookOpt = None) -> None:
    """Discover what the hybrid left on both sides, the blockers, and the ordered removal steps."""
    app_ctx = app_context(ctx)
    onprem_profile, online_profile = profile_for(app_ctx, onprem), profile_for(app_ctx, online)
    with sessions_for(onprem_profile, online_profile) as sessions:
        plan = make_plan(sessions, version=onprem_release(sessions[Side.ONPREM], onprem_profile),
                         include_hybrid_configuration=include_hybrid_configuration)
    if runbook is not None:
        write_text(runbook, render_runbook(plan, onprem=onprem, online=online))
    if app_ctx.json:
        emit_json(app_ctx, plan_json(plan))
        return
    print_plan(app_ctx.console, plan)
    print_checklist(app_ctx.console, plan)


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
    what_if: Annotated[bool, typer.Option(
        "--what-if", help="Print the exact PowerShell of the removals, in order; change nothing.")] = False,
) -> None:
    """Refuse while blockers stand; back up, verify the backup, then remove in order (journaled, resumable)."""
    app_ctx = app_context(ctx)
    out, err = app_ctx.console, app_ctx.err_console
    accepted = list(accept_blocker or [])
    _check_blocker_names(accepted)
    if runbook is not None:  # written after the removals: prove it can be, before any
        check_writable(runbook)
    runbook_path = runbook or backup / "decommission-runbook.ps1"  # the checklist travels with the backup
    onprem_profile, online_profile = profile_for(app_ctx, onprem), profile_for(app_ctx, online)
    with sessions_for(onprem_profile, online_profile) as sessions:
        plan = make_plan(sessions, version=onprem_release(sessions[Side.ONPREM], onprem_profile),
                         include_hybrid_configuration=include_hybrid_configuration, accepted=accepted)
        if not app_ctx.json:
            print_plan(err if what_if else out, plan, set(accepted))
        standing = plan.unwaived(set(accepted))
        if standing:
            raise PlanError("refusing: blocker(s) " + ", ".join(b.name for b in standing)
                            + " stand; fix them or pass --accept-blocker NAME for each")
        if what_if:
            if runbook is not None:
                write_text(runbook, render_runbook(plan, onprem=onprem, online=online))
            if app_ctx.json:
                emit_json(app_ctx, apply_json(plan, None, backup=str(backup), waived=accepted))
            else:
                print_what_if(out, err, plan, backup)
            return
        if runbook is None and backup.is_dir():
            check_writable(runbook_path)  # (a new backup folder is proved writable by the backup itself)
        if plan.steps and not yes and sys.stdin.isatty():
            print_removals(err, plan, backup)
        if plan.steps:
            confirm_changes(yes, "Remove them?", refusal="decommissioning removes objects: pass --yes (or run it "
                                                          "in a terminal to confirm)")
        with RichReporter(err, notes=not app_ctx.json) as reporter:
            outcome = run_apply(plan, sessions, backup, profiles=[onprem, online], accepted=accepted, argv=sys.argv,
                                reporter=reporter)
    write_text(runbook_path, render_runbook(plan, onprem=onprem, online=online))
    if app_ctx.json:
        emit_json(app_ctx, apply_json(plan, outcome, backup=str(backup), waived=accepted, runbook=str(runbook_path)))
    else:
        print_applied(out, err, plan, outcome, backup, runbook_path)
    if not outcome.ok:
        raise typer.Exit(1)


@app.command("restore")
def restore_cmd(
    ctx: typer.Context,
    backup: Annotated[Path, typer.Option("--backup", help="The backup directory apply wrote.")],
    onprem: OnpremOpt = "onprem",
    online: OnlineOpt = "online",
    only: Annotated[Optional[list[str]], typer.Option(
        "--only",
        help="Restore only this object: NAME, or onprem:NAME / online:NAME for one side. Repeatable.")] = None,
    what_if: Annotated[bool, typer.Option("--what-if", help="Print the New-* commands; change nothing.")] = False,
) -> None:
    """Recreate what apply removed from its backup, in order, journaled and resumable."""
    app_ctx = app_context(ctx)
    onprem_profile, online_profile = profile_for(app_ctx, onprem), profile_for(app_ctx, online)
    with sessions_for(onprem_profile, online_profile) as sessions, \
            RichReporter(app_ctx.err_console, notes=not app_ctx.json) as reporter:
        outcome = run_restore(backup, sessions, profiles=[onprem, online], only=list(only or []),
                              version=onprem_release(sessions[Side.ONPREM], onprem_profile), what_if=what_if,
                              argv=sys.argv, reporter=reporter)
    if app_ctx.json:
        emit_json(app_ctx, restore_json(outcome))
    else:
        print_restore(app_ctx.err_console if what_if else app_ctx.console, outcome)
        if what_if:
            for command in (c for r in outcome.results for c in r.commands):
                write_script_line(app_ctx.console, command)
        elif outcome.run_id:
            app_ctx.console.print(f"Run {outcome.run_id}{' (resumed)' if outcome.resumed else ''}.")
    if not outcome.ok:
        raise typer.Exit(1)
