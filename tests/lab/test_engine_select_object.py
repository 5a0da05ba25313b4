"""Select-Object: the full cmdlet on the online jump host (binding, output shape, no-language refusals), PowerShell's
restricted proxy on the on-prem endpoint, and Exchange cmdlets still checked against the catalogue as before."""

from __future__ import annotations

import pytest
from psrpcore.types import PSScriptBlock

from hybridkit.lab._types import LabObject
from hybridkit.lab.exchange import catalogue
from hybridkit.lab.exchange.cmdlets._registry import HANDLERS
from hybridkit.lab.exchange.engine import ExchangeEngine
from tests.lab._engine_kit import cmd, online, onprem, run, unemulated_without_mandatory

MAILBOX = "Microsoft.Exchange.Data.Directory.Management.Mailbox"
NO_LANGUAGE = "The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode."


@pytest.fixture(scope="module")
def engine() -> ExchangeEngine:
    return ExchangeEngine.create("demo", time_scale=0.0, raise_internal_errors=True)


def _mailboxes(engine: ExchangeEngine, n: int = 3) -> list[LabObject]:
    return run(engine, onprem(), cmd("Get-Mailbox", ResultSize=n)).out


def test_property_gives_selected_pscustomobjects_with_exactly_the_asked_properties(engine: ExchangeEngine) -> None:
    full = _mailboxes(engine)
    res = run(engine, online(), cmd("Select-Object", Property=["primarysmtpaddress", "NoSuchProperty", "Alias"]),
              inputs=full)
    assert res.failed is None and res.errors == []
    assert len(res.out) == 3
    for src, obj in zip(full, res.out):
        assert obj.type_names == [f"Selected.{MAILBOX}", "System.Management.Automation.PSCustomObject",
                                  "System.Object"]
        # The object's own spelling for found properties, in the order asked; a missing one is $null.
        assert list(obj.properties) == ["PrimarySmtpAddress", "NoSuchProperty", "Alias"]
        assert obj.get("PrimarySmtpAddress") == src.get("PrimarySmtpAddress")
        assert obj.get("Alias") == src.get("Alias") and obj.get("NoSuchProperty") is None
        assert len(src.properties) > 10  # the data diet is real: full objects carry far more


def test_positional_property_and_wildcards(engine: ExchangeEngine) -> None:
    src = _mailboxes(engine, 1)[0]
    res = run(engine, online(), cmd("Select-Object", ["Primary*", "DisplayName"]), inputs=[src])
    assert res.failed is None
    # Like PowerShell: a second positional argument has no position to bind to.
    two = run(engine, online(), cmd("Select-Object", "Primary*", "DisplayName"), inputs=[src])
    assert two.failed.message == "A positional parameter cannot be found that accepts argument 'DisplayName'."
    expected = [k for k in src.properties if k.lower().startswith("primary")]
    assert expected and list(res.out[0].properties) == expected + ["DisplayName"]


def test_expand_property_writes_the_values_and_errors_when_missing(engine: ExchangeEngine) -> None:
    boxes = _mailboxes(engine, 2)
    res = run(engine, online(), cmd("Select-Object", ExpandProperty="PrimarySmtpAddress"), inputs=boxes)
    assert res.out == [b.get("PrimarySmtpAddress") for b in boxes]
    multi = LabObject(["Demo"], {"Name": "x", "EmailAddresses": ["smtp:a@x", "SMTP:b@x"]})
    assert run(engine, online(), cmd("Select-Object", ExpandProperty="EmailAddresses"),
               inputs=[multi]).out == ["smtp:a@x", "SMTP:b@x"]
    missing = run(engine, online(), cmd("Select-Object", ExpandProperty="Nope"), inputs=boxes)
    assert missing.failed is None and missing.out == []
    assert [e.fully_qualified_error_id for e in missing.errors] == [
        "ExpandPropertyNotFound,Microsoft.PowerShell.Commands.SelectObjectCommand"] * 2
    assert missing.errors[0].message == 'Property "Nope" cannot be found.'


def test_first_stops_the_pipeline_and_unique_drops_repeats(engine: ExchangeEngine) -> None:
    res = run(engine, online(engine), cmd("Get-Mailbox", ResultSize="Unlimited"), cmd("Select-Object", "Alias", First=2))
    assert res.failed is None and len(res.out) == 2
    assert run(engine, online(), cmd("Select-Object", First=0), inputs=["a"]).out == []
    res = run(engine, online(), cmd("Select-Object", Unique=True), inputs=["b", "a", "b", "c", "a"])
    assert res.out == ["b", "a", "c"]
    everyone = run(engine, onprem(), cmd("Get-Mailbox", ResultSize="Unlimited")).out
    rooms = run(engine, online(), cmd("Select-Object", "RecipientTypeDetails", Unique=True), inputs=everyone)
    kinds = [o.get("RecipientTypeDetails") for o in rooms.out]
    assert len(kinds) == len(set(kinds)) >= 2


def test_no_language_refuses_calculated_properties_and_script_blocks(engine: ExchangeEngine) -> None:
    box = _mailboxes(engine, 1)
    for value in ({"Name": "Smtp", "Expression": "PrimarySmtpAddress"}, PSScriptBlock("$_.Alias"),
                  ["Alias", {"n": "x", "e": PSScriptBlock("1")}]):
        for session in (onprem(), online()):
            res = run(engine, session, cmd("Select-Object", Property=value), inputs=box)
            assert res.failed is not None and res.out == [], value
            assert res.failed.message == NO_LANGUAGE
            assert res.failed.fully_qualified_error_id == "ScriptsNotAllowed"
            assert res.failed.exception_type == "System.Management.Automation.ParseException"


def test_binding_errors_are_powershells(engine: ExchangeEngine) -> None:
    res = run(engine, onprem(), cmd("Select-Object", Propertee="Alias"), inputs=["a"])
    assert res.failed.message == "A parameter cannot be found that matches parameter name 'Propertee'."
    assert res.failed.fully_qualified_error_id == "NamedParameterNotFound,Microsoft.PowerShell.Commands.SelectObjectCommand"
    res = run(engine, online(), cmd("Select-Object", First="many"), inputs=["a"])
    assert res.failed is not None and res.out == []
    # -Index and -First are in different parameter sets.
    res = run(engine, online(), cmd("Select-Object", First=1, Index=[0]), inputs=["a"])
    assert res.failed.fully_qualified_error_id.startswith("AmbiguousParameterSet")


def test_available_on_the_jump_host_whatever_exchange_online_loaded(engine: ExchangeEngine) -> None:
    session = online()  # not connected: Exchange cmdlets do not exist yet, Select-Object does
    assert run(engine, session, cmd("Get-Mailbox")).failed.fully_qualified_error_id == "CommandNotFoundException"
    assert run(engine, session, cmd("Select-Object", "Length"), inputs=["abc"]).out[0].get("Length") == 3
    app = engine.online_app
    creds = {"AppId": app["app_id"], "CertificateThumbprint": app["certificate_thumbprint"],
             "Organization": app["organization"]}
    run(engine, session, cmd("Connect-ExchangeOnline", CommandName=["Get-Mailbox"], Prefix="Cloud", **creds))
    res = run(engine, session, cmd("Get-CloudMailbox", ResultSize=2), cmd("select-object", "PrimarySmtpAddress"))
    assert res.failed is None and len(res.out) == 2
    assert all(list(o.properties) == ["PrimarySmtpAddress"] for o in res.out)
    assert run(engine, session, cmd("Get-CloudRecipient")).failed.fully_qualified_error_id == "CommandNotFoundException"


def test_exchange_cmdlets_are_checked_as_before(engine: ExchangeEngine) -> None:
    product = catalogue.product_for(False, "2019")
    assert catalogue.lookup("Select-Object", product) is None  # not an Exchange cmdlet
    missing = unemulated_without_mandatory(product)
    res = run(engine, onprem(), cmd(missing), cmd("Select-Object", "Name"))
    assert res.failed.fully_qualified_error_id == f"LabCmdletNotEmulated,{missing}"
    assert run(engine, onprem(), cmd("Measure-Object")).failed.fully_qualified_error_id == "CommandNotFoundException"
    res = run(engine, onprem(), cmd("Get-Mailbox", Identiti="x"), cmd("Select-Object", "Name"))
    assert res.failed.message == "A parameter cannot be found that matches parameter name 'Identiti'."


def test_on_prem_has_the_real_select_object(engine: ExchangeEngine) -> None:
    """Exchange's /PowerShell keeps Select-Object public as the real cmdlet (KB 2922668's own example), not the
    RestrictedRemoteServer proxy: any property name, -First/-Last/-Skip/-ExpandProperty/-Unique."""
    boxes = _mailboxes(engine, 3)
    res = run(engine, onprem(), cmd("Get-Mailbox", ResultSize=3), cmd("Select-Object", Property=["Identity",
                                                                                                    "DisplayName"]))
    assert res.failed is None and [list(o.properties) for o in res.out] == [["Identity", "DisplayName"]] * 3
    assert res.out[0].type_names[0] == f"Selected.{MAILBOX}"
    assert [o.get("DisplayName") for o in res.out] == [b.get("DisplayName") for b in boxes]
    last = run(engine, onprem(), cmd("Get-Mailbox", ResultSize=3), cmd("Select-Object", "Alias", Last=2))
    assert [o.get("Alias") for o in last.out] == [b.get("Alias") for b in boxes[1:]]
    skipped = run(engine, onprem(), cmd("Get-Mailbox", ResultSize=3), cmd("Select-Object", "Alias", Skip=1, First=1))
    assert [o.get("Alias") for o in skipped.out] == [boxes[1].get("Alias")]
    skip_last = run(engine, onprem(), cmd("Get-Mailbox", ResultSize=3), cmd("Select-Object", SkipLast=1,
                                                                           ExpandProperty="Alias"))
    assert skip_last.out == [b.get("Alias") for b in boxes[:2]]
    # A -Last stage's end block still feeds the next command.
    chained = run(engine, onprem(), cmd("Get-Mailbox", ResultSize=3), cmd("Select-Object", Last=1),
                  cmd("Select-Object", ExpandProperty="Alias"))
    assert chained.out == [boxes[2].get("Alias")]
