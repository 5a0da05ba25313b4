<#
  hybridkit mail-flow runbook - review before running.

  Generated: ${generated}
  Declared state: ${source}
  On-premises profile: ${onprem_profile}    Exchange Online profile: ${online_profile}
  Live state fingerprint when planned: ${fingerprint}
  Steps: ${step_count}

  Run each step in the shell its comment names, in order: on-premises steps in the Exchange Management Shell,
  Exchange Online steps after Connect-ExchangeOnline. Order matters: accepted domains first, then the Exchange
  Online inbound connector (so Exchange Online trusts the server before it sends), then the on-premises send
  connector, then the Exchange Online outbound connector. Every value below is single-quoted; nothing is expanded.
#>
$$ErrorActionPreference = 'Stop'

${steps}
# Afterwards: hybridkit mailflow plan ${source} --onprem ${onprem_profile} --online ${online_profile}
# should show every object unchanged.
