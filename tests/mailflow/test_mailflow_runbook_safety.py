"""The mail-flow runbook (``apply --emit-ps``) keeps data in quotes and comments on one line, whatever the names.

Names, values and the file's own path reach the runbook from a TOML file (or from Exchange, for live values shown
in an update's comment). Whatever they hold, the runbook must parse into exactly the intended cmdlets, each value
inside single quotes, and no comment may carry a line break or a block-comment marker.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybridkit.mailflow._apply import change_command
from hybridkit.mailflow._render import render_runbook
from hybridkit.mailflow._model import DesiredObject, Kind, MailflowSpec, ObservedObject
from hybridkit.mailflow._plan import plan_mailflow
from hybridkit.ps import comment_text
from hybridkit.templates import load_template
from tests._ps_tokens import Token, tokenize

NASTY = ["\n", "\r", "\r\n", "#>", "<#", "'", "\u2019", "''", '"', "`", "$(Remove-Mailbox x)", "#", "\u2028",
         "\x85", "\x00", "\x1b[2J", "; Remove-Mailbox -Identity ceo -Confirm:$false", "@'", "\t", "\u202e"]
names = st.lists(st.one_of(st.text(), st.sampled_from(NASTY)), min_size=1, max_size=6).map("".join)
TEMPLATE_HEADER = load_template("mailflow-runbook.ps1").template.split("#>")[0].splitlines()
WHEN = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.timezone.utc)


def check_runbook(text: str, commands: list) -> None:  # type: ignore[type-arg]
    """Every statement is the next intended command, values as string tokens; comments are single, inert lines."""
    parsed = tokenize(text)
    assert parsed.errors == []
    assert len(parsed.block_comments) == 1  # the header, closed where the template closes it
    for comment in parsed.block_comments + parsed.line_comments:
        assert "<#" not in comment and "#>" not in comment
        assert not any(ch in comment for ch in "\x85\u2028\u2029")  # nothing that might pass for a line break
    for comment in parsed.line_comments:
        assert not any(ch in comment for ch in "\r\n")
    assert len(text.split("#>")[0].splitlines()) == len(TEMPLATE_HEADER)  # no data line inside the header
    expected = [[Token("word", "$ErrorActionPreference"), Token("punct", "="), Token("str", "Stop")]]
    expected += [tokenize(c.render()).statements[0] for c in commands]
    assert parsed.statements == expected
    for statement, command in zip(parsed.statements[1:], commands):
        assert statement[0] == Token("word", command.cmdlet)
        strings = [t.text for t in statement if t.kind == "str"]
        for _, value in command.parameters:  # every string value arrives intact, inside quotes
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, str):
                    assert item in strings


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=names, comment=names, live=names, source=names, onprem=names, online=names)
def test_runbook_is_exactly_the_intended_commands(name: str, comment: str, live: str, source: str, onprem: str,
                                                  online: str) -> None:
    spec = MailflowSpec((
        DesiredObject(Kind.ACCEPTED_DOMAIN, name, (("Name", name), ("DomainName", "fabrikam.com"),
                                                    ("DomainType", "InternalRelay"))),
        DesiredObject(Kind.INBOUND_CONNECTOR, "In " + name, (("Name", "In " + name), ("SenderDomains", [name, "*"]),
                                                              ("Comment", comment))),
        DesiredObject(Kind.SEND_CONNECTOR, name + " out", (("Name", name + " out"), ("AddressSpaces", ["*"]),
                                                            ("Comment", comment), ("Port", 25))),
    ))
    observed = [  # the inbound connector exists with other values: an update whose comment shows the live ones
        ObservedObject.of(Kind.INBOUND_CONNECTOR, {"Name": "In " + name, "SenderDomains": [live], "Comment": live}),
    ]
    plan = plan_mailflow(spec, observed)
    text = render_runbook(plan, source=source, onprem=onprem, online=online, now=WHEN)
    check_runbook(text, [change_command(c) for c in plan.actionable])


def test_the_issue_s_two_injections_stay_in_comments() -> None:
    name = "Relay\nRemove-Mailbox -Identity ceo@contoso.com -Confirm:$false\n#"
    spec = MailflowSpec((DesiredObject(Kind.SEND_CONNECTOR, name, (("Name", name), ("AddressSpaces", ["*"]))),))
    plan = plan_mailflow(spec, [])
    text = render_runbook(plan, source=str(Path("mf#>Remove-Mailbox -Identity ceo -Confirm:$false<#.toml")),
                          onprem="onprem", online="online", now=WHEN)
    check_runbook(text, [change_command(c) for c in plan.actionable])
    assert not [s for s in tokenize(text).statements if s[0].text == "Remove-Mailbox"]


@given(st.text())
def test_comment_text_is_one_inert_line(text: str) -> None:
    safe = comment_text(text)
    assert "<#" not in safe and "#>" not in safe
    assert not any(ch in safe for ch in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
    assert tokenize("# " + safe).statements == [] and tokenize("<# " + safe + " #>").statements == []
