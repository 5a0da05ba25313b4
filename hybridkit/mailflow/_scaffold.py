"""Commented starting files for ``hybridkit mailflow scaffold --scenario azure-relay|hybrid``."""

from __future__ import annotations

__all__ = ["SCENARIOS", "scaffold_text"]

_HEAD = """\
# mailflow.toml - the mail-flow objects hybridkit keeps in the state declared here.
#
#   hybridkit mailflow plan mailflow.toml --onprem ONPREM --online ONLINE    # what would change
#   hybridkit mailflow apply mailflow.toml --onprem ONPREM --online ONLINE   # make it so (asks first)
#
# Keys are the Exchange cmdlet parameters they become (New-/Set-InboundConnector, New-/Set-SendConnector ...).
# Objects are matched by Name (accepted domains by DomainName); only the properties written here are compared
# and set. Objects that exist but are not declared here are reported as "present, not declared" and never removed.
"""

_AZURE_RELAY = _HEAD + """
# Scenario: an on-prem (or Azure-hosted) Exchange server that sends all outbound mail through Exchange Online
# Protection, because Azure's public IP ranges are on block lists. EXO must trust the server's public IP first,
# then the send connector smart-hosts everything to the tenant's MX endpoint over TLS.

[onprem]
# exchange_version = "2019"   # defaults to the on-prem profile's version; CloudServicesMailEnabled needs 2013+

# Domains whose mailboxes live in Exchange Online: on-prem accepts mail for them and relays it on.
[[onprem.accepted_domain]]
DomainName = "fabrikam.com"
DomainType = "InternalRelay"          # Authoritative | InternalRelay | ExternalRelay

# Exchange Online: accept mail from "your organisation's email server", identified by its public IP.
[[online.inbound_connector]]
Name = "From on-premises relay"
ConnectorType = "OnPremises"          # Partner | OnPremises
SenderDomains = ["*"]
SenderIPAddresses = ["203.0.113.25"]  # IPv4 only; CIDR /24 to /32
RestrictDomainsToIPAddresses = true
RequireTls = true

# On-prem: send everything to Exchange Online Protection over TLS (smart hosts turn DNS routing off).
[[onprem.send_connector]]
Name = "My company to Office 365"
AddressSpaces = ["*"]
SmartHosts = ["contoso-com.mail.protection.outlook.com"]   # <tenant>.mail.protection.outlook.com
CloudServicesMailEnabled = true
RequireTLS = true
TlsAuthLevel = "CertificateValidation" # needs RequireTLS = true; DomainValidation also needs TlsDomain
"""

_HYBRID = _HEAD + """
# Scenario: full hybrid mail flow between on-prem Exchange and Exchange Online (what the Hybrid Configuration
# Wizard sets up), declared so drift can be seen and corrected. Names here are examples; to adopt the HCW's
# objects use their names ("Inbound from <guid>", "Outbound to <guid>", "Outbound to Office 365 - <guid>").

[onprem]
# exchange_version = "2019"

[[onprem.accepted_domain]]
DomainName = "contoso.com"
DomainType = "Authoritative"

# Exchange Online accepts mail from on-prem, identified by its TLS certificate.
[[online.inbound_connector]]
Name = "Inbound from on-premises"
ConnectorType = "OnPremises"
SenderDomains = ["*"]
RequireTls = true
RestrictDomainsToCertificate = true
TlsSenderCertificateName = "mail.contoso.com"
CloudServicesMailEnabled = true

# On-prem sends mail for cloud mailboxes (the tenant's routing domain) to Exchange Online.
[[onprem.send_connector]]
Name = "Outbound to Office 365"
AddressSpaces = ["contoso.mail.onmicrosoft.com"]
CloudServicesMailEnabled = true
RequireTLS = true
TlsAuthLevel = "DomainValidation"
TlsDomain = "mail.protection.outlook.com"
Fqdn = "mail.contoso.com"

# Exchange Online sends mail for on-prem mailboxes back to the on-prem server.
[[online.outbound_connector]]
Name = "Outbound to on-premises"
ConnectorType = "OnPremises"
RecipientDomains = ["contoso.com"]
SmartHosts = ["mail.contoso.com"]
UseMXRecord = false
TlsSettings = "DomainValidation"
TlsDomain = "mail.contoso.com"
CloudServicesMailEnabled = true
"""

SCENARIOS = {"azure-relay": _AZURE_RELAY, "hybrid": _HYBRID}


def scaffold_text(scenario: str) -> str:
    """The commented starting file for ``scenario`` (``azure-relay`` or ``hybrid``)."""
    return SCENARIOS[scenario]
