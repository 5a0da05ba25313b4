"""The profiles, connect and journal commands through the root CLI (CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hybridkit.cli import app
from hybridkit.config import load_config
from hybridkit.journal import Journal, PlannedStep

from foundation_kit import isolated  # noqa: F401 - fixture

runner = CliRunner()


def test_profiles_init_list_show(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    result = runner.invoke(app, ["profiles", "init"])
    assert result.exit_code == 0, result.output
    written = isolated / "hybridkit.toml"
    config = load_config(written)
    assert {p.kind for p in config.profiles.values()} == {"onprem", "online", "pwsh", "lab"}
    assert "#" in written.read_text()  # commented

    again = runner.invoke(app, ["profiles", "init"])
    assert again.exit_code == 2 and "exists" in again.stderr

    listed = runner.invoke(app, ["--output", "json", "profiles", "list"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)["items"]
    assert [r["name"] for r in rows] == ["onprem", "online", "pwsh", "lab"]
    assert [r["default"] for r in rows] == [True, False, False, False]

    monkeypatch.setenv("HYBRIDKIT_JUMP_PASSWORD", "jump-pa55-word")
    shown = runner.invoke(app, ["-o", "json", "profiles", "show", "online"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["organization"] == "contoso.onmicrosoft.com"
    assert data["password_source"] == "environment variable HYBRIDKIT_JUMP_PASSWORD"
    assert "jump-pa55-word" not in shown.stdout
    table = runner.invoke(app, ["profiles", "show"])
    assert table.exit_code == 0 and "ex01.contoso.local" in table.stdout


def test_user_config_dir_init(isolated: Path) -> None:  # noqa: F811
    result = runner.invoke(app, ["profiles", "init", "--user"])
    assert result.exit_code == 0, result.output
    assert (isolated / "xdg" / "hybridkit" / "hybridkit.toml").is_file()
    assert runner.invoke(app, ["profiles", "list"]).exit_code == 0  # found in the user config dir


def test_nothing_configured_is_one_clear_message(isolated: Path) -> None:  # noqa: F811
    result = runner.invoke(app, ["connect", "test"])
    assert result.exit_code == 2
    assert "profiles init" in result.stderr and "hybridkit demo" in result.stderr
    assert "Traceback" not in result.output


def test_bad_config_is_exit_2(isolated: Path) -> None:  # noqa: F811
    (isolated / "hybridkit.toml").write_text('[profiles.x]\nkind = "onprem"\nserver = "s"\npassword = "p"\n')
    result = runner.invoke(app, ["profiles", "list"])
    assert result.exit_code == 2 and "do not write passwords" in result.stderr


def test_journal_list_and_show(isolated: Path) -> None:  # noqa: F811
    path = isolated / "j.sqlite"
    with Journal(path) as journal:
        run_id = journal.start_run(
            "hold", "fp", [PlannedStep("k1", "alice", "Set-Mailbox -Identity 'alice' -LitigationHoldEnabled:$true"),
                           PlannedStep("k2", "bob", "Set-Mailbox -Identity 'bob' -LitigationHoldEnabled:$true")],
            argv=["hybridkit", "hold", "apply", "--password", "nope-secret"], profile="lab")
        journal.mark_started(run_id, "k1")
        journal.mark_done(run_id, "k1")
        journal.mark_started(run_id, "k2")
        journal.mark_failed(run_id, "k2", "ManagementObjectNotFoundException", "object 'bob' couldn't be found")
        journal.finish_run(run_id)
    listed = runner.invoke(app, ["-o", "json", "journal", "list", "--journal", str(path)])
    assert listed.exit_code == 0, listed.output
    runs = json.loads(listed.stdout)["items"]
    assert runs[0]["run_id"] == run_id and runs[0]["status"] == "failed"
    assert runs[0]["started_at"].endswith("Z") and runs[0]["ended_at"].endswith("Z")
    assert json.loads(listed.stdout)["summary"] == {"failed": 1}
    assert runs[0]["steps"]["done"] == 1 and runs[0]["steps"]["failed"] == 1
    shown = runner.invoke(app, ["-o", "json", "journal", "show", run_id[:12], "--journal", str(path)])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert [s["state"] for s in data["items"]] == ["done", "failed"]
    assert data["items"][1]["error_class"] == "ManagementObjectNotFoundException"
    assert data["items"][1]["detail"] == "object 'bob' couldn't be found" and data["summary"] == {"done": 1, "failed": 1}
    assert "nope-secret" not in shown.stdout and "nope-secret" not in listed.stdout
    table = runner.invoke(app, ["journal", "show", run_id, "--journal", str(path)])
    assert table.exit_code == 0 and "couldn't be found" in table.stdout
    missing = runner.invoke(app, ["journal", "list", "--journal", str(isolated / "none.sqlite")])
    assert missing.exit_code == 2
    notes = isolated / "notes.txt"
    notes.write_text("not a journal\n" * 200, encoding="utf-8")
    for command in (["journal", "list"], ["journal", "show", "x"], ["journal", "unlock", "x"]):
        wrong = runner.invoke(app, [*command, "--journal", str(notes)])
        assert wrong.exit_code == 2 and "Traceback" not in wrong.output, wrong.output
        assert wrong.stderr.strip() == f"error: {notes}: not a hybridkit run journal (SQLite): file is not a database"


def test_journal_list_keeps_run_ids_whole_and_show_prints_text_verbatim(isolated: Path) -> None:  # noqa: F811
    """At 80 columns the run id `journal show` needs is printed whole; commands are not read as Rich markup."""
    path = isolated / "j.sqlite"
    with Journal(path) as journal:
        ids = [journal.start_run("decommission", f"fp{i}", [PlannedStep(
            "k1", "online:InboundConnector:x", "Set-Thing -Identity 'x' -Note '[red]' -Type '[string]'")],
            argv=["hybridkit"], profile="onprem-long-profile-name,online-long-profile-name") for i in range(2)]
        journal.mark_started(ids[1], "k1")
        journal.mark_failed(ids[1], "k1", "CmdletError", "failed [Server=EX01,RequestId=1] [bold]x")
        for run_id in ids:
            journal.finish_run(run_id)
    narrow = CliRunner(env={"COLUMNS": "80"})
    listed = narrow.invoke(app, ["journal", "list", "--journal", str(path)])
    assert listed.exit_code == 0, listed.output
    assert all(run_id in listed.stdout for run_id in ids) and "decommission" in listed.stdout
    # Headers whole on one line (not "profil|e", "star…"); nothing cropped; what was left out is named.
    lines = listed.stdout.splitlines()
    header_at = next(n for n, line in enumerate(lines) if line.startswith("┏")) + 1
    headers = [h.strip() for h in lines[header_at].strip("┃").split("┃")]
    assert headers[:3] == ["run", "status", "kind"] and set(headers) <= {"run", "status", "kind", "steps",
                                                                          "started (UTC)", "profile"}
    assert lines[header_at + 1].startswith("┡")  # the header row is one line
    assert "…" not in listed.stdout and all(len(line) <= 80 for line in lines)
    left_out = {"steps", "started (UTC)", "profile"} - set(headers)
    assert left_out and all(name in " ".join(listed.stdout.split()) for name in left_out)
    shown = narrow.invoke(app, ["journal", "show", ids[1], "--journal", str(path)])
    assert "'[red]'" in shown.stdout and "'[string]'" in shown.stdout and "[bold]x" in shown.stdout
    prefix = ids[0][:9]  # "YYYYMMDD-": both runs
    ambiguous = narrow.invoke(app, ["journal", "show", prefix, "--journal", str(path)])
    assert ambiguous.exit_code == 2 and "matches 2 runs" in ambiguous.output


def test_journal_show_shortens_a_long_piped_input_in_the_table_only(isolated: Path) -> None:  # noqa: F811
    """A chunk of 2,000 mailboxes is one step; its table row names a few and says how many, the JSON keeps all."""
    from hybridkit.ps import Command, Pipeline

    path = isolated / "j.sqlite"
    items = [f"user{n:04}@contoso.com" for n in range(2000)]
    rendered = Pipeline.of(Command.of("Set-Mailbox", LitigationHoldEnabled=True)).render(items)
    with Journal(path) as journal:
        run_id = journal.start_run("hold", "fp", [PlannedStep("c1", "onprem", rendered)], argv=["hybridkit"])
        journal.finish_run(run_id)
    table = CliRunner(env={"COLUMNS": "80"}).invoke(app, ["journal", "show", run_id, "--journal", str(path)])
    assert table.exit_code == 0, table.output
    flat = " ".join(table.stdout.split())
    assert "'user0000@contoso.com'" in flat and "'user1999@contoso.com'" not in flat
    assert "(2,000 items)" in flat and "Set-Mailbox -LitigationHoldEnabled" in flat
    assert len(table.stdout.splitlines()) < 30
    data = json.loads(runner.invoke(app, ["-o", "json", "journal", "show", run_id, "--journal", str(path)]).stdout)
    assert data["items"][0]["command"] == rendered


def test_jumphost_script_refuses_the_init_placeholders(isolated: Path) -> None:  # noqa: F811
    """The online profile `profiles init` writes has all-zero app_id/thumbprint: no script from those."""
    assert runner.invoke(app, ["profiles", "init"]).exit_code == 0
    result = runner.invoke(app, ["profiles", "jumphost-script", "online"])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "placeholder app_id and certificate_thumbprint" in message and "Install-Module" not in result.output


def test_profiles_show_for_a_lab_profile_says_what_it_connects_to(isolated: Path) -> None:  # noqa: F811
    """A lab profile's own settings are placeholders: show the running lab's endpoint and version, or how to start it."""
    config = isolated / "hybridkit.toml"
    config.write_text('[profiles.lab]\nkind = "lab"\nready_file = "ready.json"\nendpoint = "onprem"\n', encoding="utf-8")
    stopped = runner.invoke(app, ["--config", str(config), "-o", "json", "profiles", "show", "lab"])
    assert stopped.exit_code == 0, stopped.output
    ready = isolated.resolve() / "ready.json"  # relative to the hybridkit.toml that names it
    assert json.loads(stopped.stdout)["lab"] == (f"not running (no {ready}; start `hybridkit lab serve "
                                                 f"--ready-file {ready}`)")
    (isolated / "ready.json").write_text(json.dumps({
        "port": 4443, "onprem_url": "https://127.0.0.1:4443/PowerShell", "online_url": "https://127.0.0.1:4443/wsman",
        "username": "labadmin", "password": "Lab-Secret-1", "auth": "basic", "tls": True, "version": "2010",
        "ca_path": str(isolated / "ca.pem"), "online_app_id": "a", "online_certificate_thumbprint": "b",
        "online_organization": "contoso.onmicrosoft.com"}), encoding="utf-8")
    running = runner.invoke(app, ["--config", str(config), "-o", "json", "profiles", "show", "lab"])
    data = json.loads(running.stdout)
    assert data["lab"] == "running at https://127.0.0.1:4443/PowerShell"
    assert data["exchange_version"] == "2010" and data["port"] == 4443 and data["https"] is True
    assert "Lab-Secret-1" not in running.stdout


def test_connect_test_names_a_stale_lab_ready_file(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """A lab killed with -9 leaves its ready file: connect test says so, not only 'connection refused'."""
    import socket

    import hybridkit.ps._pypsrp as bridge
    from hybridkit.ps import NO_RETRY

    monkeypatch.setitem(bridge.PypsrpSession.__init__.__kwdefaults__, "retry", NO_RETRY)  # fail fast in the test
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (isolated / "ready.json").write_text(json.dumps({
        "port": port, "onprem_url": f"http://127.0.0.1:{port}/PowerShell", "online_url": f"http://127.0.0.1:{port}/wsman",
        "username": "labadmin", "password": "x", "auth": "basic", "tls": False}), encoding="utf-8")
    config = isolated / "hybridkit.toml"
    config.write_text('[profiles.lab]\nkind = "lab"\nready_file = "ready.json"\n', encoding="utf-8")
    result = runner.invoke(app, ["--config", str(config), "connect", "test", "-p", "lab"])
    assert result.exit_code != 0
    message = " ".join(result.output.split())
    assert f"nothing answers at http://127.0.0.1:{port}/PowerShell" in message
    ready = isolated.resolve() / "ready.json"
    assert f"hybridkit lab serve --ready-file {ready}" in message and "Traceback" not in result.output


def test_profiles_list_wraps_rather_than_cuts_endpoints_at_80_columns(isolated: Path) -> None:  # noqa: F811
    assert runner.invoke(app, ["profiles", "init"]).exit_code == 0
    listed = CliRunner(env={"COLUMNS": "80"}).invoke(app, ["profiles", "list"])
    assert listed.exit_code == 0, listed.output
    assert "…" not in listed.stdout
    rows = [line.split("│") for line in listed.stdout.splitlines() if line.startswith("│")]
    endpoints = "".join(r[3].strip() for r in rows)
    usernames = "".join(r[5].strip() for r in rows)
    assert "https://ex01.contoso.local/PowerShell" in endpoints and "https://jump01.contoso.local/wsman" in endpoints
    assert "CONTOSO\\svc-migration" in usernames


def test_expected_error_stays_one_line_when_piped(isolated: Path) -> None:  # noqa: F811
    """A long one-line error is not hard-wrapped at 80 columns when stderr is not a terminal (CI, pipes)."""
    deep = isolated / ("x" * 60) / ("y" * 60) / "hybridkit.toml"
    result = runner.invoke(app, ["--config", str(deep), "profiles", "list"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and str(deep) in lines[0], result.stderr


def test_output_piped_into_head_exits_quietly_with_141(isolated: Path) -> None:  # noqa: F811
    """`hybridkit ... | head`: no BrokenPipeError traceback, no exit 1; 141 as for a process ended by SIGPIPE."""
    import subprocess
    import sys

    path = isolated / "j.sqlite"
    with Journal(path) as journal:  # a run long enough that its listing outgrows the pipe's buffer
        run_id = journal.start_run("hold", "fp", [PlannedStep(f"k{n}", f"mailbox{n}@contoso.com",
                                                              f"Set-Mailbox -Identity 'mailbox{n}'")
                                                  for n in range(6000)])
    proc = subprocess.Popen([sys.executable, "-m", "hybridkit", "journal", "show", run_id,
                             "--journal", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()  # what `head -1` reads, then it goes away
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, stderr
    assert stderr == ""
