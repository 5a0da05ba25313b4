"""The decommission runbook keeps Exchange-sourced names in quotes and comments on one line, whatever they hold.

Object names, server names, mailbox names and Exchange's own error messages come from the live organisation.
Whatever they hold, the runbook parses into exactly the removal cmdlets in order, each value inside single
quotes, and no comment carries a line break or a block-comment marker (the checklist's commands stay comments).
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybridkit.decommission._apply import step_command
from hybridkit.decommission._model import Discovery, HybridObject, Kind, MailboxInfo, MoveInfo
from hybridkit.decommission._plan import plan_decommission
from hybridkit.decommission._render import render_runbook
from hybridkit.templates import load_template
from tests._ps_tokens import Token, tokenize

NASTY = ["\n", "\r", "\r\n", "#>", "<#", "'", "\u2019", "''", '"', "`", "$(Remove-Mailbox x)", "#", "\u2028",
         "\x85", "\x00", "; Remove-Mailbox -Identity ceo -Confirm:$false", "@'", "\t", "\u202e"]
names = st.lists(st.one_of(st.text(), st.sampled_from(NASTY)), min_size=1, max_size=6).map("".join)
WHEN = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.timezone.utc)
HEADER_LINES = len(load_template("decommission-runbook.ps1").template.split("#>")[0].splitlines())


def discovery(name: str, server: str, note: str, mailbox: str) -> Discovery:
    wizard = (("ConnectorSource", "HybridWizard"),)
    objects = (
        HybridObject("online", Kind.INBOUND_CONNECTOR, "In " + name, wizard),
        HybridObject("online", Kind.OUTBOUND_CONNECTOR, name, wizard),
        HybridObject("onprem", Kind.SEND_CONNECTOR, "Outbound to Office 365", (("SourceTransportServers", [server]),)),
        HybridObject("onprem", Kind.RECEIVE_CONNECTOR, name, (
            ("Identity", f"{server}\\{name}"),
            ("TlsDomainCapabilities", ["mail.protection.outlook.com:AcceptCloudServicesMail"]))),
        HybridObject("onprem", Kind.HYBRID_CONFIGURATION, "Hybrid Configuration"),
    )
    return Discovery(objects, mailboxes=(MailboxInfo(mailbox, "UserMailbox"),), moves=(MoveInfo(mailbox, "Failed"),),
                     dns=(("contoso.com", "MX", name),), notes=(note,))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=names, server=names, note=names, mailbox=names, onprem=names, online=names)
def test_runbook_is_exactly_the_removals(name: str, server: str, note: str, mailbox: str, onprem: str,
                                         online: str) -> None:
    plan = plan_decommission(discovery(name, server, note, mailbox), include_hybrid_configuration=True,
                             accepted=["mailboxes-onprem"])
    text = render_runbook(plan, onprem=onprem, online=online, now=WHEN)
    parsed = tokenize(text)
    assert parsed.errors == []
    header = HEADER_LINES - 2 + max(1, len(plan.blockers)) + max(1, len(plan.notices))  # one line per blocker/notice
    assert len(parsed.block_comments) == 1 and len(text.split("#>")[0].splitlines()) == header
    for comment in parsed.block_comments + parsed.line_comments:
        assert "<#" not in comment and "#>" not in comment
        assert not any(ch in comment for ch in "\x85\u2028\u2029")
    commands = [step_command(s) for s in plan.steps]
    expected = [[Token("word", "$ErrorActionPreference"), Token("punct", "="), Token("str", "Stop")]]
    expected += [tokenize(c.render()).statements[0] for c in commands]
    assert parsed.statements == expected
    for statement, command in zip(parsed.statements[1:], commands):
        assert statement[0] == Token("word", command.cmdlet)
        assert [t.text for t in statement if t.kind == "str"] == [v for _, v in command.parameters if isinstance(v, str)]


def test_a_name_with_a_line_break_stays_in_its_comment() -> None:
    evil = "Relay\nRemove-Mailbox -Identity ceo@contoso.com -Confirm:$false\n#"
    plan = plan_decommission(discovery(evil, "EX01\n#>\nRemove-Mailbox ceo\n<#", evil, evil),
                             include_hybrid_configuration=True)
    text = render_runbook(plan, onprem="onprem", online="online", now=WHEN)
    assert not [s for s in tokenize(text).statements if s[0].text == "Remove-Mailbox"]
    manual = [m.command for m in plan.manual if m.command]
    assert "Set-ClientAccessService -Identity 'EX01\n#>\nRemove-Mailbox ceo\n<#' -AutoDiscoverServiceInternalUri $null" \
        in manual  # the checklist's own commands quote their values too (people paste them)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=names, server=names)
def test_apply_what_if_script_is_exactly_the_removals(name: str, server: str) -> None:
    """``decommission apply --what-if`` writes the removals to stdout as a script: the same guarantee."""
    import io
    from pathlib import Path

    from rich.console import Console

    from hybridkit.decommission._render import print_what_if

    out, err = io.StringIO(), io.StringIO()
    plan = plan_decommission(discovery(name, server, name, name), include_hybrid_configuration=True)
    print_what_if(Console(file=out, width=80), Console(file=err, width=80), plan, Path("b"))
    parsed = tokenize(out.getvalue())
    assert parsed.errors == [] and parsed.block_comments == []
    assert all("<#" not in c and "#>" not in c for c in parsed.line_comments)
    assert parsed.statements == [tokenize(step_command(s).render()).statements[0] for s in plan.steps]
