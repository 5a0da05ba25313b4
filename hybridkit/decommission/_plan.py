"""The decommission planner: which discovered objects the hybrid left, what blocks their removal, in which order
they go, and what stays manual. Pure (no I/O, no bridge).

Order (Microsoft, "How and when to decommission your on-premises Exchange servers in a hybrid deployment"):
the Exchange Online inbound connector ("Inbound from <id>") and outbound connector ("Outbound to <id>"), the
organization relationship "O365 to On-premises - <id>" and its on-prem peer, the intra-organization connectors on
both sides (OAuth), the on-prem HCW send connector; the hybrid configuration object only when explicitly asked,
because Remove-HybridConfiguration's own page says to run it under Microsoft support's direction.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterable

from hybridkit.decommission._model import (
    Blocker,
    DecommissionPlan,
    Discovery,
    HybridObject,
    Kind,
    ManualStep,
    Notice,
    RemovalStep,
)
from hybridkit.ps._command import Command, quote

__all__ = ["BLOCKER_NAMES", "USER_MAILBOX_TYPES", "SYSTEM_MAILBOX_TYPES", "is_hybrid_object", "plan_decommission"]

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_PATTERNS: dict[tuple[str, Kind], re.Pattern[str]] = {
    ("online", Kind.INBOUND_CONNECTOR): re.compile(rf"^Inbound from {_GUID}$"),
    ("online", Kind.OUTBOUND_CONNECTOR): re.compile(rf"^Outbound to {_GUID}$"),
    ("online", Kind.ORGANIZATION_RELATIONSHIP): re.compile(rf"^O365 to On-premises - {_GUID}$"),
    ("onprem", Kind.ORGANIZATION_RELATIONSHIP): re.compile(rf"^On-premises to O365 - {_GUID}$"),
    ("online", Kind.INTRA_ORGANIZATION_CONNECTOR): re.compile(rf"^HybridIOC - {_GUID}$"),
    ("onprem", Kind.INTRA_ORGANIZATION_CONNECTOR): re.compile(rf"^HybridIOC - {_GUID}$"),
    ("onprem", Kind.SEND_CONNECTOR): re.compile(rf"^Outbound to Office 365( - {_GUID})?$"),
}
# Removal order and why each goes.
_ORDER: list[tuple[str, Kind, str]] = [
    ("online", Kind.INBOUND_CONNECTOR, "Exchange Online no longer accepts hybrid mail from the on-prem servers"),
    ("online", Kind.OUTBOUND_CONNECTOR, "Exchange Online no longer routes mail to on-prem mailboxes"),
    ("online", Kind.ORGANIZATION_RELATIONSHIP, "free/busy, MailTips and moves from the cloud to on-prem end"),
    ("onprem", Kind.ORGANIZATION_RELATIONSHIP, "free/busy and moves from on-prem to the cloud end"),
    # Microsoft's article disables the IOCs; removing them (after the backup, which keeps Enabled) goes one step
    # further and restore brings them back as they were.
    ("online", Kind.INTRA_ORGANIZATION_CONNECTOR, "OAuth sharing from the cloud to on-prem ends (removed, not "
                                                  "only disabled; restore recreates it)"),
    ("onprem", Kind.INTRA_ORGANIZATION_CONNECTOR, "OAuth sharing from on-prem to the cloud ends (removed, not "
                                                  "only disabled; restore recreates it)"),
    ("onprem", Kind.SEND_CONNECTOR, "on-prem no longer sends to Exchange Online as a hybrid peer"),
    ("onprem", Kind.HYBRID_CONFIGURATION, "the HCW's record of the hybrid goes (only under Microsoft support)"),
]
USER_MAILBOX_TYPES = ("UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox", "LinkedMailbox",
                      "TeamMailbox", "LinkedRoomMailbox", "SchedulingMailbox")
SYSTEM_MAILBOX_TYPES = ("ArbitrationMailbox", "DiscoveryMailbox", "AuditLogMailbox", "MonitoringMailbox",
                        "SystemMailbox", "AuxAuditLogMailbox", "SupervisoryReviewPolicyMailbox")
_DONE_MOVES = ("Completed", "CompletedWithWarning", "CompletedWithSkippedItems")
BLOCKER_NAMES = ("mailboxes-onprem", "move-requests", "public-folders", "mx-autodiscover")
_CLOUD_TARGETS = (".mail.protection.outlook.com", "autodiscover.outlook.com", "autodiscover-s.outlook.com",
                  ".outlook.com")


def is_hybrid_object(obj: HybridObject) -> bool:
    """Whether ``obj`` is one the Hybrid Configuration Wizard made (by its name, or ConnectorSource HybridWizard)."""
    if obj.kind is Kind.HYBRID_CONFIGURATION:
        return True
    if obj.kind is Kind.RECEIVE_CONNECTOR:
        return any("acceptcloudservicesmail" in str(c).lower() for c in obj.get("TlsDomainCapabilities") or [])
    pattern = _PATTERNS.get((obj.side, obj.kind))
    if pattern is not None and pattern.match(obj.name):
        return True
    return obj.kind in (Kind.INBOUND_CONNECTOR, Kind.OUTBOUND_CONNECTOR) and \
        str(obj.get("ConnectorSource") or "") == "HybridWizard"


def _removal(obj: HybridObject) -> tuple[str, tuple[tuple[str, object], ...]]:
    if obj.kind is Kind.HYBRID_CONFIGURATION:
        return "Remove-HybridConfiguration", (("Confirm", False),)
    return f"Remove-{obj.kind.value}", (("Identity", obj.name), ("Confirm", False))


def _blockers(found: Discovery) -> list[Blocker]:
    out: list[Blocker] = []
    users = [m for m in found.mailboxes if m.recipient_type in USER_MAILBOX_TYPES]
    if users:
        counts = collections.Counter(m.recipient_type for m in users)
        sample = [f"{m.name} ({m.recipient_type})" for m in sorted(users, key=lambda m: m.name)[:10]]
        out.append(Blocker(
            "mailboxes-onprem",
            f"{len(users)} mailbox(es) still on-prem (" + ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
            + "); without the hybrid they lose free/busy, moves and mail routing with the cloud",
            tuple(sample) + ((f"... and {len(users) - 10} more",) if len(users) > 10 else ()),
        ))
    pending = [m for m in found.moves if m.status not in _DONE_MOVES]
    if pending:
        out.append(Blocker(
            "move-requests",
            f"{len(pending)} move request(s) not completed; the organization relationship and connectors carry them",
            tuple(f"{m.identity}: {m.status}" for m in pending[:10]),
        ))
    pf = []
    if found.onprem_public_folders > 0 and found.onprem_public_folders_enabled.lower() != "none":
        pf.append(f"{found.onprem_public_folders} public folder(s) still on-prem")
    if found.online_public_folders_enabled.lower() == "remote":
        pf.append("Exchange Online PublicFoldersEnabled is Remote: cloud users read public folders from on-prem")
    if pf:
        out.append(Blocker("public-folders", "public folders are still served on-prem; migrate them first", tuple(pf)))
    if found.dns:
        onprem_dns = [f"{d} {kind} -> {target}" for d, kind, target in found.dns
                      if not target.lower().rstrip(".").endswith(_CLOUD_TARGETS)]
        if onprem_dns:
            out.append(Blocker("mx-autodiscover", "MX or Autodiscover still points on-prem; point them at Exchange "
                                                  "Online first", tuple(onprem_dns)))
    return out


def _notices(found: Discovery, include_hybrid_configuration: bool, accepted: Iterable[str]) -> list[Notice]:
    out = [
        Notice("management-tools", "keep a management server, or the Exchange 2019 CU12+ Management Tools, while "
               "directory sync remains; shut the last server down rather than uninstalling it",
               "with directory sync on, recipients are still mastered on-prem and need Exchange tools to be "
               "managed (Microsoft: manage hybrid recipients with the management tools)"),
    ]
    if any(o.kind is Kind.HYBRID_CONFIGURATION for o in found.objects):
        if include_hybrid_configuration and found.onprem_version == "2010":
            out.append(Notice("hybrid-configuration", "the hybrid configuration object is kept",
                              "Remove-HybridConfiguration does not exist on Exchange 2010 (2013 and later only)"))
        elif include_hybrid_configuration:
            out.append(Notice("hybrid-configuration", "Remove-HybridConfiguration is included as asked",
                              "its reference page advises running it only under Microsoft support's direction"))
        else:
            out.append(Notice("hybrid-configuration", "the hybrid configuration object is kept (not removed)",
                              "Remove-HybridConfiguration's page advises running it only under Microsoft "
                              "support's direction; pass --include-hybrid-configuration if support asked you to"))
    if found.dns is None:
        out.append(Notice("dns-not-checked", "MX and Autodiscover records were not checked from here",
                          "no DNS resolver for MX/SRV lookups is available; check them before mail stops"))
    for name in sorted(set(accepted)):
        out.append(Notice(f"waived:{name}", f"blocker {name} waived with --accept-blocker",
                          "the operator accepted the risk; the waiver is recorded in the journal"))
    out.extend(Notice("not-read", note, "a read failed or the cmdlet does not exist for this version")
               for note in found.notes)
    return out


def _manual(found: Discovery, hybrid_objects: list[HybridObject], include_hybrid_configuration: bool) -> list[ManualStep]:
    legacy = found.onprem_version in ("2010", "2013")
    setter = "Set-ClientAccessServer" if legacy else "Set-ClientAccessService"
    servers = sorted({str(s) for o in found.objects if o.kind is Kind.SEND_CONNECTOR
                      for s in (o.get("SourceTransportServers") or [])})
    steps = [
        ManualStep("Point MX at Exchange Online Protection and Autodiscover at autodiscover.outlook.com (DNS), and "
                   "wait for the old records' TTL.", before=True),
        # Set-ClientAccessService is 2016+; 2010 and 2013 have Set-ClientAccessServer.
        ManualStep("Clear the Autodiscover service connection point on every server",
                   Command(setter, (("Identity", servers[0]), ("AutoDiscoverServiceInternalUri", None))).render()
                   if servers else
                   f"{setter.replace('Set-', 'Get-')} | {setter} -AutoDiscoverServiceInternalUri $null", before=True),
    ]
    for obj in hybrid_objects:
        if obj.kind is Kind.RECEIVE_CONNECTOR:
            steps.append(ManualStep(
                f"Optionally drop the cloud TLS capability the HCW added to receive connector {quote(obj.name)}",
                Command("Set-ReceiveConnector", (
                    ("Identity", str(obj.get("Identity") or obj.name)),
                    ("TlsDomainCapabilities", {"Remove": "mail.protection.outlook.com:AcceptCloudServicesMail"}),
                )).render()))
    if not include_hybrid_configuration and found.onprem_version != "2010" and \
            any(o.kind is Kind.HYBRID_CONFIGURATION for o in hybrid_objects):
        steps.append(ManualStep("Only if Microsoft support directs it: remove the hybrid configuration object",
                                "Remove-HybridConfiguration -Confirm:$false"))
    steps += [
        ManualStep("Remove the remaining mailboxes (after their data is in Exchange Online or archived)",
                   "Get-Mailbox -ResultSize Unlimited | Disable-Mailbox -Confirm:$false"),
        ManualStep("Remove the public folder databases (after public folders are migrated)",
                   "Get-PublicFolderDatabase | Remove-PublicFolderDatabase -Confirm:$false")
        if found.onprem_version == "2010" else  # modern public folders (mailboxes) start with 2013
        ManualStep("Remove the public folder mailboxes (after public folders are migrated)",
                   "Get-Mailbox -PublicFolder | Remove-Mailbox -PublicFolder -Confirm:$false"),
        ManualStep("Remove the system (arbitration) mailboxes last",
                   "Get-Mailbox -Arbitration | Disable-Mailbox -Arbitration -DisableLastArbitrationMailboxAllowed "
                   "-Confirm:$false"),
        ManualStep("Remove the mailbox databases", "Get-MailboxDatabase | Remove-MailboxDatabase -Confirm:$false"),
        ManualStep("While directory sync remains: install the Exchange 2019 CU12+ Management Tools, then shut the "
                   "last server down; do NOT uninstall it. Uninstall Exchange only after directory sync is off."),
    ]
    return steps


def plan_decommission(
    found: Discovery,
    *,
    include_hybrid_configuration: bool = False,
    accepted: Iterable[str] = (),
) -> DecommissionPlan:
    """The teardown for ``found``: blockers, notices, ordered removal steps and the manual checklist."""
    accepted = list(accepted)
    hybrid = [o for o in found.objects if is_hybrid_object(o)]
    steps: list[RemovalStep] = []
    old_server = found.onprem_version == "2010"  # Remove-HybridConfiguration exists from 2013 on
    for side, kind, why in _ORDER:
        if kind is Kind.HYBRID_CONFIGURATION and (not include_hybrid_configuration or old_server):
            continue
        for obj in sorted((o for o in hybrid if o.side == side and o.kind is kind), key=lambda o: o.name.lower()):
            cmdlet, params = _removal(obj)
            steps.append(RemovalStep(len(steps) + 1, obj, cmdlet, params, why))
    system = tuple(sorted((m for m in found.mailboxes if m.recipient_type in SYSTEM_MAILBOX_TYPES),
                          key=lambda m: m.name))
    return DecommissionPlan(
        objects=tuple(hybrid),
        blockers=tuple(_blockers(found)),
        notices=tuple(_notices(found, include_hybrid_configuration, accepted)),
        steps=tuple(steps),
        manual=tuple(_manual(found, hybrid, include_hybrid_configuration)),
        system_mailboxes=system,
    )

