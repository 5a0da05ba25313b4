"""Every validation rule of mailflow.toml, each reported at the line it comes from."""

from __future__ import annotations

import textwrap

import pytest

from hybridkit.mailflow._read import MailflowConfigError, parse_spec
from hybridkit.mailflow._model import Kind
from hybridkit.mailflow._scaffold import SCENARIOS


def issues(text: str, version: str | None = None) -> list[tuple[int, str]]:
    with pytest.raises(MailflowConfigError) as info:
        parse_spec(textwrap.dedent(text).lstrip("\n"), "mf.toml", onprem_version=version)
    return [(i.line, i.message) for i in info.value.issues]


def only(text: str, version: str | None = None) -> tuple[int, str]:
    found = issues(text, version)
    assert len(found) == 1, found
    return found[0]


SEND = """
[[onprem.send_connector]]
Name = "To EXO"
AddressSpaces = ["*"]
"""
INBOUND = """
[[online.inbound_connector]]
Name = "From relay"
SenderDomains = ["*"]
"""


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scaffolds_are_valid(scenario: str) -> None:
    spec = parse_spec(SCENARIOS[scenario])
    assert spec.objects and all(o.line > 0 for o in spec.objects)


def test_toml_syntax_error_has_its_line() -> None:
    assert only('[onprem]\nexchange_version = "2019"\nbroken = [\n')[0] in (3, 4)


def test_unknown_table_and_keys_with_hints() -> None:
    found = issues("""
        [onprem]
        exchange_versoin = "2019"

        [[online.inbound_conector]]
        Name = "x"

        [[onprem.send_connector]]
        Name = "To EXO"
        AddressSpaces = ["*"]
        SmartHost = ["a.example.com"]

        [extra]
        """)
    assert (2, "unknown key 'exchange_versoin' in [onprem] (did you mean 'exchange_version'?)") in found
    assert (4, "unknown key 'inbound_conector' in [online] (did you mean 'inbound_connector'?)") in found
    assert (10, "unknown key 'SmartHost' in [[onprem.send_connector]] (did you mean 'SmartHosts'?)") in found
    assert any(line == 12 and "unknown table [extra]" in msg for line, msg in found)


def test_types_enums_and_mandatory_keys() -> None:
    found = issues("""
        [[onprem.send_connector]]
        Name = "To EXO"
        RequireTLS = "yes"
        TlsAuthLevel = "Strong"
        Port = "25"

        [[online.inbound_connector]]
        Name = "x"
        """)
    assert (1, "[[onprem.send_connector]] needs AddressSpaces") in found
    assert (3, "RequireTLS must be true or false") in found
    assert any(line == 4 and "TlsAuthLevel must be one of" in msg for line, msg in found)
    assert (5, "Port must be a whole number") in found
    assert (7, "[[online.inbound_connector]] needs SenderDomains") in found


def test_keys_are_case_insensitive_and_canonicalised() -> None:
    spec = parse_spec('[[onprem.send_connector]]\nname = "x"\naddressspaces = "*"\nrequiretls = true\n')
    assert spec.objects[0].properties == (("Name", "x"), ("AddressSpaces", ["*"]), ("RequireTLS", True))


def test_sender_ip_rules_point_at_the_element_line() -> None:
    found = issues(INBOUND + """
        SenderIPAddresses = [
          "203.0.113.25",
          "10.0.0.0/23",
          "2001:db8::25",
          "300.1.1.1",
        ]
        """.replace("        ", ""))
    assert (7, "SenderIPAddresses: '10.0.0.0/23': CIDR ranges must be /24 to /32") in found
    assert (8, "SenderIPAddresses: '2001:db8::25' is IPv6; SenderIPAddresses takes IPv4 addresses only") in found
    assert (9, "SenderIPAddresses: '300.1.1.1' is not an IP address or CIDR range") in found
    assert len(found) == 3


def test_smart_host_and_domain_syntax() -> None:
    found = issues(SEND + 'SmartHosts = ["exo_host.outlook.com", "[10.0.0.5]", "relay.contoso.com"]\n'
                   + 'TlsDomain = "bad domain"\n')
    assert (4, "SmartHosts: 'exo_host.outlook.com' is not a valid smart host (a fully qualified host name or an IP address)") in found
    assert any(line == 5 and "TlsDomain" in msg for line, msg in found)
    assert len(found) == 2


@pytest.mark.parametrize(
    ("extra", "line", "message"),
    [
        ('TlsAuthLevel = "CertificateValidation"\n', 4, "TlsAuthLevel needs RequireTLS = true"),
        ('RequireTLS = true\nIgnoreSTARTTLS = true\nTlsAuthLevel = "EncryptionOnly"\n', 6,
         "TlsAuthLevel can't be set when IgnoreSTARTTLS = true"),
        ('SmartHosts = ["a.example.com"]\nDNSRoutingEnabled = true\n', 5, "SmartHosts need DNSRoutingEnabled = false"),
        ("DNSRoutingEnabled = false\n", 4, "DNSRoutingEnabled = false needs SmartHosts"),
        ('RequireTLS = true\nTlsAuthLevel = "DomainValidation"\n', 5, "TlsAuthLevel DomainValidation needs TlsDomain"),
    ],
)
def test_send_connector_cross_rules(extra: str, line: int, message: str) -> None:
    found_line, found_message = only(SEND + extra)
    assert found_line == line and found_message.startswith(message)


def test_smart_hosts_without_dns_routing_key_are_fine() -> None:
    spec = parse_spec(SEND + 'SmartHosts = ["contoso-com.mail.protection.outlook.com"]\nRequireTLS = true\n'
                      'TlsAuthLevel = "CertificateValidation"\n')
    assert spec.objects[0].get("SmartHosts") == ["contoso-com.mail.protection.outlook.com"]


def test_version_dependent_parameters() -> None:
    assert only(SEND + "CloudServicesMailEnabled = true\n", version="2010") == (
        4, "CloudServicesMailEnabled needs Exchange 2013 or later; the on-prem server is Exchange 2010")
    assert only('[onprem]\nexchange_version = "2013"\n' + SEND + 'ConnectorType = "XPremises"\n')[0] == 7
    parse_spec(SEND + "CloudServicesMailEnabled = true\n", onprem_version="2013")
    # the file's own exchange_version wins over the profile's
    assert only('[onprem]\nexchange_version = "2010"\n' + SEND + "CloudServicesMailEnabled = true\n",
                version="2019")[0] == 7


@pytest.mark.parametrize(
    ("extra", "line", "message"),
    [
        ("TreatMessagesAsInternal = true\n", 4, 'TreatMessagesAsInternal = true needs ConnectorType = "OnPremises"'),
        ('ConnectorType = "OnPremises"\nCloudServicesMailEnabled = true\nTreatMessagesAsInternal = true\n', 6,
         "TreatMessagesAsInternal = true can't be combined with CloudServicesMailEnabled = true"),
        ("RestrictDomainsToCertificate = true\n", 4, "RestrictDomainsToCertificate = true needs TlsSenderCertificateName"),
        ("RestrictDomainsToIPAddresses = true\n", 4, "RestrictDomainsToIPAddresses = true needs SenderIPAddresses"),
    ],
)
def test_inbound_cross_rules(extra: str, line: int, message: str) -> None:
    assert only(INBOUND + extra) == (line, message)


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ('UseMXRecord = false\n', 3, "UseMXRecord = false needs SmartHosts"),
        ('SmartHosts = ["mail.contoso.com"]\n', 3, "SmartHosts need UseMXRecord = false"),
        ('ConnectorType = "Partner"\nUseMXRecord = false\nSmartHosts = ["m.contoso.com"]\nAllAcceptedDomains = true\n',
         6, 'AllAcceptedDomains = true needs ConnectorType = "OnPremises"'),
        ('RouteAllMessagesViaOnPremises = true\n', 3, 'RouteAllMessagesViaOnPremises = true needs ConnectorType = "OnPremises"'),
    ],
)
def test_outbound_cross_rules(body: str, line: int, message: str) -> None:
    assert only('[[online.outbound_connector]]\nName = "o"\n' + body) == (line, message)


def test_duplicates_and_accepted_domain_names() -> None:
    found = issues("""
        [[onprem.accepted_domain]]
        DomainName = "fabrikam.com"
        DomainType = "InternalRelay"

        [[onprem.accepted_domain]]
        DomainName = "Fabrikam.com"
        """)
    assert found == [(5, "AcceptedDomain 'Fabrikam.com' is declared twice (first at line 1)")]
    spec = parse_spec('[[onprem.accepted_domain]]\nDomainName = "fabrikam.com"\n')
    assert spec.objects[0].kind is Kind.ACCEPTED_DOMAIN and spec.objects[0].name == "fabrikam.com"
    assert only('[[onprem.accepted_domain]]\nDomainName = "fab*rikam.com"\n')[0] == 2


def test_all_problems_reported_at_once_sorted() -> None:
    found = issues(SEND + 'TlsAuthLevel = "EncryptionOnly"\nBogus = 1\n' + INBOUND + "SenderIPAddresses = ['::1']\n")
    assert [line for line, _ in found] == sorted(line for line, _ in found)
    assert len(found) == 3


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('[onprem]\nexchange_version = "2007"\n', 2, "exchange_version must be one of"),
        ('[onprem]\nsend_connector = "x"\n', 2, "must be an array of tables"),
        (SEND.replace('["*"]', '["bad domain;1"]'), 3, "AddressSpaces: 'bad domain;1' is not a valid SMTP address space"),
        (INBOUND.replace('["*"]', '["*.contoso.com", "con*toso.com"]'), 3, "SenderDomains: 'con*toso.com'"),
        ('[[online.outbound_connector]]\nName = "o"\nRecipientDomains = ["contoso..com"]\n', 3, "RecipientDomains"),
        ('[[online.inbound_connector]]\nName = "in"\nSenderDomains = ["*"]\nTlsSenderCertificateName = 7\n', 4,
         "TlsSenderCertificateName must be a string"),
        ('online = 3\n', 1, "'online' must be a table"),
    ],
)
def test_more_rules_each_at_its_line(text: str, line: int, fragment: str) -> None:
    found = issues(text)
    assert any(got == line and fragment in message for got, message in found), found


def test_address_space_forms_accepted() -> None:
    spec = parse_spec(SEND.replace('["*"]', '["smtp:contoso.mail.onmicrosoft.com;1", "*.fabrikam.com", "*"]'))
    assert len(spec.objects[0].get("AddressSpaces")) == 3


def test_mandatory_values_cannot_be_empty() -> None:
    """New-SendConnector/New-InboundConnector refuse an empty AddressSpaces/SenderDomains/Name: so does the file."""
    found = issues("""
        [[onprem.send_connector]]
        Name = "To EXO"
        AddressSpaces = []
        SmartHosts = ["eop.example.com"]

        [[online.inbound_connector]]
        Name = ""
        SenderDomains = []
        """)
    assert (3, "AddressSpaces can't be empty") in found
    assert (7, "Name can't be empty") in found
    assert (8, "SenderDomains can't be empty") in found


@pytest.mark.parametrize("value", [
    r"Relay\nRemove-Mailbox -Identity ceo@contoso.com -Confirm:$false\n#", r"To EXO\r", r"To\u0000EXO", r"A\u2028B",
    r"Esc\u001b[2J", r"Tab\there"])
def test_control_characters_in_declared_names_are_refused(value: str) -> None:
    text = SEND.replace('Name = "To EXO"', f'Name = "{value}"')
    line, message = only(text)
    assert line == 2 and message.startswith("Name contains a control character (U+")
    assert "names and values can't hold line breaks or control characters" in message


def test_control_characters_in_any_string_value_are_refused() -> None:
    found = issues(INBOUND + 'Comment = """two\nlines"""\nTlsSenderCertificateName = "a\\u0085b.com"\n')
    assert [line for line, _ in found] == [4, 6]
    assert all("control character" in message for _, message in found)


def test_empty_smart_hosts_are_refused() -> None:
    line, message = only(SEND + "SmartHosts = []\n")
    assert line == 4 and message == ("SmartHosts can't be empty: list the smart hosts, or leave SmartHosts out to "
                                     "route by DNS (MX)")
    outbound = '[[online.outbound_connector]]\nName = "Out"\nUseMXRecord = false\nSmartHosts = []\n'
    assert ("SmartHosts can't be empty: list the smart hosts, or leave SmartHosts out to route by DNS (MX)"
            in [m for _, m in issues(outbound)])
