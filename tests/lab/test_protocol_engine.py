"""A plain pypsrp client against the lab with the real Exchange engine: Exchange-shaped objects on every transport."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

_SIZE = re.compile(r"^(Unlimited|[\d.]+ [KMGT]?B \([\d,]+ bytes\))$")


def _mailboxes(handle: Any, endpoint: str = "onprem", **wsman: Any) -> tuple[list[Any], PowerShell]:
    configuration = "Microsoft.Exchange" if endpoint == "onprem" else "Microsoft.PowerShell"
    with RunspacePool(WSMan(**handle.wsman_kwargs(endpoint, **wsman)), configuration_name=configuration) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Mailbox").add_parameter("ResultSize", 5)
        return ps.invoke(), ps


def _assert_exchange_mailbox(mailbox: Any) -> None:
    assert mailbox.types[0] == "Microsoft.Exchange.Data.Directory.Management.Mailbox"
    props = mailbox.adapted_properties
    assert isinstance(props["Guid"], uuid.UUID) and isinstance(props["ExchangeGuid"], uuid.UUID)
    assert props["RecipientTypeDetails"].endswith("Mailbox")
    assert isinstance(props["EmailAddresses"], list)
    assert any(a.startswith("SMTP:") for a in props["EmailAddresses"])
    assert _SIZE.match(props["RecoverableItemsQuota"])
    assert mailbox.to_string == props["Identity"]


def test_get_mailbox_over_http_basic(lab: Any) -> None:
    output, ps = _mailboxes(lab)
    assert len(output) == 5 and not ps.streams.error
    for mailbox in output:
        _assert_exchange_mailbox(mailbox)


def test_identities_through_one_pipeline_with_a_bad_item(lab: Any) -> None:
    with RunspacePool(WSMan(**lab.wsman_kwargs()), configuration_name="Microsoft.Exchange") as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Mailbox").add_parameter("ResultSize", 20)
        ids = [m.adapted_properties["PrimarySmtpAddress"] for m in ps.invoke()]
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Mailbox")
        output = ps.invoke(ids[:10] + ["nobody@nowhere.example"] + ids[10:])
    assert [m.adapted_properties["PrimarySmtpAddress"] for m in output] == ids
    assert len(ps.streams.error) == 1
    assert "couldn't be found" in str(ps.streams.error[0])
    pipeline = lab.audit_records("pipeline")[-1]
    assert pipeline["cmdlets"] == ["Get-Mailbox"] and pipeline["input_count"] == 21


def test_scripts_and_unknown_parameters_are_refused_on_prem(lab: Any) -> None:
    with RunspacePool(WSMan(**lab.wsman_kwargs()), configuration_name="Microsoft.Exchange") as pool:
        ps = PowerShell(pool)
        ps.add_script("Get-Mailbox | Remove-Mailbox")
        ps.invoke()
        assert ps.had_errors and "no-language mode" in str(ps.streams.error[0])
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Mailbox").add_parameter("NoSuchParameter", 1)
        ps.invoke()
        assert ps.had_errors
        assert str(ps.streams.error[0]) == "A parameter cannot be found that matches parameter name 'NoSuchParameter'."


def test_get_mailbox_over_https_and_ntlm(lab_factory: Any) -> None:
    for options in ({"tls": True}, {"auth": "ntlm"}):
        handle = lab_factory(org="demo", **options)
        output, ps = _mailboxes(handle)
        assert len(output) == 5 and not ps.streams.error
        _assert_exchange_mailbox(output[0])


def test_online_jump_host_needs_connect_exchangeonline(lab: Any) -> None:
    with RunspacePool(WSMan(**lab.wsman_kwargs("online")), configuration_name="Microsoft.PowerShell") as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Mailbox")
        ps.invoke()
        assert ps.had_errors and "is not recognized" in str(ps.streams.error[0])
        ps = PowerShell(pool)
        ps.add_cmdlet("Connect-ExchangeOnline").add_parameter("AppId", lab.online_app_id)
        ps.add_parameter("CertificateThumbprint", lab.online_certificate_thumbprint)
        ps.add_parameter("Organization", lab.online_organization).add_parameter("ShowBanner", False)
        ps.invoke()
        assert not ps.had_errors, [str(e) for e in ps.streams.error]
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Mailbox").add_parameter("ResultSize", 2)
        output = ps.invoke()
        assert len(output) == 2 and not ps.had_errors


def test_a_script_block_sent_over_the_wire_is_refused_in_no_language_mode(lab: Any) -> None:
    from pypsrp.serializer import TaggedValue

    with RunspacePool(WSMan(**lab.wsman_kwargs()), configuration_name="Microsoft.Exchange") as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Mailbox").add_parameter("ResultSize", 2)
        ps.add_cmdlet("Select-Object").add_parameter("Property", TaggedValue("SBK", "$_.Name"))
        output = ps.invoke()
        assert ps.had_errors and not output
        assert any("no-language mode" in str(e) for e in ps.streams.error)
        names = PowerShell(pool)
        names.add_cmdlet("Get-Mailbox").add_parameter("ResultSize", 2)
        names.add_cmdlet("Select-Object").add_parameter("Property", ["Name"])  # the restricted proxy's set
        selected = names.invoke()
    assert len(selected) == 2 and not names.had_errors
    assert selected[0].types[0].startswith("Selected.")


def test_a_null_argument_clears_a_value_and_a_bare_switch_is_on(lab_factory: Any) -> None:
    # On the wire `-TlsAuthLevel $null` and a bare `-RequireTLS`-style switch are both a parameter with a Nil value;
    # PowerShell's binder tells them apart by the parameter's type, and so must the lab.
    handle = lab_factory(org="demo")
    connectors = handle.server.engine.org.onprem.collection("SendConnector")
    name = next(iter(connectors))
    assert connectors[name]["RequireTLS"] is True and connectors[name]["TlsAuthLevel"]
    with RunspacePool(WSMan(**handle.wsman_kwargs()), configuration_name="Microsoft.Exchange") as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Set-SendConnector").add_parameter("Identity", name).add_parameter("TlsAuthLevel", None)
        ps.add_parameter("WhatIf")  # a bare switch: on
        ps.invoke()
        assert not ps.streams.error and not ps.had_errors
        assert connectors[name]["TlsAuthLevel"]  # -WhatIf changed nothing
        ps = PowerShell(pool)
        ps.add_cmdlet("Set-SendConnector").add_parameter("Identity", name).add_parameter("TlsAuthLevel", None)
        ps.invoke()
        assert not ps.streams.error and not ps.had_errors, [str(e) for e in ps.streams.error]
    assert connectors[name]["TlsAuthLevel"] is None and connectors[name]["RequireTLS"] is True
