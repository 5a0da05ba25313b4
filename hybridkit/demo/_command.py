"""``hybridkit demo``: start the embedded lab, run every step against it, report (``--output json`` too)."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape

from hybridkit.cli_support import app_context, emit_json
from hybridkit.config import lab_profile_from_ready
from hybridkit.demo._context import DemoContext
from hybridkit.demo._steps import STEPS
from hybridkit.errors import HybridkitError, InputError
from hybridkit.sides import connect

__all__ = ["demo"]


def demo(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Lab organisation: demo, or synthetic:N.")] = "demo",
    tls: Annotated[bool, typer.Option("--tls/--no-tls", help="HTTPS with the lab's CA (validated).")] = True,
    workdir_option: Annotated[
        Optional[Path],
        typer.Option("--workdir", help="Keep the demo's files (inventory, plans, reports, backup, runbooks) here."),
    ] = None,
) -> None:
    """Start an embedded lab and show the tool working end to end (no Exchange needed)."""
    from hybridkit.lab.server import LabOptions, LabServer

    app = app_context(ctx)
    out = app.err_console if app.json else app.console
    steps = STEPS
    results: dict[str, Any] = {}
    failures: list[str] = []
    items: list[dict[str, Any]] = []  # --output json: one item per step, in the README's vocabulary
    with contextlib.ExitStack() as stack:
        if workdir_option is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hybridkit-demo-")))
        else:
            workdir = workdir_option.resolve()
            if workdir.exists() and any(workdir.iterdir()):
                raise InputError(f"{workdir} is not empty; give --workdir a new or empty folder")
            workdir.mkdir(parents=True, exist_ok=True)
        options = LabOptions(host="127.0.0.1", port=0, tls=tls, org=org, ca_path=workdir / "lab-ca.pem")
        with out.status("Starting the embedded Exchange lab…"):
            lab = LabServer(options).start()
        try:
            ready = lab.ready_info()
            out.print(f"[bold]hybridkit demo[/]: lab running on {escape(ready['onprem_url'])} "
                      f"(on-prem) and {escape(ready['online_url'])} (Exchange Online via a jump host)",
                      highlight=False)
            profile = lab_profile_from_ready("lab", ready)
            session = connect(profile)
            try:
                context = DemoContext(app=app, session=session, profile=profile, lab=lab, ready=ready,
                                      workdir=workdir, journal_path=workdir / "journal.sqlite")
                for number, step in enumerate(steps, 1):
                    out.rule(f"[bold]{number}. {escape(step.title)}", align="left")
                    try:
                        results[step.title] = step.run(context)
                        items.append({"step": step.title, "outcome": "done", "detail": None,
                                      "result": results[step.title]})
                    except HybridkitError as exc:
                        failures.append(step.title)
                        items.append({"step": step.title, "outcome": "failed", "detail": str(exc), "result": None})
                        out.print(f"[bold red]step failed:[/] {escape(str(exc))}", highlight=False)
                results["wsman_requests"] = session.request_count
            finally:
                session.close()
        finally:
            lab.stop()
    if app.json:
        summary: dict[str, int] = {}
        for item in items:
            summary[item["outcome"]] = summary.get(item["outcome"], 0) + 1
        emit_json(app, {"items": items, "summary": summary, "wsman_requests": results.get("wsman_requests", 0),
                        "workdir": str(workdir) if workdir_option is not None else None, "warnings": []})
    if failures:
        out.print(f"[bold red]{len(failures)} demo step(s) failed:[/] {escape(', '.join(failures))}")
        raise typer.Exit(1)
    out.print(f"[bold green]Demo complete[/]: {len(steps)} steps against the lab "
              f"({results.get('wsman_requests', 0)} WSMan requests on the demo's own session).", highlight=False)
    if workdir_option is None:
        out.print("[dim]The demo's files were in a temporary folder, now removed; "
                  "run `hybridkit demo --workdir DIR` to keep them.[/]", highlight=False)
    else:
        out.print(f"The demo's files are in {escape(str(workdir))}.", highlight=False)
