"""The hold and inventory demo steps run against a lab and say what they should."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from hybridkit._context import AppContext  # noqa: E402
from hybridkit.config import lab_profile_from_ready  # noqa: E402
from hybridkit.demo import DemoContext  # noqa: E402
from hybridkit.sides import connect  # noqa: E402


def _context(handle: Any, tmp: Path) -> tuple[DemoContext, io.StringIO]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=160)
    app = AppContext(profile=None, config=None, output="table", verbose=False, console=console, err_console=console)
    ready = handle.server.ready_info()
    profile = lab_profile_from_ready("lab", ready)
    return DemoContext(app=app, session=connect(profile), profile=profile, lab=handle.server, ready=ready,
                       workdir=tmp, journal_path=tmp / "journal.sqlite"), buffer


def test_hold_demo_step_reports_one_unlicensed(lab_factory: Any, tmp_path: Path) -> None:
    from hybridkit.demo.hold import step as demo_step

    ctx, buffer = _context(lab_factory(org="demo"), tmp_path)
    try:
        result = demo_step(ctx)
    finally:
        ctx.session.close()
    assert result["unlicensed"] and len(result["unlicensed"]) == 1
    assert result["counts"]["enabled"] > 300 and "failed" not in result["counts"]
    assert result["rerun"] == {"already on hold": result["counts"]["enabled"], "unlicensed": 1}
    assert "unlicensed" in buffer.getvalue() and Path(result["report"]).exists()


def test_inventory_demo_step_crawls_then_plans(lab_factory: Any, tmp_path: Path) -> None:
    from hybridkit.demo.inventory import step as demo_step

    ctx, buffer = _context(lab_factory(org="demo"), tmp_path)
    try:
        result = demo_step(ctx)
    finally:
        ctx.session.close()
    assert result["mailboxes"] > 300 and result["failures"] == 0 and result["batches"] >= 6
    assert "batches plan" in buffer.getvalue()


def test_cutover_demo_step_ends_with_remediation_and_the_quota_one_stays_listed(lab_factory: Any,
                                                                                 tmp_path: Path) -> None:
    from hybridkit.demo.cutover import step as demo_step

    handle = lab_factory(org="demo")
    ctx, buffer = _context(handle, tmp_path)
    try:
        result = demo_step(ctx)
    finally:
        ctx.session.close()
    out = " ".join(buffer.getvalue().split())
    assert "cutover failures --batch" in out and "--approve-skipped --min-score investigate --restart-failed --yes" in out
    [(fixed, status)] = result["remediated"].items()  # the bad-items one, scored Investigate: approved, restarted
    assert status == "Completed" and result["final"][fixed] == "Failed"
    assert list(result["still_listed"].values()) == ["MailboxExceedsTargetQuotaPermanentException"]
    assert f"Fixed: {fixed} is Completed" in out and "Still listed:" in out
    audit = handle.server.engine.org.online.settings["lab_migration_audit"]
    assert [e["identity"] for e in audit if e["event"] == "ApproveSkippedItems"] == [fixed]
    assert [e["identity"] for e in audit if e["event"] == "Start-MigrationUser"] == [fixed]  # never the quota one


def test_summary_demo_step_prints_its_pipeline_whole_at_80_columns(lab_factory: Any, tmp_path: Path) -> None:
    from hybridkit.demo.foundation import summary_step

    ctx, buffer = _context(lab_factory(org="demo"), tmp_path)
    ctx.app.console.width = 80  # the table caption was as narrow as the table: the pipeline broke mid-word
    try:
        summary_step(ctx)
    finally:
        ctx.session.close()
    assert any(line.startswith("Get-Mailbox -ResultSize Unlimited | Select-Object RecipientTypeDetails,Database: ")
               for line in buffer.getvalue().splitlines())
