"""Handlers a hybrid migration needs: Enable/Set-RemoteMailbox, Add-MailboxPermission, Add-RecipientPermission,
Get-MailboxServer (each against its reference page; see FIDELITY.md)."""

from __future__ import annotations

import uuid

import pytest

from hybridkit.lab.exchange.engine import ExchangeEngine
from tests.lab._engine_kit import cmd, online, onprem, run


@pytest.fixture
def engine() -> ExchangeEngine:
    return ExchangeEngine.create("demo", time_scale=0.0, raise_internal_errors=True)


def _by_type(engine: ExchangeEngine, kind: str, side: str = "onprem") -> dict:
    return next(r for r in engine.org.side(side).recipients.values() if r["RecipientTypeDetails"] == kind)


def test_enable_remote_mailbox_mail_enables_a_plain_user_for_a_cloud_mailbox(engine: ExchangeEngine) -> None:
    user = _by_type(engine, "User")
    res = run(engine, onprem(), cmd("Enable-RemoteMailbox", user["SamAccountName"]))
    assert res.failed is None and res.errors == []
    [obj] = res.out
    alias = user["SamAccountName"]
    assert obj.get("RecipientTypeDetails") == "RemoteUserMailbox"
    assert obj.get("RemoteRecipientType") == "ProvisionMailbox"
    assert obj.get("RemoteRoutingAddress") == f"SMTP:{alias}@contoso.mail.onmicrosoft.com"
    assert obj.get("PrimarySmtpAddress") == f"{alias}@contoso.com"
    got = run(engine, onprem(), cmd("Get-RemoteMailbox", alias))
    assert got.names("PrimarySmtpAddress") == [f"{alias}@contoso.com"]
    # a second time: the user is mail-enabled now, so it is refused and nothing changes
    again = run(engine, onprem(), cmd("Enable-RemoteMailbox", user["SamAccountName"]))
    assert again.out == [] and len(again.errors) == 1 and "already mail-enabled" in again.errors[0].message


def test_enable_remote_mailbox_shared_and_archive(engine: ExchangeEngine) -> None:
    user = _by_type(engine, "DisabledUser")
    res = run(engine, onprem(), cmd("Enable-RemoteMailbox", user["SamAccountName"], Shared=True,
                                    RemoteRoutingAddress="old.admin@contoso.mail.onmicrosoft.com"))
    [obj] = res.out
    assert obj.get("RecipientTypeDetails") == "RemoteSharedMailbox"
    assert obj.get("RemoteRecipientType") == "ProvisionMailbox, SharedMailbox"
    assert obj.get("RemoteRoutingAddress") == "SMTP:old.admin@contoso.mail.onmicrosoft.com"
    archived = run(engine, onprem(), cmd("Enable-RemoteMailbox", user["SamAccountName"], Archive=True))
    assert archived.failed is None and archived.errors == []
    assert user["RemoteRecipientType"] == "ProvisionMailbox, SharedMailbox, ProvisionArchive"
    assert user["ArchiveName"] == [f"In-Place Archive -{user['DisplayName']}"]  # Exchange 2016+ default name
    # Room and Shared together: the catalogue's parameter sets refuse it before the handler runs
    both = run(engine, onprem(), cmd("Enable-RemoteMailbox", "x", Room=True, Shared=True))
    assert both.failed is not None and "Parameter set cannot be resolved" in both.failed.message


def test_set_remote_mailbox_changes_addresses_type_and_guid(engine: ExchangeEngine) -> None:
    remote = _by_type(engine, "RemoteUserMailbox")
    alias = remote["Alias"]
    guid = uuid.uuid4()
    res = run(engine, onprem(), cmd("Set-RemoteMailbox", alias, ExchangeGuid=guid, Type="Shared",
                                    EmailAddresses={"Add": [f"smtp:{alias}.old@contoso.com"]}))
    assert res.failed is None and res.errors == [] and res.out == []
    [obj] = run(engine, onprem(), cmd("Get-RemoteMailbox", alias)).out
    assert obj.get("ExchangeGuid") == guid
    assert obj.get("RecipientTypeDetails") == "RemoteSharedMailbox"
    assert obj.get("RemoteRecipientType") == "Migrated, SharedMailbox"
    assert f"smtp:{alias}.old@contoso.com" in obj.get("EmailAddresses")
    run(engine, onprem(), cmd("Set-RemoteMailbox", alias, PrimarySmtpAddress=f"{alias}.new@contoso.com"))
    [obj] = run(engine, onprem(), cmd("Get-RemoteMailbox", alias)).out
    assert obj.get("PrimarySmtpAddress") == f"{alias}.new@contoso.com"
    addresses = obj.get("EmailAddresses")
    assert addresses[0] == f"SMTP:{alias}.new@contoso.com"
    assert f"smtp:{alias}@contoso.com" in addresses  # the old primary stays, as a secondary address
    both = run(engine, onprem(), cmd("Set-RemoteMailbox", alias, PrimarySmtpAddress="a@contoso.com",
                                     EmailAddresses=["SMTP:b@contoso.com"]))
    assert "can't use the EmailAddresses and PrimarySmtpAddress parameters in the same command" in both.errors[0].message
    missing = run(engine, onprem(), cmd("Set-RemoteMailbox", "nobody-here", DisplayName="x"))
    assert "couldn't be found" in missing.errors[0].message
    # an on-prem mailbox is not a remote mailbox
    mailbox = _by_type(engine, "UserMailbox")
    assert run(engine, onprem(), cmd("Set-RemoteMailbox", mailbox["Alias"], DisplayName="x")).errors


def test_set_remote_mailbox_has_no_litigation_hold(engine: ExchangeEngine) -> None:
    remote = _by_type(engine, "RemoteUserMailbox")
    res = run(engine, onprem(), cmd("Set-RemoteMailbox", remote["Alias"], LitigationHoldEnabled=True))
    assert res.failed.message == "A parameter cannot be found that matches parameter name 'LitigationHoldEnabled'."


def test_add_mailbox_permission_then_get_shows_it(engine: ExchangeEngine) -> None:
    shared = _by_type(engine, "SharedMailbox")
    user = _by_type(engine, "UserMailbox")
    res = run(engine, onprem(), cmd("Add-MailboxPermission", shared["Alias"], User=user["Alias"],
                                    AccessRights=["FullAccess"], AutoMapping=False))
    assert res.failed is None and res.errors == []
    [ace] = res.out
    user_text = f"CONTOSO\\{user['SamAccountName']}"
    assert ace.type_names[0] == "Microsoft.Exchange.Management.RecipientTasks.MailboxAcePresentationObject"
    assert (ace.get("User"), ace.get("AccessRights"), ace.get("Deny"), ace.get("IsInherited")) == (
        user_text, ["FullAccess"], False, False)
    listed = run(engine, onprem(), cmd("Get-MailboxPermission", shared["Alias"], User=user["Alias"]))
    assert [(o.get("User"), o.get("AccessRights")) for o in listed.out] == [(user_text, ["FullAccess"])]
    run(engine, onprem(), cmd("Add-MailboxPermission", shared["Alias"], User=user["Alias"], AccessRights="FullAccess"))
    again = run(engine, onprem(), cmd("Get-MailboxPermission", shared["Alias"], User=user["Alias"]))
    assert len(again.out) == 1  # granting it twice adds no second entry
    ghost = run(engine, onprem(), cmd("Add-MailboxPermission", shared["Alias"], User="ghost.user",
                                      AccessRights="FullAccess"))
    assert ghost.out == [] and "'ghost.user' couldn't be found" in ghost.errors[0].message


def test_add_recipient_permission_needs_confirm_false_and_only_sendas(engine: ExchangeEngine) -> None:
    session = online(engine)
    shared = _by_type(engine, "SharedMailbox", "online")
    user = _by_type(engine, "UserMailbox", "online")
    prompt = run(engine, session, cmd("Add-RecipientPermission", shared["Alias"], Trustee=user["Alias"],
                                      AccessRights="SendAs"))
    assert prompt.failed is not None and prompt.failed.fully_qualified_error_id.startswith("HostFunctionNotImplemented")
    res = run(engine, session, cmd("Add-RecipientPermission", shared["Alias"], Trustee=user["Alias"],
                                   AccessRights="SendAs", Confirm=False))
    assert res.failed is None and res.errors == []
    [perm] = res.out
    assert (perm.get("Trustee"), perm.get("AccessRights"), perm.get("AccessControlType")) == (
        user["UserPrincipalName"], ["SendAs"], "Allow")
    listed = run(engine, session, cmd("Get-RecipientPermission", shared["Alias"], Trustee=user["Alias"]))
    assert [o.get("Trustee") for o in listed.out] == [user["UserPrincipalName"]]
    wrong = run(engine, session, cmd("Add-RecipientPermission", shared["Alias"], Trustee=user["Alias"],
                                     AccessRights="FullAccess", Confirm=False))
    assert wrong.failed is not None and "Specify one of the following enumerator names and try again: SendAs" in (
        wrong.failed.message)


def test_get_mailbox_server(engine: ExchangeEngine) -> None:
    res = run(engine, onprem(), cmd("Get-MailboxServer"))
    assert res.names() == ["EX01", "EX02"]
    server = res.out[0]
    assert server.type_names[0] == "Microsoft.Exchange.Data.Directory.Management.MailboxServer"
    assert server.get("DatabaseAvailabilityGroup") == "DAG01"
    assert isinstance(server.get("Guid"), uuid.UUID)
    assert run(engine, onprem(), cmd("Get-MailboxServer", "ex02")).names() == ["EX02"]
    assert "couldn't be found" in run(engine, onprem(), cmd("Get-MailboxServer", "EX09")).errors[0].message
    # on-prem only, as its page says
    assert run(engine, online(engine), cmd("Get-MailboxServer")).failed.fully_qualified_error_id == (
        "CommandNotFoundException")
