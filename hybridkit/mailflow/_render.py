"""What ``mailflow plan|apply`` show: the plan as a Rich table (cells wrap, never crop), JSON in the README's
vocabulary (``items`` with ``action``/``outcome``/``detail``, ``what_if``, ``run_id``, ``resumed``, ``commands``,
``summary``, ``warnings``), the apply's closing lines, and the plan as a reviewable PowerShell runbook."""

from __future__ import annotations

import collections
import datetime as dt
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hybridkit.mailflow._apply import ApplyOutcome, change_command
from hybridkit.mailflow._model import Action, Change, Plan, Side
from hybridkit.ps import comment_text
from hybridkit.templates import load_template

__all__ = ["apply_json", "plan_json", "plan_summary", "plan_table", "print_applied", "render_runbook",
           "what_if_json", "what_if_lines"]

_STYLE = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.UNCHANGED: "dim", Action.UNDECLARED: "cyan"}
# The plan's actions in the README's JSON vocabulary, and what each non-acting one means.
_JSON_ACTION = {Action.CREATE: "create", Action.UPDATE: "update", Action.UNCHANGED: "none", Action.UNDECLARED: "none"}
_NONE_DETAIL = {Action.UNCHANGED: "unchanged", Action.UNDECLARED: "present, not declared: left alone"}


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


def plan_summary(plan: Plan) -> str:
    """``3 create, 1 unchanged - changes to apply.``"""
    counts = ", ".join(f"{n} {a}" for a, n in plan.counts().items() if n) or "no objects"
    return f"{counts} - {'changes to apply' if plan.has_changes else 'nothing to do'}."


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


def _counted(values: list[str]) -> dict[str, int]:
    return dict(collections.Counter(values))


def plan_json(plan: Plan) -> dict[str, Any]:
    """``mailflow plan -o json``: every object with its action."""
    items = [_item(c) for c in plan.changes]
    return {"items": items, "summary": _counted([i["action"] for i in items]), "has_changes": plan.has_changes,
            "fingerprint": plan.fingerprint, "warnings": []}


def what_if_json(plan: Plan) -> dict[str, Any]:
    """``mailflow apply --what-if -o json``: the actions and the exact commands, nothing sent."""
    items = [_item(c) for c in plan.changes]
    return {"what_if": True, "run_id": None, "resumed": False,
            "commands": [change_command(c).render() for c in plan.actionable], "items": items,
            "summary": _counted([i["action"] for i in items]), "warnings": []}


def what_if_lines(plan: Plan) -> list[str]:
    """The commands apply would send, each under a comment naming its side (a script to review)."""
    return [line for c in plan.actionable for line in (f"# {c.side.value}", change_command(c).render())]


def apply_json(plan: Plan, outcome: ApplyOutcome | None) -> dict[str, Any]:
    """What apply did, per object (``outcome`` created/updated/unchanged/failed/not-run, ``detail``); with no
    outcome (nothing to do), every object unchanged."""
    items = []
    for i, change in enumerate(plan.changes):
        item = _item(change)
        done = outcome.items[i] if outcome is not None else None
        item["outcome"] = done.outcome.value if done is not None else "unchanged"
        if done is not None and done.detail is not None:
            item["detail"] = done.detail
        items.append(item)
    return {"what_if": False, "run_id": outcome.run_id if outcome else None,
            "resumed": outcome.resumed if outcome else False, "items": items,
            "summary": _counted([i["outcome"] for i in items]), "warnings": []}


def print_applied(out: Console, err: Console, outcome: ApplyOutcome) -> None:
    """The apply's closing lines: the run resumed, each failure in full, the count."""
    if outcome.resumed:
        err.print(f"Resumed journal run {outcome.run_id}.")
    failed = [r for r in outcome.results if not r.ok]
    for result in failed:
        err.print(f"[red]failed[/] {escape(result.step.target)}: {escape(result.error or '')}")
    out.print(f"Run {outcome.run_id}: {outcome.sent} command(s) sent, {len(failed)} failed.")


def _describe(change: Change) -> str:
    if change.action is Action.CREATE:
        return f"create {change.kind.value} '{change.name}'"
    diffs = ", ".join(f"{p.name}: {p.live!r} -> {p.wanted!r}" for p in change.properties)
    return f"update {change.kind.value} '{change.name}' ({diffs})"


def render_runbook(plan: Plan, *, source: str, onprem: str, online: str, now: dt.datetime | None = None) -> str:
    """The plan as a reviewable PowerShell runbook (``ps_templates/mailflow-runbook.ps1``).

    Commands are rendered with every value single-quoted; everything else that comes from data (names, live
    values, the file's path, profile names) goes into comments through ``comment_text``, so it stays one inert
    line whatever it holds.
    """
    lines: list[str] = []
    todo = plan.actionable
    for number, change in enumerate(todo, start=1):
        where = "on-premises Exchange Management Shell" if change.side is Side.ONPREM else "Exchange Online"
        lines.append(f"# Step {number} ({where}): {comment_text(_describe(change))}")
        lines.append(change_command(change).render())
        lines.append("")
    if not todo:
        lines.append("# Nothing to do: the live state already matches the declared state.")
    return load_template("mailflow-runbook.ps1").substitute(
        generated=(now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        source=comment_text(source),
        onprem_profile=comment_text(onprem),
        online_profile=comment_text(online),
        fingerprint=comment_text(plan.fingerprint),
        step_count=str(len(todo)),
        steps="\n".join(lines).rstrip() + "\n",
    )
