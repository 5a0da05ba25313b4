"""The lab's mail-flow cmdlets: catalogue binding plus the prose rules of facts.md 5-7 and the field notes."""

from __future__ import annotations

import pytest

from hybridkit.lab.exchange.catalogue import BindingError
from hybridkit.lab.exchange.cmdlets.connectors import hcw_guid, seed_hybrid_mail_flow
from tests.mailflow._mfkit import make_org, run

EXO_HOST = "contoso-com.mail.protection.outlook.com"


def test_seed_connector_is_accepted_as_written_and_turns_dns_routing_off() -> None:
    org = make_org("2016")
    sink = run(org, "onprem", "New-SendConnector", Name="My company to Office 365", AddressSpaces="*",
               CloudServicesMailEnabled=True, RequireTLS=True, SmartHosts=EXO_HOST, TlsAuthLevel="CertificateValidation")
    assert sink.errors == []
    obj = sink.out[0]
    assert obj.type_names[0] == "Microsoft.Exchange.Data.Directory.SystemConfiguration.SmtpSendConnectorConfig"
    assert obj.get("DNSRoutingEnabled") is False
    assert obj.get("AddressSpaces") == ["SMTP:*;1"]
    assert obj.get("SmartHosts") == [EXO_HOST]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"SmartHosts": EXO_HOST, "DNSRoutingEnabled": True}, "DNSRoutingEnabled parameter must be $false"),
        ({"DNSRoutingEnabled": False}, "SmartHosts parameter is required"),
        ({"TlsAuthLevel": "CertificateValidation"}, "RequireTLS parameter is set to $false"),
        ({"TlsAuthLevel": "EncryptionOnly", "RequireTLS": True, "IgnoreSTARTTLS": True}, "IgnoreSTARTTLS"),
        ({"TlsAuthLevel": "DomainValidation", "RequireTLS": True}, "TlsDomain is required"),
    ],
)
def test_send_connector_rules(params: dict, fragment: str) -> None:
    org = make_org()
    sink = run(org, "onprem", "New-SendConnector", Name="x", AddressSpaces="*", **params)
    assert any(fragment in e.message for e in sink.errors), [e.message for e in sink.errors]
    assert org.onprem.collection("SendConnector") == {}


def test_cloud_services_mail_needs_2013() -> None:
    with pytest.raises(BindingError, match="CloudServicesMailEnabled"):
        run(make_org("2010"), "onprem", "New-SendConnector", Name="x", AddressSpaces="*", CloudServicesMailEnabled=True)
    assert run(make_org("2013"), "onprem", "New-SendConnector", Name="x", AddressSpaces="*",
               CloudServicesMailEnabled=True).errors == []


def test_connectors_exist_only_on_their_side() -> None:
    with pytest.raises(LookupError):
        run(make_org(), "onprem", "New-InboundConnector", Name="x", SenderDomains="*")
    with pytest.raises(LookupError):
        run(make_org(), "online", "New-SendConnector", Name="x", AddressSpaces="*")
    with pytest.raises(LookupError):
        run(make_org(), "online", "New-AcceptedDomain", Name="x", DomainName="x.com")


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"SenderIPAddresses": ["2001:db8::1"]}, "IPv6"),
        ({"SenderIPAddresses": ["10.0.0.0/16"]}, "/24 to /32"),
        ({"TreatMessagesAsInternal": True, "ConnectorType": "Partner"}, "only when ConnectorType is OnPremises"),
        ({"TreatMessagesAsInternal": True, "ConnectorType": "OnPremises", "CloudServicesMailEnabled": True},
         "CloudServicesMailEnabled"),
        ({"RestrictDomainsToCertificate": True}, "TlsSenderCertificateName"),
        ({"RestrictDomainsToIPAddresses": True}, "SenderIPAddresses must be specified"),
    ],
)
def test_inbound_connector_rules(params: dict, fragment: str) -> None:
    org = make_org()
    sink = run(org, "online", "New-InboundConnector", Name="in", SenderDomains="*", **params)
    assert any(fragment in e.message for e in sink.errors), [e.message for e in sink.errors]
    assert org.online.collection("InboundConnector") == {}


def test_inbound_connector_lifecycle_and_duplicates() -> None:
    org = make_org()
    ok = run(org, "online", "New-InboundConnector", Name="in", SenderDomains="*", ConnectorType="OnPremises",
             SenderIPAddresses=["203.0.113.25", "198.51.100.0/24"], RestrictDomainsToIPAddresses=True)
    assert ok.errors == [] and ok.out[0].get("ConnectorType") == "OnPremises"
    dup = run(org, "online", "New-InboundConnector", Name="IN", SenderDomains="*")
    assert dup.errors and "already exists" in dup.errors[0].message
    # Set checks the object as it would be after the change: dropping the IPs breaks RestrictDomainsToIPAddresses.
    bad = run(org, "online", "Set-InboundConnector", Identity="in", SenderIPAddresses=[])
    assert bad.errors and org.online.collection("InboundConnector")["in"]["SenderIPAddresses"]
    assert run(org, "online", "Set-InboundConnector", Identity="in", RequireTls=False).errors == []
    assert run(org, "online", "Get-InboundConnector", Identity="in").out[0].get("RequireTls") is False
    assert run(org, "online", "Remove-InboundConnector", Identity="in").errors == []
    missing = run(org, "online", "Remove-InboundConnector", Identity="in")
    assert missing.errors[0].reason == "ManagementObjectNotFoundException"


def test_outbound_connector_rules() -> None:
    org = make_org()
    assert "SmartHosts must be specified" in run(org, "online", "New-OutboundConnector", Name="o",
                                                   UseMXRecord=False).errors[0].message
    assert "OnPremises" in run(org, "online", "New-OutboundConnector", Name="o",
                               RouteAllMessagesViaOnPremises=True).errors[0].message
    ok = run(org, "online", "New-OutboundConnector", Name="o", ConnectorType="OnPremises", UseMXRecord=False,
             SmartHosts="mail.contoso.com", RecipientDomains="contoso.com")
    assert ok.errors == []
    assert ok.out[0].type_names[0].endswith("TenantOutboundConnector")


def test_accepted_domains() -> None:
    org = make_org()
    org.onprem.collection("AcceptedDomain")["contoso.com"] = {"Name": "contoso.com", "DomainName": "contoso.com",
                                                              "DomainType": "Authoritative", "Default": True}
    made = run(org, "onprem", "New-AcceptedDomain", Name="Fabrikam", DomainName="fabrikam.com",
               DomainType="InternalRelay")
    assert made.errors == [] and made.out[0].get("DomainType") == "InternalRelay"
    assert "already exists" in run(org, "onprem", "New-AcceptedDomain", Name="F2", DomainName="FABRIKAM.com").errors[0].message
    assert run(org, "onprem", "New-AcceptedDomain", Name="bad", DomainName="a*b.com").errors
    assert run(org, "onprem", "Set-AcceptedDomain", Identity="fabrikam.com", DomainType="Authoritative").errors == []
    assert org.onprem.collection("AcceptedDomain")["Fabrikam"]["DomainType"] == "Authoritative"
    assert "can't be removed" in run(org, "onprem", "Remove-AcceptedDomain", Identity="contoso.com").errors[0].message
    assert run(org, "onprem", "Remove-AcceptedDomain", Identity="Fabrikam").errors == []
    assert set(org.onprem.collection("AcceptedDomain")) == {"contoso.com"}


def test_demo_seed_has_the_hcw_objects() -> None:
    org = make_org()
    seed_hybrid_mail_flow(org)
    guid = hcw_guid(org)
    assert f"Inbound from {guid}" in org.online.collection("InboundConnector")
    assert f"Outbound to {guid}" in org.online.collection("OutboundConnector")
    assert f"Outbound to Office 365 - {guid}" in org.onprem.collection("SendConnector")
    got = run(org, "onprem", "Get-ReceiveConnector", Server="EX01")
    assert got.out and "AcceptCloudServicesMail" in got.out[0].get("TlsDomainCapabilities")[0]
    listed = run(org, "online", "Get-InboundConnector")
    assert [o.get("ConnectorSource") for o in listed.out] == ["HybridWizard"]


def test_rename_guid_identity_and_piped_objects() -> None:
    org = make_org()
    made = run(org, "online", "New-OutboundConnector", Name="o", ConnectorType="OnPremises", UseMXRecord=False,
               SmartHosts="mail.contoso.com")
    guid = str(made.out[0].get("Guid"))
    assert run(org, "online", "Set-OutboundConnector", Identity=guid, Name="renamed").errors == []
    assert list(org.online.collection("OutboundConnector")) == ["renamed"]
    got = run(org, "online", "Get-OutboundConnector", Identity="RENAMED").out[0]
    assert got.get("Identity") == "renamed" and got.to_string == "renamed"
    # what `Get-OutboundConnector | Remove-OutboundConnector` binds: the object itself
    assert run(org, "online", "Remove-OutboundConnector", Identity=got).errors == []
    assert org.online.collection("OutboundConnector") == {}


def test_what_if_changes_nothing() -> None:
    org = make_org()
    sink = run(org, "onprem", "New-SendConnector", Name="x", AddressSpaces="*", WhatIf=True)
    assert sink.errors == [] and sink.out == [] and org.onprem.collection("SendConnector") == {}


def test_values_read_back_as_exchange_shows_them() -> None:
    """Get-InboundConnector shows SenderDomains as ``smtp:domain;1``; sizes as ``50 MB (52,428,800 bytes)``."""
    org = make_org()
    inbound = run(org, "online", "New-InboundConnector", Name="in", ConnectorType="OnPremises",
                  SenderDomains=["*", "contoso.com", "smtp:fabrikam.com;2"])
    assert inbound.errors == []
    assert inbound.out[0].get("SenderDomains") == ["smtp:*;1", "smtp:contoso.com;1", "smtp:fabrikam.com;2"]
    send = run(org, "onprem", "New-SendConnector", Name="s", AddressSpaces="*", SmartHosts=EXO_HOST,
               MaxMessageSize="50MB")
    assert send.errors == [] and send.out[0].get("MaxMessageSize") == "50 MB (52,428,800 bytes)"
    again = run(org, "onprem", "Set-SendConnector", Identity="s", MaxMessageSize="36700160B")
    assert again.errors == []
    assert run(org, "onprem", "Get-SendConnector", Identity="s").out[0].get("MaxMessageSize") == \
        "35 MB (36,700,160 bytes)"


def test_source_transport_servers_must_exist() -> None:
    """New-/Set-SendConnector -SourceTransportServers naming no server fails as Exchange does, nothing saved."""
    org = make_org()
    org.onprem.collection("ExchangeServer")["EX01"] = {"Name": "EX01"}
    bad = run(org, "onprem", "New-SendConnector", Name="s", AddressSpaces="*", SmartHosts=EXO_HOST,
              SourceTransportServers=["EX99"])
    assert [e.message for e in bad.errors] == [
        "The operation couldn't be performed because object 'EX99' couldn't be found on 'DC01.contoso.local'."]
    assert org.onprem.collection("SendConnector") == {}
    good = run(org, "onprem", "New-SendConnector", Name="s", AddressSpaces="*", SmartHosts=EXO_HOST,
               SourceTransportServers=["ex01"])
    assert good.errors == []
    moved = run(org, "onprem", "Set-SendConnector", Identity="s", SourceTransportServers=["EX98"])
    assert moved.errors and org.onprem.collection("SendConnector")["s"]["SourceTransportServers"] == ["ex01"]


@pytest.mark.parametrize(("host", "ok"), [("mail.contoso.com", True), ("EX01", True), ("10.0.0.1", True),
                                          ("[10.0.0.1]", True), ("bad host!", False), ("-bad.com", False),
                                          ("[mail.contoso.com]", False)])
def test_smart_hosts_must_be_host_names_or_ip_addresses(host: str, ok: bool) -> None:
    org = make_org()
    send = run(org, "onprem", "New-SendConnector", Name="s", AddressSpaces="*", SmartHosts=[host])
    outbound = run(org, "online", "New-OutboundConnector", Name="o", UseMXRecord=False, SmartHosts=[host])
    for sink in (send, outbound):
        assert (sink.errors == []) is ok, [e.message for e in sink.errors]
        assert ok or f"The value '{host}' of SmartHosts isn't valid" in sink.errors[0].message
    assert bool(org.onprem.collection("SendConnector")) is ok and bool(org.online.collection("OutboundConnector")) is ok
