"""What people and scripts read: tables that fit 80 columns without cropping, options refused in one line, help
texts without markup or hard line breaks, the JSON vocabulary, and the lab's synthetic org as the README uses it."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from hybridkit.cli import app  # noqa: E402
from hybridkit.cutover import _render  # noqa: E402
from hybridkit.cutover._model import CompletionResult, MoveState, ObservedBatch, ObservedUser  # noqa: E402
from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT  # noqa: E402
from tests._killkit import done_steps  # noqa: E402
from tests.cutover.test_cutover_cli import HOUR, TDD, _cli, _plan, _users  # noqa: E402
from tests.cutover._labkit import online_config  # noqa: E402

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
LONG = "bartholomew.longname-example@contoso.com"
REASON = (f"The move request for '{LONG}' can't be changed because it's Queued. Check the request with "
          "Get-MoveRequestStatistics -IncludeReport.")


def _rendered(renderable: object, width: int) -> str:
    console = Console(file=io.StringIO(), width=width)  # what a pipe gets: no terminal, a fixed width
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def _words_intact(text: str, output: str) -> bool:
    """Every word of ``text`` appears whole in ``output`` (wrapping at spaces is fine; cutting a word is not)."""
    found = set(re.findall(r"\S+", output))
    return all(word in found for word in text.split())


@pytest.mark.parametrize("width", [80, 60])
def test_status_table_at_80_columns_and_narrower_keeps_transferred_and_every_message_whole(width):
    users = (ObservedUser("dup@contoso.com", "Wave-December", "Failed", "UserDuplicateInOtherBatchException: The "
                          'user "dup@contoso.com" is already included in migration batch "W1." Please remove the '
                          "user from any other batch and try again."),)
    batch = ObservedBatch("Wave-December", "SyncedWithErrors", (LONG, "a@contoso.com", "dup@contoso.com"), users,
                          3, 1, 0, 2, NOW)
    moves = {LONG: MoveState(LONG, "InProgress", "StalledDueToTarget_MdbReplication", 45, 159_450_824, 4_555_456_537),
             "a@contoso.com": MoveState("a@contoso.com", "Failed", "FailedBadItemLimit", 70, 3_780_000_000, 5 * 10**9,
                                        "Error: TooManyBadItemsPermanentException: The job encountered too many bad "
                                        "items (312).")}
    out = _rendered(_render.status_view(_render.status_doc([batch], moves, NOW), width), width)
    assert all(len(line) <= width for line in out.splitlines()), out
    assert "Transferred" in out and "152.1 MB" in out and "3.52 GB" in out, out
    assert _words_intact(moves["a@contoso.com"].message, out) and _words_intact(users[0].error, out), out
    assert "StalledDueToTarget_MdbReplication" in out
    if width >= 80:
        assert any(LONG in line and "InProgress" in line for line in out.splitlines()), out


def test_completion_table_at_80_columns_never_cuts_exchange_s_reason_mid_word():
    results = [CompletionResult(LONG, "complete", "failed", "Synced", REASON),
               CompletionResult("a@contoso.com", "complete", "sent", "Synced", "completion sent")]
    out = _rendered(_render.complete_table(results, NOW, "moverequest", 80), 80)
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert _words_intact(REASON, out), out
    assert any(LONG in line and " failed " in line for line in out.splitlines()), out


def test_json_vocabulary_for_complete():
    results = [CompletionResult("a@contoso.com", "complete", "sent", "Synced", "completion sent")]
    doc = _render.complete_doc(results, NOW, "moverequest", "r1", False)
    assert set(doc) == {"what_if", "run_id", "resumed", "complete_after", "method", "items", "summary", "warnings"}
    assert doc["complete_after"] == "2026-12-05T22:00:00Z" and doc["summary"] == {"sent": 1}
    assert doc["items"] == [{"mailbox": "a@contoso.com", "action": "complete", "outcome": "sent", "status": "Synced",
                             "detail": "completion sent"}]


# ---------------------------------------------------------------- options refused in one line


@pytest.fixture
def synthetic_lab(lab_factory, tmp_path):
    handle = lab_factory(org="synthetic:40", time_scale=0.0)
    return handle, handle.server.engine.org, online_config(tmp_path, handle)


@pytest.mark.parametrize(("args", "option", "said"), [
    (["complete", "--batch", "B", "--poll-interval", "-1"], "--poll-interval", "greater than 0"),
    (["complete", "--batch", "B", "--timeout", "-5"], "--timeout", "greater than 0"),
    (["complete", "--batch", "B", "--timeout", "nan"], "--timeout", "greater than 0"),
    (["complete", "--batch", "B", "--chunk-size", "0"], "--chunk-size", "greater than 0"),
    (["complete", "-m", ""], "--mailbox", "primary SMTP address"),
    (["complete", "--mailbox", ""], "--mailbox", "primary SMTP address"),
    (["complete", "--batch", " "], "--batch", "empty"),
    (["complete", "--batch", "B", "--at", "2026-12-24Z"], "--at", "no time of day"),
    (["complete", "--batch", "B", "--at", "2025-12-24T22:00Z"], "--at", "in the past"),
    (["status", "--interval", "-1"], "--interval", "greater than 0"),
    (["create", "PLAN", "--endpoint", DEFAULT_ENDPOINT, "--target-delivery-domain", "not a domain"],
     "--target-delivery-domain", "not a domain name"),
    (["create", "PLAN", "--endpoint", "", "--target-delivery-domain", TDD], "--endpoint", "empty"),
    (["create", "PLAN", "--endpoint", DEFAULT_ENDPOINT, "--target-delivery-domain", TDD, "--complete-after",
      "2020-01-01T00:00Z"], "--complete-after", "in the past"),
])
def test_bad_options_are_refused_in_one_line_naming_the_option(synthetic_lab, tmp_path, args, option, said):
    _, org, config = synthetic_lab
    plan_dir = _plan(tmp_path, {"B": _users(org, 1)})
    argv = ["cutover", *[str(plan_dir) if a == "PLAN" else a for a in args]]
    result = CliRunner().invoke(app, ["--config", str(config), *argv])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and option in lines[0] and said in lines[0], result.output
    assert not org.online.collection("MigrationBatch")


def test_allow_past_accepts_a_past_time(synthetic_lab, tmp_path):
    _, org, config = synthetic_lab
    plan_dir = _plan(tmp_path, {"B": _users(org, 1)})
    past = _cli(config, "cutover", "create", str(plan_dir), "--endpoint", DEFAULT_ENDPOINT,
                "--target-delivery-domain", TDD, "--complete-after", "2020-01-01T00:00Z", "--allow-past", "--what-if")
    assert past.exit_code == 0 and "-CompleteAfter '2020-01-01T00:00:00Z'" in past.output, past.output


@pytest.mark.parametrize("command", ["create", "status", "complete"])
def test_help_at_80_columns_has_no_markup_and_no_line_break_mid_sentence(command):
    result = CliRunner().invoke(app, ["cutover", command, "--help"], terminal_width=80, env={"COLUMNS": "80"})
    assert result.exit_code == 0 and "``" not in result.output, result.output
    text_lines = [line.strip() for line in result.output.splitlines()
                  if line.strip() and not line.strip().startswith(("│", "╭", "╰", "Usage"))]
    for line, following in zip(text_lines, text_lines[1:]):
        # a line filled to the width may wrap; a short line ending mid-sentence is a hard break from the source
        if len(line) < 60 and not line.endswith((".", ":", ")")):
            pytest.fail(f"hard line break after {line!r} (next: {following!r})\n{result.output}")


# ---------------------------------------------------------------- the README's create against a synthetic org


def test_readme_create_works_against_a_synthetic_org_and_a_duplicate_fails_alone(synthetic_lab, tmp_path):
    _, org, config = synthetic_lab
    users = _users(org, 5)
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = _plan(tmp_path / "one", {"Wave-1": users[:3]})
    args = ["--endpoint", "Hybrid Migration Endpoint - EWS (Default Web Site)", "--target-delivery-domain", TDD]
    assert _cli(config, "cutover", "create", str(first), *args).exit_code == 0
    second = _plan(tmp_path / "two", {"Wave-2": [users[2], users[4]]})
    made = _cli(config, "-o", "json", "cutover", "create", str(second), *args)
    assert made.exit_code == 1, made.output  # some items failed: one mailbox, not the batch
    doc = json.loads(made.output)
    batches = [i for i in doc["items"] if "mailbox" not in i]
    assert batches == [{"batch": "Wave-2", "action": "create", "outcome": "created",
                        "detail": "2 mailboxes, status Created; 1 failed (see below)"}]
    failed = [i for i in doc["items"] if i.get("outcome") == "failed"]
    assert [i["mailbox"] for i in failed] == [users[2]]
    assert failed[0]["detail"].startswith("UserDuplicateInOtherBatchException: The user")
    assert any(users[2] in w and "Wave-1" in w for w in doc["warnings"])
    table = _cli(config, "cutover", "create", str(second), *args)  # the re-run: nothing created, same report
    assert table.exit_code == 1 and "unchanged" in table.output
    assert "is already included in migration batch" in " ".join(table.output.split())
    assert sorted(org.online.collection("MigrationBatch")) == ["Wave-1", "Wave-2"]


# ---------------------------------------------------------------- SIGINT


def test_sigint_mid_completion_records_the_run_interrupted(lab_factory, tmp_path):
    import sqlite3

    handle = lab_factory(org="synthetic:30", time_scale=1.0, latency_ms=40.0)
    org = handle.server.engine.org
    config = online_config(tmp_path, handle)
    members = _users(org, 20)
    assert _cli(config, "cutover", "create", str(_plan(tmp_path, {"Wave-S": members})), "--endpoint",
                DEFAULT_ENDPOINT, "--target-delivery-domain", TDD, "--start").exit_code == 0
    org.clock.advance(24 * HOUR)
    journal = tmp_path / "journal.sqlite"
    argv = [sys.executable, "-m", "hybridkit", "--config", str(config), "cutover", "complete", "--batch", "Wave-S",
            "--chunk-size", "2", "--journal", str(journal)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while done_steps(journal) < 2 and time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail("the CLI finished before it could be interrupted")
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    with sqlite3.connect(journal) as db:
        assert [r[0] for r in db.execute("SELECT status FROM runs")] == ["interrupted"]
    assert "run the same command again" in " ".join(err.split()), err
