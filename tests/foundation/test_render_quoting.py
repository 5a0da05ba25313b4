"""No value can break out of its quotes in ``Command.render()``: a small PowerShell tokenizer checks every line."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from hybridkit.ps import Command, Pipeline, Secret, Switch

SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"


def tokenize(line: str) -> list[tuple[str, str]]:
    """Tokens of a rendered line as PowerShell's tokenizer reads them, for the subset render() emits.

    Single-quoted strings: any of the five single-quote characters opens and closes; two in a row stand for one
    literal character (PowerShell keeps the second).
    """
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c in " \t":
            i += 1
        elif c in SINGLE_QUOTES:
            i += 1
            out = []
            while True:
                assert i < n, f"unterminated string in {line!r}"
                ch = line[i]
                if ch in SINGLE_QUOTES:
                    if i + 1 < n and line[i + 1] in SINGLE_QUOTES:
                        out.append(line[i + 1])
                        i += 2
                        continue
                    i += 1
                    break
                out.append(ch)
                i += 1
            tokens.append(("str", "".join(out)))
        elif c == "-" and i + 1 < n and line[i + 1].isalpha():
            j = i + 1
            while j < n and line[j].isalnum():
                j += 1
            tokens.append(("param", line[i + 1 : j]))
            if j < n and line[j] == ":":
                j += 1
            i = j
        elif c == "$":
            j = i + 1
            while j < n and line[j].isalnum():
                j += 1
            tokens.append(("var", line[i + 1 : j]))
            i = j
        elif line.startswith("@(", i) or line.startswith("@{", i):
            tokens.append(("op", line[i : i + 2]))
            i += 2
        elif c in "),;=}|(":
            tokens.append(("op", c))
            i += 1
        elif c.isdigit() or (c == "-" and i + 1 < n and line[i + 1].isdigit()):
            j = i + 1
            while j < n and line[j].isdigit():
                j += 1
            tokens.append(("num", line[i:j]))
            i = j
        elif c.isalpha():
            j = i
            while j < n and (line[j].isalnum() or line[j] == "-"):
                j += 1
            tokens.append(("word", line[i:j]))
            i = j
        else:
            raise AssertionError(f"unexpected character {c!r} at {i} outside a string in {line!r}")
    return tokens


nasty = st.text(
    alphabet=st.sampled_from(list("ab $`\"';|&(){}@#\n\t-,=") + list(SINGLE_QUOTES) + ["\u201c", "\u201d", "é", "😀"]),
    max_size=30,
) | st.text(max_size=20)


@settings(max_examples=300, deadline=None)
@given(identity=nasty, values=st.lists(nasty, max_size=4), number=st.integers(-(2**40), 2**40), flag=st.booleans())
def test_strings_round_trip_and_stay_inside_their_quotes(
    identity: str, values: list[str], number: int, flag: bool
) -> None:
    command = Command.of(
        "Set-Mailbox",
        Identity=identity,
        EmailAddresses=values,
        IssueWarningQuota=number,
        HiddenFromAddressListsEnabled=flag,
        Force=Switch(),
    )
    tokens = tokenize(command.render())
    expected: list[tuple[str, str]] = [("word", "Set-Mailbox"), ("param", "Identity"), ("str", identity)]
    expected.append(("param", "EmailAddresses"))
    if values:
        expected.append(("op", "@("))
        for n, v in enumerate(values):
            if n:
                expected.append(("op", ","))
            expected.append(("str", v))
        expected.append(("op", ")"))
    else:
        expected += [("op", "@("), ("op", ")")]
    expected += [("param", "IssueWarningQuota"), ("num", str(number))]
    expected += [("param", "HiddenFromAddressListsEnabled"), ("var", "true" if flag else "false"), ("param", "Force")]
    assert tokens == expected


@settings(max_examples=150, deadline=None)
@given(key=nasty, value=nasty, items=st.lists(nasty, min_size=1, max_size=3))
def test_hashtables_and_pipelines(key: str, value: str, items: list[str]) -> None:
    line = Pipeline.of(
        Command.of("Get-Mailbox"), Command.of("Set-Mailbox", EmailAddresses={key: value})
    ).render(items)
    tokens = tokenize(line)
    strings = [t[1] for t in tokens if t[0] == "str"]
    assert strings == [*items, key, value]
    assert [t for t in tokens if t[0] == "word"] == [("word", "Get-Mailbox"), ("word", "Set-Mailbox")]
    assert tokens.count(("op", "|")) == 2


def test_secrets_and_datetimes_render_safely() -> None:
    when = dt.datetime(2026, 3, 1, 22, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    line = Command.of("Set-Thing", Password=Secret("hunter2'; Remove-Item"), CompleteAfter=when).render()
    assert "hunter2" not in line
    tokens = tokenize(line)
    assert ("str", "2026-03-01T21:00:00Z") in tokens
    assert ("word", "Read-Host") in tokens


def test_piped_records_render_as_objects_whose_properties_bind_by_name() -> None:
    """The bridge sends a dict piped in as a PSCustomObject (parameters bind from its properties by name); a
    hashtable piped into a cmdlet would not bind that way, so the pasted line must build objects too."""
    line = Pipeline.of(Command.of("Set-MoveRequest", CompleteAfter="2026-12-24T22:00:00Z")).render(
        [{"Identity": "a@contoso.com"}, {"Identity": "o'brien@contoso.com"}]
    )
    assert line.startswith("@([pscustomobject]@{'Identity'='a@contoso.com'},"
                           "[pscustomobject]@{'Identity'='o''brien@contoso.com'}) | Set-MoveRequest")
    assert Command.of("Set-Mailbox", EmailAddresses={"Add": "x@contoso.com"}).render().endswith(
        "-EmailAddresses @{'Add'='x@contoso.com'}")  # a parameter's hashtable stays a hashtable
