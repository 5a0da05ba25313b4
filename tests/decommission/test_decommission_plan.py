"""The pure decommission planner: recognition of HCW objects, blockers, order, notices, checklist."""

from __future__ import annotations

import ast

import pytest

from hybridkit.decommission._model import Discovery, HybridObject, Kind, MailboxInfo, MoveInfo
from hybridkit.decommission._plan import is_hybrid_object, plan_decommission

G = "9c248950-859f-5ee6-b460-4f74e730cf2d"


def hcw_objects() -> list[HybridObject]:
    return [
        HybridObject("onprem", Kind.SEND_CONNECTOR, f"Outbound to Office 365 - {G}", (("SourceTransportServers", ["EX02"]),)),
        HybridObject("onprem", Kind.INTRA_ORGANIZATION_CONNECTOR, f"HybridIOC - {G}"),
        HybridObject("online", Kind.INTRA_ORGANIZATION_CONNECTOR, f"HybridIOC - {G}"),
        HybridObject("onprem", Kind.ORGANIZATION_RELATIONSHIP, f"On-premises to O365 - {G}"),
        HybridObject("online", Kind.ORGANIZATION_RELATIONSHIP, f"O365 to On-premises - {G}"),
        HybridObject("online", Kind.OUTBOUND_CONNECTOR, f"Outbound to {G}"),
        HybridObject("online", Kind.INBOUND_CONNECTOR, f"Inbound from {G}"),
        HybridObject("onprem", Kind.HYBRID_CONFIGURATION, "Hybrid Configuration"),
        HybridObject("onprem", Kind.RECEIVE_CONNECTOR, "Default Frontend EX02",
                     (("Identity", "EX02\\Default Frontend EX02"),
                      ("TlsDomainCapabilities", ["mail.protection.outlook.com:AcceptCloudServicesMail"]))),
    ]


def found(**kw) -> Discovery:  # type: ignore[no-untyped-def]
    return Discovery(objects=tuple(kw.pop("objects", hcw_objects())), **kw)


def test_steps_follow_microsofts_order_with_exact_commands() -> None:
    plan = plan_decommission(found())
    assert [(s.target.side, s.cmdlet) for s in plan.steps] == [
        ("online", "Remove-InboundConnector"), ("online", "Remove-OutboundConnector"),
        ("online", "Remove-OrganizationRelationship"), ("onprem", "Remove-OrganizationRelationship"),
        ("online", "Remove-IntraOrganizationConnector"), ("onprem", "Remove-IntraOrganizationConnector"),
        ("onprem", "Remove-SendConnector"),
    ]
    assert plan.steps[0].parameters == (("Identity", f"Inbound from {G}"), ("Confirm", False))
    assert [s.order for s in plan.steps] == list(range(1, 8))
    assert not plan.blockers


def test_hybrid_configuration_only_when_asked_and_warned_either_way() -> None:
    kept = plan_decommission(found())
    assert all(s.cmdlet != "Remove-HybridConfiguration" for s in kept.steps)
    note = next(n for n in kept.notices if n.code == "hybrid-configuration")
    assert "Microsoft support" in note.reason
    assert any("Remove-HybridConfiguration" in m.command for m in kept.manual)
    included = plan_decommission(found(), include_hybrid_configuration=True)
    assert included.steps[-1].cmdlet == "Remove-HybridConfiguration"
    assert included.steps[-1].parameters == (("Confirm", False),)
    assert not any("Remove-HybridConfiguration" in m.command for m in included.manual)
    on_2010 = plan_decommission(found(onprem_version="2010"), include_hybrid_configuration=True)
    assert all(s.cmdlet != "Remove-HybridConfiguration" for s in on_2010.steps)
    assert "2010" in next(n for n in on_2010.notices if n.code == "hybrid-configuration").reason


def test_objects_not_made_by_the_wizard_are_left_alone() -> None:
    mine = [HybridObject("online", Kind.INBOUND_CONNECTOR, "From on-premises relay", (("ConnectorSource", "Default"),)),
            HybridObject("onprem", Kind.SEND_CONNECTOR, "My company to Office 365"),
            HybridObject("onprem", Kind.RECEIVE_CONNECTOR, "Client Frontend EX02", (("TlsDomainCapabilities", []),)),
            HybridObject("online", Kind.OUTBOUND_CONNECTOR, "Renamed HCW", (("ConnectorSource", "HybridWizard"),))]
    plan = plan_decommission(found(objects=mine))
    assert [s.target.name for s in plan.steps] == ["Renamed HCW"]
    assert not is_hybrid_object(mine[0]) and is_hybrid_object(mine[3])


def test_blockers_each_named() -> None:
    plan = plan_decommission(found(
        mailboxes=(MailboxInfo("Ann", "UserMailbox"), MailboxInfo("Sales", "SharedMailbox"),
                   MailboxInfo("Room 1", "RoomMailbox"), MailboxInfo("SystemMailbox{1f05}", "ArbitrationMailbox"),
                   MailboxInfo("Bob", "RemoteUserMailbox")),
        moves=(MoveInfo("ann@contoso.com", "InProgress"), MoveInfo("cy@contoso.com", "Completed")),
        onprem_public_folders=4, onprem_public_folders_enabled="Local",
        dns=(("contoso.com", "MX", "mail.contoso.com"), ("contoso.com", "Autodiscover", "autodiscover.outlook.com")),
    ))
    by_name = {b.name: b for b in plan.blockers}
    assert set(by_name) == {"mailboxes-onprem", "move-requests", "public-folders", "mx-autodiscover"}
    assert "3 mailbox(es)" in by_name["mailboxes-onprem"].reason
    assert "1 RoomMailbox, 1 SharedMailbox, 1 UserMailbox" in by_name["mailboxes-onprem"].reason
    assert by_name["move-requests"].details == ("ann@contoso.com: InProgress",)
    assert by_name["mx-autodiscover"].details == ("contoso.com MX -> mail.contoso.com",)
    assert [m.name for m in plan.system_mailboxes] == ["SystemMailbox{1f05}"]
    assert [b.name for b in plan.unwaived({"move-requests"})] == ["mailboxes-onprem", "public-folders",
                                                                  "mx-autodiscover"]


@pytest.mark.parametrize(
    ("kw", "blocked"),
    [
        ({"online_public_folders_enabled": "Remote"}, True),
        ({"online_public_folders_enabled": "Local"}, False),
        ({"onprem_public_folders": 0, "onprem_public_folders_enabled": "Local"}, False),
        ({"dns": (("contoso.com", "MX", "contoso-com.mail.protection.outlook.com."),)}, False),
        ({"moves": (MoveInfo("a", "CompletedWithWarning"),)}, False),
        ({"moves": (MoveInfo("a", "Synced"),)}, True),
    ],
)
def test_blocker_edges(kw: dict, blocked: bool) -> None:
    assert bool(plan_decommission(found(**kw)).blockers) is blocked


def test_notices_and_checklist() -> None:
    plan = plan_decommission(found(), accepted=["mailboxes-onprem"])
    codes = {n.code for n in plan.notices}
    assert {"management-tools", "dns-not-checked", "waived:mailboxes-onprem"} <= codes
    tools = next(n for n in plan.notices if n.code == "management-tools")
    assert "CU12" in tools.message and "directory sync" in tools.message
    texts = " ".join(m.text + " " + m.command for m in plan.manual)
    for expected in ("Remove-MailboxDatabase", "Disable-Mailbox -Arbitration", "do NOT uninstall",
                     "AutoDiscoverServiceInternalUri", "EX02\\Default Frontend EX02"):
        assert expected in texts
    assert "Set-ClientAccessService -Identity 'EX02'" in texts
    assert "dns-not-checked" not in {n.code for n in plan_decommission(found(dns=())).notices}


def test_planner_is_pure() -> None:
    import hybridkit.decommission._model as model
    import hybridkit.decommission._plan as plan

    for module in (plan, model):
        tree = ast.parse(open(module.__file__, encoding="utf-8").read())
        names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        # the bridge's pure value types (hybridkit.ps._command) are allowed, as tests/test_layering.py says
        assert not [n for n in names if n.startswith(("hybridkit.ps", "pypsrp", "sqlite3", "rich", "hybridkit.journal"))
                    and n != "hybridkit.ps._command"]


def test_checklist_follows_the_release() -> None:
    """Set-ClientAccessService is 2016+ (2010/2013: Set-ClientAccessServer); 2010 has public folder databases."""
    texts = {v: " ".join(m.command for m in plan_decommission(found(onprem_version=v)).manual)
             for v in ("2010", "2013", "2016")}
    assert "Set-ClientAccessServer -Identity 'EX02'" in texts["2010"] and "Set-ClientAccessService" not in texts["2010"]
    assert "Set-ClientAccessServer -Identity 'EX02'" in texts["2013"]
    assert "Set-ClientAccessService -Identity 'EX02'" in texts["2016"]
    assert "Remove-PublicFolderDatabase" in texts["2010"] and "Get-Mailbox -PublicFolder" not in texts["2010"]
    assert "Remove-Mailbox -PublicFolder" in texts["2013"]


def test_dns_and_scp_come_before_the_removals() -> None:
    """Microsoft's order: MX/Autodiscover and the Autodiscover SCPs first, then connectors and relationships."""
    plan = plan_decommission(found())
    before = [m for m in plan.manual if m.before]
    assert [("MX" in m.text, "AutoDiscoverServiceInternalUri" in m.command) for m in before] == [(True, False),
                                                                                                  (False, True)]
    assert not any(m.before for m in plan.manual if "Remove-MailboxDatabase" in m.command or "uninstall" in m.text)


def test_scp_step_without_a_known_server_covers_every_server() -> None:
    """After the send connector is gone no server name is known: every server, not a '<server>' placeholder."""
    objects = [o for o in hcw_objects() if o.kind is not Kind.SEND_CONNECTOR]
    commands = [m.command for m in plan_decommission(found(objects=objects)).manual]
    assert "Get-ClientAccessService | Set-ClientAccessService -AutoDiscoverServiceInternalUri $null" in commands
    assert not any("<server>" in c for c in commands)
    legacy = [m.command for m in plan_decommission(found(objects=objects, onprem_version="2013")).manual]
    assert "Get-ClientAccessServer | Set-ClientAccessServer -AutoDiscoverServiceInternalUri $null" in legacy
