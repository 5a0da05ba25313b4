"""HTTPS with a lab-generated CA, and NTLM/SPNEGO with WinRM message encryption, against plain pypsrp."""

from __future__ import annotations

import os
import stat
from typing import Any

import pytest
import requests
from pypsrp.exceptions import AuthenticationError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from hybridkit.lab.transport import _auth
from tests.lab.fake_engine import FakeEngine


def _get_thing(handle: Any, **wsman: Any) -> list[Any]:
    with RunspacePool(WSMan(**handle.wsman_kwargs(**wsman)), configuration_name="Microsoft.Exchange") as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing").add_parameter("Identity", "alice")
        out = ps.invoke()
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing")
        out += ps.invoke(["bob", "bad-carol"])
        assert [str(e) for e in ps.streams.error] == [
            "The operation couldn't be performed because object 'bad-carol' couldn't be found on 'DC01.contoso.local'."
        ]
        return out


def test_https_validates_against_the_lab_ca(lab_factory: Any) -> None:
    handle = lab_factory(engine=FakeEngine(), tls=True)
    assert handle.ca_path and os.path.exists(handle.ca_path)
    assert handle.onprem_url.startswith("https://127.0.0.1:")
    out = _get_thing(handle)
    assert [o.to_string for o in out] == ["alice", "bob"]
    # Also by host name (SAN localhost), and the CA really is what makes validation pass.
    assert requests.post(handle.onprem_url.replace("127.0.0.1", "localhost"), verify=handle.ca_path).status_code == 401
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(handle.onprem_url, verify=True)


@pytest.mark.parametrize("auth", ["ntlm", "negotiate"])
def test_ntlm_with_message_encryption(lab_factory: Any, auth: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sealed: list[int] = []
    unsealed: list[int] = []
    original_wrap, original_unwrap = _auth.NegotiateContext.wrap, _auth.NegotiateContext.unwrap

    def wrap(self: Any, message: bytes) -> Any:
        sealed.append(len(message))
        return original_wrap(self, message)

    def unwrap(self: Any, body: bytes, content_type: str) -> bytes:
        unsealed.append(len(body))
        return original_unwrap(self, body, content_type)

    monkeypatch.setattr(_auth.NegotiateContext, "wrap", wrap)
    monkeypatch.setattr(_auth.NegotiateContext, "unwrap", unwrap)
    handle = lab_factory(engine=FakeEngine(), auth="ntlm")
    user_file = os.environ["NTLM_USER_FILE"]
    assert stat.S_IMODE(os.stat(user_file).st_mode) == 0o600
    out = _get_thing(handle, auth=auth)
    assert [o.to_string for o in out] == ["alice", "bob"]
    requests_served = [r for r in handle.audit_records("request")]
    # Every WSMan request arrived sealed and every answer left sealed.
    assert len(unsealed) == len(requests_served) == len(sealed) > 5
    handle.server.stop()
    assert not os.path.exists(user_file)


def test_ntlm_refuses_plaintext_and_bad_passwords(lab_factory: Any) -> None:
    handle = lab_factory(engine=FakeEngine(), auth="ntlm")
    plain = RunspacePool(WSMan(**handle.wsman_kwargs(encryption="never")), configuration_name="Microsoft.Exchange")
    with pytest.raises(AuthenticationError):
        plain.open()
    wrong = RunspacePool(WSMan(**handle.wsman_kwargs(password="wrong")), configuration_name="Microsoft.Exchange")
    with pytest.raises(AuthenticationError):
        wrong.open()
    first = requests.post(handle.onprem_url, data=b"")
    assert first.status_code == 401 and first.headers["WWW-Authenticate"] == "Negotiate"


def test_ntlm_over_https(lab_factory: Any) -> None:
    handle = lab_factory(engine=FakeEngine(), auth="ntlm", tls=True)
    out = _get_thing(handle, auth="ntlm")
    assert [o.to_string for o in out] == ["alice", "bob"]


def test_ntlm_faults_arrive_sealed_and_parse(lab_factory: Any) -> None:
    from pypsrp.exceptions import WinRMTransportError, WSManFaultError

    handle = lab_factory(engine=FakeEngine(), auth="ntlm", max_shells=1)
    first = RunspacePool(WSMan(**handle.wsman_kwargs()), configuration_name="Microsoft.Exchange")
    first.open()
    with pytest.raises(WSManFaultError) as info:
        RunspacePool(WSMan(**handle.wsman_kwargs()), configuration_name="Microsoft.Exchange").open()
    assert "maximum number of connections allowed : 1 for the policy party : MaxConcurrency" in info.value.reason
    first.close()
    busy = lab_factory(engine=FakeEngine(), auth="ntlm", fault_rate=1.0, fault_kinds=("busy",))
    with pytest.raises(WinRMTransportError) as busy_info:
        RunspacePool(WSMan(**busy.wsman_kwargs()), configuration_name="Microsoft.Exchange").open()
    assert busy_info.value.code == 503
