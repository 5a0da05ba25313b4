"""End-to-end: the real ``hybridkit hold`` CLI against the lab (both endpoints) over loopback."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from hybridkit.journal import Journal  # noqa: E402
from hybridkit.lab.exchange.cmdlets._registry import HANDLERS  # noqa: E402
from tests.hold._holdkit import Hold, cmdlets as _cmdlets, pick as _pick  # noqa: E402


def test_enable_both_sides_reports_every_mailbox(hold: Hold) -> None:
    who = _pick(hold)
    report = hold.tmp / "hold.csv"
    result = hold.run("enable", *[a for k in who.values() for a in ("--mailbox", k)], "--owner", "Legal case 7",
                      "--report", str(report))
    # Two selected mailboxes end up off hold (one unlicensed, one missing): the run reports all, then exits 1.
    assert result.exit_code == 1, result.output
    assert "2 selected mailbox(es) are not on hold: 1 not found, 1 unlicensed" in " ".join(result.stderr.split())
    statuses = {m["mailbox"]: m["outcome"] for m in hold.json(result)["items"]}
    assert statuses == {who["onprem"]: "enabled", who["cloud"]: "enabled", who["unlicensed"]: "unlicensed",
                        who["missing"]: "not-found"}
    for side, key in (("onprem", "onprem"), ("online", "cloud")):
        rec = hold.rec(side, who[key])
        assert rec["LitigationHoldEnabled"] is True and rec["LitigationHoldOwner"] == "Legal case 7"
        assert rec["LitigationHoldDate"]
    assert not hold.rec("online", who["unlicensed"]).get("LitigationHoldEnabled")
    with report.open(encoding="utf-8-sig") as fh:
        rows = {r["Mailbox"]: r for r in csv.DictReader(fh)}
    assert set(rows) == set(who.values())
    assert rows[who["onprem"]]["Side"] == "onprem" and rows[who["cloud"]]["Side"] == "online"
    assert rows[who["onprem"]]["Verified"] == "True"
    # Each side got ONE pipeline of two cmdlets with the identities streamed in; the unlicensed one was not sent.
    sets = hold.set_pipelines()
    assert [[c.lower() for c in _cmdlets(p)] for p in sets] == [["get-mailbox", "set-mailbox"]] * 2


def test_rerun_changes_nothing(hold: Hold) -> None:
    who = _pick(hold)
    args = ["enable", "--mailbox", who["onprem"], "--mailbox", who["cloud"]]
    assert hold.run(*args).exit_code == 0
    sent = len(hold.set_pipelines())
    again = hold.run(*args)
    assert again.exit_code == 0
    assert {m["outcome"] for m in hold.json(again)["items"]} == {"unchanged"}
    assert len(hold.set_pipelines()) == sent


def test_duration_change_and_what_if(hold: Hold) -> None:
    who = _pick(hold)
    assert hold.run("enable", "--mailbox", who["onprem"], "--duration", "30").exit_code == 0
    preview = hold.run("enable", "--mailbox", who["onprem"], "--duration", "365", "--what-if")
    assert preview.exit_code == 0
    assert hold.json(preview)["items"][0]["action"] == "update"
    assert "Set-Mailbox -LitigationHoldEnabled:$true -LitigationHoldDuration 365" in preview.stderr
    assert hold.rec("onprem", who["onprem"])["LitigationHoldDuration"] == "30.00:00:00"
    changed = hold.run("enable", "--mailbox", who["onprem"], "--duration", "365")
    assert hold.json(changed)["items"][0]["outcome"] == "updated"
    assert hold.rec("onprem", who["onprem"])["LitigationHoldDuration"] == "365.00:00:00"


@pytest.mark.parametrize("by", ["mailbox", "recipient-type"])
def test_verification_catches_a_hold_that_did_not_stick(hold: Hold, monkeypatch: pytest.MonkeyPatch, by: str) -> None:
    who = _pick(hold)
    real = HANDLERS["set-mailbox"]
    lost = hold.rec("onprem", who["onprem"])

    def lossy(ctx: Any) -> None:  # Exchange accepts the command for this one mailbox but nothing changes
        if str(ctx.params.get("Identity")).lower() == lost["Identity"].lower():
            return
        real(ctx)

    monkeypatch.setitem(HANDLERS, "set-mailbox", lossy)
    if by == "mailbox":
        result = hold.run("enable", "--mailbox", who["onprem"], "--mailbox", who["cloud"])
    else:  # whole recipient type: verified with one filtered query per side instead of reading every mailbox
        result = hold.run("enable", "--recipient-type", "UserMailbox")
    assert result.exit_code == 1
    rows = {m["mailbox"]: m for m in hold.json(result)["items"]}
    assert rows[who["onprem"]]["outcome"] == "failed"
    assert "verification read back LitigationHoldEnabled=False" in rows[who["onprem"]]["detail"]
    assert rows[who["cloud"]]["outcome"] == "enabled"
    assert [m["mailbox"] for m in rows.values() if m["outcome"] == "failed"] == [who["onprem"]]


def test_interrupted_run_resumes_without_resending(hold: Hold, monkeypatch: pytest.MonkeyPatch) -> None:
    targets = [r for r in hold.mailboxes("onprem") if r["RecipientTypeDetails"] == "SharedMailbox"
               and not r.get("LitigationHoldEnabled")]
    assert len(targets) >= 6
    real_done = Journal.mark_done
    calls = {"n": 0}

    def crash_after_first(self: Any, run_id: str, key: str, outcome: str = "ok", *, payload: Any = None) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # step 2 was sent but its outcome never committed: in doubt
            raise KeyboardInterrupt
        real_done(self, run_id, key, outcome, payload=payload)

    monkeypatch.setattr(Journal, "mark_done", crash_after_first)
    args = ["enable", "--recipient-type", "SharedMailbox", "--chunk-size", "2"]
    first = hold.run(*args)
    assert first.exit_code != 0
    sent_first = sum(p.get("input_count", p.get("input_items", 0)) for p in hold.set_pipelines())
    monkeypatch.setattr(Journal, "mark_done", real_done)
    second = hold.run(*args)
    assert "Resumed run" in second.stderr
    body = hold.json(second)
    # Only cloud shared mailboxes without a hold licence may stay off hold, and then (only then) the exit is 1.
    off_hold = [m for m in body["items"] if m["outcome"] in ("failed", "not-found", "unlicensed", "refused")]
    assert all(m["outcome"] == "unlicensed" for m in off_hold), off_hold
    assert second.exit_code == (1 if off_hold else 0), second.output
    shared_online = {r["PrimarySmtpAddress"] for r in hold.mailboxes("online", lambda r: r["RecipientTypeDetails"]
                                                                     == "SharedMailbox")}
    statuses = {m["mailbox"]: m["outcome"] for m in body["items"] if m["mailbox"] not in shared_online}
    assert {t["PrimarySmtpAddress"]: "enabled" for t in targets}.items() <= statuses.items()
    assert all(hold.rec("onprem", t["PrimarySmtpAddress"])["LitigationHoldEnabled"] for t in targets)
    sent_total = sum(p.get("input_count", p.get("input_items", 0)) for p in hold.set_pipelines())
    # Nobody was sent twice: the in-doubt step was re-checked against live state, finished steps were skipped.
    enabled_everywhere = sum(1 for s in statuses.values() if s == "enabled")
    assert sent_total == enabled_everywhere + sum(1 for m in body["items"]
                                                  if m["mailbox"] in shared_online and m["outcome"] == "enabled")
    assert sent_first < sent_total


def test_status_from_xlsx(hold: Hold) -> None:
    import xlsxwriter

    who = _pick(hold)
    hold.run("enable", "--mailbox", who["cloud"], "--duration", "30")
    book_path = hold.tmp / "legal.xlsx"
    book = xlsxwriter.Workbook(str(book_path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["Custodians for case 7"])
    sheet.write_row(2, 0, ["Name", "EmailAddress"])
    sheet.write_row(3, 0, ["Cloud person", who["cloud"]])
    sheet.write_row(4, 0, ["On-prem person", who["onprem"]])
    book.close()
    out = hold.tmp / "status.xlsx"
    result = hold.run("status", "--from-file", str(book_path), "--report", str(out))
    assert result.exit_code == 0, result.output
    rows = {m["mailbox"]: (m["outcome"], m["litigation_hold_duration"]) for m in hold.json(result)["items"]}
    assert rows == {who["cloud"]: ("on-hold", "30"), who["onprem"]: ("not-on-hold", None)}
    assert out.stat().st_size > 0


def test_duration_refused_on_exchange_2010(lab_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    hold = Hold(lab_factory(org="demo", version="2010", ready_file=tmp_path / "lab.json"), tmp_path)
    who = _pick(hold)
    result = hold.run("enable", "--mailbox", who["onprem"], "--mailbox", who["cloud"], "--duration", "90")
    assert result.exit_code == 1, result.output  # the on-prem mailbox stays off hold
    rows = {m["mailbox"]: m for m in hold.json(result)["items"]}
    assert rows[who["onprem"]]["outcome"] == "refused"
    assert "Exchange Server 2010" in rows[who["onprem"]]["detail"]
    assert rows[who["cloud"]]["outcome"] == "enabled"
    assert not hold.rec("onprem", who["onprem"]).get("LitigationHoldEnabled")


def test_selectors_are_exclusive(hold: Hold) -> None:
    result = hold.run("enable", "--all", "--mailbox", "a@contoso.com")
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines == ["error: choose exactly one of --all, --mailbox, --from-file, --recipient-type"], result.stderr
    assert result.stdout.strip() == "" and hold.pipelines() == []  # refused before Exchange was asked anything


def test_duration_never_shortens_an_existing_hold(hold: Hold) -> None:
    users = [r["PrimarySmtpAddress"] for r in hold.mailboxes("onprem", lambda r: r["RecipientTypeDetails"]
                                                              == "UserMailbox")][:3]
    assert hold.run("enable", "-m", users[0]).exit_code == 0  # unlimited
    assert hold.run("enable", "-m", users[1], "--duration", "2555").exit_code == 0
    sent = len(hold.set_pipelines())
    result = hold.run("enable", *[a for u in users for a in ("-m", u)], "--duration", "1")
    assert result.exit_code == 0, result.output
    rows = {m["mailbox"]: m for m in hold.json(result)["items"]}
    assert [rows[u]["outcome"] for u in users] == ["kept-longer", "kept-longer", "enabled"]
    assert "unlimited" in rows[users[0]]["detail"] and "2555" in rows[users[1]]["detail"]
    assert hold.rec("onprem", users[0])["LitigationHoldDuration"] == "Unlimited"
    assert hold.rec("onprem", users[1])["LitigationHoldDuration"] == "2555.00:00:00"
    assert "2 mailbox(es) kept a longer hold" in " ".join(result.stderr.split())
    assert len(hold.set_pipelines()) == sent + 1
    shorter = hold.run("enable", *[a for u in users for a in ("-m", u)], "--duration", "1", "--allow-shorter")
    assert shorter.exit_code == 0, shorter.output
    assert hold.rec("onprem", users[0])["LitigationHoldDuration"] == "1.00:00:00"
    assert hold.rec("onprem", users[1])["LitigationHoldDuration"] == "1.00:00:00"


def test_csv_report_keeps_formulas_from_inputs_as_text(hold: Hold) -> None:
    listing = hold.tmp / "custodians.csv"
    listing.write_text('Mailbox\n"=HYPERLINK(""http://evil.example"",""x"")"\n"+cmd|\' /C calc\'!A0"\n@SUM(1+1)\n',
                       encoding="utf-8")
    report = hold.tmp / "status.csv"
    result = hold.run("status", "--from-file", str(listing), "--report", str(report))
    assert result.exit_code == 1, result.output  # none of them is a mailbox: the report is still written
    assert "3 mailboxes not found:" in " ".join(result.stderr.split())
    with report.open(encoding="utf-8-sig", newline="") as fh:
        cells = [r["Mailbox"] for r in csv.DictReader(fh)]
    assert cells == ["'=HYPERLINK(\"http://evil.example\",\"x\")", "'+cmd|' /C calc'!A0", "'@SUM(1+1)"]


def test_a_run_that_exits_1_is_not_journaled_completed(hold: Hold) -> None:
    from hybridkit.journal import Journal, RunStatus

    who = _pick(hold)
    ok = hold.run("enable", "-m", who["onprem"])
    assert ok.exit_code == 0
    partial = hold.run("enable", "-m", who["cloud"], "-m", who["unlicensed"])
    assert partial.exit_code == 1, partial.output
    with Journal(hold.tmp / ".hybridkit" / "journal.sqlite") as journal:
        runs = journal.list_runs(kind="hold")
    assert [r.status for r in runs] == [RunStatus.FAILED, RunStatus.COMPLETED]


@pytest.mark.parametrize("where", ["afile/r.csv", "/proc/r.csv", "folder"])
def test_unwritable_report_is_refused_before_anything_changes(hold: Hold, where: str) -> None:
    (hold.tmp / "afile").write_text("x", encoding="utf-8")
    (hold.tmp / "folder.csv").mkdir()
    target = str(hold.tmp / "folder.csv") if where == "folder" else (
        where if where.startswith("/") else str(hold.tmp / where))
    who = _pick(hold)
    for command in ("enable", "status"):
        result = hold.run(command, "-m", who["onprem"], "--report", target, output="table")
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception,
                                                                                           SystemExit)
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and f"cannot write {target}" in lines[0], result.stderr
        assert result.stdout.strip() == ""
    assert hold.set_pipelines() == []
    assert not hold.rec("onprem", who["onprem"]).get("LitigationHoldEnabled")


def test_report_failing_after_the_change_still_shows_the_summary(hold: Hold, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from hybridkit.hold import cli as hold_cli

    def full(path: Any, rows: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(hold_cli, "write_report", full)
    who = _pick(hold)
    result = hold.run("enable", "-m", who["onprem"], "--report", str(hold.tmp / "r.csv"), output="table")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "cannot write the report" in result.stderr and "No space left on device" in result.stderr
    assert "enabled" in result.stdout


@pytest.mark.parametrize(("args", "words"), [
    (["-m", ""], "--mailbox: an empty address"),
    (["-m", "a@contoso.com", "-m", "  "], "--mailbox: an empty address"),
    (["-m", "a@contoso.com", "--duration", "10675200"], "--duration: at most 10675199 days"),
    (["-m", "a@contoso.com", "--duration", "99999999999999999999"], "--duration: at most 10675199 days"),
    (["-m", "a@contoso.com", "--duration", "0"], "--duration: a hold duration must be at least 1 day"),
])
def test_bad_input_is_one_line_exit_2(hold: Hold, args: list[str], words: str) -> None:
    for command in ("enable", "status"):
        if command == "status" and "--duration" in args:
            continue
        result = hold.run(command, *args, output="table")
        assert result.exit_code == 2, (command, result.output)
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and words in lines[0], result.stderr
        assert "column" not in lines[0]
    assert hold.pipelines() == []  # refused before Exchange was asked anything


def test_what_if_prints_runnable_pipelines_with_the_identities(hold: Hold) -> None:
    users = [r for r in hold.mailboxes("onprem", lambda r: r["RecipientTypeDetails"] == "UserMailbox")]
    obrien = next(r for r in users if "'" in r["Identity"])
    chosen = [obrien] + [r for r in users if r is not obrien][:2]
    result = hold.run("enable", *[a for r in chosen for a in ("-m", r["PrimarySmtpAddress"])], "--duration", "30",
                      "--chunk-size", "2", "--what-if", output="table")
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.stderr.splitlines() if "| Get-Mailbox | Set-Mailbox" in ln]
    assert len(lines) == 2 and "<" not in "".join(lines)
    quoted = ["'" + r["Identity"].replace("'", "''") + "'" for r in chosen]
    assert lines[0].endswith(f"{quoted[0]},{quoted[1]} | Get-Mailbox | Set-Mailbox -LitigationHoldEnabled:$true "
                             "-LitigationHoldDuration 30")
    assert f"{quoted[2]} | Get-Mailbox" in lines[1]
    assert hold.set_pipelines() == []


def test_tables_wrap_never_crop_at_80_columns_piped(hold: Hold, monkeypatch: pytest.MonkeyPatch) -> None:
    who = _pick(hold)
    long = "a.custodian.with.a.very.long.address.that.keeps.going.and.going@legal-department.contoso-subsidiary.example"
    owner = "Legal department, matter 2026-117 (outside counsel of record, London office)"
    hold.run("enable", "-m", who["cloud"], "--owner", owner)
    for width in ("80", "120"):
        monkeypatch.setenv("COLUMNS", width)
        result = hold.run("status", "-m", who["cloud"], "-m", long, output="table")
        assert result.exit_code == 1, result.output  # the long address is no mailbox: named on stderr, exit 1
        assert "1 mailbox not found:" in " ".join(result.stderr.split())
        assert "…" not in result.output and "..." not in result.output
        assert all(len(line) <= int(width) for line in result.stdout.splitlines() if line[:1] in "│┃┏┡└")
        rows = [line.split("│")[1:-1] for line in result.stdout.splitlines() if line.startswith("│")]
        column = ["".join(r[n].strip() for r in rows) for n in range(len(rows[0]))]  # wrapped lines joined
        assert long in result.output  # in full under the table
        assert column[0].startswith(who["cloud"]) and long in column[0]
        if width == "120":
            assert owner.replace(" ", "") in column[4].replace(" ", "")
        else:  # too narrow for the owner: the column is dropped (and the caption says where it is), not cropped
            assert len(column) == 4 and "Owner and start date" in result.stdout

def test_status_of_a_mailbox_that_does_not_exist_exits_1_and_says_so(hold: Hold) -> None:
    who = _pick(hold)
    result = hold.run("status", "-m", who["cloud"], "-m", who["missing"])
    assert result.exit_code == 1, result.output
    assert f"1 mailbox not found: {who['missing']}" in " ".join(result.stderr.split())
    outcomes = {m["mailbox"]: m for m in hold.json(result)["items"]}
    assert set(outcomes) == {who["cloud"], who["missing"]}
