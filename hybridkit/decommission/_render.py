"""What ``decommission plan|apply|restore`` show: Rich tables for people (cells wrap, never crop) and JSON in the
README's vocabulary (``items`` with ``action``/``outcome``/``detail``, ``what_if``, ``run_id``, ``resumed``,
``commands``, ``summary``, ``warnings``), the removals as a script (``--what-if``) and as a runbook."""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hybridkit.decommission._apply import RestoreOutcome, TeardownOutcome, step_command
from hybridkit.decommission._model import DecommissionPlan, RemovalStep, RestoreAction
from hybridkit.outcomes import Outcome
from hybridkit.outfiles import write_script_line
from hybridkit.ps import comment_text
from hybridkit.templates import load_template

__all__ = ["apply_json", "plan_json", "print_applied", "print_checklist", "print_plan", "print_removals",
           "print_restore", "print_what_if", "removal_items", "render_runbook", "restore_json", "warnings"]


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
    if outcome is None:
        items = [{**_step_item(step), "detail": step.why} for step in plan.steps]
    else:
        items = [{**_step_item(done.step), "outcome": done.outcome.value, "detail": done.detail}
                 for done in outcome.items]
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
                                "action": r.action.value}
        if not outcome.what_if:
            item["outcome"] = r.outcome.value if r.outcome is not None else None
        item.update(detail=r.detail, commands=list(r.commands))
        items.append(item)
    counted: Iterable[str] = (i["action"] if outcome.what_if else i["outcome"] for i in items)
    data: dict[str, Any] = {"what_if": outcome.what_if, "run_id": outcome.run_id, "resumed": outcome.resumed,
                            "items": items}
    if outcome.what_if:
        data["commands"] = [c for r in outcome.results if r.action is RestoreAction.CREATE for c in r.commands]
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
        table.add_row(r.action.value if outcome.what_if else str(r.outcome), r.target.side, r.target.kind.value,
                      escape(r.target.name))
    console.print(table)
    for r in outcome.results:
        if r.detail and (r.outcome in (Outcome.FAILED, Outcome.NOT_RUN, Outcome.SKIPPED) or "interrupted" in r.detail):
            console.print(f"{r.outcome} {r.target.side} {escape(r.target.name)}: {escape(r.detail)}", highlight=False)


def print_what_if(console: Console, err: Console, plan: DecommissionPlan, backup: Path) -> None:
    """The removals as PowerShell on ``console`` (a script that can be saved and reviewed); the rest on ``err``."""
    if not plan.steps:
        err.print("Nothing to remove: no hybrid objects left.")
        return
    err.print(f"What if: {len(plan.steps)} removal(s), after a verified backup to {escape(str(backup))}; "
              "nothing is changed, no backup or journal written.")
    for step in plan.steps:
        where = "on-premises" if step.target.side == "onprem" else "Exchange Online"
        write_script_line(console, f"# {step.order}. ({where}) {comment_text(step.why)}")
        write_script_line(console, step_command(step).render())


def print_removals(err: Console, plan: DecommissionPlan, backup: Path) -> None:
    """What the confirmation asks about: every object about to go."""
    err.print(f"These will be removed (after a verified backup to {escape(str(backup))}):")
    for step in plan.steps:
        err.print(f"  - {step.target.side} {step.target.kind.value} {escape(step.target.name)}")


def print_applied(out: Console, err: Console, plan: DecommissionPlan, outcome: TeardownOutcome, backup: Path,
                  runbook: Path) -> None:
    """The teardown's closing lines: removals an interrupted run had made, failures in full, counts, the
    runbook, then the checklist left to a person."""
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
    print_checklist(out, plan)


def render_runbook(plan: DecommissionPlan, *, onprem: str, online: str, now: dt.datetime | None = None) -> str:
    """The teardown and the manual checklist as a PowerShell runbook (``ps_templates/decommission-runbook.ps1``).

    The removals are rendered with every value single-quoted; everything else (Exchange's names and messages, the
    checklist's commands, profile names) is written into comments through ``comment_text``, one inert line each.
    """
    removals = []
    for step in plan.steps:
        where = "on-premises Exchange Management Shell" if step.target.side == "onprem" else "Exchange Online"
        removals.append(f"# {step.order}. ({where}) {comment_text(step.why)}")
        removals.append(step_command(step).render())
        removals.append("")
    if not plan.steps:
        removals.append("# Nothing left to remove: no hybrid objects were found.")
    manual: list[str] = []
    before: list[str] = []
    for items, lines in (([m for m in plan.manual if m.before], before),
                         ([m for m in plan.manual if not m.before], manual)):
        for number, item in enumerate(items, start=1):
            lines.append(f"# [ ] {number}. {comment_text(item.text)}")
            if item.command:
                lines.append(f"# {comment_text(item.command)}")
    blockers = [f"    {comment_text(b.name)}: {comment_text(b.reason)}" for b in plan.blockers] or ["    none"]
    notices = [f"    {comment_text(n.code)}: {comment_text(n.message)} - {comment_text(n.reason)}"
               for n in plan.notices] or ["    none"]
    generated = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return load_template("decommission-runbook.ps1").substitute(
        generated=generated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        onprem_profile=comment_text(onprem),
        online_profile=comment_text(online),
        blockers="\n".join(blockers),
        warnings="\n".join(notices),
        before="\n".join(before) or "# nothing",
        removals="\n".join(removals).rstrip() + "\n",
        manual="\n".join(manual),
    )
