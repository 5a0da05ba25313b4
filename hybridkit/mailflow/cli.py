"""``hybridkit mailflow plan|apply|scaffold``: mail-flow connectors as declared state (thin shell over the service)."""

from __future__ import annotations

import collections
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from hybridkit.cli_support import app_context, emit_json, profile_for
from hybridkit.errors import InputError, PlanError
from hybridkit.mailflow._apply import ApplyOutcome, change_command, render_runbook
from hybridkit.mailflow._model import Action, Change, Plan
from hybridkit.mailflow._scaffold import SCENARIOS, scaffold_text
from hybridkit.mailflow._service import MailflowRun, apply_file, plan_file
from hybridkit.outfiles import write_script_line, write_text
from hybridkit.runner import StepResult, StepStatus

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
    """The plan as a Rich table: one row per object, details as ``Property: live -> wanted``.

    Three columns so it reads at 80 columns: the action, the object (side, kind, then its name) and the details;
    every cell wraps (``fold``), none is cropped.
    """
    table = Table(title="Mail-flow plan", show_lines=True, title_justify="left")
    table.add_column("Action", overflow="fold", max_width=12)
    table.add_column("Object", overflow="fold", ratio=2)
    table.add_column("Details", overflow="fold", ratio=3)
    for change in plan.changes:
        details = "\n".join(f"{p.name}: {_fmt(p.live)} -> {_fmt(p.wanted)}" for p in change.properties)
        if change.action is Action.CREATE:
            details = "\n".join(f"{p.name} = {_fmt(p.wanted)}" for p in change.properties)
        style = _STYLE[change.action]
        table.add_row(f"[{style}]{change.action.value}[/]",
                      f"[dim]{change.side.value}[/] {change.kind.value}\n{escape(change.name)}", escape(details))
    return table


def _summary(plan: Plan) -> str:
    counts = plan.counts()
    return ", ".join(f"{n} {a}" for a, n in counts.items() if n) or "no objects"


# The plan's actions in the README's JSON vocabulary, and what each non-acting one means.
_JSON_ACTION = {Action.CREATE: "create", Action.UPDATE: "update", Action.UNCHANGED: "none", Action.UNDECLARED: "none"}
_NONE_DETAIL = {Action.UNCHANGED: "unchanged", Action.UNDECLARED: "present, not declared: left alone"}
_DONE = {"create": "created", "update": "updated"}


def _item(change: Change) -> dict[str, Any]:
    """One object as a JSON item: what identifies it, the action and why."""
    if change.action is Action.CREATE:
        detail = "absent live"
    elif change.action is Action.UPDATE:
        detail = "; ".join(f"{p.name}: {_fmt(p.live)} -> {_fmt(p.wanted)}" for p in change.properties)
    else:
        detail = _NONE_DETAIL[change.action]
    return {
        "side": change.side.value, "kind": change.kind.value, "name": change.name, "line": change.line,
        "action": _JSON_ACTION[change.action], "detail": detail,
        "changes": [{"property": p.name, "live": p.live, "wanted": p.wanted} for p in change.properties],
        "command": change_command(change).render() if change.actionable else None,
    }


def _summary_of(values: list[str]) -> dict[str, int]:
    return dict(collections.Counter(values))


def _plan_json(plan: Plan) -> dict[str, Any]:
    items = [_item(c) for c in plan.changes]
    return {"items": items, "summary": _summary_of([i["action"] for i in items]), "has_changes": plan.has_changes,
            "fingerprint": plan.fingerprint, "warnings": []}


def _what_if_json(plan: Plan) -> dict[str, Any]:
    items = [_item(c) for c in plan.changes]
    return {"what_if": True, "run_id": None, "resumed": False,
            "commands": [change_command(c).render() for c in plan.actionable], "items": items,
            "summary": _summary_of([i["action"] for i in items]), "warnings": []}


def _apply_json(plan: Plan, outcome: ApplyOutcome | None) -> dict[str, Any]:
    """What apply did, per object: ``outcome`` created/updated/unchanged/failed/not-run and ``detail``."""
    results = {r.step.target: r for r in outcome.results} if outcome else {}
    verified = set(outcome.verified) if outcome else set()
    items = []
    for change in plan.changes:
        item = _item(change)
        target = f"{change.side.value}:{change.kind.value}:{change.name}"
        result = results.get(target)
        if not change.actionable:
            item["outcome"] = "unchanged"
            if target in verified:
                item["detail"] = "the interrupted run's change had gone through (checked live)"
        elif result is None or result.status is StepStatus.NOT_RUN:
            item.update(outcome="not-run", detail="not sent: an earlier step failed")
        elif result.status is StepStatus.FAILED:
            item.update(outcome="failed", detail=result.error or "failed")
        else:
            item["outcome"] = _DONE[item["action"]]
            if result.status is StepStatus.VERIFIED:
                item["detail"] = "an earlier attempt had already made this change (checked live)"
        items.append(item)
    return {"what_if": False, "run_id": outcome.run_id if outcome else None,
            "resumed": outcome.resumed if outcome else False, "items": items,
            "summary": _summary_of([i["outcome"] for i in items]), "warnings": []}


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
        write_text(emit_ps, render_runbook(run.plan, source=str(file), onprem=onprem, online=online))
        err.print(f"Runbook with {len(run.plan.actionable)} step(s) written to {escape(str(emit_ps))}.")
    if what_if and app_ctx.json:
        emit_json(app_ctx, _what_if_json(run.plan))
        return
    if what_if:
        for change in run.plan.actionable:
            write_script_line(out, f"# {change.side.value}")
            write_script_line(out, change_command(change).render())
        if not run.plan.has_changes:
            err.print("Nothing to do: live state matches the file.")
        return
    if emit_ps is not None:
        return
    if not app_ctx.json:
        out.print(plan_table(run.plan))
    if not run.plan.has_changes:
        if app_ctx.json:
            emit_json(app_ctx, _apply_json(run.plan, None))
        else:
            out.print("Nothing to do: live state matches the file.")
        return
    _confirm(run, yes)

    def progress(change: Change, result: StepResult) -> None:
        if not app_ctx.json:
            err.print(f"  {result.status.value:8} {escape(change_command(change).render())}", highlight=False)

    outcome = apply_file(run, argv=sys.argv, on_step=progress)
    if app_ctx.json:
        emit_json(app_ctx, _apply_json(run.plan, outcome))
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
    write_text(out, scaffold_text(scenario))
    app_ctx.err_console.print(f"Wrote {escape(str(out))} ({scenario}). Edit it, then: hybridkit mailflow plan {out}")
