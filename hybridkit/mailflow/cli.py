"""``hybridkit mailflow plan|apply|scaffold``: mail-flow connectors as declared state (thin shell over the service)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from hybridkit._progress import RichReporter
from hybridkit.cli_support import app_context, confirm_changes, emit_json, profile_for
from hybridkit.errors import InputError
from hybridkit.mailflow._render import (
    apply_json,
    plan_json,
    plan_summary,
    plan_table,
    print_applied,
    render_runbook,
    what_if_json,
    what_if_lines,
)
from hybridkit.mailflow._scaffold import SCENARIOS, scaffold_text
from hybridkit.mailflow._service import apply_file, plan_file
from hybridkit.outfiles import write_script_line, write_text

__all__ = ["app"]

app = typer.Typer(help="Mail-flow connectors as declared state: plan, apply, scaffold.", no_args_is_help=True)

OnpremOpt = Annotated[str, typer.Option("--onprem", help="Profile of the on-premises Exchange server.")]
OnlineOpt = Annotated[str, typer.Option("--online", help="Profile of Exchange Online (a jump host, or pwsh).")]
FileArg = Annotated[Path, typer.Argument(help="The mailflow.toml declaring the wanted state.")]


@app.command("plan")
def plan_cmd(
    ctx: typer.Context,
    file: FileArg,
    onprem: OnpremOpt = "onprem",
    online: OnlineOpt = "online",
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="table or json.")] = None,
) -> None:
    """Read live state on both sides and show, per object: create, update, unchanged, present but not declared."""
    app_ctx = app_context(ctx)
    fmt = output or app_ctx.output
    if fmt not in ("table", "json"):
        raise InputError("--output must be table or json")
    run = plan_file(file, profile_for(app_ctx, onprem), profile_for(app_ctx, online))
    if fmt == "json":
        emit_json(app_ctx, plan_json(run.plan))
        return
    app_ctx.console.print(plan_table(run.plan))
    app_ctx.console.print(plan_summary(run.plan))


@app.command("apply")
def apply_cmd(
    ctx: typer.Context,
    file: FileArg,
    onprem: OnpremOpt = "onprem",
    online: OnlineOpt = "online",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    what_if: Annotated[bool, typer.Option("--what-if", help="Print the exact PowerShell; change nothing.")] = False,
    emit_ps: Annotated[
        Optional[Path], typer.Option("--emit-ps", help="Write a reviewable runbook to FILE; change nothing.")
    ] = None,
) -> None:
    """Make the live state match the file, in dependency order, journaled and resumable."""
    app_ctx = app_context(ctx)
    out, err = app_ctx.console, app_ctx.err_console
    run = plan_file(file, profile_for(app_ctx, onprem), profile_for(app_ctx, online))
    plan = run.plan
    if emit_ps is not None:
        write_text(emit_ps, render_runbook(plan, source=str(file), onprem=onprem, online=online))
        err.print(f"Runbook with {len(plan.actionable)} step(s) written to {escape(str(emit_ps))}.")
    if what_if:
        if app_ctx.json:
            emit_json(app_ctx, what_if_json(plan))
            return
        for line in what_if_lines(plan):
            write_script_line(out, line)
        if not plan.has_changes:
            err.print("Nothing to do: live state matches the file.")
        return
    if emit_ps is not None:
        return
    if not app_ctx.json:
        out.print(plan_table(plan))
    if not plan.has_changes:
        if app_ctx.json:
            emit_json(app_ctx, apply_json(plan, None))
        else:
            out.print("Nothing to do: live state matches the file.")
        return
    confirm_changes(yes, f"Apply {len(plan.actionable)} change(s) listed above?",
                    refusal="apply changes Exchange: pass --yes (or run it in a terminal to confirm)")
    with RichReporter(err, notes=not app_ctx.json) as reporter:
        outcome = apply_file(run, argv=sys.argv, reporter=reporter)
    if app_ctx.json:
        emit_json(app_ctx, apply_json(plan, outcome))
    else:
        print_applied(out, err, outcome)
    if not outcome.ok:
        raise typer.Exit(1)


@app.command("scaffold")
def scaffold_cmd(
    ctx: typer.Context,
    scenario: Annotated[str, typer.Option("--scenario", help="azure-relay or hybrid.")] = "azure-relay",
    out: Annotated[Path, typer.Option("--out", help="Where to write the file.")] = Path("mailflow.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starting mailflow.toml for a scenario."""
    app_ctx = app_context(ctx)
    if scenario not in SCENARIOS:
        raise InputError(f"--scenario must be one of {', '.join(SCENARIOS)}")
    if out.exists() and not force:
        raise InputError(f"{out} exists; pass --force to overwrite it")
    write_text(out, scaffold_text(scenario))
    app_ctx.err_console.print(f"Wrote {escape(str(out))} ({scenario}). Edit it, then: hybridkit mailflow plan {out}")
