"""The demo's cutover step: one planned batch created, synced, one mailbox completed early, then the batch; then
``cutover failures`` and ``cutover remediate``: what was fixed, and what stays listed (the mailbox over its quota).

It shows the classic trap on the way: a plain ``Resume-MoveRequest`` only bounces a synced move.
The lab's virtual clock is advanced between steps so hours of syncing pass in a moment.
"""

from __future__ import annotations

import csv
from typing import Any

from rich.markup import escape
from rich.table import Table

from hybridkit import cutover
from hybridkit.batches import PlanOptions, load_inputs, plan_batches, write_plan
from hybridkit.cutover import CompletionMethod, PlannedBatch, Readiness
from hybridkit.demo._context import DemoContext
from hybridkit.journal import Journal
from hybridkit.ps import Command, Pipeline, PSObject, PSSession
from hybridkit.sides import Side

__all__ = ["TITLE", "step"]

TITLE = "Cutover: a migration batch, a single-mailbox completion, then remediation"
ENDPOINT = "Hybrid Migration Endpoint - EWS (Default Web Site)"


def _advance(ctx: DemoContext, hours: float) -> None:
    org = getattr(ctx.lab.engine, "org", None)
    if org is not None:
        org.clock.advance(hours * 3600)
        ctx.console.print(f"[dim](lab clock advanced {hours:g} h)[/]")


def _plan(ctx: DemoContext) -> PlannedBatch:
    """Twelve user mailboxes, exported from the lab as a Get-Mailbox inventory and planned by `batches plan`."""
    mailboxes = sorted(
        (m for m in ctx.session.run(Pipeline.of(
            Command.of("Get-Mailbox", RecipientTypeDetails="UserMailbox", ResultSize="Unlimited"),
            Command.of("Select-Object", Property=["DisplayName", "PrimarySmtpAddress"]))).output
         if isinstance(m, PSObject) and m.get("PrimarySmtpAddress")),
        key=lambda m: str(m.get("PrimarySmtpAddress")).lower(),
    )[:12]
    inventory = ctx.workdir / "cutover-inventory.csv"
    with inventory.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["DisplayName", "PrimarySmtpAddress", "RecipientTypeDetails"])
        for m in mailboxes:
            writer.writerow([m.get("DisplayName"), str(m.get("PrimarySmtpAddress")).lower(), "UserMailbox"])
    plan_dir = ctx.workdir / "cutover-plan"
    write_plan(plan_batches(load_inputs([inventory], None), PlanOptions(max_mailboxes=12, name_prefix="Demo")),
               plan_dir, xlsx=False)
    batch = cutover.read_plan(plan_dir)[0]
    ctx.console.print(f"Planned with `hybridkit batches plan`: batch [bold]{escape(batch.name)}[/] of "
                      f"{len(batch.mailboxes)} mailboxes ({escape(str(plan_dir / 'plan.json'))})", highlight=False)
    return batch


def _moves_table(title: str, moves: dict[str, Any]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("Mailbox", "Status", "Detail", "Message"):
        table.add_column(column, overflow="fold")
    for mailbox in sorted(moves):
        m = moves[mailbox]
        style = "red" if m.status == "Failed" else "green" if m.status == "Completed" else ""
        status = f"[{style}]{m.status}[/]" if style else m.status
        table.add_row(escape(mailbox), status, escape(m.status_detail), escape(m.message))
    return table


def step(ctx: DemoContext) -> dict[str, Any]:
    """Create, sync, complete one mailbox, show the Resume trap, complete the batch (see the module docstring)."""
    batch = _plan(ctx)
    name = batch.name
    online = ctx.open_session(Side.ONLINE)
    try:
        observed = cutover.observe_batches(online)
        plan = cutover.plan_create([batch], observed)
        options = cutover.CreateOptions(ENDPOINT, "contoso.mail.onmicrosoft.com", start=True)
        with Journal(ctx.journal_path) as journal:
            made = cutover.create_batches(online, plan, options, observed, journal=journal)
        for outcome in made.batches:
            ctx.console.print(f"New-MigrationBatch [bold]{escape(outcome.batch)}[/]: {outcome.outcome} "
                              f"({escape(outcome.detail)})", highlight=False)
        _advance(ctx, 24)
        moves = cutover.read_moves(online, batches=[name], columns=cutover.READINESS_COLUMNS)
        ctx.console.print(_moves_table(f"{name} after initial sync", moves))
        ready = sorted(m for m, s in moves.items() if s.status == "Synced")
        early, trap = ready[0], ready[1]
        online.run(Command.of("Resume-MoveRequest"), [{"Identity": trap}])
        _advance(ctx, 0.25)
        bounced = cutover.read_moves(online, mailboxes=[trap], columns=cutover.FOLLOW_COLUMNS)[trap]
        ctx.console.print(f"Plain Resume-MoveRequest on {escape(trap)}: back to [bold]{bounced.status}[/] "
                          "(the batch's PreventCompletion holds it; it does not complete)", highlight=False)
        with Journal(ctx.journal_path) as journal:
            at = getattr(ctx.lab.engine, "org").clock.now()
            single = cutover.run_completion(online, journal, [early], moves, method=CompletionMethod.MOVEREQUEST,
                                           at=at)
            ctx.console.print(f"Completing {escape(early)} early: "
                              + " ; ".join(p.render([early]) for p in cutover.completion_pipelines(
                                  CompletionMethod.MOVEREQUEST, at)), highlight=False, markup=False)
            _advance(ctx, 0.5)
            moves = cutover.read_moves(online, batches=[name])
            members = sorted(moves)
            whole = cutover.run_completion(online, journal, members, moves, method=CompletionMethod.MOVEREQUEST,
                                          at=at)
        skipped = [f"{i.mailbox} ({i.readiness.value})" for i in whole.plan.items
                   if i.readiness not in (Readiness.COMPLETE,)]
        ctx.console.print(f"Completing the rest of {name}: {len(whole.sent)} sent in "
                          f"{len(cutover.completion_pipelines(CompletionMethod.MOVEREQUEST, at))} pipelines; "
                          f"not sent: {escape(', '.join(skipped))}", highlight=False)
        _advance(ctx, 1)
        final = cutover.follow(online, members, poll_interval=0, timeout=1)
        ctx.console.print(_moves_table(f"{name} at the end", final))
        status = online.run(Pipeline.of(Command.of("Get-MigrationBatch", Identity=name),
                                        Command.of("Select-Object", Property=["Status"]))).output
        batch_status = str(status[0].get("Status")) if status else "?"
        ctx.console.print(f"Batch status: [bold]{batch_status}[/]", highlight=False)
        remedied = _remediate(ctx, online, name)
    finally:
        online.close()
    return {
        "batch": name,
        "batch_status": batch_status,
        "completed_early": early if single.sent else None,
        "plain_resume_status": bounced.status,
        "final": {m: s.status for m, s in final.items()},
        **remedied,
    }


def _remediate(ctx: DemoContext, online: PSSession, name: str) -> dict[str, Any]:
    """`cutover failures`, then `cutover remediate --approve-skipped --min-score investigate --restart-failed`: the
    bad-items mailbox (scored Investigate, so approved only with --min-score investigate) is approved and restarted,
    syncs and completes; the one over its quota stays listed."""
    ctx.show_command(f"$ hybridkit -p online cutover failures --batch {name}")
    before = cutover.list_failures(online, batches=[name])
    ctx.console.print(cutover.failures_view(before))
    ctx.show_command(f"$ hybridkit -p online cutover remediate --batch {name} --approve-skipped --min-score investigate "
                     "--restart-failed --yes")
    with Journal(ctx.journal_path) as journal:
        fixed = cutover.remediate(online, journal, batches=[name], approve=True, restart=True,
                                  min_score=cutover.MinScore.INVESTIGATE)
    ctx.console.print(cutover.remedy_view(fixed))
    restarted = sorted(r.mailbox for r in fixed.items if r.action.value != "none" and not r.failed)
    _advance(ctx, 6)
    moves = cutover.read_moves(online, mailboxes=restarted, columns=cutover.READINESS_COLUMNS)
    with Journal(ctx.journal_path) as journal:  # the restarted mailboxes synced: complete them as the rest were
        at = getattr(ctx.lab.engine, "org").clock.now()
        cutover.run_completion(online, journal, restarted, moves, method=CompletionMethod.MOVEREQUEST, at=at)
    _advance(ctx, 1)
    done = cutover.follow(online, restarted, poll_interval=0, timeout=1) if restarted else {}
    after = cutover.list_failures(online, batches=[name])
    for mailbox in restarted:
        ctx.console.print(f"Fixed: {escape(mailbox)} is [bold]{done[mailbox].status if mailbox in done else '?'}"
                          "[/]", highlight=False)
    for failure in after:
        why = failure.failure_type or failure.problem.value
        ctx.console.print(f"Still listed: {escape(failure.mailbox)} ({escape(why)}): {escape(failure.remedy)}",
                          highlight=False)
    return {"remediated": {m: done[m].status for m in restarted if m in done},
            "still_listed": {f.mailbox: f.failure_type or f.problem.value for f in after}}
