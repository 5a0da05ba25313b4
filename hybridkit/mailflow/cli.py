"""``hybridkit mailflow plan|apply|scaffold``: mail-flow connectors as declared state (thin shell over the service)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from hybridkit.cli_support import app_context, emit_json, profile_for
from hybridkit.errors import InputError, PlanError
from hybridkit.mailflow._apply import change_command, render_runbook
from hybridkit.mailflow._model import Action, Change, Plan
from hybridkit.mailflow._scaffold import SCENARIOS, scaffold_text
from hybridkit.mailflow._service import MailflowRun, apply_file, plan_file
from hybridkit.runner import StepResult

__all__ = ["app"]

app = typer.Typer(help="Mail-flow connectors as declared state: plan, apply, scaffold.", no_args_is_help=True)

OnpremOpt = Annotated[str, typer.Option("--onprem", help="Profile of the on-premises Exchange server.")]
OnlineOpt = Annotated[str, typer.Option("--online", help="Profile of Exchange Online (jump host).")]
FileArg = Annotated[Path, typer.Argument(help="The mailflow.toml declaring the wanted state.")]

_STYLE = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.UNCHANGED: "dim", Action.UNDECLARED: "cyan"}


def _fmt(value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def plan_table(plan: Plan) -> Table:
    """The plan as a Rich table: one row per object, details as ``Property: live -> wanted``."""
    table = Table(title="Mail-flow plan", show_lines=True, title_justify="left")
    table.add_column("Action", max_width=12)
    table.add_column("Side", no_wrap=True)
    table.add_column("Kind", no_wrap=True)
    table.add_column("Name", overflow="fold", ratio=2)
    table.add_column("Details", overflow="fold", ratio=3)
    for change in plan.changes:
        details = "\n".join(f"{p.name}: {_fmt(p.live)} -> {_fmt(p.wanted)}" for p in change.properties)
        if change.action is Action.CREATE:
            details = "\n".join(f"{p.name} = {_fmt(p.wanted)}" for p in change.properties)
        style = _STYLE[change.action]
        table.add_row(f"[{style}]{change.action.value}[/]", change.side.value, change.kind.value,
                      escape(change.name), escape(details))
    return table


def _summary(plan: Plan) -> str:
    counts = plan.counts()
    return ", ".join(f"{n} {a}" for a, n in counts.items() if n) or "no objects"


def _plan_json(plan: Plan) -> dict[str, object]:
    return {
        "fingerprint": plan.fingerprint,
        "has_changes": plan.has_changes,
        "counts": plan.counts(),
        "changes": [
            {**c.to_json(), "command": change_command(c).render() if c.actionable else None} for c in plan.changes
        ],
    }


def _write(path: Path, text: str) -> None:
    """Write an output file; a path that cannot be written is bad input (exit 2), not a traceback."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


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
        emit_json(app_ctx, _plan_json(run.plan))
        return
    app_ctx.console.print(plan_table(run.plan))
    verdict = "changes to apply" if run.plan.has_changes else "nothing to do"
    app_ctx.console.print(f"{_summary(run.plan)} - {verdict}.")


def _confirm(run: MailflowRun, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise PlanError("apply changes Exchange: pass --yes (or run it in a terminal to confirm)")
    if not typer.confirm(f"Apply {len(run.plan.actionable)} change(s) listed above?", default=False):
        raise typer.Exit(1)


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
    onprem_profile, online_profile = profile_for(app_ctx, onprem), profile_for(app_ctx, online)
    run = plan_file(file, onprem_profile, online_profile)
    if emit_ps is not None:
        _write(emit_ps, render_runbook(run.plan, source=str(file), onprem=onprem, online=online))
        err.print(f"Runbook with {len(run.plan.actionable)} step(s) written to {escape(str(emit_ps))}.")
    if what_if and app_ctx.json:
        emit_json(app_ctx, {"what_if": True, "commands": [
            {"side": c.side.value, "command": change_command(c).render()} for c in run.plan.actionable]})
        return
    if what_if:
        for change in run.plan.actionable:
            out.print(f"# {change.side.value}", highlight=False)
            out.out(change_command(change).render(), highlight=False)
        if not run.plan.has_changes:
            err.print("Nothing to do: live state matches the file.")
        return
    if emit_ps is not None:
        return
    if not app_ctx.json:
        out.print(plan_table(run.plan))
    if not run.plan.has_changes:
        if app_ctx.json:
            emit_json(app_ctx, {"run_id": None, "resumed": False, "results": [], "plan": _plan_json(run.plan)})
        else:
            out.print("Nothing to do: live state matches the file.")
        return
    _confirm(run, yes)

    def progress(change: Change, result: StepResult) -> None:
        if not app_ctx.json:
            err.print(f"  {result.status.value:8} {escape(change_command(change).render())}", highlight=False)

    outcome = apply_file(run, argv=sys.argv, on_step=progress)
    if app_ctx.json:
        emit_json(app_ctx, {
            "run_id": outcome.run_id,
            "resumed": outcome.resumed,
            "verified": outcome.verified,
            "results": [{"target": r.step.target, "status": r.status.value, "error": r.error} for r in outcome.results],
        })
    else:
        if outcome.resumed:
            err.print(f"Resumed journal run {outcome.run_id}.")
        failed = [r for r in outcome.results if not r.ok]
        for result in failed:
            err.print(f"[red]failed[/] {escape(result.step.target)}: {escape(result.error or '')}")
        out.print(f"Run {outcome.run_id}: {outcome.sent} command(s) sent, {len(failed)} failed.")
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
    _write(out, scaffold_text(scenario))
    app_ctx.err_console.print(f"Wrote {escape(str(out))} ({scenario}). Edit it, then: hybridkit mailflow plan {out}")
