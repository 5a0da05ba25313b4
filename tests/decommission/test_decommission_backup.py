"""The backup: merge on re-write, checksums, read-back verification, restore parameters per product."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest

from hybridkit.decommission._backup import read_backup, restore_parameters, verify_backup, write_backup
from hybridkit.decommission._model import HybridObject, Kind
from hybridkit.errors import InputError, PlanError

WHEN = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.timezone.utc)


def obj(side: str, kind: Kind, name: str, **props: object) -> HybridObject:
    return HybridObject(side, kind, name, tuple({"Name": name, **props}.items()))


def test_rewrites_merge_and_every_property_survives(tmp_path: Path) -> None:
    first = obj("online", Kind.INBOUND_CONNECTOR, "Inbound from x", SenderDomains=["smtp:*;1"], RequireTls=True,
                WhenCreated=WHEN, Guid=uuid.UUID(int=7), Comment=None)
    second = obj("onprem", Kind.SEND_CONNECTOR, "Outbound to Office 365 - x", AddressSpaces=["SMTP:a.b;1"], Port=25)
    write_backup(tmp_path, [(first, "Remove-InboundConnector -Identity 'Inbound from x' -Confirm:$false")])
    write_backup(tmp_path, [(second, "Remove-SendConnector ...")])
    back = {o.name: o for o in read_backup(tmp_path)}
    assert set(back) == {"Inbound from x", "Outbound to Office 365 - x"}
    assert back["Inbound from x"].as_dict() == {"Name": "Inbound from x", "SenderDomains": ["smtp:*;1"],
                                                "RequireTls": True, "WhenCreated": WHEN,
                                                "Guid": uuid.UUID(int=7), "Comment": None}
    verify_backup(tmp_path, [first, second])
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [e["kind"] for e in manifest["objects"]] == ["InboundConnector", "SendConnector"]


def test_verification_and_tampering(tmp_path: Path) -> None:
    one = obj("online", Kind.OUTBOUND_CONNECTOR, "Outbound to x", UseMXRecord=False)
    write_backup(tmp_path, [(one, "Remove-OutboundConnector")])
    with pytest.raises(PlanError, match="missing"):
        verify_backup(tmp_path, [one, obj("online", Kind.INBOUND_CONNECTOR, "Inbound from x")])
    with pytest.raises(PlanError, match="reads back different"):
        verify_backup(tmp_path, [obj("online", Kind.OUTBOUND_CONNECTOR, "Outbound to x", UseMXRecord=True)])
    (tmp_path / json.loads((tmp_path / "manifest.json").read_text())["objects"][0]["file"]).write_text("{}")
    with pytest.raises(InputError, match="checksum"):
        read_backup(tmp_path)
    with pytest.raises(InputError, match="manifest.json missing"):
        read_backup(tmp_path / "nowhere")


def test_restore_parameters_follow_side_and_version() -> None:
    send = obj("onprem", Kind.SEND_CONNECTOR, "S", AddressSpaces=["SMTP:*;1"], SmartHosts=["eop.example.com"],
               CloudServicesMailEnabled=True, ConnectorType="Default", TlsAuthLevel=None, RequireTLS=True)
    assert restore_parameters(send, "2019") == (
        ("Name", "S"), ("AddressSpaces", ["SMTP:*;1"]), ("SmartHosts", ["eop.example.com"]),
        ("DNSRoutingEnabled", False), ("CloudServicesMailEnabled", True), ("RequireTLS", True),
        ("ConnectorType", "Default"))
    names_2010 = [k for k, _ in restore_parameters(send, "2010")]
    assert "CloudServicesMailEnabled" not in names_2010 and "ConnectorType" not in names_2010
    ioc = obj("onprem", Kind.INTRA_ORGANIZATION_CONNECTOR, "HybridIOC - x", DiscoveryEndpoint="https://a/b",
              TargetAddressDomains=["c.com"], TargetSharingEpr="https://t", Enabled=True)
    assert "TargetSharingEpr" not in dict(restore_parameters(ioc))
    online_ioc = HybridObject("online", ioc.kind, ioc.name, ioc.properties)
    assert dict(restore_parameters(online_ioc))["TargetSharingEpr"] == "https://t"
    rel = obj("online", Kind.ORGANIZATION_RELATIONSHIP, "R", DomainNames=["c.com"], FreeBusyAccessLevel="None",
              MailboxMoveCapability="RemoteOutbound, RemoteInbound")
    assert dict(restore_parameters(rel)) == {"Name": "R", "DomainNames": ["c.com"],
                                             "MailboxMoveCapability": "RemoteOutbound, RemoteInbound"}


def test_restore_gives_sizes_back_as_exact_bytes() -> None:
    """Get-SendConnector shows MaxMessageSize as '35 MB (36,700,160 bytes)'; New-SendConnector gets the bytes."""
    send = obj("onprem", Kind.SEND_CONNECTOR, "S", AddressSpaces=["SMTP:*;1"], MaxMessageSize="35 MB (36,700,160 bytes)",
               ForceHELO=True, ProtocolLoggingLevel="Verbose")
    params = dict(restore_parameters(send, "2019"))
    assert params["MaxMessageSize"] == "36700160B"
    assert params["ForceHELO"] is True and params["ProtocolLoggingLevel"] == "Verbose"


def test_datetime_guid_and_list_values_round_trip_into_the_restore_command(tmp_path: Path) -> None:
    """Issue 13: Exchange sends DateTime, Guid and lists; the backup keeps their kinds and restore sends them back."""
    from hybridkit.decommission._backup import restore_set_parameters
    from hybridkit.ps import Command, PSObject

    stamp = dt.datetime(2026, 11, 28, 7, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    out = obj("online", Kind.OUTBOUND_CONNECTOR, "Outbound to x", UseMXRecord=False, SmartHosts=["mail.contoso.com"],
              ValidationRecipients=["postmaster@contoso.com"], IsValidated=True, LastValidationTimestamp=stamp,
              Guid=uuid.UUID(int=9), RecipientDomains=[])
    send = obj("onprem", Kind.SEND_CONNECTOR, "S", AddressSpaces=["SMTP:*;1"],
               ConnectionInactivityTimeOut="PT1H10M5S",  # a TimeSpan as pypsrp reads <TS>
               SourceIPAddress=PSObject(["Deserialized.System.Net.IPAddress"], {"Address": 0}, "0.0.0.0"))
    write_backup(tmp_path, [(out, "Remove-OutboundConnector"), (send, "Remove-SendConnector")])
    back = {o.name: o for o in read_backup(tmp_path)}
    restored = back["Outbound to x"]
    assert restored.get("LastValidationTimestamp") == stamp and isinstance(restored.get("Guid"), uuid.UUID)
    assert restored.get("ValidationRecipients") == ["postmaster@contoso.com"]  # a list of one stays a list
    verify_backup(tmp_path, [out, send])
    set_params = dict(restore_set_parameters(restored))
    assert set_params["LastValidationTimestamp"] == stamp
    rendered = Command("Set-OutboundConnector", (("Identity", "Outbound to x"), *restore_set_parameters(restored)))
    assert rendered.render() == ("Set-OutboundConnector -Identity 'Outbound to x' -ValidationRecipients "
                                 "@('postmaster@contoso.com') -IsValidated:$true "
                                 "-LastValidationTimestamp '2026-11-28T06:30:15Z'")
    new = dict(restore_parameters(back["S"]))
    assert new["ConnectionInactivityTimeOut"] == "01:10:05" and new["SourceIPAddress"] == "0.0.0.0"
    assert dict(restore_parameters(restored))["SmartHosts"] == ["mail.contoso.com"]
