<#
  hybridkit hybrid decommissioning runbook - review before running.

  Generated: ${generated}
  On-premises profile: ${onprem_profile}    Exchange Online profile: ${online_profile}

  Blockers found when planned (each must be fixed, or knowingly waived):
${blockers}

  Warnings:
${warnings}

  Order matters (Microsoft, "How and when to decommission your on-premises Exchange servers in a hybrid
  deployment"): connectors, then organization relationships, then intra-organization connectors, then the
  hybrid send connector. Back up every object first (hybridkit decommission apply --backup DIR does).
  Every value below is single-quoted; nothing is expanded.
#>
$$ErrorActionPreference = 'Stop'

# ---- First, by hand: before any removal (commands are commented out on purpose) ----
${before}

# ---- Removals (run each in the shell its comment names) ----
${removals}
# ---- Manual checklist (after the removals; commands are commented out on purpose) ----
${manual}
