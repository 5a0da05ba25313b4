"""ExchangeEngine: script refusal, Exchange Online connection gating, pipelines, per-item errors, preferences."""

from __future__ import annotations

import pytest

from hybridkit.lab._types import EXO_BUDGET_REFUSAL, LabCommand, LabObject
from hybridkit.lab.exchange import catalogue
from hybridkit.lab.exchange.cmdlets._registry import HANDLERS
from hybridkit.lab.exchange.engine import ExchangeEngine
from hybridkit.lab.transport._faults import exo_budget_message
from tests.lab._engine_kit import Result, cmd, online, onprem, run, unemulated_without_mandatory


@pytest.fixture(scope="module")
def engine() -> ExchangeEngine:
    return ExchangeEngine.create("demo", time_scale=0.0, raise_internal_errors=True)


def test_onprem_refuses_scripts_in_no_language_mode(engine: ExchangeEngine) -> None:
    res = run(engine, onprem(), LabCommand("Get-Mailbox | Select-Object Name", [], is_script=True))
    assert res.failed is not None
    assert res.failed.message == ("The syntax is not supported by this runspace. This can occur if the runspace is in "
                                  "no-language mode.")
    assert res.failed.fully_qualified_error_id == "ScriptsNotAllowed"
    assert res.failed.exception_type == "System.Management.Automation.ParseException"
    assert res.out == []


def test_unknown_and_off_product_cmdlets_are_not_recognized(engine: ExchangeEngine) -> None:
    res = run(engine, onprem(), cmd("Get-Foo"))
    assert res.failed is not None and res.failed.fully_qualified_error_id == "CommandNotFoundException"
    assert res.failed.message.startswith("The term 'Get-Foo' is not recognized as the name of a cmdlet")
    res = run(engine, onprem(), cmd("Get-RecipientPermission", Identity="x"))  # Exchange Online only
    assert res.failed is not None and res.failed.fully_qualified_error_id == "CommandNotFoundException"


def test_exchange_online_cmdlets_need_connect(engine: ExchangeEngine) -> None:
    session = online()
    engine.open_session(session)
    before = run(engine, session, cmd("Get-Mailbox"))
    assert before.failed is not None
    assert before.failed.message.startswith("The term 'Get-Mailbox' is not recognized")
    app = engine.online_app
    bad_org = run(engine, session, cmd("Connect-ExchangeOnline", AppId=app["app_id"],
                                       CertificateThumbprint=app["certificate_thumbprint"], Organization="fabrikam.onmicrosoft.com"))
    assert bad_org.failed is not None and bad_org.failed.message.startswith("AADSTS90002: Tenant 'fabrikam.onmicrosoft.com'")
    bad_app = run(engine, session, cmd("Connect-ExchangeOnline", AppId="00000000-0000-0000-0000-000000000001",
                                       CertificateThumbprint=app["certificate_thumbprint"], Organization=app["organization"]))
    assert bad_app.failed is not None and "AADSTS700016" in bad_app.failed.message
    bad_cert = run(engine, session, cmd("Connect-ExchangeOnline", AppId=app["app_id"], CertificateThumbprint="0" * 40,
                                        Organization=app["organization"]))
    assert bad_cert.failed is not None and bad_cert.failed.fully_qualified_error_id == "CertificateNotFound"
    assert run(engine, session, cmd("Get-Mailbox")).failed is not None  # still not connected
    assert run(engine, session, cmd("Get-ConnectionInformation")).out == []
    good = run(engine, session, cmd("Connect-ExchangeOnline", AppId=app["app_id"], ShowBanner=False,
                                    CertificateThumbprint=app["certificate_thumbprint"].lower(),
                                    Organization=app["organization"]))
    assert good.failed is None
    res = run(engine, session, cmd("Get-Mailbox", ResultSize="Unlimited"))
    assert res.failed is None and res.out
    assert {o.get("RecipientTypeDetails") for o in res.out} <= {"UserMailbox", "SharedMailbox"}
    info = run(engine, session, cmd("Get-ConnectionInformation")).out
    assert info[0].get("State") == "Connected" and info[0].get("AppId") == app["app_id"]
    assert run(engine, onprem(), cmd("Get-ConnectionInformation")).failed is not None  # not on the Exchange endpoint
    run(engine, session, cmd("Disconnect-ExchangeOnline", Confirm=False))
    assert run(engine, session, cmd("Get-Mailbox")).failed is not None


def test_connect_honours_prefix_and_command_name(engine: ExchangeEngine) -> None:
    session = online()
    app = engine.online_app
    creds = dict(AppId=app["app_id"], CertificateThumbprint=app["certificate_thumbprint"], Organization=app["organization"])
    run(engine, session, cmd("Connect-ExchangeOnline", Prefix="Cloud", **creds))
    assert run(engine, session, cmd("Get-CloudMailbox", ResultSize=1)).out
    assert run(engine, session, cmd("Get-Mailbox")).failed is not None
    other = online()
    run(engine, other, cmd("Connect-ExchangeOnline", CommandName=["Get-Mailbox"], **creds))
    assert run(engine, other, cmd("Get-Mailbox", ResultSize=1)).out
    assert run(engine, other, cmd("Get-Recipient", ResultSize=1)).failed.fully_qualified_error_id == "CommandNotFoundException"


def test_bad_items_get_one_error_each_while_good_items_produce_output(engine: ExchangeEngine) -> None:
    users = [r for r in engine.org.onprem.recipients.values() if r["RecipientTypeDetails"] == "UserMailbox"]
    good = [users[0]["PrimarySmtpAddress"], users[1]["Alias"], users[2]["Identity"]]
    items = [good[0], "ghost@contoso.com", good[1], "nobody", good[2]]
    res = run(engine, onprem(), cmd("Get-Mailbox"), inputs=items)
    assert res.failed is None
    assert [str(o.get("Guid")) for o in res.out] == [u["Guid"] for u in users[:3]]
    assert [e.target for e in res.errors] == ["ghost@contoso.com", "nobody"]
    err = res.errors[0]
    assert err.message == "The operation couldn't be performed because object 'ghost@contoso.com' couldn't be found on 'DC01.contoso.local'."
    assert err.category == "ObjectNotFound"
    assert err.exception_type == "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
    assert "[FailureCategory=Cmdlet-ManagementObjectNotFoundException]" in err.fully_qualified_error_id
    assert err.fully_qualified_error_id.startswith("[Server=EX01,RequestId=")
    assert err.fully_qualified_error_id.endswith(",Microsoft.Exchange.Management.RecipientTasks.GetMailbox")


def test_multi_command_pipeline_streams_objects_into_the_next_cmdlet(engine: ExchangeEngine) -> None:
    # Get-Recipient | Get-Mailbox: mailboxes pass through; the group and remote mailboxes are not mailboxes.
    res = run(engine, onprem(), cmd("Get-Recipient", ResultSize="Unlimited"), cmd("Get-Mailbox"))
    recipients = run(engine, onprem(), cmd("Get-Recipient", ResultSize="Unlimited")).out
    kinds = [o.get("RecipientTypeDetails") for o in recipients]
    assert len(res.out) == sum(k in {"UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox",
                                     "DiscoveryMailbox"} for k in kinds)
    assert len(res.errors) == len(recipients) - len(res.out) > 0
    assert all(e.fully_qualified_error_id.endswith("GetMailbox") for e in res.errors)
    assert res.out[0].type_names[0] == "Microsoft.Exchange.Data.Directory.Management.Mailbox"


def test_strings_piped_into_set_mailbox_do_not_bind(engine: ExchangeEngine) -> None:
    if "set-mailbox" not in HANDLERS:
        pytest.skip("Set-Mailbox handler not present")
    res = run(engine, onprem(), cmd("Set-Mailbox", WhatIf=True), inputs=["ann@contoso.com"])
    assert res.failed is None
    assert [e.fully_qualified_error_id.split(",")[0] for e in res.errors] == ["InputObjectNotBound"]


def test_binding_errors_fail_the_pipeline(engine: ExchangeEngine) -> None:
    res = run(engine, onprem(), cmd("Get-Mailbox", Identiti="x"))
    assert res.failed is not None and res.failed.message == "A parameter cannot be found that matches parameter name 'Identiti'."
    res = run(engine, onprem(), cmd("Get-Mailbox", ResultSize=5), cmd("Get-Mailbox", Bogus=1))
    assert res.failed is not None and res.out == []


def test_catalogued_cmdlet_without_handler_is_a_clear_error(engine: ExchangeEngine) -> None:
    missing = unemulated_without_mandatory(catalogue.product_for(False, "2019"))
    res = run(engine, onprem(), cmd(missing))
    assert res.failed is not None
    assert res.failed.fully_qualified_error_id == f"LabCmdletNotEmulated,{missing}"
    assert f"does not emulate the cmdlet '{missing}' yet" in res.failed.message


def test_error_action_and_warning_action(engine: ExchangeEngine) -> None:
    stop = run(engine, onprem(), cmd("Get-Mailbox", ErrorAction="Stop"), inputs=["ghost", engine_alias(engine)])
    assert stop.failed is not None and "ghost" in stop.failed.message and stop.out == []
    quiet = run(engine, onprem(), cmd("Get-Mailbox", ErrorAction="SilentlyContinue"), inputs=["ghost", engine_alias(engine)])
    assert quiet.errors == [] and len(quiet.out) == 1
    warned = run(engine, onprem(), cmd("Get-Mailbox", ResultSize=2))
    assert warned.warnings
    silent = run(engine, onprem(), cmd("Get-Mailbox", ResultSize=2, WarningAction="SilentlyContinue"))
    assert silent.warnings == [] and len(silent.out) == 2


def engine_alias(engine: ExchangeEngine) -> str:
    return next(r["Alias"] for r in engine.org.onprem.recipients.values() if r["RecipientTypeDetails"] == "UserMailbox")


def test_piped_exchange_objects_resolve_by_identity(engine: ExchangeEngine) -> None:
    first = run(engine, onprem(), cmd("Get-Mailbox", ResultSize=3)).out
    res = run(engine, onprem(), cmd("Get-Mailbox"), inputs=first)
    assert [o.get("Guid") for o in res.out] == [o.get("Guid") for o in first]
    custom = LabObject(["System.Management.Automation.PSCustomObject"], {"Identity": first[0].get("PrimarySmtpAddress")})
    assert run(engine, onprem(), cmd("Get-Mailbox"), inputs=[custom]).out[0].get("Guid") == first[0].get("Guid")


def test_destructive_cmdlets_need_confirm_false_without_a_host(engine: ExchangeEngine) -> None:
    session = online(engine)
    refused = run(engine, session, cmd("Disconnect-ExchangeOnline"))
    assert refused.failed is not None and refused.failed.fully_qualified_error_id == "HostFunctionNotImplemented"
    assert refused.failed.message.startswith("A command that prompts the user failed because the host program or the "
                                             "command type does not support user interaction.")
    assert run(engine, session, cmd("Get-Mailbox", ResultSize=1)).out  # still connected
    if "remove-accepteddomain" in HANDLERS:
        prompt = run(engine, onprem(), cmd("Remove-AcceptedDomain", Identity="nowhere.example"))
        assert prompt.failed is not None and prompt.failed.fully_qualified_error_id == "HostFunctionNotImplemented"
        confirmed = run(engine, onprem(), cmd("Remove-AcceptedDomain", Identity="nowhere.example", Confirm=False))
        assert confirmed.failed is None or confirmed.failed.fully_qualified_error_id != "HostFunctionNotImplemented"
    assert run(engine, session, cmd("Disconnect-ExchangeOnline", Confirm=False)).failed is None


def test_exo_rest_cmdlets_need_a_connection_and_return_the_minimum_set(engine: ExchangeEngine) -> None:
    unconnected = online()
    res = run(engine, unconnected, cmd("Get-EXOMailbox"))
    assert res.failed is not None and "Connect-ExchangeOnline" in res.failed.message
    session = online(engine)
    first = run(engine, session, cmd("Get-EXOMailbox", ResultSize=1)).out[0]
    assert "LitigationHoldEnabled" not in first.properties and first.get("ExternalDirectoryObjectId")
    more = run(engine, session, cmd("Get-EXOMailbox", UserPrincipalName=first.get("UserPrincipalName"),
                                    Properties=["LitigationHoldEnabled", "PersistedCapabilities"])).out
    assert [o.get("Guid") for o in more] == [first.get("Guid")] and more[0].get("LitigationHoldEnabled") is False
    assert run(engine, session, cmd("Get-EXORecipient", ResultSize=5)).out


def test_sink_exceptions_pass_through_unwrapped(engine: ExchangeEngine) -> None:
    class Stopped(Exception):
        pass

    class StoppingSink(Result):
        def output(self, obj: object) -> None:
            raise Stopped()

    quiet = ExchangeEngine(engine.org)  # raise_internal_errors=False: handler bugs become terminating errors
    with pytest.raises(Stopped):
        quiet.invoke(onprem(), [cmd("Get-Mailbox", ResultSize=5)], [], StoppingSink())


def test_handler_bug_becomes_a_terminating_error(engine: ExchangeEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(ctx: object) -> None:
        raise KeyError("oops")

    monkeypatch.setitem(HANDLERS, "get-organizationconfig", broken)
    res = run(ExchangeEngine(engine.org), onprem(), cmd("Get-OrganizationConfig"))
    assert res.failed is not None and res.failed.fully_qualified_error_id == "LabInternalError,Get-OrganizationConfig"
    with pytest.raises(KeyError):
        run(engine, onprem(), cmd("Get-OrganizationConfig"))  # raise_internal_errors=True surfaces it in tests


def test_parameters_bind_before_the_lab_looks_for_a_handler(engine: ExchangeEngine) -> None:
    # Exchange's binder answers a wrong parameter whatever the cmdlet does; the lab must not say "not emulated".
    res = run(engine, onprem(), cmd("Set-RemoteMailbox", Identity="ann", LitigationHoldEnabled=True))
    assert res.failed is not None
    assert res.failed.message == "A parameter cannot be found that matches parameter name 'LitigationHoldEnabled'."
    assert res.failed.fully_qualified_error_id.startswith("NamedParameterNotFound,")
    product = catalogue.product_for(False, "2019")
    valid = {"Remove-MailUser": {"Identity": "x"}, "New-RemoteDomain": {"Name": "x", "DomainName": "x.example"}}
    for name, params in valid.items():
        if name.lower() in HANDLERS:
            continue
        assert catalogue.lookup(name, product) is not None
        bogus = run(engine, onprem(), cmd(name, **params, Bogus=1))
        assert bogus.failed is not None
        assert bogus.failed.message == "A parameter cannot be found that matches parameter name 'Bogus'."
    missing = run(engine, onprem(), cmd("New-RemoteDomain"))
    assert missing.failed is not None
    assert missing.failed.fully_qualified_error_id.startswith("MissingMandatoryParameter,")


def test_connect_with_a_certificate_the_app_does_not_know_is_aadsts700027(engine: ExchangeEngine) -> None:
    session = online()
    engine.open_session(session)
    app = engine.online_app
    other = app["unregistered_certificate_thumbprint"]
    assert other != app["certificate_thumbprint"] and len(other) == 40
    res = run(engine, session, cmd("Connect-ExchangeOnline", AppId=app["app_id"], CertificateThumbprint=other,
                                   Organization=app["organization"]))
    assert res.failed is not None and res.failed.fully_qualified_error_id == "AADSTS700027"
    first_line, *rest = res.failed.message.split("\r\n")
    assert first_line.startswith("AADSTS700027: Client assertion contains an invalid signature. [Reason - The key "
                                 f"was not found., Thumbprint of key used by client: '{other}', Please visit the Azure "
                                 "Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id "
                                 f"'{app['app_id']}'.")
    assert [line.split(":")[0] for line in rest] == ["Trace ID", "Correlation ID", "Timestamp"]
    assert run(engine, session, cmd("Get-Mailbox")).failed is not None  # not connected


def test_a_throttled_runspace_fails_its_first_connect_with_the_wait(engine: ExchangeEngine) -> None:
    session = online()
    engine.open_session(session)
    session.data[EXO_BUDGET_REFUSAL] = exo_budget_message(7)  # set by the shell service when throttle hits Create
    app = engine.online_app
    creds = dict(AppId=app["app_id"], CertificateThumbprint=app["certificate_thumbprint"],
                 Organization=app["organization"])
    res = run(engine, session, cmd("Connect-ExchangeOnline", **creds))
    assert res.failed is not None
    assert "[FailureCategory=AuthZ-AuthorizationException] Fail to create runspace because you have exceeded your " \
           "budget to create runspace. Please wait for 7 seconds." in res.failed.message
    assert run(engine, session, cmd("Connect-ExchangeOnline", **creds)).failed is None


def test_cmdlets_whose_reference_says_built_in_pause_need_confirm_false(engine: ExchangeEngine) -> None:
    """Every cmdlet whose -Confirm text in Microsoft's reference says "This cmdlet has a built-in pause"."""
    session = online(engine)
    for name, params in (("Stop-MigrationBatch", {"Identity": "nowhere"}),
                         ("Suspend-MoveRequest", {"Identity": "nobody@nowhere.example"})):
        prompt = run(engine, session, cmd(name, **params))
        assert prompt.failed is not None and prompt.failed.fully_qualified_error_id == "HostFunctionNotImplemented", name
        confirmed = run(engine, session, cmd(name, Confirm=False, **params))
        assert confirmed.failed is None or confirmed.failed.fully_qualified_error_id != "HostFunctionNotImplemented"


def test_set_mailbox_that_changes_nothing_warns_as_exchange_does(engine: ExchangeEngine) -> None:
    who = engine_alias(engine)
    first = run(engine, onprem(), cmd("Set-Mailbox", Identity=who, CustomAttribute7="matter-117"))
    assert first.failed is None and first.errors == [] and first.warnings == []
    changed = run(engine, onprem(), cmd("Get-Mailbox", Identity=who)).out[0].get("WhenChanged")
    again = run(engine, onprem(), cmd("Set-Mailbox", Identity=who, CustomAttribute7="matter-117"))
    assert again.failed is None and again.errors == []
    assert len(again.warnings) == 1 and again.warnings[0].startswith("The command completed successfully but no "
                                                                     "settings of '")
    assert again.warnings[0].endswith("' have been modified.")
    assert run(engine, onprem(), cmd("Get-Mailbox", Identity=who)).out[0].get("WhenChanged") == changed
