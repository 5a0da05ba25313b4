"""What ``decommission plan|apply|restore`` show: Rich tables for people (cells wrap, never crop) and JSON in the
README's vocabulary (``items`` with ``action``/``outcome``/``detail``, ``what_if``, ``run_id``, ``resumed``,
``commands``, ``summary``, ``warnings``)."""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import Any

from rich.markup import escape
from rich.table import Table

from hybridkit.decommission._apply import TeardownOutcome, step_command
from hybridkit.decommission._model import DecommissionPlan, RemovalStep
from hybridkit.decommission._restore import RestoreOutcome
from hybridkit.runner import StepResult, StepStatus

__all__ = ["apply_json", "plan_json", "print_plan", "print_restore", "removal_items", "restore_json", "warnings"]

# StepStatus of a removal -> the README's outcome, and the words for it
_REMOVAL_OUTCOME = {
    StepStatus.DONE: ("removed", ""),
    StepStatus.VERIFIED: ("removed", "an earlier attempt had already removed it (checked live)"),
    StepStatus.SKIPPED: ("removed", "removed by an earlier run of this teardown"),
    StepStatus.FAILED: ("failed", ""),
    StepStatus.NOT_RUN: ("not-run", "not sent: an earlier step failed"),
}


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def warnings(plan: DecommissionPlan) -> list[str]:
    """The plan's notices as sentences."""
    return [f"{n.message} ({n.reason})" for n in plan.notices]


def _manual_json(plan: DecommissionPlan) -> list[dict[str, str]]:
    return [{"text": m.text, "command": m.command, "when": "before" if m.before else "after"} for m in plan.manual]


def _step_item(step: RemovalStep) -> dict[str, Any]:
    return {"order": step.order, "side": step.target.side, "kind": step.target.kind.value, "name": step.target.name,
            "action": "remove", "command": step_command(step).render()}


def plan_json(plan: DecommissionPlan) -> dict[str, Any]:
    """The plan as plain data for --output json: the removals as ``items``, in order."""
    return {
        "items": [{**_step_item(s), "detail": s.why} for s in plan.steps],
        "objects": [{"side": o.side, "kind": o.kind.value, "name": o.name} for o in plan.objects],
        "blockers": [{"name": b.name, "detail": b.reason, "details": list(b.details)} for b in plan.blockers],
        "system_mailboxes": [{"name": m.name, "type": m.recipient_type} for m in plan.system_mailboxes],
        "manual": _manual_json(plan),
        "summary": {"remove": len(plan.steps)},
        "warnings": warnings(plan),
    }


def removal_items(plan: DecommissionPlan, outcome: TeardownOutcome | None) -> list[dict[str, Any]]:
    """One item per removal (with its outcome once applied), then removals an interrupted run had already made."""
    results: dict[str, StepResult] = {r.step.key: r for r in outcome.results} if outcome else {}
    items = []
    for step in plan.steps:
        item = _step_item(step)
        if outcome is not None:
            result = results.get(step.key)
            state, detail = _REMOVAL_OUTCOME[result.status if result else StepStatus.NOT_RUN]
            item.update(outcome=state, detail=(result.error if result and result.error else detail) or step.why)
        else:
            item["detail"] = step.why
        items.append(item)
    for target in outcome.verified if outcome else []:
        side, kind, name = (target.split(":", 2) + ["", ""])[:3]
        items.append({"side": side, "kind": kind, "name": name, "action": "remove", "outcome": "removed",
                      "detail": "the interrupted run's removal had gone through (checked live)"})
    return items


def apply_json(plan: DecommissionPlan, outcome: TeardownOutcome | None, **extra: Any) -> dict[str, Any]:
    """``decommission apply`` as JSON; ``outcome`` None means --what-if (commands, actions, nothing sent)."""
    items = removal_items(plan, outcome)
    data: dict[str, Any] = {
        "what_if": outcome is None,
        "run_id": outcome.run_id if outcome else None,
        "resumed": outcome.resumed if outcome else False,
        **extra,
        "items": items,
    }
    if outcome is None:
        data["commands"] = [i["command"] for i in items]
        data["summary"] = {"remove": len(items)}
    else:
        data["backup_entries"] = outcome.backup_entries
        data["summary"] = dict(collections.Counter(i["outcome"] for i in items))
    data["manual"] = _manual_json(plan)
    data["warnings"] = warnings(plan)
    return data


def restore_json(outcome: RestoreOutcome) -> dict[str, Any]:
    """``decommission restore`` as JSON."""
    items = []
    for r in outcome.results:
        item: dict[str, Any] = {"side": r.target.side, "kind": r.target.kind.value, "name": r.target.name,
                                "action": r.action}
        if not outcome.what_if:
            item["outcome"] = r.outcome
        item.update(detail=r.detail, commands=list(r.commands))
        items.append(item)
    counted: Iterable[str] = (i["action"] if outcome.what_if else i["outcome"] for i in items)
    data: dict[str, Any] = {"what_if": outcome.what_if, "run_id": outcome.run_id, "resumed": outcome.resumed,
                            "items": items}
    if outcome.what_if:
        data["commands"] = [c for r in outcome.results if r.action == "create" for c in r.commands]
    data["summary"] = dict(collections.Counter(counted))
    data["warnings"] = []
    return data


def print_plan(console: Any, plan: DecommissionPlan, accepted: set[str] | None = None) -> None:
    """Objects found, blockers, warnings and the ordered steps, for people."""
    accepted = accepted or set()
    table = _table("What the hybrid left", "Side", "Kind", "Name")
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
        print_items(console, before)
    table = _table("Steps, in order", "#", "Side", "PowerShell", "Why")
    for step in plan.steps:
        table.add_row(str(step.order), step.target.side, escape(step_command(step).render()), escape(step.why))
    console.print(table)


def print_items(console: Any, items: list[Any]) -> None:
    """Checklist items, each with its PowerShell (unwrapped, so it pastes) under it."""
    for number, item in enumerate(items, start=1):
        console.print(f"  [ ] {number}. {escape(item.text)}", highlight=False)
        if item.command:
            console.print(f"        {escape(item.command)}", highlight=False, soft_wrap=True)


def print_checklist(console: Any, plan: DecommissionPlan) -> None:
    console.print("[bold]Then, by hand:[/]")
    print_items(console, [m for m in plan.manual if not m.before])


def print_restore(console: Any, outcome: RestoreOutcome) -> None:
    """The restore as a table, Exchange's messages under it in full (the what-if commands are printed apart)."""
    title = "Restore (what if: nothing sent)" if outcome.what_if else "Restore"
    table = _table(title, "Outcome" if not outcome.what_if else "Action", "Side", "Kind", "Name")
    for r in outcome.results:
        table.add_row(r.action if outcome.what_if else str(r.outcome), r.target.side, r.target.kind.value,
                      escape(r.target.name))
    console.print(table)
    for r in outcome.results:
        if r.detail and (r.outcome in ("failed", "not-run", "skipped") or "interrupted" in r.detail):
            console.print(f"{r.outcome} {r.target.side} {escape(r.target.name)}: {escape(r.detail)}", highlight=False)
