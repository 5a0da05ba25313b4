"""``OutOfProcSession`` (``hybridkit.ps._outofproc``) against ``hybridkit lab pwsh`` processes: through a running
lab's socket (``--ready-file``, the shared organisation, the app's PFX) and standalone (``--org demo``). Values
equal the WSMan path's, errors come per item, chunks are pipelines, a wrong certificate password or thumbprint is
an AuthError in the lab's words, and a dead process is replaced."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hybridkit.config import lab_profile_from_ready, resolve_connection
from hybridkit.errors import AuthError
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
    with open_session(wsman) as session:
        expected = session.run(Command.of("Get-Mailbox", ResultSize="Unlimited")).output
    with open_session(pwsh_connection(ready), retry=FAST_RETRY) as session:
        assert isinstance(session, OutOfProcSession) and session.name == "pwsh"
        got = session.run(Command.of("Get-Mailbox", ResultSize="Unlimited")).output
        info = session.run(Command.of("Get-ConnectionInformation")).output
        requests = session.request_count
    assert got == expected and len(got) > 3
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
