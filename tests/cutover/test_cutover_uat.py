"""Acceptance findings of a 2 a.m. cutover, each reproduced against a lab over loopback (or purely)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from hybridkit.cli import app  # noqa: E402
from hybridkit.cutover._model import CompletionMethod, MoveState, Readiness  # noqa: E402
from hybridkit.cutover._plan import plan_completion  # noqa: E402
from hybridkit.journal import Journal  # noqa: E402
from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT  # noqa: E402
from tests.cutover.test_cutover_cli import HOUR, TDD, _cli, _plan, _users  # noqa: E402
from tests.cutover._labkit import online_config  # noqa: E402

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 28, 1, 30, tzinfo=UTC)


@pytest.fixture
def still_lab(lab_factory, tmp_path):
    """A lab whose clock moves only when the test advances it."""
    handle = lab_factory(org="demo", time_scale=0.0)
    org = handle.server.engine.org
    return handle, org, online_config(tmp_path, handle)


def _live(config: Path, batch: str, mailbox: str) -> str:
    """The move's status as `cutover status -o json` shows it (which also lets the lab's state catch up)."""
    data = json.loads(_cli(config, "-o", "json", "cutover", "status", "--batch", batch).output)
    return next(r["status"] for r in data["items"][0]["mailboxes"] if r["mailbox"] == mailbox)


def _z(value: dt.datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_journal_signalled_mailbox_held_for_later_is_brought_forward_not_skipped() -> None:
    later = NOW + dt.timedelta(hours=20)
    moves = {"a@x.com": MoveState("a@x.com", "Synced", "IncrementalSyncComplete", complete_after=later),
             "b@x.com": MoveState("b@x.com", "Synced", "IncrementalSyncComplete", complete_after=NOW)}
    plan = plan_completion(["a@x.com", "b@x.com"], moves, method=CompletionMethod.MOVEREQUEST, at=NOW,
                           signalled=["a@x.com", "b@x.com"])
    got = {i.mailbox: i for i in plan.items}
    assert got["a@x.com"].readiness is Readiness.COMPLETE and "brought forward" in got["a@x.com"].reason
    assert got["b@x.com"].readiness is Readiness.SIGNALLED
    # a re-run of "+2h" (a later time than the one sent) never postpones what was asked
    rerun = plan_completion(["a@x.com"], moves, method=CompletionMethod.MOVEREQUEST, at=later + dt.timedelta(hours=1),
                            signalled=["a@x.com"])
    assert rerun.items[0].readiness is Readiness.SIGNALLED


def test_complete_at_a_later_time_then_now_completes_now(still_lab, tmp_path: Path) -> None:
    """The business moves the window forward: `--at <now>` after `--at <tonight>` must complete, not be skipped."""
    handle, org, config = still_lab
    members = _users(org, 2)
    plan_dir = _plan(tmp_path, {"Early": members})
    assert _cli(config, "cutover", "create", str(plan_dir), "--endpoint", DEFAULT_ENDPOINT,
                "--target-delivery-domain", TDD, "--start").exit_code == 0
    org.clock.advance(24 * HOUR)
    journal = str(tmp_path / "j.sqlite")
    tonight = _z(org.clock.now() + dt.timedelta(hours=20))  # the lab's clock, not this machine's
    # the still lab's clock is weeks behind this machine's: its times need --allow-past
    first = _cli(config, "-o", "json", "cutover", "complete", "--mailbox", members[0], "--at", tonight,
                 "--allow-past", "--journal", journal)
    assert first.exit_code == 0, first.output
    org.clock.advance(1 * HOUR)
    assert _live(config, "Early", members[0]) == "Synced"
    now = _cli(config, "-o", "json", "cutover", "complete", "--mailbox", members[0], "--at", _z(org.clock.now()),
               "--allow-past", "--journal", journal)
    assert now.exit_code == 0, now.output
    row = json.loads(now.output)["items"][0]
    assert row["action"] == "complete" and row["outcome"] == "sent", row
    org.clock.advance(1 * HOUR)
    assert _live(config, "Early", members[0]) == "Completed"
    again = _cli(config, "-o", "json", "cutover", "complete", "--mailbox", members[0], "--journal", journal)
    assert json.loads(again.output)["items"][0]["outcome"] == "completed"


def test_from_file_as_people_and_excel_write_it(tmp_path: Path) -> None:
    """A header typed "Email Address", title and blank rows (error rows as Excel numbers them); Unicode Text."""
    import openpyxl

    from hybridkit.cutover._read import read_mailbox_list
    from hybridkit.errors import InputError

    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["Tonight's early movers (CAB 1234)"], [], ["Email Address", "Name"], ["Ann@Contoso.com", "Ann"], [],
                ["bob@contoso.com", "Bob"]):
        sheet.append(row)
    book.save(tmp_path / "early.xlsx")
    assert read_mailbox_list(tmp_path / "early.xlsx") == ["ann@contoso.com", "bob@contoso.com"]
    sheet.append(["Carol Jones", "typed a name"])
    book.save(tmp_path / "bad.xlsx")
    with pytest.raises(InputError) as err:
        read_mailbox_list(tmp_path / "bad.xlsx")
    assert err.value.row == 7 and "Carol Jones" in str(err.value)
    # Excel "Unicode Text": UTF-16 with BOM, tab-delimited
    text = "EmailAddress\tName\r\nann@contoso.com\tAnn R\r\n\r\nbob@contoso.com\tBob\r\n"
    (tmp_path / "early.txt").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    assert read_mailbox_list(tmp_path / "early.txt") == ["ann@contoso.com", "bob@contoso.com"]
    (tmp_path / "typed.csv").write_text("#TYPE x\nE-mail;Note\nann@contoso.com;x\nnobody\n", encoding="cp1252")
    with pytest.raises(InputError) as err:
        read_mailbox_list(tmp_path / "typed.csv")
    assert err.value.row == 4


def test_status_watch_with_json_waits_for_the_batches_to_settle(lab_factory, tmp_path: Path) -> None:
    handle = lab_factory(org="demo", time_scale=600.0)
    org = handle.server.engine.org
    config = online_config(tmp_path, handle)
    plan_dir = _plan(tmp_path, {"Watched": _users(org, 2)})
    assert _cli(config, "cutover", "create", str(plan_dir), "--endpoint", DEFAULT_ENDPOINT,
                "--target-delivery-domain", TDD, "--start").exit_code == 0
    watched = _cli(config, "-o", "json", "cutover", "status", "--watch", "--interval", "0.2", "--timeout", "60")
    assert watched.exit_code == 0, watched.output
    data = json.loads(watched.output)  # one JSON document, after the sync
    assert data["items"][0]["status"] == "Synced", data


def test_ctrl_c_mid_completion_says_how_to_carry_on_and_the_rerun_does(still_lab, tmp_path: Path, monkeypatch) -> None:
    from hybridkit.cutover import _apply

    handle, org, config = still_lab
    members = _users(org, 16)[13:16]
    plan_dir = _plan(tmp_path, {"Night": members})
    assert _cli(config, "cutover", "create", str(plan_dir), "--endpoint", DEFAULT_ENDPOINT,
                "--target-delivery-domain", TDD, "--start").exit_code == 0
    org.clock.advance(24 * HOUR)
    real = _apply.run_completion

    class CtrlCAfterFirstResume:
        """The bridge's session, but Ctrl-C arrives once the first chunk's Resume-MoveRequest got through."""

        def __init__(self, session: object) -> None:
            self._session = session

        def __getattr__(self, name: str) -> object:
            return getattr(self._session, name)

        def run_items(self, command: object, items: object, **kwargs: object) -> object:
            outcomes = self._session.run_items(command, items, **kwargs)  # type: ignore[attr-defined]
            if "Resume-MoveRequest" in command.render():  # type: ignore[attr-defined]
                raise KeyboardInterrupt
            return outcomes

    def interrupted(session: object, *args: object, **kwargs: object) -> object:
        return real(CtrlCAfterFirstResume(session), *args, **kwargs)  # type: ignore[arg-type]

    journal = str(tmp_path / "j.sqlite")
    args = ["cutover", "complete", "--batch", "Night", "--chunk-size", "1", "--journal", journal,
            "--at", _z(org.clock.now()), "--allow-past"]
    monkeypatch.setattr(_apply, "run_completion", interrupted)
    cut = CliRunner().invoke(app, ["--config", str(config), *args])
    assert cut.exit_code == 130
    said = " ".join(cut.output.split())
    assert "run the same command again" in said and "journal run" in said, cut.output
    with Journal(Path(journal)) as book:  # the Ctrl-C'd run is recorded as interrupted, not left running
        assert [r.status.value for r in book.list_runs()] == ["interrupted"]
    monkeypatch.setattr(_apply, "run_completion", real)
    rerun = _cli(config, "-o", "json", *args)
    assert rerun.exit_code == 0, rerun.output
    rows = {r["mailbox"]: r for r in json.loads(rerun.output)["items"]}
    assert sorted(r["action"] for r in rows.values()) == ["complete", "complete", "follow"], rows


def test_status_table_keeps_addresses_and_exchange_messages_readable_at_80_columns(still_lab, tmp_path: Path) -> None:
    handle, org, config = still_lab
    users = _users(org, 8)
    failing = users[7]  # the demo's seeded bad-items move
    plan_dir = _plan(tmp_path, {"Readable": [users[6], failing]})
    assert _cli(config, "cutover", "create", str(plan_dir), "--endpoint", DEFAULT_ENDPOINT,
                "--target-delivery-domain", TDD, "--start").exit_code == 0
    org.clock.advance(24 * HOUR)
    shown = CliRunner().invoke(app, ["--config", str(config), "cutover", "status", "--batch", "Readable"],
                               terminal_width=80, catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert any(failing in line and "Failed" in line for line in lines), shown.output  # one row, not folded
    assert "TooManyBadItemsPermanentException" in shown.output and "Set-MigrationUser -ApproveSkippedItems" in \
        " ".join(shown.output.split()), shown.output
    assert "bytes)" not in shown.output  # "5.03 GB", the exact count is in --output json
    data = json.loads(_cli(config, "-o", "json", "cutover", "status", "--batch", "Readable").output)
    row = next(r for r in data["items"][0]["mailboxes"] if r["mailbox"] == failing)
    assert isinstance(row["transferred_bytes"], int) and row["transferred_bytes"] > 0
    assert isinstance(row["size_bytes"], int) and row["size_bytes"] >= row["transferred_bytes"]


def test_mistyped_endpoint_is_one_clear_error_before_anything_is_created(still_lab, tmp_path: Path) -> None:
    handle, org, config = still_lab
    users = _users(org, 20)
    plan_dir = _plan(tmp_path, {"W1": users[16:18], "W2": users[18:20]})
    args = ["cutover", "create", str(plan_dir), "--target-delivery-domain", TDD]
    for extra in (["--what-if"], []):
        typo = _cli(config, *args, "--endpoint", "Hybrid Migration Endpoint", *extra)
        assert typo.exit_code == 2, typo.output
        said = " ".join(typo.output.split())
        assert "no such migration endpoint" in said and DEFAULT_ENDPOINT in said, typo.output
    assert not org.online.collection("MigrationBatch")
    ok = _cli(config, "-o", "json", *args, "--endpoint", DEFAULT_ENDPOINT.lower())
    assert ok.exit_code == 0, ok.output
    assert [i["outcome"] for i in json.loads(ok.output)["items"] if "mailbox" not in i] == ["created", "created"]


def test_completion_table_keeps_each_address_on_one_line(still_lab, tmp_path: Path) -> None:
    handle, org, config = still_lab
    users = _users(org, 24)[20:24]
    plan_dir = _plan(tmp_path, {"Narrow": users})
    assert _cli(config, "cutover", "create", str(plan_dir), "--endpoint", DEFAULT_ENDPOINT,
                "--target-delivery-domain", TDD, "--start").exit_code == 0
    org.clock.advance(24 * HOUR)
    longest = max(users, key=len)
    what_if = CliRunner().invoke(app, ["--config", str(config), "cutover", "complete", "--mailbox", longest,
                                       "--what-if"], terminal_width=80, catch_exceptions=False)
    assert "1 mailbox ready" in what_if.output, what_if.output
    done = CliRunner().invoke(app, ["--config", str(config), "cutover", "complete", "--batch", "Narrow", "--at",
                                    _z(org.clock.now()), "--allow-past", "--journal", str(tmp_path / "j.sqlite")],
                              terminal_width=80, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    for user in users:
        assert any(user in line and " complete " in line and " sent " in line for line in done.output.splitlines()), \
            done.output  # the action and its outcome: sent, not "completed" (the mailbox is not completed yet)


def test_conflict_names_the_batch_once_and_says_what_to_do() -> None:
    from hybridkit.cutover._model import ObservedBatch, PlannedBatch
    from hybridkit.cutover._plan import plan_create

    existing = {"W1": ObservedBatch("W1", "Syncing", ("a@x.com", "c@x.com"))}  # c@x.com dropped from the plan
    plan = plan_create([PlannedBatch("W1", ("a@x.com", "b@x.com"))], existing)
    [conflict] = plan.conflicts
    assert conflict.reason.count("W1") == 0 and "b@x.com" in conflict.reason
    assert "Remove-MigrationBatch" in conflict.reason and "--name-prefix" in conflict.reason


def test_what_if_with_output_json_is_one_json_document_with_the_same_commands(still_lab, tmp_path: Path) -> None:
    handle, org, config = still_lab
    users = _users(org, 28)[24:28]
    plan_dir = _plan(tmp_path, {"J1": users[:2], "J2": users[2:]})
    create = ["cutover", "create", str(plan_dir), "--endpoint", DEFAULT_ENDPOINT, "--target-delivery-domain", TDD]
    assert _cli(config, *create, "--batch", "J1", "--start").exit_code == 0
    text = _cli(config, *create, "--start", "--what-if")
    doc = json.loads(_cli(config, "-o", "json", *create, "--start", "--what-if").output)
    assert doc["what_if"] is True and len(doc["commands"]) == 1 and doc["commands"][0].startswith("New-MigrationBatch")
    assert doc["commands"][0] in " ".join(text.stdout.split()) or doc["commands"][0] in text.stdout.replace("\n", "")
    assert {b["batch"]: b["action"] for b in doc["items"]} == {"J1": "none", "J2": "create"}
    assert doc["run_id"] is None and doc["summary"] == {"create": 1, "none": 1}
    org.clock.advance(24 * HOUR)
    complete = ["cutover", "complete", "--batch", "J1", "--at", "2030-01-01T00:00Z", "--what-if"]
    doc = json.loads(_cli(config, "-o", "json", *complete).output)
    assert [c.split(" | ")[1].split(" ")[0] for c in doc["commands"]] == ["Set-MoveRequest", "Resume-MoveRequest"]
    assert "-CompleteAfter '2030-01-01T00:00:00Z'" in doc["commands"][0]
    assert sorted(r["mailbox"] for r in doc["items"]) == users[:2] and {r["action"] for r in doc["items"]} == {
        "complete"}
    assert doc["complete_after"] == "2030-01-01T00:00:00Z" and doc["what_if"] is True
    assert not org.online.collection("MoveRequest")[users[0]].get("CompleteAfter")  # nothing was sent


def test_exchange_messages_with_brackets_are_shown_verbatim(still_lab, tmp_path: Path, monkeypatch) -> None:
    """Exchange errors carry "[Server=...]" and may carry "[/...]": text, never Rich markup (no MarkupError)."""
    from hybridkit.cutover import _apply

    handle, org, config = still_lab
    message = "[Server=BN8] no [/b] [bold]x[/bold]"
    from hybridkit.cutover._model import BatchOutcome, CreateResult

    monkeypatch.setattr(_apply, "create_batches",
                        lambda *a, **k: CreateResult((BatchOutcome("W[/]", "create", "failed", message),)))
    plan_dir = _plan(tmp_path, {"W9": _users(org, 30)[28:30]})
    shown = CliRunner().invoke(app, ["--config", str(config), "cutover", "create", str(plan_dir), "--endpoint",
                                     DEFAULT_ENDPOINT, "--target-delivery-domain", TDD])
    assert shown.exit_code == 1, shown.output
    assert message in shown.output and "W[/]" in shown.output


def test_unknown_batch_lists_the_plan_and_a_bad_notify_address_is_refused(still_lab, tmp_path: Path) -> None:
    _, org, config = still_lab
    plan_dir = _plan(tmp_path, {"Wave-A": _users(org, 2), "Wave-B": _users(org, 4)[2:]})
    args = ["cutover", "create", str(plan_dir), "--endpoint", DEFAULT_ENDPOINT, "--target-delivery-domain", TDD]
    unknown = _cli(config, *args, "--batch", "Wave-C", "--what-if")
    said = " ".join(unknown.output.split())
    assert unknown.exit_code == 2 and "'Wave-C'" in said and "Wave-A, Wave-B" in said, unknown.output
    bad = _cli(config, *args, "--notify", "ops team", "--what-if")
    assert bad.exit_code == 2 and "not an email address" in bad.output
    assert _cli(config, *args, "--notify", "ops@contoso.com", "--what-if").exit_code == 0


def test_watch_that_times_out_says_so_and_keeps_to_its_timeout(still_lab, tmp_path: Path) -> None:
    import time

    _, org, config = still_lab
    plan_dir = _plan(tmp_path, {"Slow": _users(org, 32)[30:32]})
    assert _cli(config, "cutover", "create", str(plan_dir), "--endpoint", DEFAULT_ENDPOINT,
                "--target-delivery-domain", TDD, "--start").exit_code == 0  # the still clock: it never syncs
    for extra in ([], ["-o", "json"]):
        began = time.monotonic()
        watched = _cli(config, *extra, "cutover", "status", "--batch", "Slow", "--watch", "--interval", "30",
                       "--timeout", "1")
        assert time.monotonic() - began < 15, "an --interval longer than --timeout must not outlast it"
        assert watched.exit_code == 0
        assert "still moving: Slow (Syncing)" in " ".join(watched.output.split()), watched.output


def test_mailbox_given_by_alias_is_refused_not_reported_as_without_a_move(still_lab, tmp_path: Path) -> None:
    _, org, config = still_lab
    [user] = _users(org, 33)[32:33]
    assert _cli(config, "cutover", "create", str(_plan(tmp_path, {"Alias": [user]})), "--endpoint",
                DEFAULT_ENDPOINT, "--target-delivery-domain", TDD, "--start").exit_code == 0
    typed = _cli(config, "cutover", "complete", "--mailbox", user.split("@")[0], "--what-if")
    assert typed.exit_code == 2 and "primary SMTP address" in typed.output, typed.output
