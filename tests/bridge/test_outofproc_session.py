"""``OutOfProcSession`` (``hybridkit.ps._outofproc``) against ``hybridkit lab pwsh`` processes: through a running
lab's socket (``--ready-file``, the shared organisation, the app's PFX) and standalone (``--org demo``). Values
equal the WSMan path's, errors come per item, chunks are pipelines, a wrong certificate password or thumbprint is
an AuthError in the lab's words, and a dead process is replaced."""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hybridkit.config import lab_profile_from_ready, resolve_connection
from hybridkit.errors import AuthError, ConfigError, TransportError
from hybridkit.lab.exchange.engine import ExchangeEngine
from hybridkit.lab.server import LabOptions, LabServer
from hybridkit.lab.transport._audit import read_audit
from hybridkit.ps import Command, Connection, OnlineConnect, RetryPolicy, Secret, open_session
from hybridkit.ps._outofproc import OutOfProcSession

FAST_RETRY = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05, jitter=0.01, total_seconds=60)


def pwsh_connection(ready: Path, *, password: str | None = None, thumbprint: str = "",
                    **overrides: Any) -> Connection:
    """A ``process`` connection running ``hybridkit lab pwsh --ready-file ready`` with the lab's PFX."""
    info = json.loads(ready.read_text())
    online = OnlineConnect(info["online_app_id"], thumbprint, info["online_organization"])
    if not thumbprint:
        online = OnlineConnect(info["online_app_id"], "", info["online_organization"],
                               certificate_file=info["pwsh"]["certificate_file"],
                               certificate_password=Secret(password or info["pwsh"]["certificate_password"]))
    fields: dict[str, Any] = dict(
        profile_name="pwsh", kind="pwsh", server="", port=0, ssl=False, path="", configuration="", auth="",
        username=None, password=None, cert_validation=True, online=online,
        process=(sys.executable, "-m", "hybridkit", "lab", "pwsh", "--ready-file", str(ready)))
    fields.update(overrides)
    return Connection(**fields)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LabServer, Path]]:
    """A demo lab with a ready file (its out-of-process socket and PFX) and an audit file."""
    root = tmp_path_factory.mktemp("oop")
    ready = root / "ready.json"
    server = LabServer(LabOptions(port=0, org="demo", audit=root / "audit.jsonl", ready_file=ready)).start()
    try:
        yield server, ready
    finally:
        server.stop()


def _pipelines(server: LabServer, cmdlet: str) -> list[dict[str, Any]]:
    assert server.options.audit is not None
    return [r for r in read_audit(server.options.audit)
            if r.get("kind") == "pipeline" and cmdlet in r.get("cmdlets", [])]


def test_the_ready_file_names_the_socket_and_the_app_certificate(served: tuple[LabServer, Path]) -> None:
    server, ready = served
    pwsh = json.loads(ready.read_text())["pwsh"]
    assert set(pwsh) == {"socket", "certificate_file", "certificate_password"}
    assert Path(pwsh["socket"]).is_socket() and (Path(pwsh["socket"]).parent.stat().st_mode & 0o777) == 0o700
    assert Path(pwsh["certificate_file"]).parent == ready.parent
    assert Path(pwsh["certificate_file"]).stat().st_mode & 0o777 == 0o600


def test_mailboxes_through_pwsh_equal_the_wsman_path(served: tuple[LabServer, Path]) -> None:
    server, ready = served
    wsman = resolve_connection(lab_profile_from_ready("lab", json.loads(ready.read_text()), endpoint="online"))
    missing = Command.of("Get-Mailbox", Identity="nobody-here")
    with open_session(wsman) as session:
        expected = session.run(Command.of("Get-Mailbox", ResultSize="Unlimited")).output
        expected_error = session.run(missing).errors[0]
    with open_session(pwsh_connection(ready), retry=FAST_RETRY) as session:
        assert isinstance(session, OutOfProcSession) and session.name == "pwsh"
        got = session.run(Command.of("Get-Mailbox", ResultSize="Unlimited")).output
        error = session.run(missing).errors[0]
        info = session.run(Command.of("Get-ConnectionInformation")).output
        requests = session.request_count
    assert got == expected and len(got) > 3
    same = ("message", "category", "reason", "target", "exception_type")  # error_id carries a new RequestId each time
    assert [getattr(error, f) for f in same] == [getattr(expected_error, f) for f in same]
    assert "couldn't be found" in error.message and error.error_id.endswith("GetMailbox")
    first = got[0]
    assert first.type_names[0].endswith("Mailbox") and isinstance(first["Guid"], type(expected[0]["Guid"]))
    assert first["WhenCreated"].tzinfo is not None and isinstance(first["EmailAddresses"], list)
    assert info[0]["CertificateAuthentication"] is True and info[0]["State"] == "Connected"
    # Connect-ExchangeOnline ran first in the new runspace, with the certificate file, its password never logged.
    connects = _pipelines(server, "Connect-ExchangeOnline")
    assert any("CertificateFilePath" in json.dumps(c) for c in connects)
    assert json.loads(ready.read_text())["pwsh"]["certificate_password"] not in server.options.audit.read_text()
    assert 0 < requests < 40


def test_run_items_gives_each_item_its_outcome_in_chunks(served: tuple[LabServer, Path]) -> None:
    server, ready = served
    before = len(_pipelines(server, "Get-Mailbox"))
    with open_session(pwsh_connection(ready), retry=FAST_RETRY) as session:
        aliases = [o["Alias"] for o in session.run(Command.of("Get-Mailbox", ResultSize="Unlimited")).output][:4]
        items = aliases[:2] + ["nobody-here"] + aliases[2:]
        outcomes = session.run_items(Command.of("Get-Mailbox"), items, chunk_size=2)
        processes = session.processes_started
    assert [o.item for o in outcomes] == items
    assert [o.ok for o in outcomes] == [True, True, False, True, True]
    assert "nobody-here" in outcomes[2].message and "couldn't be found" in outcomes[2].message
    assert outcomes[0].output[0]["Alias"] == aliases[0]
    chunks = _pipelines(server, "Get-Mailbox")[before + 1:]
    assert sorted(c["input_count"] for c in chunks) == [1, 2, 2]  # one pipeline per chunk, chunks in parallel
    assert 1 <= processes <= 3  # one process per runspace pool, at most one per chunk


def test_a_wrong_certificate_password_is_an_auth_error_in_the_labs_words(served: tuple[LabServer, Path]) -> None:
    _, ready = served
    with pytest.raises(AuthError) as caught:
        open_session(pwsh_connection(ready, password="not-the-password"), retry=FAST_RETRY)
    assert "Connect-ExchangeOnline failed" in str(caught.value)
    assert "cannot be read with the provided password" in str(caught.value)


def test_a_standalone_lab_pwsh_refuses_an_unknown_thumbprint_and_takes_the_right_one(tmp_path: Path) -> None:
    app = ExchangeEngine.create(org="demo").online_app
    argv = (sys.executable, "-m", "hybridkit", "lab", "pwsh", "--org", "demo")
    ready = tmp_path / "ready.json"  # only for pwsh_connection's app values; the process ignores it
    ready.write_text(json.dumps({"online_app_id": app["app_id"], "online_organization": app["organization"],
                                 "pwsh": {}}))
    with pytest.raises(AuthError) as caught:
        open_session(pwsh_connection(ready, thumbprint="00" * 20, process=argv), retry=FAST_RETRY)
    assert f"No certificate with thumbprint '{'00' * 20}'" in str(caught.value)
    connection = pwsh_connection(ready, thumbprint=app["certificate_thumbprint"], process=argv)
    with open_session(connection, retry=FAST_RETRY) as session:
        domains = session.run(Command.of("Get-AcceptedDomain")).output
    assert any(str(d["DomainName"]).endswith("onmicrosoft.com") for d in domains)


def test_a_pipeline_after_the_process_died_runs_on_a_new_process(served: tuple[LabServer, Path]) -> None:
    _, ready = served
    with open_session(pwsh_connection(ready, max_shells=1), retry=FAST_RETRY) as session:
        assert isinstance(session, OutOfProcSession)
        session.run(Command.of("Get-AcceptedDomain"))
        (slot,) = session._all_slots
        slot.process.proc.kill()
        slot.process.proc.wait(5)
        again = session.run(Command.of("Get-AcceptedDomain")).output
        started = session.processes_started
    assert again and started == 2


def test_connect_with_a_certificate_file_works_over_wsman_too(served: tuple[LabServer, Path]) -> None:
    server, ready = served
    info = json.loads(ready.read_text())
    wsman = resolve_connection(lab_profile_from_ready("lab", info, endpoint="online"))
    with_file = OnlineConnect(info["online_app_id"], "", info["online_organization"],
                              certificate_file=info["pwsh"]["certificate_file"],
                              certificate_password=Secret(info["pwsh"]["certificate_password"]))
    with open_session(dataclasses.replace(wsman, online=with_file), retry=FAST_RETRY) as session:
        assert session.run(Command.of("Get-AcceptedDomain")).output
    last = _pipelines(server, "Connect-ExchangeOnline")[-1]
    assert last["outcome"] == "completed"
    assert dict(map(tuple, last["parameters"][0]))["CertificatePassword"] == "****"


def test_a_process_killed_while_its_pipeline_runs_is_retried_on_a_new_one(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    with LabServer(LabOptions(port=0, org="demo", latency_ms=150, ready_file=ready)):
        with open_session(pwsh_connection(ready, max_shells=1), retry=FAST_RETRY) as session:
            assert isinstance(session, OutOfProcSession)
            (slot,) = session._all_slots
            proc = slot.process.proc
            killer = threading.Timer(0.2, proc.kill)  # the Command/Data/ack exchange takes 150 ms per packet
            killer.start()
            result = session.run(Command.of("Get-AcceptedDomain"))
            killer.join()
            started = session.processes_started
    assert proc.returncode is not None and result.output and started == 2


def test_cancel_stops_run_items_between_chunks(served: tuple[LabServer, Path]) -> None:
    _, ready = served
    with open_session(pwsh_connection(ready, max_shells=1), retry=FAST_RETRY) as session:
        aliases = [o["Alias"] for o in session.run(Command.of("Get-Mailbox", ResultSize="Unlimited")).output]
        done: list[int] = []

        def progress(n: int) -> None:
            done.append(n)
            session.cancel()

        with pytest.raises(KeyboardInterrupt):
            session.run_items(Command.of("Get-Mailbox"), aliases, chunk_size=1, on_progress=progress)
        with pytest.raises(KeyboardInterrupt):
            session.run(Command.of("Get-AcceptedDomain"))
    assert done == [1]


def test_a_command_that_is_not_a_powershell_server_is_a_config_error(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    ready.write_text(json.dumps({"online_app_id": "a", "online_organization": "o", "pwsh": {}}))
    chatty = (sys.executable, "-c", "print('PowerShell 7.4.1'); import time; time.sleep(10)")
    with pytest.raises(ConfigError) as caught:
        open_session(pwsh_connection(ready, thumbprint="AB", process=chatty), retry=FAST_RETRY)
    assert "does not speak PowerShell's out-of-process transport" in str(caught.value)
    assert "not an out-of-process packet: 'PowerShell 7.4.1'" in str(caught.value)
    with pytest.raises(ConfigError, match="cannot start the PowerShell process 'no-such-pwsh-here'"):
        open_session(pwsh_connection(ready, thumbprint="AB", process=("no-such-pwsh-here", "-s")))


def test_a_process_that_exits_at_once_is_a_transport_error_with_its_last_words(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    ready.write_text(json.dumps({"online_app_id": "a", "online_organization": "o", "pwsh": {}}))
    reset = (sys.executable, "-c", "import sys; sys.stderr.write('Connection reset by 10.0.0.5 port 22\\n'); sys.exit(255)")
    with pytest.raises(TransportError) as caught:
        open_session(pwsh_connection(ready, thumbprint="AB", process=reset), retry=FAST_RETRY)
    assert "exited with code 255: Connection reset by 10.0.0.5 port 22" in str(caught.value)


@pytest.mark.parametrize(("said", "error", "words"), [
    ("Permission denied (publickey).", AuthError, "ssh refused the connection"),
    ("Host key verification failed.", AuthError, "ssh refused the connection"),
    ("subsystem request failed on channel 0", ConfigError, "no 'powershell' subsystem"),
])  # fmt: skip
def test_what_openssh_refuses_for_good_is_not_retried(tmp_path: Path, said: str, error: type, words: str) -> None:
    ready = tmp_path / "ready.json"
    ready.write_text(json.dumps({"online_app_id": "a", "online_organization": "o", "pwsh": {}}))
    starts = tmp_path / "starts"
    refused = (sys.executable, "-c", f"import sys; open({str(starts)!r}, 'a').write('x'); "
               f"sys.stderr.write({said + chr(10)!r}); sys.exit(255)")
    with pytest.raises(error) as caught:
        open_session(pwsh_connection(ready, thumbprint="AB", process=refused), retry=FAST_RETRY)
    assert words in str(caught.value) and said in str(caught.value)
    assert starts.read_text() == "x"  # one process: no retry
