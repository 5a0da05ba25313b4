"""Exchange lab: a local WSMan/PSRP server emulating on-prem Exchange and Exchange Online."""
